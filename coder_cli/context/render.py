"""Render ranked definitions as a compact map: `path:` then definition lines with elisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

ELISION = "⋮"


def render_file(rel: str, defs: Sequence[tuple], chosen: Sequence[int]) -> str:
    """REL's chosen definitions (indexes into DEFS) with their enclosing scopes, in line order."""
    wanted: set[int] = set()
    for idx in chosen:
        while idx >= 0 and idx not in wanted:
            wanted.add(idx)
            idx = defs[idx][7]  # scope
    lines: dict[int, str] = {}
    for idx in wanted:
        d = defs[idx]
        lines.setdefault(d[2], d[8])
    out = [f"{rel}:"]
    previous = None
    for line in sorted(lines):
        if previous is None or line != previous + 1:
            out.append(ELISION)
        out.append(lines[line])
        previous = line
    out.append(ELISION)
    return "\n".join(out) + "\n"


def render(
    ranked: Sequence[tuple[str, int]], defs_of: Callable[[str], Sequence[tuple]], count: int
) -> tuple[list[str], list[str]]:
    """Render the first COUNT (path, def index) entries of RANKED: one block per file, in order of first appearance."""
    order: list[str] = []
    chosen: dict[str, list[int]] = {}
    for rel, idx in ranked[:count]:
        if rel not in chosen:
            order.append(rel)
            chosen[rel] = []
        chosen[rel].append(idx)
    return [render_file(rel, defs_of(rel), chosen[rel]) for rel in order], order


def fit(
    ranked: Sequence[tuple[str, int]],
    defs_of: Callable[[str], Sequence[tuple]],
    budget: int,
    count_blocks: Callable[[list[str]], int],
) -> tuple[str, list[str], int]:
    """The longest prefix of RANKED whose rendering fits BUDGET tokens (binary search on its length).

    COUNT_BLOCKS sums the token counts of the file blocks. Each block ends with a
    newline and the next starts a new pre-token, so for byte-level BPE tokenizers
    like Qwen's the sum equals the count of the joined text (checked in the tests).
    """
    lo, hi = 0, len(ranked)
    best = ("", [], 0)
    # Start the search near a first guess (about 12 tokens per definition line) to save tokenizer calls.
    guess = min(hi, max(1, budget // 12))
    while lo <= hi:
        mid = guess if guess is not None else (lo + hi) // 2
        guess = None
        blocks, files = render(ranked, defs_of, mid)
        tokens = count_blocks(blocks)
        if tokens <= budget:
            best = ("".join(blocks), files, tokens)
            lo = mid + 1
        else:
            hi = mid - 1
    return best
