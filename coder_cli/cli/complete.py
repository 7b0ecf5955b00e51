"""`coder complete`: fill-in-the-middle for the shell and for editors."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime
from coder_cli.errors import ExitCode, UsageError


@engine_options()
def complete(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            help="FILE:LINE or FILE:LINE:COL (1-based; no COL: the end of the line), or FILE to fill its <FILL> markers.",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="line: finish the line; block: the body the cursor opens; auto: from the code.")
    ] = "auto",
    write: Annotated[bool, typer.Option("--write", help="Write the fill into the file (diff, then yes).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --write: do not ask.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    stdin_json: Annotated[
        bool, typer.Option("--stdin-json", help="Editor mode: one JSON request per stdin line, one JSON answer per line.")
    ] = False,
    budget: Annotated[int, typer.Option("--budget", help="Tokens of cross-file context (0: none).")] = 1024,
    suffix_tokens: Annotated[
        int | None,
        typer.Option(
            "--suffix-tokens",
            help="Tokens of the code below the cursor the model sees (default 256; read again on every request: "
            "fewer is faster, and worse).",
            show_default=False,
        ),
    ] = None,
    engine: dict | None = None,
) -> int:
    """Fill in the middle: the code at a position, or at each <FILL> marker, with context from the repository.

    \b
    coder complete app.py:42             # at the end of line 42: its rest, or the next line
    coder complete app.py:42:9 --mode block
    coder complete app.py --write        # fill every <FILL> marker, show the diff, ask
    coder complete --stdin-json          # editors: see the README's protocol
    """
    from coder_cli.actions.complete import MODES, SUFFIX_TOKENS, Completer

    rt = runtime(ctx, **engine)
    if mode not in MODES:
        raise UsageError(f"unknown --mode {mode!r}", f"use one of: {', '.join(MODES)}")
    if yes and not write:
        raise UsageError("--yes only goes with --write")
    suffix_tokens = SUFFIX_TOKENS if suffix_tokens is None else suffix_tokens
    if not 1 <= suffix_tokens <= 8192:
        raise UsageError("--suffix-tokens must be from 1 to 8192")
    if stdin_json:
        if target or write:
            raise UsageError("--stdin-json takes its requests from stdin: no FILE, no --write")
        from coder_cli.actions.complete_json import serve

        # An editor waits on every answer: no sampled candidates (a fill one level off is still moved).
        completer = Completer(rt.load_engine(), rt.home, budget=budget, suffix_tokens=suffix_tokens, candidates=1)
        try:
            serve(completer, rt.env.stdin, rt.env.stdout, rt.env.cwd)
        finally:
            completer.close()
        return 0
    if not target:
        raise UsageError("what to complete?", "coder complete FILE:LINE[:COL], coder complete FILE (with <FILL> markers)")
    from coder_cli.actions.complete import CompletionJob

    job = CompletionJob.from_target(rt.env.cwd, target, mode)  # (checked before the model loads)
    completer = Completer(rt.load_engine(), rt.home, budget=budget, suffix_tokens=suffix_tokens)
    progress = rt.diag.note if rt.env.stderr_isatty else (lambda msg: None)
    try:
        new_text, fills = job.run(completer, progress)
    finally:
        completer.close()
    return _report(rt, job, new_text, fills, write=write, yes=yes, as_json=as_json)


def _report(rt, job, new_text: str, fills, *, write: bool, yes: bool, as_json: bool) -> int:
    env, diag = rt.env, rt.diag
    for f in fills:
        if f.note:
            diag.warn(f.note)
    if as_json:
        env.stdout.write(json.dumps(job.as_json(new_text, fills), indent=2, ensure_ascii=False) + "\n")
    elif not write:
        if job.line is None:
            env.stdout.write(new_text)
        else:
            out = fills[0].completion
            env.stdout.write(out + ("\n" if env.stdout_isatty and not out.endswith("\n") else ""))
        env.stdout.flush()
    if not write:
        return 0
    from coder_cli.actions.proposal import apply, journal_write

    consent = rt.consent(yes=yes, refusal_hint="look at the fill with --json, or try --mode line")
    return 0 if apply(job.proposal(new_text), consent, journal_write(rt.home)).ok else int(ExitCode.FINDINGS)
