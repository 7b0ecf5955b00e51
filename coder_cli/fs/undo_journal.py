"""The undo journal: the pre-image of every change coder wrote, newest last, under $CODER_HOME/undo/.

The pre-image is journalled before the atomic write; `coder undo` (and chat's /undo) put it back
byte for byte, refusing a file that changed since coder wrote it (unless forced).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from coder_cli.errors import UsageError
from coder_cli.fs.atomic_write import WriteRefused, atomic_write


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


class UndoJournal:
    """Pre-images of every change coder wrote, newest last, under $CODER_HOME/undo/."""

    def __init__(self, home: Path) -> None:
        self.dir = home / "undo"
        self.index = self.dir / "journal.jsonl"

    def record(self, path: Path, before: bytes, after: bytes, command: str) -> JournalEntry:
        self.dir.mkdir(parents=True, exist_ok=True)
        entry = JournalEntry(
            id=f"{time.time_ns():x}",
            time=time.time(),
            path=str(path.resolve()),
            before_sha=sha256(before),
            after_sha=sha256(after),
            command=command,
        )
        blob = self.dir / f"{entry.id}.before"
        blob.write_bytes(before)
        with self.index.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry.__dict__) + "\n")
        return entry

    def entries(self) -> list[JournalEntry]:
        try:
            lines = self.index.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            with contextlib.suppress(ValueError, TypeError):
                out.append(JournalEntry(**json.loads(line)))
        return out

    def drop(self, entry: JournalEntry) -> None:
        """Forget ENTRY (its write did not happen)."""
        remaining = [e for e in self.entries() if e.id != entry.id]
        tmp = self.index.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e.__dict__) + "\n" for e in remaining), encoding="utf-8")
        os.replace(tmp, self.index)
        (self.dir / f"{entry.id}.before").unlink(missing_ok=True)

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
        return entry

    def undo(self, force: bool = False) -> JournalEntry:
        """Restore the newest change's pre-image byte for byte; refuse if the file changed since."""
        entries = self.entries()
        if not entries:
            raise UsageError("nothing to undo: the journal is empty")
        return self.restore(entries[-1], force)

    def restore(self, entry: JournalEntry, force: bool = False) -> JournalEntry:
        """Put ENTRY's pre-image back byte for byte and forget it; refuse if the file changed since."""
        path = Path(entry.path)
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if not force and (current is None or sha256(current) != entry.after_sha):
            raise WriteRefused(
                f"{path} changed since coder wrote it; not undone", "use `coder undo --force` to restore it anyway"
            )
        atomic_write(path, self.pre_image(entry), current)
        self.drop(entry)
        return entry

    def pre_image(self, entry: JournalEntry) -> bytes:
        return (self.dir / f"{entry.id}.before").read_bytes()
