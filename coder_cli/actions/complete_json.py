"""The editor protocol of `coder complete --stdin-json`: one JSON request per line, one JSON answer per line.

Request: ``{"path": "src/app.py", "prefix": "...", "suffix": "..."}`` (the editor's
buffer, saved or not) or ``{"path": "src/app.py", "line": 12, "col": 5}`` (read
from disk; 1-based, ``col`` optional: the end of the line). Optional: ``"mode"``
(auto, line, block) and ``"id"`` (echoed back).

Answer: ``{"completion": "...", "timing_ms": 412.3, "tokens": {...}, ...}``, or
``{"error": "...", "code": 2}`` for a bad request; the stream goes on either way
and ends, exit 0, when stdin closes.

`coder serve` answers the same requests over HTTP (``POST /coder/complete``) for whoever holds
its token or API key, confined to the git repository the request's ``cwd`` belongs to
(``repository_of``): a path that resolves outside it (symlinks followed) or into its ``.git``
gets one refusal, the same whatever is there.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

from coder_cli.actions.complete import Completer, FillCache, FillRequest
from coder_cli.config import project_root
from coder_cli.core.fim_prompt import PositionError, offset_of
from coder_cli.errors import CoderError, ExitCode, UsageError
from coder_cli.fs.text_file import NotRegularFile, decode, read_regular

MAX_FILE = 1024 * 1024  # the largest file a request reads (the repository map skips bigger ones too)


def serve(completer: Completer, stdin: IO[str], stdout: IO[str], cwd: Path) -> int:
    """Answer requests until STDIN closes; returns how many were answered."""
    cache = FillCache()
    answered = 0
    encoding = getattr(stdout, "encoding", None) or "utf-8"
    for line in stdin:
        if not line.strip():
            continue
        answer = answer_one(completer, cache, line, cwd)
        stdout.write(answer_line(answer, encoding))
        stdout.flush()
        answered += 1
    return answered


def answer_line(answer: dict, encoding: str = "utf-8") -> str:
    """ANSWER as one line of JSON that ENCODING can write: as is when it can, else with every
    non-ASCII character escaped (an id or a path holding a lone surrogate, echoed back)."""
    text = json.dumps(answer, ensure_ascii=False) + "\n"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(answer, ensure_ascii=True) + "\n"
    return text


def answer_one(completer: Completer, cache: FillCache, line: str, cwd: Path, root: Path | None = None) -> dict:
    """The answer to one request LINE: a fill, or an error object. With ROOT (a resolved folder,
    see ``repository_of``) the request may name files inside it only."""
    t0 = time.perf_counter()
    rid = None
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise _Bad("a request is a JSON object")
        rid = data.get("id")
        req = request_from(data, cwd, root)
        fill = cache.fill(completer, req)
        if fill.cached:
            fill.seconds = time.perf_counter() - t0
        out = fill.as_dict()
    except json.JSONDecodeError as exc:
        out = {"error": f"not JSON: {exc.msg} at column {exc.colno}", "code": int(ExitCode.USAGE)}
    except _Bad as exc:
        out = {"error": str(exc), "code": int(ExitCode.USAGE)}
    except CoderError as exc:
        out = {"error": exc.message, "code": int(exc.exit_code)}
        if exc.hint:
            out["hint"] = exc.hint
    except Exception as exc:  # noqa: BLE001 - one request's bug must not end the editor's stream
        out = {"error": f"internal error: {type(exc).__name__}: {exc}", "code": int(ExitCode.GENERATION)}
    if rid is not None:
        out["id"] = rid
    return out


class _Bad(ValueError):
    """A request that does not follow the protocol."""


def repository_of(cwd) -> Path:
    """The git work tree (resolved) that CWD, an absolute folder path, belongs to: all that a
    request over HTTP may read. A UsageError outside a repository (``cwd: "/"`` would be the host)."""
    if not isinstance(cwd, str) or not os.path.isabs(cwd):
        raise UsageError("'cwd' must be an absolute folder path")
    try:
        root = project_root(Path(cwd))
        in_repo = (root / ".git").exists()
    except (OSError, ValueError):
        in_repo = False
    if not in_repo:
        raise UsageError("'cwd' must be a folder inside a git repository: /coder/complete reads files only there")
    return root


def request_from(data: dict, cwd: Path, root: Path | None = None) -> FillRequest:
    path = data.get("path")
    if not isinstance(path, str) or not path:
        raise _Bad('"path" (a string) is required')
    if not _file_name(path):
        raise _Bad('"path" is not a file name (a NUL byte, or text no file name can hold)')
    target = (cwd / path).resolve()
    if root is not None and not _inside(target, root):
        raise _Bad(f"{path} is outside the repository")  # decided from the path alone: no oracle
    if target.exists() and not target.is_file():
        raise _Bad(f"{path} is not a regular file")
    mode = data.get("mode", "auto")
    if not isinstance(mode, str):
        raise _Bad('"mode" is a string: auto, line or block')
    if "prefix" in data:
        prefix, suffix = data.get("prefix"), data.get("suffix", "")
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            raise _Bad('"prefix" and "suffix" are strings')
        if not (_utf8(prefix) and _utf8(suffix)):
            raise _Bad('"prefix" and "suffix" must be text a file can hold (no lone surrogates)')
        return FillRequest(target, prefix, suffix, mode)
    line, col = data.get("line"), data.get("col")
    if not isinstance(line, int) or (col is not None and not isinstance(col, int)):
        raise _Bad('give "prefix" and "suffix", or "line" (and "col"), as integers from 1')
    text = _read_source(target, path)
    try:
        at = offset_of(text, line, col)
    except PositionError as exc:
        raise _Bad(f"{path}: {exc}") from None
    return FillRequest(target, text[:at], text[at:], mode)


def _file_name(path: str) -> bool:
    """Whether PATH can name a file at all: no NUL, and encodable as the OS's file names are."""
    try:
        return "\x00" not in path and bool(os.fsencode(path))
    except UnicodeEncodeError:
        return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _inside(target: Path, root: Path) -> bool:
    """Whether TARGET (resolved) lies in ROOT and outside its .git folder (credentials, hooks). The
    .git test folds case and trailing dots and spaces, as case-insensitive file systems (macOS,
    Windows) and Windows' name rules do: `.GIT/config` and `.git./config` are the same file there."""
    if not target.is_relative_to(root):
        return False
    return not any(part.lower().rstrip(". ") == ".git" for part in target.relative_to(root).parts)


def _read_source(target: Path, shown: str) -> str:
    """The text of TARGET, a regular file of at most MAX_FILE bytes: a FIFO would block the
    reader (and the engine it holds) for ever, a device would never end."""
    try:
        data = read_regular(target, MAX_FILE)
    except FileNotFoundError:
        raise _Bad(f"file not found: {shown}") from None
    except NotRegularFile:
        raise _Bad(f"{shown} is not a regular file") from None
    except OSError as exc:
        raise _Bad(f"cannot read {shown}: {exc.strerror}") from None
    if len(data) > MAX_FILE:
        raise _Bad(f"{shown} is over {MAX_FILE // (1024 * 1024)} MB; send its text as prefix and suffix")
    return decode(data, target).text
