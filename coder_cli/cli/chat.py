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
    message: Annotated[
        list[str] | None,
        typer.Option(
            "--message",
            help="Send TEXT as one turn, then leave (repeatable: one turn each; '-': all of stdin as one).",
            show_default=False,
        ),
    ] = None,
    message_file: Annotated[
        list[str] | None,
        typer.Option(
            "--message-file",
            help="Send the whole file as one turn (repeatable; after the --message turns; '-': stdin).",
            show_default=False,
        ),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(
            "--test",
            help="Run CMD after each turn that applied a change; when it fails, one more turn with its output.",
            show_default=False,
        ),
    ] = None,
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
    coder chat calc.py --message-file task.md --test "pytest -q" --yes   # one-shot, from a script

    \b
    With --message or --message-file the turns are sent, then coder leaves. Exit codes:
    0 every proposed change was applied (and --test passes); 1 a change was not applied
    (refused, declined, or no --yes without a terminal); 4 --test still fails.
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
    store = SessionStore(rt.home, _root(rt))
    if resume and session:
        raise UsageError("--continue and --session exclude each other")
    if map_tokens < 0:
        raise UsageError("--map-tokens must be 0 or more")
    if test is not None and not test.strip():
        raise UsageError("--test needs a command", 'for example: --test "pytest -q"')
    script = _messages(rt, message or [], message_file or [])  # read (and checked) before the model loads
    interactive = rt.env.stdin_isatty and rt.env.stdout_isatty and script is None

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
        loop = ChatLoop(rt, chat_session, store, yes=yes, interactive=interactive, cwd=rt.env.cwd, test=test)
        return loop.run() if script is None else loop.run_script(script)
    finally:
        chat_session.close()


def _root(rt):
    from coder_cli.config import project_root

    return project_root(rt.env.cwd)


def _messages(rt, messages: list[str], files: list[str]) -> list[str] | None:
    """The one-shot turns in order (--message ones, then --message-file ones); None: no one-shot."""
    if not messages and not files:
        return None
    from coder_cli.fs.text_file import read_text

    used: list[str] = []

    def stdin() -> str:
        if used:
            raise UsageError("stdin holds one message: give '-' once")
        if rt.env.stdin_isatty:
            raise UsageError("'-' reads the message from stdin, which is a terminal", "pipe the message in")
        used.append(rt.env.stdin.read())
        return used[0]

    out = []
    for text in messages:
        out.append(stdin() if text == "-" else text)
    for name in files:
        out.append(stdin() if name == "-" else read_text(rt.env.cwd / name).text)
    for i, text in enumerate(out, 1):
        if not text.strip():
            raise UsageError(f"message {i} is empty", "give the instruction as --message TEXT or --message-file FILE")
    return out
