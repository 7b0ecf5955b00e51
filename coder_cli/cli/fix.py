"""`coder fix`: parse the options, run the repair (`actions.fix`), report it, write through `actions.proposal`."""

from __future__ import annotations

import json
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
    from coder_cli.actions.fix import FixRequest, fix_text, run_fix

    rt = runtime(ctx, **engine)
    if sum([yes, dry_run, diff_only]) > 1:
        from coder_cli.errors import UsageError

        raise UsageError("--yes, --dry-run and --diff exclude each other")
    note = (lambda msg: None) if (as_json or not explain and not rt.env.stderr_isatty) else rt.diag.note
    req = FixRequest(Path(rt.env.cwd, file), test, rounds, lang=lang, timeout=timeout, cwd=Path(rt.env.cwd))
    if file == "-":
        from coder_cli.actions.fix import filter_extension

        filter_extension(lang)  # (before waiting on stdin)
        data = rt.env.stdin.read()
        return _filtered(rt, data, fix_text(data, lang, req, rt.load_engine, note, rt.home))
    result = run_fix(req, rt.load_engine, note, rt.home)
    return _report(rt, result, yes=yes, dry_run=dry_run, diff_only=diff_only, as_json=as_json, explain=explain)


def _report(rt, result, *, yes, dry_run, diff_only, as_json, explain) -> int:
    from coder_cli.actions.proposal import Outcome, apply, journal_write

    env, diag = rt.env, rt.diag
    if as_json:
        written = False
        if result.fixed is not None and yes and not (dry_run or diff_only):
            consent = rt.consent(yes=True, quiet=True, check_parse=False)
            written = apply(result.proposal(), consent, journal_write(rt.home)) is Outcome.WRITTEN
        env.stdout.write(json.dumps(result.as_json(written), indent=2) + "\n")
        return 0 if (result.already_passing or written) else (1 if result.fixed is not None else int(ExitCode.GENERATION))
    if explain:
        env.stderr.write("\n".join(result.explain_lines()) + "\n")
    if result.already_passing:
        diag.note(f"{result.rel} already passes: {result.check.description}; nothing to fix")
        return 0
    if result.fixed is None:
        diag.error(
            f"could not fix {result.rel} ({result.summary()})",
            "see what was tried with --explain, try --rounds 5, or a larger model (--model 1.5b)",
        )
        return int(ExitCode.GENERATION)
    proposal = result.proposal()
    if diff_only:
        env.stdout.write(proposal.diff)
        return int(ExitCode.FINDINGS)
    diag.note(f"fixed: the check passes after {result.summary()} ({result.check.description})")
    if dry_run:
        from coder_cli.ui.confirm import show_diff

        show_diff(env, proposal.diff)
        return int(ExitCode.FINDINGS)
    outcome = apply(proposal, rt.consent(yes=yes, check_parse=False), journal_write(rt.home))
    return 0 if outcome.ok else int(ExitCode.FINDINGS)


def _filtered(rt, data: str, result) -> int:
    """Filter mode's answer: the fixed text on stdout, or the input unchanged (and why)."""
    if result.fixed is not None:
        rt.env.stdout.write(result.fixed)
        return 0
    rt.env.stdout.write(data)
    if result.already_passing:
        return 0
    rt.diag.error(f"could not fix the input ({result.summary()}); printed it unchanged")
    return int(ExitCode.GENERATION)
