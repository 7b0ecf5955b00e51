"""The install and test scripts say what they build and how long it takes, show the build's
progress, explain a failed build in one line, and end the install with the doctor's probe.

pip is replaced by a fake `pip` module inside a real (pip-less) virtualenv, so the scripts run
for real up to the build without compiling anything."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_FAKE_PIP = r"""
import os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("pip " + " ".join(args) + "\n")
if "--upgrade" in args and "pip" in args:
    sys.exit(0)
mode = os.environ.get("FAKE_PIP", "build")
print("Processing /repo", flush=True)
if mode == "cached":
    print("Successfully installed coder-cli-0.1.0")
    sys.exit(0)
print("  Building wheel for llama-cpp-python (pyproject.toml): started", flush=True)
if mode == "no-compiler":
    print("  CMake Error at CMakeLists.txt:3 (project):\n    No CMAKE_CXX_COMPILER could be found.")
    print("error: subprocess-exited-with-error")
    sys.exit(1)
if mode == "mystery":
    print("  something nobody has seen before")
    sys.exit(1)
for i in range(1, 41):
    print(f"  [{i}/40] /usr/bin/g++ -c ggml-{i}.cpp", flush=True)
print("Successfully installed llama-cpp-python-0.3.36 coder-cli-0.1.0")
"""

_FAKE_CODER = """#!/bin/sh
echo "coder $*" >> "$FAKE_LOG"
"""

_FAKE_PYTEST = """
import os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("pytest " + " ".join(sys.argv[1:]) + "\\n")
print("1 passed in 0.01s")
"""


@pytest.fixture(scope="module")
def fake_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fake") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text("")
    (site / "pip" / "__main__.py").write_text(_FAKE_PIP)
    (site / "pytest").mkdir()
    (site / "pytest" / "__init__.py").write_text("")
    (site / "pytest" / "__main__.py").write_text(_FAKE_PYTEST)
    coder = venv / "bin" / "coder"
    coder.write_text(_FAKE_CODER)
    coder.chmod(0o755)
    return venv


def _script(name: str, venv: Path, tmp_path: Path, mode: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODER_", "PYTEST_"))}
    env.update(CODER_VENV=str(venv), FAKE_LOG=str(log), FAKE_PIP=mode, TERM="dumb")
    r = subprocess.run(["bash", str(REPO / "scripts" / name), *args], capture_output=True, text=True, env=env, timeout=120)
    return r, log.read_text().splitlines() if log.exists() else []


def test_install_announces_the_build_shows_progress_and_ends_with_the_probe(fake_venv, tmp_path):
    r, calls = _script("install.sh", fake_venv, tmp_path, "build")
    assert r.returncode == 0, r.stderr
    err = r.stderr
    announce = err.index("compiles llama.cpp from source unless pip has it cached (about")
    building = err.index("building llama.cpp from source (llama-cpp-python), about ")
    progress = [ln for ln in err.splitlines() if ln.strip().startswith("building llama.cpp: ")]
    assert announce < building < err.index("built llama.cpp in")
    assert [ln.split(":", 1)[1].split("%")[0].strip() for ln in progress] == [str(p) for p in range(10, 101, 10)]
    assert "checking that the model loads and answers on this machine" in err
    assert calls[-2:] == ["coder models pull", "coder doctor --no-bench --yes"]
    assert any(c.startswith("pip install -v -c constraints.txt -e .[model]") for c in calls)
    assert (fake_venv / "pip-install.log").read_text().count("[40/40]") == 1


def test_a_cached_build_says_so_and_compiles_nothing(fake_venv, tmp_path):
    r, _ = _script("install.sh", fake_venv, tmp_path, "cached")
    assert r.returncode == 0, r.stderr
    assert "llama-cpp-python: pip's cached build was used (nothing compiled)" in r.stderr
    assert "building llama.cpp" not in r.stderr


def test_a_failed_build_ends_with_the_line_that_matters(fake_venv, tmp_path):
    r, calls = _script("install.sh", fake_venv, tmp_path, "no-compiler")
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: install failed: no C/C++ compiler found")
    assert "build-essential" in last and f"full log: {fake_venv / 'pip-install.log'}" in last
    assert not any(c.startswith("coder") for c in calls)  # nothing runs after a failed install
    assert "built llama.cpp" not in r.stderr


def test_an_unknown_failure_shows_the_last_line_of_the_log(fake_venv, tmp_path):
    r, _ = _script("install.sh", fake_venv, tmp_path, "mystery")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("error: install failed (pip exit 1): something nobody has seen before")


def test_the_test_script_says_the_same_and_runs_pytest(fake_venv, tmp_path):
    r, calls = _script("test.sh", fake_venv, tmp_path, "build", "-q", "-k", "x")
    assert r.returncode == 0, r.stderr
    assert "building llama.cpp from source" in r.stderr and "built llama.cpp in" in r.stderr
    assert any(c.startswith("pip install -v -c constraints.txt -e .[model,test]") for c in calls)
    assert calls[-1] == "pytest -q -k x"
    assert "1 passed" in r.stdout


def test_the_fast_script_runs_pytest_without_the_model_and_slow_tests(fake_venv, tmp_path):
    r, calls = _script("test-fast.sh", fake_venv, tmp_path, "build", "-q", "-k", "x")
    assert r.returncode == 0, r.stderr
    assert calls == ["pytest -m not model and not slow -q -k x"]  # installs nothing
    assert "1 passed" in r.stdout


def test_the_fast_script_without_a_venv_says_to_run_the_test_script_first(tmp_path):
    r, calls = _script("test-fast.sh", tmp_path / "no-venv", tmp_path, "build")
    assert r.returncode == 1 and calls == []
    assert "run scripts/test.sh once first" in r.stderr


def _module():
    spec = importlib.util.spec_from_file_location("pip_install", REPO / "scripts" / "pip_install.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_known_causes_and_progress_formats():
    m = _module()
    assert m.diagnose("fatal error: Python.h: No such file or directory")[0] == "the Python headers are missing"
    assert m.diagnose("write error: No space left on device")[0] == "the disk is full"
    assert m.diagnose("c++: fatal error: Killed signal terminated program cc1plus")[1].endswith("CMAKE_BUILD_PARALLEL_LEVEL=1")
    assert m.diagnose("all good") is None
    assert m.diagnose("ERROR: Could not find a version that satisfies the requirement x (from versions: none)")[0] == (
        "pip could not reach the package index"
    )
    assert m.diagnose("ERROR: Could not find a version that satisfies the requirement x (from versions: 0.1, 0.2)")[0] == (
        "the package index has no version that fits the pins and this Python"
    )
    pip_tail = "  ggml.c:12:1: error: unknown type name 'foo'\n  error: subprocess-exited-with-error\n  ╰─> llama-cpp-python\n"
    assert m.telling_line(pip_tail) == "ggml.c:12:1: error: unknown type name 'foo'"
    assert m.telling_line("step one\nstep two\n╰─> llama-cpp-python\n") == "step two"
    assert m.percent("  [87/193] /usr/bin/g++ -c a.cpp") == 45
    assert m.percent("[ 45%] Building CXX object ggml.o") == 45
    assert m.percent("Processing /repo") is None
    assert m.pinned_version(REPO / "constraints.txt") == "0.3.36"
    assert m.estimate(2) == "about 7 minutes on 2 cores" and m.estimate(16) == "about 2 minutes on 16 cores"


def test_a_terminal_gets_one_updating_line():
    m = _module()

    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    rep = m.Reporter(out, tty=True)
    rep.line("  Building wheel for llama-cpp-python (pyproject.toml): started")
    for i in range(1, 5):
        rep.line(f"  [{i}/4] g++ x.cpp")
    rep.done()
    text = out.getvalue()
    assert text.count("\n") == 2  # the announcement and "built llama.cpp in", the progress in place
    assert "\r\x1b[Kbuilding llama.cpp: 100%" in text
