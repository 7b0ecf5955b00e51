"""The process environment, injected rather than read at import time."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)

    @staticmethod
    def _isatty(stream: IO[str]) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def stdin_isatty(self) -> bool:
        return self._isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return self._isatty(self.stdout) and self.environ.get("TERM") != "dumb"

    @property
    def stderr_isatty(self) -> bool:
        return self._isatty(self.stderr) and self.environ.get("TERM") != "dumb"

    @property
    def no_color(self) -> bool:
        return "NO_COLOR" in self.environ

    def stdin_has_data(self) -> bool:
        """True when stdin is a pipe or a regular file (not a terminal, not /dev/null).

        Only pipes and files are read: a character device (a TTY, /dev/null)
        or an inherited socket would block or be meaningless.
        """
        import stat

        try:
            mode = os.fstat(self.stdin.fileno()).st_mode
        except (AttributeError, ValueError, OSError):
            # A test runner's in-memory stream: read it when it is not a TTY.
            return not self.stdin_isatty and hasattr(self.stdin, "read")
        return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def pid_alive(pid) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
