"""`coder undo`: put back what coder last wrote, byte for byte (the undo journal, `fs.undo_journal`)."""

from __future__ import annotations

from typing import Annotated

import typer

from coder_cli.cli.common import runtime


def undo(
    ctx: typer.Context,
    list_: Annotated[bool, typer.Option("--list", help="Show the journal, newest last.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Restore even if the file changed since coder wrote it.")] = False,
) -> int:
    """Undo the last change coder wrote, byte for byte."""
    import datetime

    from coder_cli.fs.undo_journal import UndoJournal

    rt = runtime(ctx)
    journal = UndoJournal(rt.home)
    if list_:
        entries = journal.entries()
        for e in entries:
            when = datetime.datetime.fromtimestamp(e.time).strftime("%Y-%m-%d %H:%M:%S")
            rt.env.stdout.write(f"{when}  {e.command:<12} {e.path}\n")
        if not entries:
            rt.diag.note("the undo journal is empty")
        return 0
    entry = journal.undo(force=force)
    for e in journal.skipped:
        rt.diag.note(f"forgot the entry of `{e.command}` on {e.path}: coder was stopped before it wrote the file")
    if journal.already:
        rt.diag.note(f"{entry.path} already holds what it held before `{entry.command}`; that entry is forgotten")
    else:
        rt.diag.note(f"restored {entry.path} as it was before `{entry.command}`")
    return 0
