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
    ],
)
def test_restatements_are_echoes(reply):
    assert is_echo(Q, reply)


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "The get method looks the key up in the dict and moves it to the end of the order.",
        Q + " It looks the key up in a dict, moves the entry to the front, and returns its value; a miss returns -1.",
        "Sure.",
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
