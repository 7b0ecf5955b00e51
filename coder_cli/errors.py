"""One error hierarchy, rendered in one place (``cli.app``).

Every error carries a one-line message, an optional hint (what to do about
it) and the process exit code from the documented table.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # changes needed / findings reported
    USAGE = 2
    CONFIG = 3  # configuration or model problem
    GENERATION = 4
    GIT = 5
    INTERRUPTED = 130


class CoderError(Exception):
    exit_code: ExitCode = ExitCode.GENERATION

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CoderError):
    exit_code = ExitCode.USAGE


class ContextOverflow(UsageError):
    """The prompt does not fit the context window; nothing was truncated."""


class ConfigError(CoderError):
    exit_code = ExitCode.CONFIG


class ModelError(CoderError):
    """Unknown model, missing file, bad bytes, no way to get it."""

    exit_code = ExitCode.CONFIG


class GenerationError(CoderError):
    exit_code = ExitCode.GENERATION


class GitError(CoderError):
    exit_code = ExitCode.GIT


class Interrupted(BaseException):
    """Ctrl-C. A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it,
    but a distinct type, so the CLI framework does not turn it into a silent exit."""
