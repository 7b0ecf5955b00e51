"""The undo journal: the pre-image of every change coder wrote, newest last, under $CODER_HOME/undo/.

The pre-image is journalled (and fsynced) before the atomic write; `coder undo` (and chat's /undo)
put it back byte for byte, with the file's mode, refusing a file that changed since coder wrote it
(unless forced). The folder is private (0700, its files 0600): it holds copies of the files coder
changed, private ones included. Processes that write at once take turns (a lock file); an entry
whose write never happened (coder was killed between the two) is forgotten by the next undo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from coder_cli.environment import pid_alive
from coder_cli.errors import UsageError
from coder_cli.fs.atomic_write import WriteRefused, atomic_write, fsync_folder, sweep_temps
from coder_cli.fs.kill_points import reached
from coder_cli.fs.private import PRIVATE_FILE, private_dir


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    id: str
    time: float
    path: str
    before_sha: str
    after_sha: str
    command: str
    mode: int | None = None  # the file's permission bits before the write (None: journalled by an older coder)
    pid: int | None = None  # the coder that wrote it
    written: bool = True  # False until that coder renamed the new file into place (older coders: True)


class UndoJournal:
    """Pre-images of every change coder wrote, newest last, under $CODER_HOME/undo/."""

    def __init__(self, home: Path) -> None:
        self.dir = home / "undo"
        self.index = self.dir / "journal.jsonl"
        self.skipped: list[JournalEntry] = []  # what the last `undo` forgot: writes that never happened
        self.already = False  # the last restore found the file already holding the pre-image

    def record(self, path: Path, before: bytes, after: bytes, command: str) -> JournalEntry:
        """Journal BEFORE as PATH's pre-image (durably: the blob, then its line, both fsynced)."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = None
        entry = JournalEntry(
            id=f"{time.time_ns():x}",
            time=time.time(),
            path=str(path.resolve()),
            before_sha=sha256(before),
            after_sha=sha256(after),
            command=command,
            mode=mode,
            pid=os.getpid(),
            written=False,
        )
        with self._locked():
            _write_private(self.dir / f"{entry.id}.before", before)
            reached("journal-blob")
            self._append(entry.__dict__)
        reached("journal-line")
        return entry

    def _append(self, data: dict) -> None:
        """One line onto the index, fsynced (the lock held)."""
        fd = os.open(self.index, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        with os.fdopen(fd, "r+b") as fh:
            line = json.dumps(data).encode() + b"\n"
            end = fh.seek(0, os.SEEK_END)
            if end:
                fh.seek(end - 1)
                if fh.read(1) != b"\n":
                    line = b"\n" + line  # the last append was cut short: keep this line on its own
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        fsync_folder(self.dir)

    def mark_written(self, entry: JournalEntry) -> JournalEntry:
        """Note that ENTRY's new file is in place (so a later undo never takes it for a killed write)."""
        with self._locked():
            self._append({"written": entry.id})
        return dataclasses.replace(entry, written=True)

    def entries(self) -> list[JournalEntry]:
        try:
            lines = self.index.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        out: dict[str, JournalEntry] = {}
        for line in lines:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                data = json.loads(line)
                if data.keys() == {"written"}:
                    if data["written"] in out:
                        out[data["written"]] = dataclasses.replace(out[data["written"]], written=True)
                    continue
                entry = JournalEntry(**data)
                out[entry.id] = entry
        return list(out.values())

    def drop(self, entry: JournalEntry) -> None:
        """Forget ENTRY (its write did not happen, or was undone)."""
        with self._locked():
            remaining = [e for e in self.entries() if e.id != entry.id]
            text = "".join(json.dumps(e.__dict__) + "\n" for e in remaining).encode()
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".journal.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.index)
                reached("journal-drop")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            (self.dir / f"{entry.id}.before").unlink(missing_ok=True)
            fsync_folder(self.dir)

    @contextlib.contextmanager
    def _locked(self):
        """The journal's folder, private, held by this process alone (other coders wait their turn)."""
        private_dir(self.dir)
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one coder at a time is the usual case there
            yield
            return
        fd = os.open(self.dir / "journal.lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def write(self, path: Path, before: bytes, after: bytes, command: str) -> JournalEntry:
        """Journal the pre-image, then replace PATH atomically (refused if it no longer holds BEFORE)."""
        entry = self.record(path, before, after, command)
        try:
            atomic_write(path, after, before)
        except BaseException:
            try:
                written = path.read_bytes() == after and after != before
            except OSError:
                written = False
            if not written:  # (a Ctrl-C just after the rename keeps its undo entry)
                self.drop(entry)
            raise
        return self.mark_written(entry)

    def undo(self, force: bool = False) -> JournalEntry:
        """Restore the newest change's pre-image byte for byte; refuse if the file changed since.
        Entries whose write never happened come first and are forgotten (``skipped`` lists them)."""
        self.skipped = []
        entries = self.entries()
        while entries and self.never_written(entries[-1]):
            self.skipped.append(entries[-1])
            sweep_temps(Path(entries[-1].path))  # the temp file it may have left beside the file
            self.drop(entries.pop())
        if not entries:
            raise UsageError("nothing to undo: the journal is empty")
        return self.restore(entries[-1], force)

    def never_written(self, entry: JournalEntry) -> bool:
        """Whether ENTRY is a write that never happened: its coder is gone without marking it written
        and the file still holds the pre-image (killed before the rename). A coder still running may
        be between its journal line and its rename: its entry is not touched."""
        if entry.written or entry.before_sha == entry.after_sha or pid_alive(entry.pid):
            return False
        try:
            return sha256(Path(entry.path).read_bytes()) == entry.before_sha
        except OSError:
            return False

    def restore(self, entry: JournalEntry, force: bool = False) -> JournalEntry:
        """Put ENTRY's pre-image back byte for byte (with its mode) and forget it; refuse if the file
        changed since coder wrote it. A file that already holds the pre-image is left as it is."""
        path = Path(entry.path)
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        self.already = current is not None and sha256(current) == entry.before_sha
        if self.already:  # put back by hand (or by git): nothing to write, the entry is done
            self.drop(entry)
            return entry
        if not force and (current is None or sha256(current) != entry.after_sha):
            raise WriteRefused(
                f"{path} changed since coder wrote it; not undone", "use `coder undo --force` to restore it anyway"
            )
        atomic_write(path, self.pre_image(entry), current, mode=entry.mode)
        self.drop(entry)
        return entry

    def pre_image(self, entry: JournalEntry) -> bytes:
        return (self.dir / f"{entry.id}.before").read_bytes()


def _write_private(path: Path, data: bytes) -> None:
    """DATA into a new file only this user can read, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
