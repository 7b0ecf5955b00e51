"""Consoles built from the injected Environment, never at import time."""

from __future__ import annotations

from coder_cli.environment import Environment


def make_console(env: Environment, stderr: bool = False):
    from rich.console import Console

    stream = env.stderr if stderr else env.stdout
    tty = env.stderr_isatty if stderr else env.stdout_isatty
    return Console(
        file=stream,
        force_terminal=tty,
        no_color=env.no_color or not tty,
        highlight=False,
        soft_wrap=not tty,
        width=None if tty else 200,
        emoji=False,
    )


class Diagnostics:
    """Notes, warnings and errors on stderr; plain when stderr is not a terminal."""

    def __init__(self, env: Environment, quiet: bool = False) -> None:
        self.env = env
        self.quiet = quiet
        self._console = None

    @property
    def console(self):
        if self._console is None:
            self._console = make_console(self.env, stderr=True)
        return self._console

    def _plain(self, text: str) -> None:
        self.env.stderr.write(text + "\n")
        self.env.stderr.flush()

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self.env.stderr_isatty:
            self.console.print(f"[dim]{_escape(text)}[/dim]")
        else:
            self._plain(text)

    def warn(self, text: str) -> None:
        if self.env.stderr_isatty:
            self.console.print(f"[yellow]warning:[/yellow] {_escape(text)}")
        else:
            self._plain(f"warning: {text}")

    def error(self, text: str, hint: str | None = None) -> None:
        if self.env.stderr_isatty:
            self.console.print(f"[bold red]error:[/bold red] {_escape(text)}")
            if hint:
                self.console.print(f"[cyan]hint:[/cyan] {_escape(hint)}")
        else:
            self._plain(f"error: {text}")
            if hint:
                self._plain(f"hint: {hint}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


SEVERITY_COLOURS = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def print_findings(env: Environment, findings) -> None:
    """Review findings (``path:line: severity: message``), coloured by severity."""
    from rich.markup import escape

    console = make_console(env)
    for f in findings:
        colour = SEVERITY_COLOURS[f.severity]
        console.print(f"[bold]{escape(f.path)}:{f.line}:[/bold] [{colour}]{f.severity}:[/{colour}] {escape(f.message)}")


def print_table(env: Environment, columns: list[str], rows: list[list[str]]) -> None:
    """A plain aligned table on stdout (no box)."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    make_console(env).print(table)
