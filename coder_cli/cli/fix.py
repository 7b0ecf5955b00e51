"""`coder fix` and `coder undo`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime
from coder_cli.errors import ExitCode


@engine_options()
def fix(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The file to repair; `-` reads it from stdin and prints the result.")],
    test: Annotated[str | None, typer.Option("--test", help="The check: a shell command run in the repository root.")] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of candidates and feedback.")] = 3,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Write the fix without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff; never write.")] = False,
    diff_only: Annotated[bool, typer.Option("--diff", help="Print only the patch (git apply-able); never write.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Say what was checked, what failed, and every attempt.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the file (needed with `-`).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the check may run.")] = 120.0,
    engine: dict | None = None,
) -> int:
    """Repair a file: run its check, refill suspicious lines or rewrite the failing function, verify, show the diff, write on yes.

    \b
    coder fix app.py                              # syntax check + tests/test_app.py if it exists
    coder fix app.py --test "pytest -x tests/"    # any command: exit 0 means fixed
    coder fix app.py --test "pytest" --yes        # no questions (hooks, scripts)
    coder fix - --lang python < bad.py > good.py  # filter mode
    """
    from coder_cli.actions.fix import FixRequest, run_fix

    rt = runtime(ctx, **engine)
    if sum([yes, dry_run, diff_only]) > 1:
        from coder_cli.errors import UsageError

        raise UsageError("--yes, --dry-run and --diff exclude each other")
    note = (lambda msg: None) if (as_json or not explain and not rt.env.stderr_isatty) else rt.diag.note
    if file == "-":
        return _filter(rt, test, rounds, lang, timeout, note)
    req = FixRequest(Path(rt.env.cwd, file), test, rounds, lang=lang, timeout=timeout)
    result = run_fix(req, rt.load_engine, note, rt.home)
    return _report(rt, result, yes=yes, dry_run=dry_run, diff_only=diff_only, as_json=as_json, explain=explain)


def _summary(result) -> str:
    tried = len(result.attempts)
    rounds = max((a.round for a in result.attempts), default=0)
    return f"{rounds} round(s), {tried} candidate(s), {result.seconds:.1f} s"


def _report(rt, result, *, yes, dry_run, diff_only, as_json, explain) -> int:
    from coder_cli.fs.undo_journal import UndoJournal
    from coder_cli.ui.confirm import can_ask, confirm, show_diff

    env, diag = rt.env, rt.diag
    written = False
    if result.fixed is not None and yes and not (dry_run or diff_only):
        UndoJournal(rt.home).write(result.target, result.original.raw, result.new_bytes(), "coder fix")
        written = True
    if as_json:
        data = {
            "file": str(result.target),
            "check": result.check.description,
            "passed_before": result.before.passed,
            "fixed": result.fixed is not None,
            "written": written,
            "unit": result.unit.describe() if result.unit else None,
            "attempts": [a.__dict__ for a in result.attempts],
            "seconds": round(result.seconds, 2),
            "patch": result.patch() if result.fixed is not None else None,
        }
        env.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0 if (result.already_passing or written) else (1 if result.fixed is not None else int(ExitCode.GENERATION))
    if explain:
        _explain(rt, result)
    if result.already_passing:
        diag.note(f"{result.rel} already passes: {result.check.description}; nothing to fix")
        return 0
    if result.fixed is None:
        diag.error(
            f"could not fix {result.rel} ({_summary(result)})",
            "see what was tried with --explain, try --rounds 5, or a larger model (--model 1.5b)",
        )
        return int(ExitCode.GENERATION)
    patch = result.patch()
    if diff_only:
        env.stdout.write(patch)
        return int(ExitCode.FINDINGS)
    show_diff(env, patch) if env.stdout_isatty or dry_run or written else None
    diag.note(f"fixed: the check passes after {_summary(result)} ({result.check.description})")
    if written:
        diag.note(f"wrote {result.rel} (undo with `coder undo`)")
        return 0
    if dry_run:
        return int(ExitCode.FINDINGS)
    if can_ask(env):
        if confirm(env, f"Apply this change to {result.rel}?"):
            UndoJournal(rt.home).write(result.target, result.original.raw, result.new_bytes(), "coder fix")
            diag.note(f"wrote {result.rel} (undo with `coder undo`)")
            return 0
        diag.note("not written")
        return int(ExitCode.FINDINGS)
    if not env.stdout_isatty:
        env.stdout.write(patch)
    diag.note("not written: no terminal to ask; pass --yes to write, or apply the patch with `git apply`")
    return int(ExitCode.FINDINGS)


def _explain(rt, result) -> None:
    lines = [f"checked: {result.check.description}", f"before: {'passes' if result.before.passed else 'fails'}"]
    if not result.before.passed:
        from coder_cli.core.failure import parse

        lines.append(f"failure: {parse(result.before.output).summary}")
    if result.unit:
        lines.append(f"unit: {result.unit.describe()}")
    for a in result.attempts:
        extra = f": {a.summary}" if a.summary else ""
        lines.append(f"round {a.round} ({a.how}): {a.outcome}{extra} [{a.seconds:.1f} s]")
    rt.env.stderr.write("\n".join(lines) + "\n")


def _filter(rt, test, rounds, lang, timeout, note) -> int:
    from coder_cli.actions.fix import FixRequest, run_fix
    from coder_cli.core.languages import EXTENSIONS
    from coder_cli.errors import UsageError

    if not lang:
        raise UsageError("filter mode needs --lang (for example: coder fix - --lang python)")
    ext = next((e for e, name in EXTENSIONS.items() if name == lang), None)
    if ext is None:
        raise UsageError(f"unknown language {lang!r}", f"one of: {', '.join(sorted(set(EXTENSIONS.values())))}")
    data = rt.env.stdin.read()
    if not data.strip():
        raise UsageError("nothing to fix: standard input was empty")
    with tempfile.TemporaryDirectory(prefix="coder-filter-") as tmp:
        path = Path(tmp) / f"input{ext}"
        path.write_text(data, encoding="utf-8")
        result = run_fix(FixRequest(path, test, rounds, lang=lang, timeout=timeout), rt.load_engine, note, rt.home)
    if result.fixed is not None:
        rt.env.stdout.write(result.fixed)
        return 0
    rt.env.stdout.write(data)
    if result.already_passing:
        return 0
    rt.diag.error(f"could not fix the input ({_summary(result)}); printed it unchanged")
    return int(ExitCode.GENERATION)


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
    rt.diag.note(f"restored {entry.path} as it was before `{entry.command}`")
    return 0
