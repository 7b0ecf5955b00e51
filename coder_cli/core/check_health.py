"""Whether a failing check can be the file's fault at all, before `coder fix` spends rounds on it.

A check that cannot run (its command or test runner missing, a usage error, a test path that does
not exist, no tests collected) fails whatever the file holds: repairing against it only burns
rounds (a missing module was "repaired" for 44 s). ``unusable`` reads that from the command, its
exit status and its output; ``same_failure`` compares the failure with the one the check gives when
the file is replaced by a stand-in that raises (``stand_in``): the same failure means the check never
reaches the file. Pure functions.
"""

from __future__ import annotations

import re
import shlex

# `sh: 1: foo: not found`, `bash: foo: command not found`, `zsh: command not found: foo`
_NOT_FOUND = re.compile(
    r"^\S*sh: (?:\d+: )?(?:line \d+: )?(\S+): (?:command )?not found$|^\S*sh: command not found: (\S+)$", re.M
)
# `/usr/bin/python3: No module named nosuchmodule` (python -m X): no traceback, the runner itself
_NO_RUNNER = re.compile(r"^\S*python[\d.]*(?:\.exe)?: No module named (\S+)$", re.M)
_PYTEST = re.compile(r"(?:^|[\s/])(?:py\.test|pytest)(?:\s|$)")
_PYTEST_USAGE = re.compile(r"^ERROR: (?:file or directory not found|not found): (.+)$|^\w*: error: (.+)$", re.M)
_SOURCE = re.compile(r"^[\w./-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx|rb|sh|go|rs|java|php)$")
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")

# A stand-in for the file that fails the moment it is loaded (None: no stand-in for the language).
_STAND_INS = {
    "python": 'raise RuntimeError("coder fix: a stand-in for {rel}")\n',
    "javascript": 'throw new Error("coder fix: a stand-in for {rel}");\n',
    "typescript": 'throw new Error("coder fix: a stand-in for {rel}");\n',
    "ruby": 'raise "coder fix: a stand-in for {rel}"\n',
}


def unusable(command: str | None, returncode: int | None, output: str, exists) -> str | None:
    """Why the check COMMAND (it exited RETURNCODE, printing OUTPUT) cannot be failing because of the
    file: its command or runner is missing, it was used wrongly, it names a test that does not exist,
    or it collected no tests. None when nothing says so. EXISTS(path) says whether a path (relative
    to the repository, as the command names it) exists."""
    if not command:
        return None
    missing = _missing_paths(command, exists)
    if missing:
        return f"it names {', '.join(missing)}, which does not exist"
    found = _NOT_FOUND.search(output)
    if returncode == 127 or found:
        name = (found.group(1) or found.group(2)) if found else command.split()[0]
        return f"its command `{name}` was not found"
    if returncode == 126:
        return "its command cannot be run (not executable)"
    runner = _NO_RUNNER.search(output)
    if runner:
        return f"Python has no module named {runner.group(1)} (a test runner or module to install, or a typo in the check)"
    if _PYTEST.search(command):
        if returncode == 5:
            return "pytest collected no tests"
        if returncode == 4:
            usage = _PYTEST_USAGE.search(output)
            detail = next((g for g in usage.groups() if g), "") if usage else ""
            return "pytest could not run it (a usage error" + (f": {detail.strip()}" if detail else "") + ")"
    return None


def _missing_paths(command: str, exists) -> list[str]:
    """Source files the command names (its plain arguments, before any shell operator) that do not exist."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    out = []
    for word in words:
        if word in ("|", "||", "&&", ";", ">", "<", "2>", "&"):
            break
        path = word.split("::", 1)[0]  # pytest's test_x.py::test_name
        if path.startswith("-") or not _SOURCE.match(path) or any(c in path for c in "*?[$"):
            continue
        if not exists(path):
            out.append(path)
    return out


def stand_in(lang: str, rel: str) -> str | None:
    """A file for LANG that fails the moment it is loaded, or None when coder has none for LANG."""
    text = _STAND_INS.get(lang)
    return None if text is None else text.format(rel=rel)


def reaches(output: str, rel: str) -> bool:
    """Whether the failure OUTPUT shows the check running the file REL: a traceback frame or a
    `file:line` message in it (then no stand-in run is needed to tell)."""
    name = re.escape(rel.rsplit("/", 1)[-1])
    return re.search(rf"(?:^|[\s\"'/(]){name}(?:\", line \d+|:\d+)", output) is not None


def same_failure(a_code: int | None, a_output: str, b_code: int | None, b_output: str) -> bool:
    """Whether two failing runs of a check failed the same way (exit status, and output up to numbers:
    timings and addresses differ between runs)."""
    return a_code == b_code and _NUMBERS.sub("N", a_output).strip() == _NUMBERS.sub("N", b_output).strip()
