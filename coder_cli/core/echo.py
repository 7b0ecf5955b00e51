"""Telling a reply that only restates the question ("the echo") from an answer.

Once the conversation holds a long answer, the 0.5B model often answers an
"Explain ..." question with the question itself, word for word or turned into
a request ("Can you explain how decorators work in Python?" for "Explain how
Python decorators work, with an example."). `coder chat` holds a reply back
while it could still be such an echo, and asks again without the older turns
when it was one. Pure functions on text.

A reply is an echo when it is short and either nearly the question's own text,
or a request (it opens with "explain", "can you", "what", ... or ends in "?")
that shares most of the question's words and adds few of its own.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

SIMILAR = 0.8  # how alike (difflib's ratio) a reply must be to the question to count as restating it
SLACK = 40  # characters a restatement may add ("Sure! ", a closing "?")
SHARED = 0.6  # of the question's words a request must repeat to restate it
EXTRA = 3  # words of its own a restating request may add

_FILLER = frozenset("sure certainly ok okay of course yes well".split())
_ASKING = frozenset("explain describe can could would will please tell show what how why which".split())
_STOP = (
    frozenset(
        "a an the and or of in on to for with is are be it its this that these those s me my i you your "
        "do does some about example examples".split()
    )
    | _FILLER
    | _ASKING
)


def normalize(text: str) -> str:
    """Lower case, markdown and punctuation gone, runs of space one space."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _limit(q: str) -> int:
    return len(q) + len(q) // 2 + SLACK


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _content(words: list[str]) -> set[str]:
    return {_stem(w) for w in words if w not in _STOP}


def _asks(words: list[str], raw: str) -> bool:
    """Whether the reply is phrased as a request: its first word past "Sure!" asks, or it ends in "?"."""
    first = next((w for w in words if w not in _FILLER), "")
    return first in _ASKING or raw.rstrip().rstrip("*_`").endswith("?")


def _nearly(q: str, r: str) -> bool:
    if r == q or (r.startswith(q) and len(r) - len(q) <= SLACK):
        return True
    return len(r) >= len(q) // 2 and SequenceMatcher(None, q, r, autojunk=False).ratio() >= SIMILAR


def is_echo(question: str, reply: str) -> bool:
    """Whether REPLY is QUESTION said back (nearly word for word, or as a request for the same thing),
    with little or nothing more."""
    q, r = normalize(question), normalize(reply)
    if not q or not r or len(r) > _limit(q):
        return False
    if _nearly(q, r):
        return True
    words = r.split()
    asked = _content(q.split())
    if not asked or not _asks(words, reply):
        return False
    said = _content(words)
    return len(asked & said) >= SHARED * len(asked) and len(said - asked) <= EXTRA


def may_become_echo(question: str, partial: str) -> bool:
    """Whether a reply that starts with PARTIAL could still turn out to be an echo of QUESTION: the
    part to hold back from the screen until it is clear."""
    q, r = normalize(question), normalize(partial)
    if not q or len(r) > _limit(q):
        return False
    if not r or q.startswith(r) or r.startswith(q):
        return True
    if SequenceMatcher(None, q[: len(r)], r, autojunk=False).ratio() >= SIMILAR:
        return True
    words = r.split()
    if partial[-1:].isalnum() or partial[-1:] == "_":
        words = words[:-1]  # the last word may not be finished
    opening = [w for w in words if w not in _FILLER]
    if opening and opening[0] not in _ASKING:
        return False  # not a request: an echo would have to end in "?", and then be short
    return len(_content(words) - _content(q.split())) <= EXTRA
