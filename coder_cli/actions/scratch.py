"""A scratch copy of the repository where candidates are checked; the real files stay untouched."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from coder_cli.errors import UsageError

# Folders linked, not copied: environments and dependencies the check may need but never changes.
LINKED = {"node_modules", ".venv", "venv", "env", ".tox", ".nox", "target", "vendor", "bower_components"}
SKIPPED = {".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
MAX_FILES = 20_000
MAX_BYTES = 500_000_000


class Scratch:
    def __init__(self, root: Path) -> None:
        self.source = root
        self.dir = Path(tempfile.mkdtemp(prefix="coder-fix-"))
        self.root = self.dir / root.name
        self._copy()

    def _copy(self) -> None:
        count = size = 0
        for dirpath, dirnames, filenames in os.walk(self.source):
            rel = Path(dirpath).relative_to(self.source)
            out = self.root / rel
            out.mkdir(parents=True, exist_ok=True)
            keep = []
            for d in dirnames:
                if d in SKIPPED:
                    continue
                if d in LINKED:
                    os.symlink(Path(dirpath) / d, out / d, target_is_directory=True)
                    continue
                keep.append(d)
            dirnames[:] = keep
            for name in filenames:
                src = Path(dirpath) / name
                try:
                    if src.is_symlink():
                        os.symlink(os.readlink(src), out / name)
                        continue
                    size += src.stat().st_size
                    count += 1
                    if count > MAX_FILES or size > MAX_BYTES:
                        self.close()
                        raise UsageError(
                            f"{self.source} is too large to copy for checking candidates "
                            f"(over {MAX_FILES:,} files or {MAX_BYTES // 1_000_000} MB)",
                            "run coder fix inside a git repository, or on a file in a smaller folder",
                        )
                    shutil.copy2(src, out / name)
                except OSError:
                    continue  # sockets, unreadable files: the check cannot need them

    def write(self, rel: str, data: bytes) -> None:
        (self.root / rel).write_bytes(data)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
