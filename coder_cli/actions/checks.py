"""The check `coder fix` repairs against: a command, or a syntax check plus a matching test file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from coder_cli.errors import UsageError

DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    output: str
    seconds: float
    timed_out: bool = False
    returncode: int | None = None  # the command's exit status (None: no command ran)


@dataclass(frozen=True)
class Check:
    """What is run, described for people, and how: a shell command and/or an in-process syntax check."""

    description: str
    command: str | None  # shell command run in the (scratch) root, or in WORKDIR under it
    syntax_lang: str | None  # language of the syntax check on the target, if any
    timeout: float = DEFAULT_TIMEOUT
    workdir: str = ""  # where the command runs, relative to the root: where it was typed

    def cwd(self, root: Path) -> Path:
        """The folder the command runs in for the (scratch) copy at ROOT."""
        return root / self.workdir if self.workdir else root

    def run(self, root: Path, target_rel: str, command=None) -> CheckResult | None:
        """The syntax check, then the command; COMMAND, when given, runs the command instead of a
        shell (a warm pytest: `warm_check`) and may give None (it could not run)."""
        t0 = time.perf_counter()
        if self.syntax_lang:
            problem = syntax_problem(root / target_rel, self.syntax_lang, target_rel)
            if problem:
                return CheckResult(False, problem, time.perf_counter() - t0)
        if not self.command:
            return CheckResult(True, "", time.perf_counter() - t0)
        if command is not None:
            res = command()
            return res and CheckResult(res.passed, res.output, time.perf_counter() - t0, res.timed_out, res.returncode)
        env = check_env()
        # Its own process group, so a timeout (or Ctrl-C) ends the whole tree, not just the shell:
        # a candidate with an endless loop must not leave a test runner spinning.
        proc = subprocess.Popen(
            self.command,
            shell=True,
            cwd=self.cwd(root),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            note = f"\n[the check timed out after {self.timeout:g} s: an endless loop, or too slow]"
            return CheckResult(False, ((out or "") + (err or "")).strip("\n") + note, time.perf_counter() - t0, True)
        except BaseException:
            _kill_group(proc)
            raise
        output = (out or "") + (("\n" + err) if err else "")
        return CheckResult(proc.returncode == 0, output.strip("\n"), time.perf_counter() - t0, returncode=proc.returncode)


def check_env() -> dict[str, str]:
    """The environment a check command runs in."""
    return dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def syntax_problem(path: Path, lang: str, display: str) -> str | None:
    """A compiler-style message for the first syntax error of PATH, or None when it parses."""
    source = path.read_bytes()
    if lang == "python":
        try:
            compile(source, display, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f'  File "{display}", line {exc.lineno}\n    {(exc.text or "").rstrip()}\nSyntaxError: {exc.msg}'
        except ValueError as exc:  # null bytes
            return f"{display}:1:1: {exc}"
        return None
    from coder_cli.context.lookups import syntax_errors

    issues = syntax_errors(path, lang)
    if not issues:
        return None
    return "\n".join(f"{display}:{i.line + 1}:{i.column + 1}: syntax error: {i.kind} {i.text!r}" for i in issues[:5])


def find_test_file(target: Path, root: Path) -> Path | None:
    """test_<name>.py or <name>_test.py beside the target, in a tests/ folder beside it, or under ROOT/tests."""
    stem = target.stem
    names = [f"test_{stem}.py", f"{stem}_test.py"]
    folders = [target.parent, target.parent / "tests", target.parent / "test", root / "tests", root / "test"]
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate.is_file() and candidate.resolve() != target.resolve():
                return candidate
    return None


def plan(
    target: Path, root: Path, lang: str, test_cmd: str | None, timeout: float = DEFAULT_TIMEOUT, cwd: Path | None = None
) -> Check:
    """The check for TARGET, said in words exactly as it will be run. A TEST_CMD runs where it was
    typed (CWD) when that is inside ROOT, as it would in the shell; otherwise in ROOT."""
    rel = target.relative_to(root).as_posix()
    if test_cmd:
        where = cwd.resolve() if cwd is not None else root
        if not where.is_relative_to(root):
            where = root
        workdir = where.relative_to(root).as_posix()
        return Check(f"`{test_cmd}` (in {where})", test_cmd, None, timeout, "" if workdir == "." else workdir)
    if lang == "python":
        test = find_test_file(target, root)
        if test is None:
            return Check(f"Python syntax of {rel} (py_compile); no test file found", None, "python", timeout)
        test_rel = test.relative_to(root).as_posix()
        runner = "pytest" if shutil.which("pytest") else f"{sys.executable} -m pytest"
        cmd = f"{runner} -x -q --tb=short -p no:cacheprovider {test_rel}"
        return Check(f"Python syntax of {rel}, then `{cmd}`", cmd, "python", timeout)
    from coder_cli.core.languages import SUPPORTED

    if lang not in SUPPORTED:
        raise UsageError(f"no check for {rel}", 'pass one with --test "CMD"')
    return Check(f"{lang} syntax of {rel} (tree-sitter)", None, lang, timeout)
