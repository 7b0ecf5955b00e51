"""The one write path: a Proposal and `apply` with consent, for every command that writes."""

from __future__ import annotations

import subprocess

import pytest

from coder_cli.actions.proposal import Consent, Outcome, apply, journal_write, proposal_for
from coder_cli.fs.atomic_write import WriteRefused
from coder_cli.fs.text_file import read_text
from coder_cli.fs.undo_journal import UndoJournal

BEFORE = "def f(x):\n    return x\n"
AFTER = "def f(x):\n    return x + 1\n"


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "f.py").write_text(BEFORE)
    return root


def consent(yes=False, answer=None, pipe=True, **fields):
    said: dict[str, list] = {"notes": [], "shown": [], "piped": [], "asked": []}

    def ask(question):
        said["asked"].append(question)
        return answer

    c = Consent(
        yes=yes,
        note=said["notes"].append,
        show=said["shown"].append,
        ask=None if answer is None else ask,
        pipe=said["piped"].append if pipe else None,
        **fields,
    )
    return c, said


def test_yes_writes_shows_the_diff_and_journals(repo, tmp_path):
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), AFTER, "coder test")
    c, said = consent(yes=True)
    assert apply(p, c, journal_write(tmp_path / "home")) is Outcome.WRITTEN
    assert (repo / "f.py").read_text() == AFTER
    assert said["shown"] == [p.diff] and said["asked"] == [] and said["piped"] == []
    assert said["notes"] == ["wrote f.py (undo with `coder undo`)"]
    UndoJournal(tmp_path / "home").undo()
    assert (repo / "f.py").read_text() == BEFORE


def test_nobody_to_ask_pipes_the_patch_and_writes_nothing(repo, tmp_path):
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), AFTER, "coder test")
    c, said = consent()
    assert apply(p, c, journal_write(tmp_path / "home")) is Outcome.NOT_ASKED
    assert said["piped"] == [p.diff] and said["shown"] == []
    assert "pass --yes" in said["notes"][0]
    assert (repo / "f.py").read_text() == BEFORE
    subprocess.run(["git", "-C", str(repo), "apply"], input=p.diff, text=True, check=True)
    assert (repo / "f.py").read_text() == AFTER


def test_a_no_writes_nothing_and_a_yes_writes(repo, tmp_path):
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), AFTER, "coder test")
    c, said = consent(answer=False)
    assert apply(p, c, journal_write(tmp_path / "home")) is Outcome.DECLINED
    assert said["asked"] == ["Apply this change to f.py?"] and said["shown"] == [p.diff]
    assert (repo / "f.py").read_text() == BEFORE
    c, said = consent(answer=True)
    assert apply(p, c, journal_write(tmp_path / "home")) is Outcome.WRITTEN
    assert (repo / "f.py").read_text() == AFTER


def test_chat_words_and_summary(repo):
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), AFTER, "coder chat", summary="f changed")
    c, said = consent(answer=True, pipe=False, words="apply", undo_hint="/undo reverts it")
    written = []
    assert apply(p, c, written.append) is Outcome.WRITTEN and written == [p]
    assert said["asked"] == ["Apply this change to f.py (f changed)?"]
    assert said["notes"] == ["applied to f.py (f changed) (/undo reverts it)"]
    c, said = consent(pipe=False, words="apply", no_terminal_hint="start the chat with --yes")
    assert apply(p, c, written.append) is Outcome.NOT_ASKED and said["shown"] == [p.diff]  # no pipe: shown
    assert said["notes"] == ["f.py: not applied: no terminal to ask; start the chat with --yes"]


def test_unchanged_is_no_write(repo):
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), BEFORE, "coder test")
    c, said = consent(yes=True)
    assert apply(p, c, lambda p: pytest.fail("written")) is Outcome.UNCHANGED
    assert said["notes"] == ["nothing to write: f.py would not change"]


def test_refusals(repo, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text(BEFORE)
    (repo / "link.py").symlink_to(outside)  # a link out of the repository is followed, and refused
    with pytest.raises(WriteRefused, match="outside"):
        proposal_for(repo / "link.py", read_text(repo / "link.py"), AFTER, "coder test")
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), "def f(x:\n    return x\n", "coder test")
    with pytest.raises(WriteRefused, match="f.py: not written: .*syntax error") as err:
        apply(p, consent(yes=True, refusal_hint="try again")[0], lambda p: pytest.fail("written"))
    assert err.value.hint == "try again"
    c, _ = consent(yes=True, check_parse=False)  # fix: its own check ran on the candidate
    assert apply(p, c, lambda p: None) is Outcome.WRITTEN
    p = proposal_for(repo / "f.py", read_text(repo / "f.py"), AFTER, "coder test")
    (repo / "f.py").write_text(BEFORE + "# edited meanwhile\n")
    with pytest.raises(WriteRefused, match="changed since it was read") as err:
        apply(p, consent(yes=True, refusal_hint="not this one")[0], lambda p: pytest.fail("written"))
    assert err.value.hint == "run the command again"  # the parse hint is only for a parse refusal
    latin = repo / "l.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    p = proposal_for(latin, read_text(latin), "# -*- coding: latin-1 -*-\nx = '\u20ac'\n", "coder test")
    with pytest.raises(WriteRefused, match="cannot be written in latin-1"):
        apply(p, consent(yes=True)[0], lambda p: pytest.fail("written"))
