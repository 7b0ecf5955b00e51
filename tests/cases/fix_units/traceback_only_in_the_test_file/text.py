"""Text helpers for titles, slugs and excerpts."""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS = {"a", "an", "the", "of", "and"}


def normalize(text: str) -> str:
    """TEXT without accents, lowercased, with single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return " ".join(ascii_only.lower().split())


def slugify(title: str, max_words: int = 8) -> str:
    """A URL slug: lowercase words joined by hyphens, stop words dropped."""
    words = re.findall(r"[a-z0-9]+", normalize(title))
    kept = [w for w in words if w not in STOP_WORDS][:max_words]
    return "_".join(kept)


def title_case(text: str) -> str:
    words = normalize(text).split()
    out = []
    for i, word in enumerate(words):
        if i and word in STOP_WORDS:
            out.append(word)
        else:
            out.append(word.capitalize())
    return " ".join(out)


def excerpt(text: str, limit: int = 80) -> str:
    """The first LIMIT characters, cut at a word boundary, with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def reading_minutes(text: str, per_minute: int = 200) -> int:
    return max(1, round(word_count(text) / per_minute))


def initials(name: str) -> str:
    return "".join(part[0].upper() for part in name.split() if part)


def mask_email(address: str) -> str:
    user, _, domain = address.partition("@")
    if not domain:
        return address
    return f"{user[:1]}***@{domain}"


def pluralize(word: str, count: int) -> str:
    if count == 1:
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"
