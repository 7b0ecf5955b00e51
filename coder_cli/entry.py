"""The `coder` executable's entry point: as light as possible before the crash guard forks.

A command that loads native code (crash_guard.GUARDED) forks here, before typer, rich and the
commands are imported, so the waiting parent stays a small process and the child imports
everything itself; other commands (`--help`, `models`, `config`, …) run in this process.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from coder_cli.crash_guard import run_guarded

    args = sys.argv[1:] if argv is None else argv

    def body() -> int:
        from coder_cli.cli.app import run

        return run(args)

    sys.exit(run_guarded(args, body))
