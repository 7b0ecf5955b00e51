"""Writing a file atomically, and only inside the repository.

Every write: the caller has shown a diff and has a yes; the file has not changed
since it was read (else refused); the bytes go to a temp file in the same folder,
are fsynced, and replace the original with one rename, then the folder is fsynced.
The new file keeps the old one's mode bits and owner: a write that cannot keep the owner (the
file is another user's, coder is not root) is refused rather than taking the file from its owner.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from coder_cli.environment import pid_alive
from coder_cli.errors import CoderError, ExitCode
from coder_cli.fs.kill_points import reached

TEMP_SUFFIX = ".coder-tmp"


class WriteRefused(CoderError):
    exit_code = ExitCode.FINDINGS


def check_inside(path: Path, root: Path) -> Path:
    """PATH resolved, refusing anything outside ROOT (symlinks followed)."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise WriteRefused(f"{path} is outside {root}; coder only writes inside the repository")
    return real


def atomic_write(path: Path, data: bytes, expect: bytes | None, mode: int | None = None) -> None:
    """Replace PATH with DATA in one rename, if its bytes are still EXPECT (None: must not exist).
    MODE: the permission bits of a file that does not exist yet (default: the umask's)."""
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
        st = path.stat() if current is not None else None
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)
            # No write bit at all is a "do not touch" even for root, who could write anyway.
            if mode & 0o222 == 0 or not os.access(path, os.W_OK):
                raise WriteRefused(f"{path} is read-only; nothing was written")
            _refuse_owner_change(path, st)
        elif mode is None:
            mode = 0o666 & ~_umask()
        sweep_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.coder-{os.getpid()}-", suffix=TEMP_SUFFIX, dir=folder)
    except PermissionError:
        raise WriteRefused(f"cannot write in {folder}: permission denied") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            _keep_owner(tmp, st, path)
        if mode is not None:
            os.chmod(tmp, mode)  # after the chown, which clears set-id bits
        reached("write-temp")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    reached("write-renamed")
    fsync_folder(folder)


def _refuse_owner_change(path: Path, st: os.stat_result) -> None:
    """A WriteRefused when the new file could not be given ST's owner (so the rename would change it)."""
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return  # root can give the file back to its owner
    if st.st_uid != os.geteuid():
        raise WriteRefused(
            f"{path} is owned by another user (uid {st.st_uid}); writing it would make it yours; nothing was written"
        )
    if st.st_gid != os.getegid() and st.st_gid not in os.getgroups():
        raise WriteRefused(f"{path} belongs to a group you are not in (gid {st.st_gid}); nothing was written")


def _keep_owner(tmp: str, st: os.stat_result, path: Path) -> None:
    if not hasattr(os, "chown"):
        return
    now = os.stat(tmp)
    if (now.st_uid, now.st_gid) == (st.st_uid, st.st_gid):
        return
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except PermissionError:
        raise WriteRefused(f"{path}: cannot keep its owner (uid {st.st_uid}, gid {st.st_gid}); nothing was written") from None


def sweep_temps(path: Path) -> None:
    """Remove the temp files a killed coder left beside PATH (their names carry its pid)."""
    import glob

    for tmp in path.parent.glob(f".{glob.escape(path.name)}.coder-*-*{TEMP_SUFFIX}"):
        pid = tmp.name[len(path.name) + 8 :].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _umask() -> int:
    """The process's umask, read where Linux shows it: setting it to read it (the portable way)
    would briefly change it for every thread of the process (a server's included)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def fsync_folder(folder: Path) -> None:
    """Make a rename in FOLDER durable (where the platform lets a folder be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
