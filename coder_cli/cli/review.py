"""`coder review`: findings on staged changes, a revision range or files, as `path:line: severity: message`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.commit_msg import BudgetOpt
from coder_cli.cli.common import engine_options, runtime
from coder_cli.core.diff_packing import DEFAULT_BUDGET


@engine_options()
def review(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None, typer.Argument(help="A range REV..REV (or one commit), or files; default: the staged changes.")
    ] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Review the staged changes (the default).")] = False,
    all_changes: Annotated[bool, typer.Option("--all", "-a", help="Review staged and unstaged changes against HEAD.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: findings, files, omitted, tokens, timing.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a finding is an error.")] = False,
    budget: BudgetOpt = DEFAULT_BUDGET,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=8, help="Longest reply in tokens.")] = 256,
    engine: dict | None = None,
) -> int:
    """Review changes: one `path:line: severity: message` per finding, at a line of the diff (advisory: exit 0).

    \b
    coder review                 # the staged changes
    coder review main..HEAD      # a branch
    coder review src/app.py      # a file's changes (all of it when unchanged or untracked)
    coder review --json --strict # exit 1 on an error finding
    """
    from coder_cli.actions.git_changes import resolve_target
    from coder_cli.actions.review import ReviewRequest, run_review
    from coder_cli.vcs import Git

    rt = runtime(ctx, **engine)
    git = Git(rt.env.cwd, rt.env.environ)
    target = resolve_target(list(targets or []), staged, all_changes, git, rt.env.cwd)
    result = run_review(ReviewRequest(target, budget, max_tokens), git, rt.load_engine)
    if as_json:
        rt.env.stdout.write(json.dumps(_payload(result), indent=2) + "\n")
    else:
        _print_findings(rt, result.findings)
    for note in [*result.notes, *_summary(result, target)]:
        rt.diag.note(note)
    rt.env.stdout.flush()
    return 1 if strict and result.errors else 0


def _print_findings(rt, findings) -> None:
    if not rt.env.stdout_isatty:
        rt.env.stdout.writelines(f.format() + "\n" for f in findings)
        return
    from coder_cli.ui.console import print_findings

    print_findings(rt.env, findings)


def _summary(result, target) -> list[str]:
    from coder_cli.actions.git_changes import summary_counts

    view = result.view
    if view is None:
        hint = "stage changes (git add FILE…), or name files or a range: coder review main..HEAD"
        return [f"nothing to review: no {target.describe()}" + (f" ({hint})" if target.kind == "staged" else "")]
    n = len(result.findings)
    line = f"{n or 'no'} finding{'s' if n != 1 else ''}"
    if result.errors:
        line += f" ({result.errors} error{'s' if result.errors != 1 else ''})"
    line += f" in {summary_counts(view)}"
    if view.omitted:
        line += f"; {view.omitted} hunk{'s' if view.omitted != 1 else ''} not reviewed: over the budget (--budget)"
    notes = [line]
    if result.dropped:
        notes.append(f"dropped {result.dropped} finding{'s' if result.dropped != 1 else ''} that pointed at no line of the diff")
    return notes


def _payload(result) -> dict:
    from coder_cli.actions.git_changes import files_json, omitted_json, usage_json

    st, view = result.stats, result.view
    return {
        "findings": [f.as_dict() for f in result.findings],
        "dropped": result.dropped,
        "reply": result.reply,
        "files": files_json(view) if view else [],
        "omitted": omitted_json(view) if view else {"hunks": 0, "files": [], "excluded": {}},
        "model": result.model,
        **usage_json(st, result.timing, view),
        "finish_reason": st.finish_reason,
    }
