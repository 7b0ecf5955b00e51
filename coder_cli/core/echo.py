"""Telling a reply that only restates the question ("the echo") from an answer.

After a long answer in the conversation, the 0.5B model sometimes answers an
"Explain ..." question with the question itself. `coder chat` holds a reply
back while it could still be such an echo, and asks again without the older
turns when it was one. Pure functions on text.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

SIMILAR = 0.8  # how alike (difflib's ratio) a reply must be to the question to count as restating it
SLACK = 40  # characters a restatement may add ("Sure! ", a closing "?")


def normalize(text: str) -> str:
    """Lower case, markdown and punctuation gone, runs of space one space."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _limit(q: str) -> int:
    return len(q) + len(q) // 2 + SLACK


def is_echo(question: str, reply: str) -> bool:
    """Whether REPLY is QUESTION said back (word for word or nearly), with little or nothing more."""
    q, r = normalize(question), normalize(reply)
    if not q or not r or len(r) > _limit(q):
        return False
    if r == q or (r.startswith(q) and len(r) - len(q) <= SLACK):
        return True
    return len(r) >= len(q) // 2 and SequenceMatcher(None, q, r, autojunk=False).ratio() >= SIMILAR


def may_become_echo(question: str, partial: str) -> bool:
    """Whether a reply that starts with PARTIAL could still turn out to be an echo of QUESTION: the
    part to hold back from the screen until it is clear."""
    q, r = normalize(question), normalize(partial)
    if not q or len(r) > _limit(q):
        return False
    if not r or q.startswith(r) or r.startswith(q):
        return True
    head = q[: len(r)]
    return SequenceMatcher(None, head, r, autojunk=False).ratio() >= SIMILAR
