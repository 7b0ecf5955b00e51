"""The Engine protocol shared by the in-process, remote and scripted engines."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class GenParams:
    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 0.8
    top_k: int = 20
    repeat_penalty: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()  # extra stop strings (stop tokens come from the manifest)
    speculate: bool | None = None  # prompt-lookup drafts for greedy decoding; None: the engine's default


@dataclass
class GenStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the engine's cache
    completion_tokens: int = 0
    prompt_s: float = 0.0  # start of the call to the first token
    generate_s: float = 0.0  # first token to the last
    finish_reason: str = "stop"  # "stop", "length", "interrupted"
    drafted_tokens: int = 0  # speculative decoding: tokens proposed by prompt lookup (engine/lookup.py)
    accepted_tokens: int = 0  # ... of them, those greedy decoding agreed with
    drafts: int = 0  # verify batches that carried a draft

    @property
    def prompt_tokens_per_s(self) -> float:
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated / self.prompt_s if self.prompt_s > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        # The first token is produced by the prompt pass; the rest by generation.
        n = self.completion_tokens - 1
        return n / self.generate_s if n > 0 and self.generate_s > 0 else 0.0


class Generation:
    """An iterable of text pieces; ``stats`` is complete once iteration ends."""

    def __init__(self, pieces: Iterator[str], stats: GenStats) -> None:
        self._pieces = pieces
        self.stats = stats

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def text(self) -> str:
        return "".join(self)


@dataclass
class EngineInfo:
    """What was chosen when the engine loaded, for `coder doctor` and --json."""

    model: str
    path: str
    n_ctx: int
    n_ctx_train: int
    threads: int
    gpu_layers: int
    backend: str
    flash_attn: bool
    kv_type: str
    load_s: float
    notes: list[str] = field(default_factory=list)
    extra_bufts: bool | None = None  # llama.cpp's extra (weight-repack) CPU buffer types; None: not llama.cpp


Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class TokenScore:
    """How the model rated one token of a given continuation."""

    token: int
    logprob: float  # log-probability of the given token
    best: int  # the model's own first choice at that position
    best_logprob: float
    probes: tuple[float, ...] = ()  # log-probabilities of the tokens asked about at that position

    @property
    def gap(self) -> float:
        """How much more likely the model's choice was than the given token (0 when they agree)."""
        return self.best_logprob - self.logprob


@runtime_checkable
class Engine(Protocol):
    info: EngineInfo

    @property
    def n_ctx(self) -> int: ...

    def tokenize(self, text: str, special: bool = False) -> list[int]: ...

    def count_tokens(self, text: str) -> int: ...

    def chat_prompt(self, messages: Sequence[Message]) -> list[int]:
        """The exact tokens a chat call would evaluate (for budgets and context checks)."""
        ...

    def special_token_id(self, text: str) -> int:
        """The id of a special token in the vocabulary (e.g. ``<|fim_prefix|>``)."""
        ...

    def chat(self, messages: Sequence[Message], params: GenParams) -> Generation: ...

    def complete(self, tokens: Sequence[int], params: GenParams, stop_tokens: Sequence[str] = ()) -> Generation: ...

    def prefill(self, tokens: Sequence[int], cancel=None) -> int:
        """Evaluate TOKENS into the cache ahead of a call that starts with them (a later prompt then
        pays only for what follows). Stops between batches once CANCEL (a threading.Event) is set.
        Returns how many tokens were evaluated (0 when the cache already held them)."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def is_eog(self, token: int) -> bool:
        """Whether TOKEN ends generation (end of text, end of turn, FIM separators)."""
        ...

    def fim_tokens(self):
        """The model's fill-in-the-middle token ids (a ``core.fim.FimTokens``), or None without FIM."""
        ...

    def score(
        self, prompt: Sequence[int], continuation: Sequence[int], probes: Mapping[int, Sequence[int]] | None = None
    ) -> list[TokenScore]:
        """Rate each token of CONTINUATION after PROMPT in one pass (reusing the cached prefix).
        PROBES maps a position of CONTINUATION to token ids whose log-probabilities are wanted there
        (in TokenScore.probes); position len(CONTINUATION), after the last token, adds one more
        TokenScore (token -1, logprob 0) that carries only the model's choice and the probes."""
        ...

    def close(self) -> None: ...


class StopMatcher:
    """Holds back text that might be the start of a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.longest = max((len(s) for s in self.stops), default=0)
        self.pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        """Returns (text safe to emit, stopped)."""
        if not self.stops:
            return piece, False
        self.pending += piece
        cut = min((i for i in (self.pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.pending = self.pending[:cut], ""
            return out, True
        keep = 0
        for n in range(min(self.longest - 1, len(self.pending)), 0, -1):
            tail = self.pending[-n:]
            if any(s.startswith(tail) for s in self.stops):
                keep = n
                break
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(self.pending) - keep :]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def eog_ids(engine) -> list[int]:
    """Every end-of-generation id of ENGINE's vocabulary (an engine without the list: the special
    ids below 100 it calls end of generation)."""
    every = getattr(engine, "eog_ids", None)
    return list(every()) if callable(every) else [t for t in range(100) if engine.is_eog(t)]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens A and B share from the start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def now() -> float:
    return time.perf_counter()
