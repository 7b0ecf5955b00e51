"""Progress on stderr: a bar on a terminal, one line at the end otherwise."""

from __future__ import annotations

import time

from coder_cli.environment import Environment


class BarProgress:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self._progress = None
        self._task = None

    def start(self, label: str, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        from coder_cli.ui.console import make_console

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=make_console(self.env, stderr=True),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class LineProgress:
    """For logs and pipes: a line when work starts and one when it ends."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._t0 = 0.0
        self._label = ""
        self._total = 0

    def start(self, label: str, total: int) -> None:
        self._t0, self._label, self._total = time.perf_counter(), label, total
        self.env.stderr.write(f"{label} ({total / 1e6:,.0f} MB)…\n")
        self.env.stderr.flush()

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        self.env.stderr.write(f"{self._label}: done in {time.perf_counter() - self._t0:.1f} s\n")
        self.env.stderr.flush()


def count_bar(console, label: str, at_least: int = 100):
    """An update(done, total) that shows a bar of items on CONSOLE once there are AT_LEAST of them."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        if total < at_least:
            return
        if "bar" not in state:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            state["bar"] = Progress(
                TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
            )
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=total)
        state["bar"].update(state["task"], completed=done)
        if done >= total:
            state["bar"].stop()

    return update


def make_progress(env: Environment):
    return BarProgress(env) if env.stderr_isatty else LineProgress(env)
