"""The one way coder changes a file: a Proposal, then `apply` with consent.

A proposal is the file (inside the repository), its text as read, the new text, the checks the
new text passed, and the diff between them. `apply`:

1. refuses what must not be written (WriteRefused): a path outside the repository, a file that
   changed since it was read, text the file's encoding cannot hold, a result that parses worse
   than the file did (unless the caller's own check is stronger, see ``check_parse``);
2. gets consent: ``--yes`` writes; otherwise the diff is shown and a terminal is asked; with
   nobody to ask, the patch (`git apply`-able) goes to stdout and nothing is written;
3. writes atomically, the pre-image in the undo journal first (`coder undo`).

The differences between commands are deliberate and are Consent's fields, not separate code:

- ``complete --write`` and ``fix``: the diff is shown (coloured on a terminal, plain in a pipe, so a
  log keeps what --yes wrote); with nobody to ask, the patch goes to stdout and the exit code is 1.
- ``chat``: the diff is always shown (it is part of the conversation); with nobody to ask nothing
  more is printed (the diff is on screen) and the hint says to start the chat with --yes; the
  write is the session's (it remembers it for /undo and /diff) and the words are "applied".
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.core.patch import unified
from coder_cli.errors import UsageError
from coder_cli.fs.atomic_write import WriteRefused, check_inside
from coder_cli.fs.text_file import TextFile, read_bytes

PARSE_HINT = object()  # stands for the caller's hint (Consent.refusal_hint)


@dataclass
class Proposal:
    path: Path  # the file, resolved
    rel: str  # as shown: relative to the repository root
    original: TextFile  # as read when the change was made
    after: str  # the new text ("\n" newlines)
    command: str  # for the journal: "coder fix", "coder complete", "coder chat"
    checks: list[str] = field(default_factory=list)  # what the new text passed, in words (for reports)
    summary: str = ""  # what changes, in words (chat shows it in its question)
    root: Path | None = None  # the repository it must stay inside (None: the one PATH is in)

    @property
    def changed(self) -> bool:
        return self.after != self.original.text

    @property
    def diff(self) -> str:
        """A `git apply`-able unified diff, in the file's own newline style."""
        return unified(self.rel, self.original.text, self.after, self.original.newline)

    def new_bytes(self) -> bytes:
        return self.original.encode(self.after)


class Outcome(enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the proposal changes nothing: nothing to write
    DECLINED = "declined"  # the user said no
    NOT_ASKED = "not asked"  # nobody to ask and no --yes: the patch went to stdout (or nowhere)

    @property
    def ok(self) -> bool:
        return self in (Outcome.WRITTEN, Outcome.UNCHANGED)


@dataclass
class Consent:
    """Who says yes, and where words and diffs go (the command line gives the terminal's)."""

    yes: bool  # --yes: write without asking
    note: Callable[[str], None]  # a status line on stderr
    show: Callable[[str], None]  # show a diff
    ask: Callable[[str], bool] | None  # ask a yes/no question; None: there is no terminal to ask
    pipe: Callable[[str], None] | None = None  # where the patch goes when nobody can be asked (else: show)
    show_on_yes: bool = True  # show the diff also when --yes writes without asking
    words: str = "write"  # "write" (fix, complete) or "apply" (chat): what the messages say
    undo_hint: str = "undo with `coder undo`"
    no_terminal_hint: str = "pass --yes to write, or apply the patch with `git apply`"
    check_parse: bool = True  # refuse a result that parses worse (fix's check already ran: False)
    refusal_hint: str | None = None  # what to try when the result parses worse than the file


def proposal_for(path: Path, original: TextFile, after: str, command: str, **fields) -> Proposal:
    """A proposal for PATH (as read: ORIGINAL) in the repository PATH is in (refused outside it)."""
    from coder_cli.config import project_root

    root = project_root(path.parent)
    real = check_inside(path, root)
    return Proposal(real, real.relative_to(root.resolve()).as_posix(), original, after, command, root=root, **fields)


def refusal(p: Proposal, words: str = "write", check_parse: bool = True) -> tuple[str, str | None] | None:
    """Why P must not be written now, and what to do (None when it may). Raises WriteRefused outside
    the repository. The hint of a result that parses worse is the caller's (``Consent.refusal_hint``)."""
    from coder_cli.config import project_root

    check_inside(p.path, p.root or project_root(p.path.parent))
    past = _past(words)
    try:
        changed = read_bytes(p.path) != p.original.raw
    except UsageError:  # gone or unreadable: the same answer
        changed = True
    if changed:
        return f"{p.rel} changed since it was read; nothing was {past}", "run the command again"
    try:
        p.new_bytes()
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        return f"{p.rel}: not {past}: {bad!r} cannot be written in {p.original.encoding}", None
    if check_parse:
        from coder_cli.context.lookups import parses_worse

        worse = parses_worse(p.rel, p.original.text, p.after)
        if worse:
            return f"{p.rel}: not {past}: {worse}", PARSE_HINT
    return None


def journal_write(home: Path) -> Callable[[Proposal], object]:
    """The usual write: the pre-image into the undo journal of HOME, then the atomic write."""
    from coder_cli.fs.undo_journal import UndoJournal

    def write(p: Proposal):
        return UndoJournal(home).write(p.path, p.original.raw, p.new_bytes(), p.command)

    return write


def apply(p: Proposal, consent: Consent, write: Callable[[Proposal], object]) -> Outcome:
    """Ask for consent to P and write it with WRITE (see the module's docstring). A refusal
    (`refusal`) raises WriteRefused before anything is shown."""
    past = _past(consent.words)
    if not p.changed:
        consent.note(f"nothing to {consent.words}: {p.rel} would not change")
        return Outcome.UNCHANGED
    refused = refusal(p, consent.words, consent.check_parse)
    if refused:
        why, hint = refused
        raise WriteRefused(why, consent.refusal_hint if hint is PARSE_HINT else hint)
    summary = f" ({p.summary})" if p.summary else ""
    if consent.yes:
        if consent.show_on_yes:
            consent.show(p.diff)
    elif consent.ask is None:
        (consent.pipe or consent.show)(p.diff)
        consent.note(f"{p.rel}: not {past}: no terminal to ask; {consent.no_terminal_hint}")
        return Outcome.NOT_ASKED
    else:
        consent.show(p.diff)
        if not consent.ask(f"Apply this change to {p.rel}{summary}?"):
            consent.note(f"not {past}")
            return Outcome.DECLINED
    write(p)
    consent.note(f"{'wrote' if consent.words == 'write' else 'applied to'} {p.rel}{summary} ({consent.undo_hint})")
    return Outcome.WRITTEN


def _past(words: str) -> str:
    return "written" if words == "write" else "applied"
