"""`coder chat`: an interactive session with files and a repository map in context."""

from __future__ import annotations

from typing import Annotated

import typer

from coder_cli.cli.common import MaxTokensOpt, TemperatureOpt, engine_options, runtime
from coder_cli.errors import UsageError


@engine_options()
def chat(
    ctx: typer.Context,
    files: Annotated[list[str] | None, typer.Argument(help="Files to put in the context.", show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--continue", "-c", help="Resume the last session of this repository.")] = False,
    session: Annotated[
        str | None, typer.Option("--session", "-S", help="Resume the session NAME, or start it.", show_default=False)
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Apply proposed changes and run /run commands without asking.")
    ] = False,
    map_tokens: Annotated[int, typer.Option("--map-tokens", help="Token budget of the repository map; 0 for none.")] = 1024,
    prewarm: Annotated[
        bool,
        typer.Option(
            "--prewarm/--no-prewarm",
            help="Read the known context while you type (default: on at a terminal).",
            show_default=False,
        ),
    ] = True,
    max_tokens: MaxTokensOpt = None,
    temperature: TemperatureOpt = None,
    engine: dict | None = None,
) -> int:
    """Chat about your code; changes to files in the chat are shown as diffs and applied on yes.

    \b
    coder chat src/app.py              # a session with app.py in context (/help inside)
    coder chat --continue              # pick up the last session of this repository
    printf 'q1\\nq2\\n' | coder chat     # no terminal: one message per line, plain answers
    """
    from coder_cli.actions.chat import open_session
    from coder_cli.actions.chat_sessions import SessionStore
    from coder_cli.cli.chat_loop import ChatLoop

    rt = runtime(
        ctx,
        **engine,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    interactive = rt.env.stdin_isatty and rt.env.stdout_isatty
    store = SessionStore(rt.home, _root(rt))
    if resume and session:
        raise UsageError("--continue and --session exclude each other")
    if map_tokens < 0:
        raise UsageError("--map-tokens must be 0 or more")

    def load(model: str | None):
        if model is not None:
            rt.settings.values["model"] = model
        return rt.load_engine()

    chat_session = open_session(
        store,
        rt.home,
        load,
        rt.settings,
        resume=resume,
        name=session,
        map_tokens=map_tokens,
        prewarm=prewarm and interactive,
        note=rt.diag.note,
    )
    try:
        for f in files or []:
            added = chat_session.add(f, rt.env.cwd)
            rt.diag.note(f"added {added.rel} ({added.tokens:,} tokens)")
    except BaseException:
        chat_session.close()
        raise
    try:
        return ChatLoop(rt, chat_session, store, yes=yes, interactive=interactive, cwd=rt.env.cwd).run()
    finally:
        chat_session.close()


def _root(rt):
    from coder_cli.config import project_root

    return project_root(rt.env.cwd)
