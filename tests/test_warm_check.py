"""The warm pytest of `coder fix`: which commands it takes, and that it reports what the command does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coder_cli.actions import fix
from coder_cli.actions.checks import Check, CheckResult
from coder_cli.actions.warm_check import WarmPytest, agrees, pytest_command

PY = sys.executable
CMD = f"{PY} -m pytest -x -q -p no:cacheprovider test_calc.py"


def project(tmp_path: Path, body: str = "    return a - b\n") -> Path:
    (tmp_path / "calc.py").write_text("def add(a, b):\n" + body)
    (tmp_path / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        f"{PY} -m pytest",
        f"{PY} -m pytest -x -q tests/test_a.py::test_b",
        "python3 -m pytest -q",
        "pytest -x -q",
    ],
)
def test_plain_pytest_commands_are_taken(command, tmp_path):
    # A console script as pip writes it, first on PATH.
    script = tmp_path / "pytest"
    script.write_text(f"#!{PY}\nimport sys\nfrom pytest import console_main\nsys.exit(console_main())\n")
    script.chmod(0o755)
    got = pytest_command(command, {"PATH": f"{tmp_path}:{Path(PY).parent}:/usr/bin:/bin"})
    assert got is not None
    interpreter, args, module, _ = got
    assert Path(interpreter).name.startswith("python")
    assert args == command.split()[3 if "-m" in command else 1 :]
    assert module == ("-m" in command)
    if not module:
        assert interpreter == PY and got[3] == str(script)


@pytest.mark.parametrize(
    "command",
    [
        "make test",
        f"{PY} -m unittest",
        f"{PY} -X dev -m pytest",
        f"{PY} -m pytest && echo done",
        f"{PY} -m pytest | tee log",
        f"{PY} -m pytest tests/*.py",
        f"{PY} -m pytest $ARGS",
        f"FOO=1 {PY} -m pytest",
        "cd sub; pytest",
        "nosuchpython3 -m pytest",
        f"{PY} -m pytest 'unterminated",
    ],
)
def test_anything_else_runs_as_the_command(command):
    assert pytest_command(command) is None


def test_it_reports_what_the_command_does(tmp_path):
    root = project(tmp_path)
    real = Check("t", CMD, None, 20).run(root, "calc.py")
    with WarmPytest(CMD, root, 20) as warm:
        first = warm.run()
        assert first is not None and not first.passed and first.returncode == real.returncode == 1
        assert agrees(first, real)
        assert "assert -1 == 5" in first.output and "FAILED test_calc.py::test_add" in first.output
        # The code under test is read afresh on every run: nothing of it was imported before the fork.
        (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        fixed = warm.run()
        assert fixed is not None and fixed.passed and fixed.returncode == 0
        assert "2 passed" in fixed.output
        assert fixed.seconds < real.seconds  # the point of it
        (root / "calc.py").write_text("def add(a, b)\n    return a + b\n")
        broken = warm.run()
        real_broken = Check("t", CMD, None, 20).run(root, "calc.py")
        assert broken is not None and broken.returncode == real_broken.returncode == 2
        assert agrees(broken, real_broken)


def test_an_endless_loop_times_out_and_the_next_run_still_works(tmp_path):
    root = project(tmp_path, "    while True:\n        pass\n")
    with WarmPytest(CMD, root, 1.5) as warm:
        looped = warm.run()
        assert looped is not None and looped.timed_out and not looped.passed
        assert "timed out after 1.5 s" in looped.output
        (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        after = warm.run()
        assert after is not None and after.passed


def test_a_server_that_cannot_start_gives_way_to_the_command(tmp_path, monkeypatch):
    root = project(tmp_path)
    with WarmPytest(CMD, root, 20) as warm:
        warm.interpreter = "/nonexistent"
        assert warm.proc is not None
        warm.proc.kill()
        assert warm.run() is None
        assert warm.run() is None


class _Warm:
    """A warm check that says what it is told (the command itself is still run for real)."""

    def __init__(self, results):
        self.results, self.closed, self.runs = list(results), False, 0

    def run(self):
        self.runs += 1
        return self.results.pop(0)

    def close(self):
        self.closed = True


def _search(tmp_path, before: CheckResult, warm):
    from coder_cli.actions.scratch import Scratch
    from coder_cli.fs.text_file import read_text

    root = project(tmp_path)
    scratch = Scratch(root, keep="calc.py")
    original = read_text(root / "calc.py")
    ctx = type("Ctx", (), {"rel": "calc.py", "original": original})()
    check = Check("t", CMD, None, 20)
    result = fix.FixResult(root / "calc.py", root, "calc.py", original, check, before)
    notes: list[str] = []
    return scratch, fix._Search(ctx, check, scratch, result, notes.append, warm), result, notes


def test_a_warm_pass_counts_only_when_the_command_confirms_it(tmp_path):
    failed = CheckResult(False, "FAILED test_calc.py::test_add - assert -1 == 5", 0.1, returncode=1)
    warm = _Warm([failed, CheckResult(True, "2 passed", 0.1, returncode=0)])
    scratch, search, result, notes = _search(tmp_path, failed, warm)
    with scratch:
        # The warm check passes a candidate the real tests fail: it is not taken, and warm checks stop.
        search.run("def add(a, b):\n    return a * b + 0\n", 1, "t", 0.0)
        assert result.fixed is None
        assert warm.closed and search.warm is None
        assert any("failed where a warm pytest passed" in n for n in notes)
        search.run("def add(a, b):\n    return a + b\n", 1, "t", 0.0)  # the command alone now
        assert result.fixed is not None and warm.runs == 2


def test_a_warm_check_that_disagrees_on_the_unchanged_file_is_not_used(tmp_path):
    before = CheckResult(False, "FAILED test_calc.py::test_add - assert -1 == 5", 0.1, returncode=1)
    warm = _Warm([CheckResult(False, "ERROR collecting test_calc.py", 0.1, returncode=2)])
    scratch, search, result, notes = _search(tmp_path, before, warm)
    with scratch:
        search.run("def add(a, b):\n    return a + b\n", 1, "t", 0.0)
        assert warm.runs == 1 and warm.closed  # only the calibration ran warm
        assert result.fixed is not None
        assert any("does not report what the command did" in n for n in notes)


LOOPING_TEST = (
    "import os\nfrom calc import add\n\ndef test_add():\n"
    "    with open('pid', 'w') as fh:\n        fh.write(str(os.getpid()))\n"
    "    assert add(2, 3) == 5\n"
)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return "\nState:\tZ" not in state


def _wait_for(path: Path, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


def test_closing_during_a_run_ends_the_test_run_too(tmp_path):
    root = project(tmp_path, "    while True:\n        pass\n")
    (root / "test_calc.py").write_text(LOOPING_TEST)
    warm = WarmPytest(CMD, root, 60)
    got = []
    runner = threading.Thread(target=lambda: got.append(warm.run()))
    runner.start()
    child = _wait_for(root / "pid")
    warm.close()  # what Ctrl-C during a check does (fix closes it in a finally)
    runner.join(15)
    assert not runner.is_alive() and got == [None]
    assert _gone(child), "the test run outlived the warm check"


def test_a_killed_coder_leaves_no_test_run_behind(tmp_path):
    root = project(tmp_path, "    while True:\n        pass\n")
    (root / "test_calc.py").write_text(LOOPING_TEST)
    script = (
        "import sys\nfrom pathlib import Path\nfrom coder_cli.actions.warm_check import WarmPytest\n"
        f"WarmPytest({CMD!r}, Path(sys.argv[1]), 60).run()\n"
    )
    holder = subprocess.Popen([PY, "-c", script, str(root)])
    try:
        child = _wait_for(root / "pid")
        holder.kill()  # SIGKILL: no finally runs
        holder.wait()
        assert _gone(child), "the test run outlived coder"
    finally:
        holder.kill()
