"""Print the most frequent words of a text file: python wordfreq.py [FILE] [N]."""

from __future__ import annotations

import re
import sys
from collections import Counter

SAMPLE = """It was the best of times, it was the worst of times, it was the age of wisdom,
it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity."""

STOP = {"it", "was", "the", "of", "a", "and"}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def frequencies(text: str, skip_stop_words: bool = True) -> Counter[str]:
    counts = Counter(words(text))
    if skip_stop_words:
        for word in STOP:
            counts.pop(word)
    return counts


def top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def bar(count: int, biggest: int, width: int = 30) -> str:
    return "#" * max(1, round(count / biggest * width))


def render(rows: list[tuple[str, int]]) -> str:
    if not rows:
        return "(no words)"
    biggest = rows[0][1]
    pad = max(len(word) for word, _ in rows)
    return "\n".join(f"{word.ljust(pad)} {count:4d} {bar(count, biggest)}" for word, count in rows)


def read(path: str | None) -> str:
    if path is None:
        return SAMPLE
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else None
    n = int(argv[2]) if len(argv) > 2 else 5
    counts = frequencies(read(path))
    print(render(top(counts, n)))
    return 0


def lexical_density(text: str) -> float:
    all_words = words(text)
    if not all_words:
        return 0.0
    return len([w for w in all_words if w not in STOP]) / len(all_words)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
