"""A small GGUF header reader: checks a file before llama.cpp sees it.

llama.cpp aborts or crashes on some malformed files and gives poor messages on
others, so a model file is checked here first: the magic, the version, the
metadata, the tensor table, and that every tensor's data lies inside the file
(a truncated download fails this check).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder_cli.errors import ModelError

MAGIC = b"GGUF"

# ggml type id -> (elements per block, bytes per block)
_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 36),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
    39: (32, 17),
}
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# Arrays longer than this are skipped, not kept (the tokenizer's vocabulary and merges).
_KEEP_ARRAY = 64


class _Truncated(Exception):
    pass


@dataclass
class GGUFInfo:
    version: int
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict)
    data_offset: int = 0
    data_end: int = 0  # where the last tensor's data ends (0 when a type is unknown)
    file_size: int = 0

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", ""))


class _Reader:
    """Reads from a file through a growing in-memory window."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.buf = b""
        self.pos = 0

    def need(self, n: int) -> None:
        if self.pos + n > len(self.buf):
            more = self.fh.read(max(n, 1 << 20))
            self.buf = self.buf[self.pos :] + more
            self.pos = 0
            if n > len(self.buf):
                raise _Truncated

    def take(self, n: int) -> bytes:
        self.need(n)
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > 1 << 26:
            raise ValueError("string length out of range")
        return self.take(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("<Q")
        if n > 1 << 26:
            raise ValueError("string length out of range")
        self.need(n)
        self.pos += n

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.unpack("<I")
            count = self.unpack("<Q")
            if count > 1 << 32:
                raise ValueError("array length out of range")
            if count <= _KEEP_ARRAY:
                return [self.value(etype) for _ in range(count)]
            if etype == _STRING:
                for _ in range(count):
                    self.skip_string()
            elif etype in _SCALARS:
                size = struct.calcsize(_SCALARS[etype]) * count
                self.need(size)
                self.pos += size
            else:
                for _ in range(count):
                    self.value(etype)
            return f"<array of {count}>"
        raise ValueError(f"unknown metadata value type {vtype}")

    def tell(self, base: int) -> int:
        return base + self.pos


def read_info(path: Path) -> GGUFInfo:
    """Parse a GGUF header and check the tensor data lies within the file.

    Raises ModelError (exit 3) for a missing, non-GGUF, malformed or truncated file.
    """
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"model path is a folder, not a GGUF file: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    with fh:
        head = fh.read(4)
        if head != MAGIC:
            raise ModelError(
                f"{path} is not a GGUF model file (it starts with {head!r}, not b'GGUF')",
                "pass a .gguf file, or a model id from `coder models list`",
            )
        reader = _Reader(fh)
        start = 4
        try:
            version = reader.unpack("<I")
            if version not in (2, 3):
                raise ModelError(f"{path}: unsupported GGUF version {version}", "re-download the model file")
            n_tensors = reader.unpack("<Q")
            n_kv = reader.unpack("<Q")
            if n_tensors > 1 << 20 or n_kv > 1 << 20:
                raise ValueError("counts out of range")
            info = GGUFInfo(version=version, tensor_count=n_tensors, file_size=size)
            for _ in range(n_kv):
                key = reader.string()
                info.metadata[key] = reader.value(reader.unpack("<I"))
            tensors = []
            for _ in range(n_tensors):
                reader.skip_string()
                n_dims = reader.unpack("<I")
                if n_dims > 8:
                    raise ValueError("tensor rank out of range")
                n_elems = 1
                for _ in range(n_dims):
                    n_elems *= reader.unpack("<Q")
                tensors.append((reader.unpack("<I"), reader.unpack("<Q"), n_elems))
        except _Truncated:
            raise ModelError(
                f"{path} is truncated: the file ends inside its GGUF header ({size:,} bytes)",
                "the download or copy was cut short; fetch the file again",
            ) from None
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise ModelError(f"{path} is not a valid GGUF file: {exc}", "re-download the model file") from None
        align = int(info.metadata.get("general.alignment", 32)) or 32
        header_end = reader.tell(start)
        info.data_offset = (header_end + align - 1) // align * align
        end = 0
        for ttype, offset, n_elems in tensors:
            if ttype in _TYPE_SIZES:
                block, nbytes = _TYPE_SIZES[ttype]
                end = max(end, offset + n_elems // block * nbytes)
            else:
                end = max(end, offset + 1)
        info.data_end = info.data_offset + end
        if info.data_end > size:
            raise ModelError(
                f"{path} is truncated: its tensors need {info.data_end:,} bytes but the file has {size:,}",
                "the download or copy was cut short; fetch the file again",
            )
        return info


def quick_check(path: Path) -> None:
    """The cheap check for files already verified by sha256: magic only."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if head != MAGIC:
        raise ModelError(f"{path} is not a GGUF model file", "run `coder models verify`")
