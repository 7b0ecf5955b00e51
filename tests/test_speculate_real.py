"""Prompt-lookup speculative decoding with the real default model: the same tokens as plain greedy
decoding, drafts really accepted, and the KV cache's prefix bookkeeping right across calls."""

from __future__ import annotations

import pytest

from coder_cli.core import chat_prompts
from coder_cli.engine import GenParams

pytestmark = pytest.mark.model

SOURCE = """def mean(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)


def median(xs):
    s = sorted(xs)
    n = len(s)
    mid = n // 2
    if n % 2:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2


def spread(xs):
    return max(xs) - min(xs)
"""

EDIT = chat_prompts.messages(
    chat_prompts.system_text(None, [("stats.py", SOURCE)]),
    [],
    "Add type hints to every function in stats.py. Show the complete file.",
)
FREE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "In two sentences: why do programmers write tests?"},
]


def _run(engine, messages, speculate: bool, max_tokens: int = 300, fresh: bool = True):
    if fresh:
        engine._llm.reset()  # a cold cache: nothing of an earlier call is reused
    gen = engine.chat(messages, GenParams(max_tokens=max_tokens, speculate=speculate))
    return gen.text(), gen.stats


@pytest.mark.parametrize("messages", [EDIT, FREE], ids=["edit", "free"])
def test_speculative_replies_are_the_plain_replies(engine, messages):
    plain, pstats = _run(engine, messages, False)
    spec, sstats = _run(engine, messages, True)
    assert spec == plain
    assert sstats.completion_tokens == pstats.completion_tokens and sstats.finish_reason == pstats.finish_reason
    assert pstats.drafts == 0


def test_a_reply_that_copies_its_prompt_accepts_drafts(engine):
    text, stats = _run(engine, EDIT, True)
    assert "def median(xs" in text
    assert stats.drafts > 0 and stats.accepted_tokens > stats.completion_tokens // 3, stats


def test_max_tokens_ends_a_speculative_reply_where_it_ends_a_plain_one(engine):
    for n in (1, 7, 40):
        plain, pstats = _run(engine, EDIT, False, max_tokens=n)
        spec, sstats = _run(engine, EDIT, True, max_tokens=n)
        assert (spec, sstats.completion_tokens, sstats.finish_reason) == (plain, n, "length")


def test_the_cache_after_a_speculative_call_serves_the_next_turn_and_the_same_prompt(engine):
    first, _ = _run(engine, EDIT, True)
    llm = engine._llm
    held = [int(t) for t in llm.input_ids[: llm.n_tokens]]
    prompt = engine.chat_prompt(EDIT)
    assert held[: len(prompt)] == prompt  # the cache holds the prompt and the reply's tokens
    assert engine.detokenize(held[len(prompt) :]) == first[: len(engine.detokenize(held[len(prompt) :]))]
    # The same prompt again, plainly: its last token is evaluated again, not sampled from stale logits.
    again, stats = _run(engine, EDIT, False, fresh=False)
    assert again == first and stats.cached_tokens == len(prompt) - 1
    # A chat turn on top: the earlier prompt is reused, the reply is what a cold cache gives.
    turn = [*EDIT, {"role": "assistant", "content": first}, {"role": "user", "content": "Now add a docstring to mean."}]
    _run(engine, EDIT, True)
    warm, wstats = _run(engine, turn, False, fresh=False)
    assert wstats.cached_tokens >= len(prompt)
    cold, _ = _run(engine, turn, False)
    assert warm == cold


def test_a_reply_stopped_early_leaves_a_cache_the_next_call_can_trust(engine):
    engine._llm.reset()
    gen = engine.chat(EDIT, GenParams(max_tokens=300, speculate=True))
    pieces = []
    for piece in gen:
        pieces.append(piece)
        if len(pieces) == 25:
            break
    gen.close()
    llm = engine._llm
    assert llm.n_tokens >= len(engine.chat_prompt(EDIT))
    # Whatever the cache holds now (accepted drafts included), the next reply is the cold one.
    after, _ = _run(engine, FREE, True, fresh=False)
    cold, _ = _run(engine, FREE, False)
    assert after == cold
    again, _ = _run(engine, EDIT, True, fresh=False)
    cold, _ = _run(engine, EDIT, False)
    assert again == cold


def test_sampling_decodes_plainly(engine):
    engine._llm.reset()
    gen = engine.chat(FREE, GenParams(max_tokens=30, temperature=0.8, seed=1, speculate=True))
    gen.text()
    assert gen.stats.drafts == 0
    assert engine.speculates(GenParams()) and not engine.speculates(GenParams(temperature=0.5))
    assert not engine.speculates(GenParams(speculate=False)) and not engine.speculates(GenParams(repeat_penalty=1.1))
