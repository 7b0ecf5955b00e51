"""The `coder` command: Typer app and the one place errors are rendered."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Annotated

import typer

from coder_cli import __version__
from coder_cli.cli import ask as ask_cmd
from coder_cli.cli import chat as chat_cmd
from coder_cli.cli import commit_msg as commit_msg_cmd
from coder_cli.cli import complete as complete_cmd
from coder_cli.cli import config_cmd
from coder_cli.cli import doctor as doctor_cmd
from coder_cli.cli import fix as fix_cmd
from coder_cli.cli import hook as hook_cmd
from coder_cli.cli import lsp as lsp_cmd
from coder_cli.cli import models as models_cmd
from coder_cli.cli import repomap as map_cmd
from coder_cli.cli import review as review_cmd
from coder_cli.cli import serve as serve_cmd
from coder_cli.cli import undo as undo_cmd


def _keep_argument_help() -> None:
    """Typer 0.20 sets an argument's help and then calls click's Argument.__init__, which since
    click 8.5 takes a ``help`` of its own and resets it to None: every argument lost its help
    text in `--help`. Hand the help to click as well (a no-op where click does not take it)."""
    from typer.core import TyperArgument

    init = TyperArgument.__init__
    if getattr(init, "keeps_help", False):
        return

    def keep(self, *args, help=None, **kwargs):  # noqa: A002 (click's own name)
        init(self, *args, help=help, **kwargs)
        if help and not getattr(self, "help", None):
            self.help = help

    keep.keeps_help = True
    TyperArgument.__init__ = keep


_keep_argument_help()

app = typer.Typer(
    name="coder",
    help="A local-first coding assistant: Qwen2.5-Coder on llama.cpp, in your terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    """A local-first coding assistant: Qwen2.5-Coder on llama.cpp, in your terminal.

    Exit codes: 0 ok, 1 changes needed or findings, 2 usage, 3 config or model
    problem (a crash inside llama.cpp too: run `coder doctor`), 4 generation
    failed, 5 git problem, 130 interrupted.
    """


app.command("chat")(chat_cmd.chat)
app.command("fix")(fix_cmd.fix)
app.command("undo")(undo_cmd.undo)
app.command("complete")(complete_cmd.complete)
app.command("ask")(ask_cmd.ask)
app.command("doctor")(doctor_cmd.doctor)
app.command("map")(map_cmd.map_)
app.command("commit-msg")(commit_msg_cmd.commit_msg)
app.command("review")(review_cmd.review)
app.command("serve")(serve_cmd.serve)
app.command("lsp")(lsp_cmd.lsp)
app.add_typer(models_cmd.app, name="models")
app.add_typer(hook_cmd.app, name="hook")
app.add_typer(config_cmd.app, name="config")


def _quiet_stdout() -> None:
    """After a closed pipe (`| head -1`), send the rest to /dev/null so exit is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _usage_errors() -> tuple[type[Exception], ...]:
    """Typer's usage errors: click's before typer 0.22, typer's own since (it vendors click)."""
    kinds: list[type[Exception]] = []
    if hasattr(typer, "TyperException"):
        kinds.append(typer.TyperException)
    try:
        import click

        kinds.append(click.ClickException)
    except ImportError:
        pass
    return tuple(kinds)


def _raise_interrupted(signum, frame) -> None:
    from coder_cli.errors import Interrupted

    raise Interrupted


def _install_sigint():
    """Ctrl-C raises Interrupted (exit 130 with a note), when we own the main thread's handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    return signal.signal(signal.SIGINT, _raise_interrupted)


def _interrupted(env) -> int:
    from coder_cli.errors import ExitCode

    try:
        env.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass
    env.stderr.write("interrupted\n")
    env.stderr.flush()
    return int(ExitCode.INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """The entry point of installs made before coder_cli.entry (which forks before these imports)."""
    from coder_cli.entry import main as entry_main

    entry_main(argv)


def run(args: list[str], env=None) -> int:
    """Run one command; render any CoderError here; return the exit code."""
    from coder_cli.environment import Environment
    from coder_cli.errors import CoderError, ExitCode, Interrupted
    from coder_cli.ui.console import Diagnostics
    from coder_cli.ui.stream import OutputClosed

    env = env or Environment()
    debug = "--debug" in args or bool(env.environ.get("CODER_DEBUG"))
    diag = Diagnostics(env)
    previous = _install_sigint()
    try:
        code = app(args=args, prog_name="coder", standalone_mode=False, obj=env)
        code = code if isinstance(code, int) else 0
    except CoderError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        diag.error(exc.message, exc.hint)
        code = int(exc.exit_code)
    except (Interrupted, KeyboardInterrupt, typer.Abort):
        code = _interrupted(env)
    except typer.Exit as exc:
        # Typer turns Ctrl-C inside a command into Exit(130).
        code = _interrupted(env) if isinstance(exc.__cause__, KeyboardInterrupt) else exc.exit_code
    except _usage_errors() as exc:  # unknown option, bad value, ...
        show = getattr(exc, "show", None)
        if show is not None:
            show(file=env.stderr)
        else:
            diag.error(exc.format_message())
        code = exc.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        code = 0
    except OutputClosed:
        _quiet_stdout()
        code = 0
    except Exception as exc:  # noqa: BLE001 - the one last-resort handler: a bug, not a user error
        if debug:
            raise
        diag.error(f"internal error: {type(exc).__name__}: {exc}", "run again with --debug for the traceback, and report it")
        code = int(ExitCode.GENERATION)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        env.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except ValueError:  # a closed test stream
        pass
    return code
