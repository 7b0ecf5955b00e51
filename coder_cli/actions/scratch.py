"""A scratch copy of the repository where candidates are checked; the real files stay untouched.

Big dependency folders (``LINKED``) are symlinked, not copied: the check may need them and should
not change them. Three rules keep a candidate out of the real tree:

- the folders on the way to the file being repaired (``keep``) are real folders even inside a linked
  one (their other sub-folders stay linked), so ``vendor/lib.py`` is a copy, never the real file;
- a symlink that points inside the repository points to the same place in the copy (an absolute
  link to the repository would otherwise lead a check's writes back into it); one that points
  outside it stays pointed where it was, absolute;
- ``write`` refuses a path that leads out of the copy through a link.

A copy is removed when the repair ends; one left by a killed coder is removed by the next.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from coder_cli.errors import UsageError

# Folders linked, not copied: environments and dependencies the check may need but never changes.
LINKED = {"node_modules", ".venv", "venv", "env", ".tox", ".nox", "target", "vendor", "bower_components"}
SKIPPED = {".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
MAX_FILES = 20_000
MAX_BYTES = 500_000_000
PREFIX = "coder-fix-"
OWNER_FILE = ".coder-owner"  # the pid of the coder that made the copy (a dead one's copy is swept)
STALE_S = 3600.0  # a copy with no owner file this old is a leftover too


class Scratch:
    def __init__(self, root: Path, keep: str | None = None) -> None:
        """A copy of ROOT; KEEP (relative to ROOT) is the file candidates go to: it is always a copy."""
        sweep()
        self.source = root
        self._real_source = os.path.realpath(root)
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.dir / OWNER_FILE).write_text(str(os.getpid()))
        self.root = self.dir / root.name
        parts = Path(keep).parts[:-1] if keep else ()
        self._chain = {Path(*parts[: i + 1]) for i in range(len(parts))}  # folders on the way to KEEP
        self._copy()

    def _copy(self) -> None:
        count = size = 0
        for dirpath, dirnames, filenames in os.walk(self.source):
            rel = Path(dirpath).relative_to(self.source)
            out = self.root / rel
            out.mkdir(parents=True, exist_ok=True)
            # Inside a linked folder that leads to KEEP: only the way to KEEP is walked, the rest is linked.
            inside_linked = any(part in LINKED for part in rel.parts)
            keep = []
            for d in dirnames:
                src = Path(dirpath) / d
                if d in SKIPPED:
                    continue
                if src.is_symlink():
                    self._link(src, out / d)
                elif (d in LINKED or inside_linked) and rel / d not in self._chain:
                    os.symlink(src, out / d, target_is_directory=True)
                else:
                    keep.append(d)
            dirnames[:] = keep
            for name in filenames:
                src = Path(dirpath) / name
                try:
                    if src.is_symlink():
                        self._link(src, out / name)
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

    def _link(self, src: Path, dest: Path) -> None:
        """Recreate the symlink SRC at DEST: into the copy when it points inside the repository."""
        target = os.readlink(src)
        real = os.path.realpath(src)
        if real == self._real_source or real.startswith(self._real_source + os.sep):
            inside = self.root / os.path.relpath(real, self._real_source)
            target = os.path.relpath(inside, dest.parent)
        elif not os.path.isabs(target):
            target = real  # a relative link out of the repository would point elsewhere from the copy
        with contextlib.suppress(OSError):
            os.symlink(target, dest)

    def write(self, rel: str, data: bytes) -> None:
        """Put DATA at REL in the copy; an OSError when that path leads out of the copy (a link)."""
        dest = self.root / rel
        real_dir = os.path.realpath(dest.parent)
        mine = os.path.realpath(self.dir)
        if not (real_dir == mine or real_dir.startswith(mine + os.sep)):
            raise OSError(f"{rel} leads out of the scratch copy (through a link); not written")
        # O_NOFOLLOW: the file itself must not be a link either.
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sweep(folder: Path | None = None) -> int:
    """Remove the scratch copies of coders that are gone (killed before they could); returns how many.

    The temp folder is shared: only real folders of this user are looked at, and their owner file is
    read without following a link or waiting on a FIFO, 32 bytes at most (another user's planted
    `coder-fix-x/.coder-owner` must not hang or exhaust every coder fix)."""
    from coder_cli.environment import pid_alive

    removed = 0
    for d in Path(folder or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            st = os.lstat(d)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                continue
            owner = _read_owner(d / OWNER_FILE)
            if owner is not None and owner.isdigit():
                if pid_alive(int(owner)):
                    continue
            elif time.time() - st.st_mtime < STALE_S:
                continue  # being made right now, or not ours to judge: left alone for a while
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed += 1
    return removed


def _read_owner(path: Path) -> str | None:
    """The pid in an owner file, or None when there is none (or it is not a small regular file)."""
    from coder_cli.fs.text_file import NotRegularFile, read_regular

    try:
        return read_regular(path, 32, follow_links=False)[:32].decode("ascii", "replace").strip()
    except (FileNotFoundError, NotRegularFile):
        return None
