"""The editor protocol of `coder complete --stdin-json`: one JSON request per line, one JSON answer per line.

Request: ``{"path": "src/app.py", "prefix": "...", "suffix": "..."}`` (the editor's
buffer, saved or not) or ``{"path": "src/app.py", "line": 12, "col": 5}`` (read
from disk; 1-based, ``col`` optional: the end of the line). Optional: ``"mode"``
(auto, line, block) and ``"id"`` (echoed back).

Answer: ``{"completion": "...", "timing_ms": 412.3, "tokens": {...}, ...}``, or
``{"error": "...", "code": 2}`` for a bad request; the stream goes on either way
and ends, exit 0, when stdin closes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

from coder_cli.actions.complete import Completer, FillCache, FillRequest
from coder_cli.core.fim_prompt import PositionError, offset_of
from coder_cli.errors import CoderError, ExitCode
from coder_cli.fs.text_file import read_text


def serve(completer: Completer, stdin: IO[str], stdout: IO[str], cwd: Path) -> int:
    """Answer requests until STDIN closes; returns how many were answered."""
    cache = FillCache()
    answered = 0
    for line in stdin:
        if not line.strip():
            continue
        answer = answer_one(completer, cache, line, cwd)
        stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        stdout.flush()
        answered += 1
    return answered


def answer_one(completer: Completer, cache: FillCache, line: str, cwd: Path) -> dict:
    t0 = time.perf_counter()
    rid = None
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise _Bad("a request is a JSON object")
        rid = data.get("id")
        req = request_from(data, cwd)
        hit = cache.get(req)
        if hit is not None:
            hit.seconds = time.perf_counter() - t0
            fill = hit
        else:
            fill = completer.fill(req)
            cache.put(req, fill)
        out = fill.as_dict()
    except json.JSONDecodeError as exc:
        out = {"error": f"not JSON: {exc.msg} at column {exc.colno}", "code": int(ExitCode.USAGE)}
    except _Bad as exc:
        out = {"error": str(exc), "code": int(ExitCode.USAGE)}
    except CoderError as exc:
        out = {"error": exc.message, "code": int(exc.exit_code)}
        if exc.hint:
            out["hint"] = exc.hint
    if rid is not None:
        out["id"] = rid
    return out


class _Bad(ValueError):
    """A request that does not follow the protocol."""


def request_from(data: dict, cwd: Path) -> FillRequest:
    path = data.get("path")
    if not isinstance(path, str) or not path:
        raise _Bad('"path" (a string) is required')
    target = (cwd / path).resolve()
    mode = data.get("mode", "auto")
    if not isinstance(mode, str):
        raise _Bad('"mode" is a string: auto, line or block')
    if "prefix" in data:
        prefix, suffix = data.get("prefix"), data.get("suffix", "")
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            raise _Bad('"prefix" and "suffix" are strings')
        return FillRequest(target, prefix, suffix, mode)
    line, col = data.get("line"), data.get("col")
    if not isinstance(line, int) or (col is not None and not isinstance(col, int)):
        raise _Bad('give "prefix" and "suffix", or "line" (and "col"), as integers from 1')
    text = read_text(target).text
    try:
        at = offset_of(text, line, col)
    except PositionError as exc:
        raise _Bad(f"{path}: {exc}") from None
    return FillRequest(target, text[:at], text[at:], mode)
