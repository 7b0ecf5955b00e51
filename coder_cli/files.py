"""Files on disk: exact round trips, atomic writes inside the repository, an undo journal.

Every write: the caller has shown a diff and has a yes; the file has not changed
since it was read (else refused); the bytes go to a temp file in the same folder,
are fsynced, and replace the original with one rename (mode bits kept); the
pre-image goes into the undo journal first.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from coder_cli.core.languages import is_binary
from coder_cli.errors import CoderError, ExitCode, UsageError


class WriteRefused(CoderError):
    exit_code = ExitCode.FINDINGS


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class TextFile:
    """A file's text with "\\n" newlines, and what it takes to write it back byte for byte."""

    path: Path
    text: str
    encoding: str
    newline: str  # the file's dominant newline: "\n", "\r\n" or "\r"
    bom: bool
    raw: bytes

    def encode(self, text: str) -> bytes:
        """TEXT (with "\\n" newlines) in this file's encoding, newline style and BOM."""
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        data = text.encode(self.encoding)
        return (codecs.BOM_UTF8 + data) if self.bom else data


def _newline_style(data: bytes) -> str:
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    cr = data.count(b"\r") - crlf
    if crlf > lf and crlf >= cr:
        return "\r\n"
    if cr > lf and cr > crlf:
        return "\r"
    return "\n"


def decode(data: bytes, path: Path) -> TextFile:
    """Decode DATA; refuse (UsageError) what cannot be written back exactly."""
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    if is_binary(body):
        raise UsageError(f"{path} is a binary file")
    encodings = ["utf-8"]
    for line in body.split(b"\n", 2)[:2]:
        m = _COOKIE.match(line)
        if m:
            encodings.insert(0, m.group(1).decode("ascii"))
    for enc in encodings:
        try:
            text = body.decode(enc)
            codecs.lookup(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        newline = _newline_style(body)
        normal = text.replace("\r\n", "\n").replace("\r", "\n")
        tf = TextFile(path, normal, enc, newline, bom, data)
        if tf.encode(normal) != data:
            # Mixed newlines cannot be kept exactly after an edit: refuse rather than rewrite them.
            raise UsageError(f"{path} mixes newline styles; coder will not rewrite it", "normalise its newlines first")
        return tf
    raise UsageError(f"{path} is not UTF-8 (nor in an encoding it declares)", "convert it to UTF-8 first")


def read_bytes(path: Path) -> bytes:
    """PATH's bytes; a missing file, a folder or an unreadable file is a UsageError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def read_text(path: Path) -> TextFile:
    return decode(read_bytes(path), path)


def check_inside(path: Path, root: Path) -> Path:
    """PATH resolved, refusing anything outside ROOT (symlinks followed)."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise WriteRefused(f"{path} is outside {root}; coder only writes inside the repository")
    return real


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
