"""Writing a command's result into a file: verify, show the diff, ask (or --yes), write atomically, journal."""

from __future__ import annotations

from pathlib import Path

from coder_cli.errors import ExitCode


def offer_write(rt, path: Path, original, new_text: str, *, yes: bool, command: str) -> int:
    """Write NEW_TEXT over PATH (read as ORIGINAL) the safe way; returns the exit code.

    Refused: a path outside the repository, a result that parses worse than the file did.
    Without --yes the diff is shown and a terminal must answer yes; with no terminal the
    patch goes to stdout and nothing is written (exit 1).
    """
    from coder_cli.config import project_root
    from coder_cli.context.lookups import parses_worse
    from coder_cli.core.patch import unified
    from coder_cli.fs.atomic_write import WriteRefused, check_inside
    from coder_cli.fs.undo_journal import UndoJournal
    from coder_cli.ui.confirm import can_ask, confirm, show_diff

    env, diag = rt.env, rt.diag
    root = project_root(path.parent)
    check_inside(path, root)
    rel = path.relative_to(root).as_posix()
    if new_text == original.text:
        diag.note(f"nothing to write: {rel} would not change")
        return int(ExitCode.OK)
    worse = parses_worse(path.name, original.text, new_text)
    if worse:
        raise WriteRefused(f"not written: {worse}", "look at the fill with --json, or try --mode line")
    patch = unified(rel, original.text, new_text, original.newline)
    if yes:
        UndoJournal(rt.home).write(path, original.raw, original.encode(new_text), command)
        show_diff(env, patch) if env.stdout_isatty else None
        diag.note(f"wrote {rel} (undo with `coder undo`)")
        return int(ExitCode.OK)
    if can_ask(env):
        show_diff(env, patch)
        if confirm(env, f"Apply this change to {rel}?"):
            UndoJournal(rt.home).write(path, original.raw, original.encode(new_text), command)
            diag.note(f"wrote {rel} (undo with `coder undo`)")
            return int(ExitCode.OK)
        diag.note("not written")
        return int(ExitCode.FINDINGS)
    env.stdout.write(patch)
    diag.note("not written: no terminal to ask; pass --yes to write, or apply the patch with `git apply`")
    return int(ExitCode.FINDINGS)
