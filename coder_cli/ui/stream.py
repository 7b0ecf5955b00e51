"""Where a streamed reply goes: plain text to a pipe, live Markdown to a terminal."""

from __future__ import annotations

import time
from typing import Protocol

from coder_cli.environment import Environment


class OutputClosed(Exception):
    """The reader of stdout went away (`| head -1`): stop quietly."""


class Sink(Protocol):
    def write(self, piece: str) -> None: ...
    def close(self) -> None: ...


class PlainSink:
    """Writes each piece as it comes and flushes: no ANSI codes, nothing buffered."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self._last = ""

    def write(self, piece: str) -> None:
        if piece:
            try:
                self.stream.write(piece)
                self.stream.flush()
            except BrokenPipeError:
                self._last = ""
                raise OutputClosed from None
            self._last = piece

    def close(self) -> None:
        try:
            if self._last and not self._last.endswith("\n"):
                self.stream.write("\n")
            self.stream.flush()
        except BrokenPipeError:
            pass


class MarkdownSink:
    """Streaming Markdown with highlighted code on a terminal.

    The lines of the rendered reply that have scrolled above a small live
    window are printed once, for good; only the window is redrawn, so long
    replies cost little to render and never duplicate lines.
    """

    WINDOW = 6
    INTERVAL = 0.08

    def __init__(self, env: Environment, code_theme: str = "monokai") -> None:
        from rich.live import Live

        from coder_cli.ui.console import make_console

        self.console = make_console(env)
        self.code_theme = code_theme
        self.text = ""
        self.printed = 0
        self._last = 0.0
        self.live = Live("", console=self.console, auto_refresh=False, transient=True, redirect_stdout=False)
        self._tty = _QuietTerminal(env.stdin)
        self._tty.__enter__()
        self.live.start()

    def _lines(self) -> list:
        from rich.markdown import Markdown

        options = self.console.options.update(width=self.console.width)
        return self.console.render_lines(Markdown(self.text, code_theme=self.code_theme), options, pad=False)

    def _emit(self, final: bool) -> None:
        from rich.text import Text

        lines = self._lines()
        stable = len(lines) if final else max(0, len(lines) - self.WINDOW)
        while self.printed < stable:  # one line at a time: a Ctrl-C between lines never prints one twice
            self.live.console.print(Segments(lines[self.printed], newline=True))
            self.printed += 1
        if final:
            self.live.update(Text(""), refresh=True)
        else:
            window = lines[self.printed :]
            self.live.update(Segments(_join(window)), refresh=True)

    def write(self, piece: str) -> None:
        self.text += piece
        now = time.perf_counter()
        if now - self._last >= self.INTERVAL:
            self._last = now
            self._emit(final=False)

    def close(self) -> None:
        try:
            self._emit(final=True)
        finally:
            try:
                self.live.stop()
            finally:
                self._tty.__exit__(None, None, None)  # the echo comes back whatever happened


class _QuietTerminal:
    """While a reply streams, the terminal does not echo what is typed, nor `^C` for Ctrl-C: the
    echo would move the cursor under the live window, which is then redrawn one line off (a line
    printed twice). Typed text is kept for the next prompt. No-op when stdin is not a terminal."""

    def __init__(self, stream) -> None:
        self.fd = None
        self.saved = None
        try:
            if stream.isatty():
                self.fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None

    def __enter__(self):
        if self.fd is None:
            return self
        try:
            import termios

            self.saved = termios.tcgetattr(self.fd)
            quiet = termios.tcgetattr(self.fd)
            quiet[3] &= ~(termios.ECHO | getattr(termios, "ECHOCTL", 0))
            termios.tcsetattr(self.fd, termios.TCSANOW, quiet)
        except (ImportError, OSError, ValueError):  # Windows, or not a real terminal after all
            self.saved = None
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            except (OSError, ValueError):
                pass
            self.saved = None


def _join(lines: list) -> list:
    from rich.segment import Segment

    out = []
    for i, line in enumerate(lines):
        if i:
            out.append(Segment.line())
        out.extend(line)
    return out


class Segments:
    """A renderable from pre-rendered segments (one line ends with a newline)."""

    def __init__(self, segments, newline: bool = False) -> None:
        self.segments = list(segments)
        self.newline = newline

    def __rich_console__(self, console, options):
        from rich.segment import Segment

        yield from self.segments
        if self.newline:
            yield Segment.line()


def make_sink(env: Environment, markdown: bool = True) -> Sink:
    if env.stdout_isatty and markdown:
        return MarkdownSink(env)
    return PlainSink(env.stdout)
