"""core.echo: a reply that only restates the question, told from an answer."""

import pytest

from coder_cli.core.echo import is_echo, may_become_echo

Q = "Explain how the LRU cache's get method works."


@pytest.mark.parametrize(
    "reply",
    [
        Q,
        "explain how the lru cache s get method works",
        "**Explain how the LRU cache's `get` method works?**",
        "Explain how the LRU cache's get method works.\n\nSure!",
        "Explain how the LRU cache get method works",  # nearly word for word
        "Can you explain how the get method of the LRU cache works?",  # the same, as a request
        "Sure! Could you explain how get works in the LRU cache?",
    ],
)
def test_restatements_are_echoes(reply):
    assert is_echo(Q, reply)


# What the 0.5B model said back, after long answers, in benchmarks/chat_echo.py.
SEEN = [
    ("Explain how Python decorators work, with an example.", "Can you explain how decorators work in Python?"),
    (
        "Explain context managers and the with statement, with an example.",
        "Can you explain the context managers and the `with` statement in Python?",
    ),
    ("Explain Python's dataclasses with an example.", "Can you explain Python's dataclasses with an example?"),
]


@pytest.mark.parametrize(("question", "reply"), SEEN)
def test_the_echoes_the_model_gave_are_echoes_and_held_back_while_they_stream(question, reply):
    assert is_echo(question, reply)
    assert all(may_become_echo(question, reply[:k]) for k in range(len(reply) + 1))


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "The get method looks the key up in the dict and moves it to the end of the order.",
        Q + " It looks the key up in a dict, moves the entry to the front, and returns its value; a miss returns -1.",
        "Sure.",
        "It looks the key up and moves it to the end.",  # short, shares words, but no request
        "What the get method does: it looks the key up in the cache's dict, moves it to the end, returns it.",
        "Can you tell me which cache you mean? There are several in this file.",
    ],
)
def test_answers_are_not(reply):
    assert not is_echo(Q, reply)


def test_a_reply_is_held_only_while_it_could_still_be_an_echo():
    assert may_become_echo(Q, "")
    assert may_become_echo(Q, "Explain how the")
    assert may_become_echo(Q, "**Explain how the LRU")
    assert not may_become_echo(Q, "The get method")
    assert not may_become_echo(Q, Q + " " + "It looks the key up, " * 5)
    # An answer that opens as answers do is shown from its second word on.
    assert not may_become_echo(Q, "Certainly! The get")
    assert may_become_echo(Q, "Certainly! The")  # the last word may still grow ("Thereupon")
