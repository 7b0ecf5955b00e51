"""Writing a file atomically, and only inside the repository.

Every write: the caller has shown a diff and has a yes; the file has not changed
since it was read (else refused); the bytes go to a temp file in the same folder,
are fsynced, and replace the original with one rename (mode bits kept).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from coder_cli.errors import CoderError, ExitCode


class WriteRefused(CoderError):
    exit_code = ExitCode.FINDINGS


def check_inside(path: Path, root: Path) -> Path:
    """PATH resolved, refusing anything outside ROOT (symlinks followed)."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise WriteRefused(f"{path} is outside {root}; coder only writes inside the repository")
    return real


def atomic_write(path: Path, data: bytes, expect: bytes | None) -> None:
    """Replace PATH with DATA in one rename, if its bytes are still EXPECT (None: must not exist)."""
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    except PermissionError:
        raise WriteRefused(f"cannot read {path}: permission denied") from None
    if current != expect:
        raise WriteRefused(f"{path} changed since it was read; nothing was written", "run the command again")
    folder = path.parent
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if current is not None else None
        # No write bit at all is a "do not touch" even for root, who could write anyway.
        if current is not None and (mode & 0o222 == 0 or not os.access(path, os.W_OK)):
            raise WriteRefused(f"{path} is read-only; nothing was written")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".coder-tmp", dir=folder)
    except PermissionError:
        raise WriteRefused(f"cannot write in {folder}: permission denied") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
