"""`coder ask`: one-shot questions and shell pipes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from coder_cli.cli.common import MaxTokensOpt, TemperatureOpt, engine_options, runtime


@engine_options()
def ask(
    ctx: typer.Context,
    prompt: Annotated[
        list[str] | None, typer.Argument(help="The question; `-` reads it from stdin alone.", show_default=False)
    ] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="Replace the system prompt.")] = None,
    files: Annotated[list[Path] | None, typer.Option("--file", "-f", help="Add a file to the prompt (repeatable).")] = None,
    extract: Annotated[bool, typer.Option("--extract", "-x", help="Print only the code of the reply's code block(s).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: reply, usage, timing.")] = False,
    max_tokens: MaxTokensOpt = None,
    temperature: TemperatureOpt = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Sampling seed (with --temperature > 0).", show_default=False)
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print token counts and speeds on stderr.")] = False,
    engine: dict | None = None,
) -> int:
    """Ask one question; stdin and files join the prompt.

    \b
    coder ask "how do I reverse a list in Python?"
    git diff | coder ask "write a commit message"
    coder ask "explain" < file.py
    coder ask -x "a function that parses ISO dates" > dates.py
    """
    from coder_cli.actions.ask import AskRequest, build_parts, run_ask
    from coder_cli.ui.stream import PlainSink, make_sink

    rt = runtime(
        ctx,
        **engine,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    words = prompt or []
    stdin_only = words == ["-"]
    stdin_text = None
    if stdin_only or rt.env.stdin_has_data():
        stdin_text = rt.env.stdin.read()
    elif not words and not files and rt.env.stdin_isatty:
        from coder_cli.errors import UsageError

        raise UsageError("nothing to ask", 'pass a prompt: coder ask "question" (or pipe text in)')
    s = rt.settings
    req = AskRequest(
        prompt=None if stdin_only else " ".join(words),
        stdin_text=stdin_text,
        files=list(files or []),
        system=system,
        extract=extract,
        max_tokens=s.max_tokens,
        temperature=s.temperature,
        seed=s.seed,
    )
    parts = build_parts(req)
    if as_json:
        result = run_ask(req, parts, rt.load_engine, lambda piece: None)
    else:
        sink = PlainSink(rt.env.stdout) if extract else make_sink(rt.env)
        try:
            result = run_ask(req, parts, rt.load_engine, sink.write)
        finally:
            sink.close()
    for note in result.notes:
        rt.diag.note(note)
    if as_json:
        from coder_cli.engine.usage import usage_timing

        payload = {
            "reply": result.reply,
            "code": result.code,
            "model": result.model,
            "parts": result.parts,
            **usage_timing(result.stats, load_s=result.load_s, total_s=result.total_s),
            "finish_reason": result.stats.finish_reason,
        }
        rt.env.stdout.write(json.dumps(payload, indent=2) + "\n")
        rt.env.stdout.flush()
    if stats:
        st = result.stats
        rt.env.stderr.write(
            f"model {result.model} · load {result.load_s:.2f} s · prompt {st.prompt_tokens} tokens "
            f"({st.cached_tokens} cached) in {st.prompt_s:.2f} s · reply {st.completion_tokens} tokens in "
            f"{st.generate_s:.2f} s, {st.tokens_per_s:.1f} tokens/s\n"
        )
    return 0
