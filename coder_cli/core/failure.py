"""Read a failed check's output: where it failed and what it said, within a budget."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')
_PYTEST_LOC = re.compile(r"^(?P<path>[^\s:]+\.\w+):(?P<line>\d+): (?P<msg>.*)$")
_COMPILER = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+):\s*(?P<msg>.+)$")
_FAILED = re.compile(r"^FAILED (?P<test>\S+?)(?: - (?P<msg>.*))?$")
_ERROR_LINE = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)|AssertionError|SyntaxError)"
    r"(?::\s*(?P<msg>.*))?$"
)


@dataclass(frozen=True)
class Location:
    path: str
    line: int  # 1-based
    func: str | None = None


@dataclass
class Failure:
    output: str  # the check's output, trimmed to the budget
    summary: str  # one line: the error type and message
    locations: list[Location] = field(default_factory=list)  # innermost last
    failed_tests: list[str] = field(default_factory=list)

    def in_file(self, target: str, base: str) -> list[Location]:
        """Locations in TARGET (an absolute path; relative locations are taken from BASE), innermost last."""
        out = []
        for loc in self.locations:
            path = loc.path if os.path.isabs(loc.path) else os.path.join(base, loc.path)
            if os.path.normpath(path) == os.path.normpath(target):
                out.append(loc)
        return out


def parse(output: str) -> Failure:
    """Frames of Python tracebacks, pytest `path:line:` lines and `E` lines, compiler-style locations."""
    lines = output.splitlines()
    locations: list[Location] = []
    failed: list[str] = []
    located = ""  # the first message attached to a location (compilers, pytest)
    failed_msg = ""
    for line in lines:
        if m := _FRAME.match(line):
            locations.append(Location(m["path"], int(m["line"]), m["func"]))
        elif m := _COMPILER.match(line.strip()) or _PYTEST_LOC.match(line.strip()):
            locations.append(Location(m["path"], int(m["line"])))
            located = located or m["msg"]
        if m := _FAILED.match(line.strip()):
            failed.append(m["test"])
            failed_msg = failed_msg or (m["msg"] or "")
    exception = ""
    for line in reversed(lines):
        stripped = line.strip().removeprefix("E ").strip()
        if _ERROR_LINE.match(stripped):
            exception = stripped
            break
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    summary = exception or failed_msg or located or last or "the check failed"
    return Failure(output=output, summary=summary[:300], locations=locations, failed_tests=failed)


def trim(output: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """OUTPUT within BUDGET tokens: its head and its tail (the tail matters more), with a marker between."""
    if count_tokens(output) <= budget:
        return output
    lines = output.splitlines()
    head_n, tail_n = 0, 0
    while head_n + tail_n < len(lines):
        # Grow the tail twice as fast as the head.
        take_tail = tail_n < 2 * (head_n + 1)
        trial_head, trial_tail = (head_n, tail_n + 1) if take_tail else (head_n + 1, tail_n)
        text = _join(lines, trial_head, trial_tail)
        if count_tokens(text) > budget:
            break
        head_n, tail_n = trial_head, trial_tail
    return _join(lines, head_n, tail_n)


def _join(lines: list[str], head: int, tail: int) -> str:
    skipped = len(lines) - head - tail
    middle = [f"[… {skipped} lines left out …]"] if skipped > 0 else []
    return "\n".join(lines[:head] + middle + (lines[len(lines) - tail :] if tail else []))


def digest(failure: Failure, target_rel: str, source_lines: list[str]) -> str:
    """Two or three lines a small model can act on: where in the target it failed, the line, the error."""
    out = []
    here = failure.in_file(target_rel, ".")
    if here:
        loc = here[-1]
        where = f"{target_rel} line {loc.line}" + (f", in {loc.func}" if loc.func and loc.func != "<module>" else "")
        if 0 < loc.line <= len(source_lines):
            out.append(f"{where}: `{source_lines[loc.line - 1].strip()}`")
        else:
            out.append(where)
    out.append(failure.summary)
    return "\n".join(out)
