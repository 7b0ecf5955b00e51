"""Issue 17, point 2: a check that cannot run is reported, not repaired. Each case: exit 2, an error
naming the check and what it printed, the model never asked, in about one run of the check (two
for the stand-in comparison). The scripted engine stands in for the model: it must not be called."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coder_cli.core.check_health import reaches, same_failure, stand_in, unusable
from tests.conftest import run_inprocess

FIXTURE = Path(__file__).parent / "fixtures" / "fix" / "wrong_operator"
PY = sys.executable


def _case(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    shutil.copytree(FIXTURE, proj)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    return proj


@pytest.mark.slow
@pytest.mark.parametrize(
    "check, why",
    [
        (f"{PY} -m nosuchmodule test_mod.py", "Python has no module named nosuchmodule"),
        ("nosuchcommand --run test_mod.py", "its command `nosuchcommand` was not found"),
        (f"{PY} -m pytest -q -p no:cacheprovider test_missing.py", "it names test_missing.py, which does not exist"),
        (f"{PY} no_such_runner.py", "it names no_such_runner.py, which does not exist"),
        (f"{PY} -m pytest -q -p no:cacheprovider -k nothing_matches test_mod.py", "pytest collected no tests"),
        (f"{PY} -m pytest -q -p no:cacheprovider --no-such-option test_mod.py", "pytest could not run it (a usage error"),
        (f"{PY} test_needs_dep.py", "it fails the same way with mod.py replaced by a stand-in that raises"),
    ],
)
def test_a_check_that_cannot_fail_on_the_file_is_reported_not_repaired(tmp_path, home, scripted, check, why):
    proj = _case(tmp_path)
    # A test that dies on a missing dependency before it ever imports the file.
    (proj / "test_needs_dep.py").write_text("import nosuchdependency\nfrom mod import area\n")
    before = (proj / "mod.py").read_bytes()
    model, calls = scripted("```python\ndef area(width, height):\n    return width * height\n```\n")
    t0 = time.monotonic()
    r = run_inprocess(["fix", "mod.py", f"--test={check}", "--yes", "-m", model], home, proj)
    seconds = time.monotonic() - t0
    assert r.code == 2, r.stderr
    assert f"the check cannot test mod.py: {why}" in r.stderr, r.stderr
    assert "it printed:" in r.stderr and check.split()[0] in r.stderr  # names the check
    assert calls() == [] and (proj / "mod.py").read_bytes() == before
    assert seconds < 15, seconds  # one or two runs of the check; before: three rounds of candidates


@pytest.mark.slow
def test_a_check_the_file_fails_is_still_repaired(tmp_path, home, scripted):
    proj = _case(tmp_path)
    model, calls = scripted("```python\ndef area(width, height):\n    return width * height\n```\n")
    r = run_inprocess(["fix", "mod.py", f"--test={PY} -m pytest -q -p no:cacheprovider test_mod.py", "--yes", "-m", model],
                      home, proj)  # fmt: skip
    assert r.code == 0, r.stderr
    assert len(calls()) == 1 and "width * height" in (proj / "mod.py").read_text()


@pytest.mark.slow
def test_a_module_the_file_itself_imports_is_the_files_to_fix(tmp_path, home, scripted):
    """`import itertool` in the file is a bug in the file: its traceback goes through it, and the
    stand-in fails differently."""
    proj = _case(tmp_path)
    (proj / "mod.py").write_text("import itertool\n\n\ndef area(width, height):\n    return width * height\n")
    model, calls = scripted("```python\nimport itertools\n\n\ndef area(width, height):\n    return width * height\n```\n")
    r = run_inprocess(["fix", "mod.py", f"--test={PY} -m pytest -q -p no:cacheprovider test_mod.py", "--yes", "-m", model],
                      home, proj)  # fmt: skip
    assert "cannot test" not in r.stderr and len(calls()) >= 1, r.stderr


# -- the pure rules -----------------------------------------------------------------------------------


def test_unusable_reads_the_shells_and_pythons_words():
    def exists(p):
        return p in ("test_a.py", "src/a.py", "run.sh")

    assert unusable("foo test_a.py", 127, "sh: 1: foo: not found", exists) == "its command `foo` was not found"
    assert unusable("foo", 1, "bash: foo: command not found", exists) == "its command `foo` was not found"
    assert unusable("run.sh", 126, "sh: 1: ./run.sh: Permission denied", exists) == "its command cannot be run (not executable)"
    missing_runner = unusable("python3 -m pytest test_a.py", 1, "/usr/bin/python3: No module named pytest", exists)
    assert "no module named pytest" in missing_runner
    assert unusable("pytest test_a.py::test_x src/a.py", 1, "F", exists) is None
    assert unusable("pytest 'tests/test_*.py'", 1, "F", exists) is None  # a glob is not a path
    assert unusable("pytest test_a.py --cov=src/b.py", 1, "F", exists) is None  # an option is not a path
    collection_error = "E   ImportError: cannot import name 'x'"  # the file's to fix
    assert unusable("pytest test_a.py", 2, collection_error, exists) is None
    assert unusable("make test", 2, "make: *** [test] Error 1", exists) is None
    assert unusable(None, 1, "anything", exists) is None


def test_failures_are_the_same_up_to_numbers():
    assert same_failure(1, "FAILED in 0.12s at 0x7f12", 1, "FAILED in 0.34s at 0x7f99")
    assert not same_failure(1, "NameError: x", 1, "RuntimeError: coder fix: a stand-in for m.py")
    assert not same_failure(1, "x", 2, "x")
    assert stand_in("python", "m.py").startswith("raise RuntimeError") and stand_in("haskell", "m.hs") is None


def test_a_traceback_through_the_file_shows_the_check_reaches_it():
    assert reaches('  File "/tmp/x/src/calc.py", line 3, in area', "src/calc.py")
    assert reaches("src/calc.py:3: in area\n    return a +", "src/calc.py")
    assert reaches("calc.py:3:5: error: bad", "calc.py")
    assert not reaches("test_calc.py:3: AssertionError", "calc.py")
    assert not reaches("mycalc.py:3: in f", "calc.py")
