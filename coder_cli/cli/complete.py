"""`coder complete`: fill-in-the-middle for the shell and for editors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime
from coder_cli.errors import ExitCode, UsageError

_POSITION = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


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
    engine: dict | None = None,
) -> int:
    """Fill in the middle: the code at a position, or at each <FILL> marker, with context from the repository.

    \b
    coder complete app.py:42             # the rest of line 42, printed
    coder complete app.py:42:9 --mode block
    coder complete app.py --write        # fill every <FILL> marker, show the diff, ask
    coder complete --stdin-json          # editors: see the README's protocol
    """
    from coder_cli.actions.complete import MODES, Completer

    rt = runtime(ctx, **engine)
    if mode not in MODES:
        raise UsageError(f"unknown --mode {mode!r}", f"use one of: {', '.join(MODES)}")
    if yes and not write:
        raise UsageError("--yes only goes with --write")
    if stdin_json:
        if target or write:
            raise UsageError("--stdin-json takes its requests from stdin: no FILE, no --write")
        from coder_cli.actions.complete_json import serve

        # An editor waits on every answer: no sampled candidates (a fill one level off is still moved).
        completer = Completer(rt.load_engine(), rt.home, budget=budget, candidates=1)
        try:
            serve(completer, rt.env.stdin, rt.env.stdout, rt.env.cwd)
        finally:
            completer.close()
        return 0
    if not target:
        raise UsageError("what to complete?", "coder complete FILE:LINE[:COL], coder complete FILE (with <FILL> markers)")
    path, line, col = _target(rt.env.cwd, target)
    job = _Job(rt, path, line, col, mode)
    completer = Completer(rt.load_engine(), rt.home, budget=budget)
    try:
        new_text, fills = job.run(completer)
    finally:
        completer.close()
    return job.report(new_text, fills, write=write, yes=yes, as_json=as_json)


def _target(cwd: Path, target: str) -> tuple[Path, int | None, int | None]:
    if (cwd / target).is_file():
        return cwd / target, None, None
    m = _POSITION.match(target)
    if m is None:
        return cwd / target, None, None  # read_text says it is missing
    col = m.group("col")
    return cwd / m.group("path"), int(m.group("line")), int(col) if col else None


class _Job:
    """One file's completion: the target checked (before the model loads), filled, reported."""

    def __init__(self, rt, path: Path, line: int | None, col: int | None, mode: str) -> None:
        from coder_cli.core.fim_prompt import MARKER, PositionError, offset_of
        from coder_cli.fs.text_file import read_text

        self.rt, self.line, self.col, self.mode = rt, line, col, mode
        self.original = read_text(path)
        self.path = path.resolve()
        text, name = self.original.text, path.name
        if not text.strip():
            raise UsageError(f"{name} is empty: there is no code around the cursor", "write a few lines first")
        self.at = None
        if line is None:
            if MARKER not in text:
                raise UsageError(f"{name} has no {MARKER} marker", f"give a position ({name}:LINE[:COL]) or add {MARKER}")
            return
        try:
            self.at = offset_of(text, line, col)
        except PositionError as exc:
            raise UsageError(f"{name}: {exc}") from None

    def run(self, completer):
        from coder_cli.actions.complete import FillRequest, fill_markers
        from coder_cli.core.fim_prompt import MARKER

        text = self.original.text
        if self.at is None:
            note = self.rt.diag.note if self.rt.env.stderr_isatty else (lambda msg: None)
            total = text.count(MARKER)
            return fill_markers(
                completer, self.path, text, self.mode, lambda i, f: note(f"filled {i}/{total} ({f.seconds:.1f} s)")
            )
        at = self.at
        fill = completer.fill(FillRequest(self.path, text[:at], text[at:], self.mode))
        return text[:at] + fill.completion + text[at:], [fill]

    def report(self, new_text: str, fills, *, write: bool, yes: bool, as_json: bool) -> int:
        env, diag = self.rt.env, self.rt.diag
        for f in fills:
            if f.note:
                diag.warn(f.note)
        if as_json:
            env.stdout.write(json.dumps(self._json(new_text, fills), indent=2, ensure_ascii=False) + "\n")
        elif not write:
            if self.line is None:
                env.stdout.write(new_text)
            else:
                out = fills[0].completion
                env.stdout.write(out + ("\n" if env.stdout_isatty and not out.endswith("\n") else ""))
            env.stdout.flush()
        if not write:
            return 0
        return self._write(new_text, yes)

    def _json(self, new_text: str, fills) -> dict:
        data = {"file": str(self.path), "fills": [f.as_dict() for f in fills]}
        if self.line is not None:
            data.update(line=self.line, col=self.col, completion=fills[0].completion)
        else:
            data["text"] = new_text
        return data

    def _write(self, new_text: str, yes: bool) -> int:
        from coder_cli.actions.proposal import apply, journal_write, proposal_for

        proposal = proposal_for(self.path, self.original, new_text, "coder complete", checks=["parses"])
        consent = self.rt.consent(yes=yes, refusal_hint="look at the fill with --json, or try --mode line")
        return 0 if apply(proposal, consent, journal_write(self.rt.home)).ok else int(ExitCode.FINDINGS)
