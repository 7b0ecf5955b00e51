"""Asking a yes/no question on the terminal."""

from __future__ import annotations

from coder_cli.environment import Environment


def can_ask(env: Environment) -> bool:
    return env.stdin_isatty and env.stderr_isatty


def confirm(env: Environment, question: str) -> bool:
    """Ask QUESTION on stderr and read the answer from the terminal; anything but y/yes is no."""
    env.stderr.write(f"{question} [y/N] ")
    env.stderr.flush()
    answer = env.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def show_diff(env: Environment, patch: str) -> None:
    """A unified diff: coloured on a terminal, plain otherwise."""
    if env.stdout_isatty:
        from rich.syntax import Syntax

        from coder_cli.ui.console import make_console

        make_console(env).print(Syntax(patch, "diff", theme="ansi_dark", background_color="default"))
    else:
        env.stdout.write(patch)
        env.stdout.flush()
