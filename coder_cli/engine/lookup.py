"""Prompt-lookup drafts for speculative decoding: the next tokens guessed by copying.

Most of what coder generates is code it was just shown, written back with a few lines changed. The
last few tokens of the text so far (the prompt and the reply) usually occur earlier in it, and what
followed them there is a good guess for what follows now. `Drafter` finds the latest earlier
occurrence of the longest such n-gram and proposes the tokens after it; the engine checks them in
one batch and keeps those greedy decoding agrees with (engine/llama.py).

How many to check is `Pacer`'s decision, and it depends on the machine. A draft pays only when a
batch of n tokens costs less than n single decodes: on a GPU or a many-core CPU a batch of 16 costs
little more than one token, but on a 2-core CPU the matrix products are bound by arithmetic, not
memory, and a batch of n costs about 0.5 n decodes (benchmarks/speculate.py prints the table). So
the pacer times every batch it runs, per batch size, on this engine, and picks the draft length k
that maximises the expected tokens per second, E(k) / cost(k + 1), from those times and the
acceptance so far; k = 0 (plain decoding) wins wherever drafting does not pay.

Both classes are pure bookkeeping (no model): every position is indexed once, as it is added, so a
draft costs a few dictionary lookups however long the prompt is.
"""

from __future__ import annotations

from collections.abc import Sequence

NGRAMS = (4, 3, 2)  # n-gram sizes tried, longest first: a longer match is a surer guess
MAX_K = 15  # the longest draft (a batch of 16 with the token it follows)
# The share of drafted tokens expected to be accepted before any was checked (optimistic: a draft
# copied from a 4-gram match in code mostly holds), and how fast the estimate follows what happens:
# ALPHA per checked token; while drafting does not pay (k = 0), the estimate drifts back towards P0
# by DRIFT per token, so drafting is tried again now and then. The estimate carries over from one
# generation to the next (a fix loop's rewrites, a chat's turns are alike).
P0, ALPHA, DRIFT = 0.9, 0.15, 0.02
# A batch of n tokens not timed yet is assumed to cost 1 + PRIOR_SLOPE (n - 1) single decodes:
# optimistic (a memory-bound machine), so each size is tried where it might pay, and then timed.
PRIOR_SLOPE = 0.25
GAIN = 1.05  # a draft must promise this many times plain decoding's tokens per second
COST_EMA = 0.3  # weight of the newest timing of a batch size


class Drafter:
    """The text so far (token ids) and an index of where each n-gram was followed by what."""

    def __init__(self, tokens: Sequence[int] = ()) -> None:
        self.tokens: list[int] = []
        self._index: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in NGRAMS}
        self.extend(tokens)

    def extend(self, tokens: Sequence[int]) -> None:
        for t in tokens:
            self.add(t)

    def add(self, token: int) -> None:
        """Append TOKEN; the n-grams that end just before it now have a known follower."""
        toks = self.tokens
        i = len(toks)
        toks.append(token)
        for n, index in self._index.items():
            if i >= n:
                index[tuple(toks[i - n : i])] = i  # the latest occurrence wins

    def draft(self, limit: int) -> list[int]:
        """Up to LIMIT tokens that followed the latest earlier occurrence of the longest n-gram the
        text ends with; [] when there is none."""
        toks = self.tokens
        if limit <= 0:
            return []
        for n in NGRAMS:
            if len(toks) <= n:
                continue
            at = self._index[n].get(tuple(toks[-n:]))
            if at is not None:
                return toks[at : at + limit]
        return []


class BatchCosts:
    """What a `llama_decode` of n tokens (with n logits) costs against one of a single token, as timed
    on this engine: kept for the engine's life, since it is the machine's and the build's, not the
    text's. Both grow with the context (attention), so each batch is compared with the latest
    single decode, which every generation times first (`Pacer.choose`)."""

    def __init__(self) -> None:
        self.one: float | None = None  # seconds for a single token, recently
        self.ratios: dict[int, float] = {}  # batch size -> cost in single decodes

    def observe(self, n: int, seconds: float) -> None:
        if n == 1:
            self.one = seconds if self.one is None else self.one + COST_EMA * (seconds - self.one)
            return
        if not self.one:
            return
        ratio = seconds / self.one
        old = self.ratios.get(n)
        self.ratios[n] = ratio if old is None else old + COST_EMA * (ratio - old)

    def relative(self, n: int) -> float:
        """The cost of a batch of N in single decodes: as timed, or PRIOR_SLOPE's optimistic guess
        for a size not timed yet (so each size is tried once where it might pay, then known)."""
        if n == 1:
            return 1.0
        return self.ratios.get(n, 1.0 + PRIOR_SLOPE * (n - 1))


class Pacer:
    """How long a draft to check: the k that maximises the expected tokens per unit of time. One per
    engine; `begin` starts each generation."""

    def __init__(self, costs: BatchCosts | None = None) -> None:
        self.costs = costs or BatchCosts()
        self.p = P0  # the share of drafted tokens accepted (per position, recent drafts weighing most)
        self.begin()

    def begin(self) -> None:
        # A new reply starts no surer than P0, whatever the last one copied: a long first draft
        # that fails costs a short reply (a commit message after a review) more than it can gain.
        self.p = min(self.p, P0)
        self.started = False  # the first step of a generation is a single decode, timed
        self.drafted = self.accepted = self.drafts = 0  # this generation's totals, for its stats

    def expected(self, k: int) -> float:
        """Tokens a step yields with a draft of K whose tokens each hold with probability p: the
        token decoded anyway plus the accepted prefix of the draft."""
        p = min(self.p, 0.999)
        return (1.0 - p ** (k + 1)) / (1.0 - p)

    def choose(self, available: int) -> int:
        """The draft length to check, of AVAILABLE proposed tokens; 0 when none pays."""
        if not self.started:
            self.started = True
            return 0  # a single decode is timed first, at this depth: every other cost is relative to it
        best_k, best = 0, GAIN  # plain decoding yields 1 token per 1 decode; a draft must beat GAIN
        for k in range(1, min(available, MAX_K) + 1):
            rate = self.expected(k) / self.costs.relative(k + 1)
            if rate > best:
                best_k, best = k, rate
        if best_k == 0 and available:
            self.p += DRIFT * (P0 - self.p)
        return best_k

    def record(self, drafted: int, accepted: int) -> None:
        """How a draft of DRAFTED tokens fared: ACCEPTED of them were what greedy decoding chose."""
        if drafted <= 0:
            return
        self.drafts += 1
        self.drafted += drafted
        self.accepted += accepted
        for _ in range(accepted):
            self.p += ALPHA * (1.0 - self.p)
        if accepted < drafted:
            self.p -= ALPHA * self.p
