"""A source file's text with "\\n" newlines, and what it takes to write it back byte for byte.

Encoding (UTF-8 or a declared coding cookie), BOM and the dominant newline style are kept;
a binary file, mixed newlines or an undecodable file is refused (UsageError).
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from coder_cli.core.languages import is_binary
from coder_cli.errors import UsageError

_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


class NotRegularFile(OSError):
    """A FIFO, a device or a folder where a file was expected."""


def read_regular(path: Path, limit: int, follow_links: bool = True) -> bytes:
    """At most LIMIT + 1 bytes of PATH (so the caller sees a file over LIMIT), only from a regular
    file, opened without waiting: a FIFO would block the reader for ever, a device never end. Raises
    FileNotFoundError, NotRegularFile, or another OSError (a link, with FOLLOW_LINKS false)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"{path} is not a regular file")
        return fh.read(limit + 1)


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
