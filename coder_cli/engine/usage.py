"""Usage and timing in one JSON shape, for every `--json` output and `coder serve`'s /coder/* answers.

    "usage":  {"prompt_tokens", "cached_tokens", "completion_tokens", "total_tokens"}
    "timing": {"load_s", "prompt_s", "generate_s", "total_s", "prompt_tokens_per_s", "tokens_per_s"}

Token counts are the model's tokens; ``cached_tokens`` is the part of the prompt the engine's cache
already held (not read again). Seconds: ``load_s`` loading the model (0 when it was warm),
``prompt_s`` from the request to the first token, ``generate_s`` from the first token to the last,
``total_s`` the whole command or request. A command that generates several times (fix's rounds,
complete's candidates) reports the sums. The OpenAI routes of `coder serve` keep OpenAI's own
``usage`` shape (plus llama.cpp's ``timings``), which OpenAI clients read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from coder_cli.engine.base import Engine, Generation, GenStats


def usage(stats: GenStats) -> dict:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "cached_tokens": stats.cached_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


def timing(stats: GenStats, *, load_s: float = 0.0, total_s: float | None = None) -> dict:
    total = load_s + stats.prompt_s + stats.generate_s if total_s is None else total_s
    return {
        "load_s": round(load_s, 4),
        "prompt_s": round(stats.prompt_s, 4),
        "generate_s": round(stats.generate_s, 4),
        "total_s": round(total, 4),
        "prompt_tokens_per_s": round(stats.prompt_tokens_per_s, 2),
        "tokens_per_s": round(stats.tokens_per_s, 2),
    }


def usage_timing(stats: GenStats, *, load_s: float = 0.0, total_s: float | None = None) -> dict:
    """{"usage": ..., "timing": ...} for STATS: what a JSON answer merges in."""
    return {"usage": usage(stats), "timing": timing(stats, load_s=load_s, total_s=total_s)}


def total(stats: Iterable[GenStats]) -> GenStats:
    """The sum of several generations' stats (the last one's finish reason)."""
    out = GenStats(finish_reason="stop")
    for s in stats:
        out.prompt_tokens += s.prompt_tokens
        out.cached_tokens += s.cached_tokens
        out.completion_tokens += s.completion_tokens
        out.prompt_s += s.prompt_s
        out.generate_s += s.generate_s
        out.drafted_tokens += s.drafted_tokens
        out.accepted_tokens += s.accepted_tokens
        out.drafts += s.drafts
        out.finish_reason = s.finish_reason
    return out


class Metered:
    """ENGINE, counting every generation it starts (``.total()``: their summed stats so far).
    ``score`` and ``prefill`` read prompts without generating and are not counted: a repair's
    ``prompt_s`` leaves out fix's line scores (its ``total_s`` does not)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stats: list[GenStats] = []

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def chat(self, messages: Sequence, params) -> Generation:
        gen = self._engine.chat(messages, params)
        self._stats.append(gen.stats)
        return gen

    def complete(self, tokens: Sequence[int], params, stop_tokens: Sequence[str] = ()) -> Generation:
        gen = self._engine.complete(tokens, params, stop_tokens)
        self._stats.append(gen.stats)
        return gen

    def total(self) -> GenStats:
        return total(self._stats)
