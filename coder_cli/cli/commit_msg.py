"""`coder commit-msg`: a commit message for the staged changes, on stdout."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime
from coder_cli.core.diff_packing import DEFAULT_BUDGET

BudgetOpt = Annotated[
    int,
    typer.Option("--budget", min=64, help="Tokens of diff shown to the model (the same for review, so a warm engine reuses it)."),
]


@engine_options()
def commit_msg(
    ctx: typer.Context,
    staged: Annotated[bool, typer.Option("--staged", help="Describe the staged changes (the default).")] = False,
    all_changes: Annotated[bool, typer.Option("--all", "-a", help="Describe staged and unstaged changes against HEAD.")] = False,
    conventional: Annotated[
        bool, typer.Option("--conventional", help="Write a Conventional Commits subject: type(scope): summary.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: message, files, omitted, tokens, timing.")
    ] = False,
    budget: BudgetOpt = DEFAULT_BUDGET,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=8, help="Longest reply in tokens.")] = 96,
    prewarm: Annotated[
        bool,
        typer.Option(
            "--prewarm",
            help="Only read the diff into a running `coder serve` for the coming commit (the post-index-change "
            "hook runs this); without a server, do nothing.",
        ),
    ] = False,
    engine: dict | None = None,
) -> int:
    """Write a commit message for the staged changes: subject (72 characters at most), blank line, body.

    \b
    coder commit-msg                       # message on stdout
    git commit -m "$(coder commit-msg)"
    coder commit-msg --conventional --json
    """
    from coder_cli.actions.commit_msg import CommitMsgRequest, run_commit_msg
    from coder_cli.actions.git_changes import Target
    from coder_cli.errors import UsageError
    from coder_cli.vcs import Git

    if staged and all_changes:
        raise UsageError("--staged and --all exclude each other", "coder commit-msg (staged) or coder commit-msg --all")
    rt = runtime(ctx, **engine)
    req = CommitMsgRequest(Target("all" if all_changes else "staged"), conventional, budget, max_tokens)
    if prewarm:
        return _prewarm(rt, req)
    result = run_commit_msg(req, Git(rt.env.cwd, rt.env.environ), rt.load_engine)
    for note in result.notes:
        rt.diag.note(note)
    out = json.dumps(_payload(result), indent=2) + "\n" if as_json else result.message.text
    rt.env.stdout.write(out)
    rt.env.stdout.flush()
    return 0


def _prewarm(rt, req) -> int:
    """Loading a model here to warm a cache that dies with this process would only cost: a server or nothing."""
    from coder_cli.actions.commit_msg import prewarm_commit_msg
    from coder_cli.vcs import Git

    engine = rt.running_server()
    if engine is None:
        rt.diag.note("no coder serve answers: nothing to pre-read")
        return 0
    n = prewarm_commit_msg(req, Git(rt.env.cwd, rt.env.environ), engine)
    rt.diag.note(f"read {n:,} prompt tokens into {engine.info.backend}")
    return 0


def _payload(result) -> dict:
    from coder_cli.actions.git_changes import files_json, omitted_json, usage_json

    st, view = result.stats, result.view
    return {
        "message": result.message.text,
        "subject": result.message.subject,
        "body": result.message.body,
        "fallback": result.fallback,
        "reply": result.reply,
        "files": files_json(view),
        "omitted": omitted_json(view),
        "model": result.model,
        **usage_json(st, result.timing, view),
        "finish_reason": st.finish_reason,
    }
