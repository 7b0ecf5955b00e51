"""`coder fix` with the real default model (0.5B, greedy first): the fixture programs in fixtures/fix."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_environ, run_cli

pytestmark = pytest.mark.model
FIXTURES = Path(__file__).parent / "fixtures" / "fix"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
TEST_CMD = f"{sys.executable} -m pytest -q -p no:cacheprovider test_mod.py"
# Issue 4 asks for at least 8 of these 12 with the 0.5B model. With the line round (FIM holes)
# the loop repairs 11 (2026-11-25; before it, rewrites alone repaired 8); the floor leaves one of
# slack for a different CPU's arithmetic.
MIN_FIXED = 10


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst)
    return dst


def test_repairs_the_fixtures(model_home, tmp_path):
    assert len(CASES) >= 10
    fixed, report = [], []
    for name in CASES:
        proj = _copy(tmp_path, name)
        before = (proj / "mod.py").read_bytes()
        r = run_cli(["fix", "mod.py", "--test", TEST_CMD, "--yes"], model_home, cwd=proj, timeout=600)
        after = (proj / "mod.py").read_bytes()
        if r.code == 0:
            assert after != before
            assert "+++ b/mod.py" in r.stdout  # the diff is shown
            check = subprocess.run(TEST_CMD, shell=True, cwd=proj, capture_output=True)
            assert check.returncode == 0
            fixed.append(name)
        else:
            assert r.code == 4, r.stderr
            assert after == before, f"{name}: a failed repair changed the file"
        report.append(f"{name}: {'fixed' if r.code == 0 else 'not fixed'}")
    print("\n".join(report))
    assert len(fixed) >= MIN_FIXED, report


def test_undo_restores_the_fixed_file_byte_for_byte(model_home, tmp_path):
    proj = _copy(tmp_path, "syntax_error")
    before = (proj / "mod.py").read_bytes()
    r = run_cli(["fix", "mod.py", "--yes"], model_home, cwd=proj, timeout=600)
    assert r.code == 0, r.stderr
    assert (proj / "mod.py").read_bytes() != before
    r = run_cli(["undo"], model_home, cwd=proj)
    assert r.code == 0, r.stderr
    assert (proj / "mod.py").read_bytes() == before


def test_ctrl_c_during_generation_writes_nothing(model_home, tmp_path):
    proj = _copy(tmp_path, "wrong_variable")
    before = (proj / "mod.py").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "fix", "mod.py", "--test", TEST_CMD, "--yes", "--explain"],
        cwd=proj,
        env=clean_environ(model_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and "repairing" not in seen:
        line = proc.stderr.readline()
        if not line:
            break  # it ended before repairing anything
        seen += line
    assert "repairing" in seen, seen
    # At once: the model's first fill is still being read or written (its prompt alone takes some
    # 0.3 s), and with warm checks the whole repair can end within half a second of this line.
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (proj / "mod.py").read_bytes() == before


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_repairs_javascript_with_a_test_command(model_home, tmp_path):
    dst = tmp_path / "js"
    shutil.copytree(Path(__file__).parent / "fixtures" / "fix_other" / "js_off_by_one", dst)
    r = run_cli(["fix", "mod.js", "--test", "node test.js", "--yes", "--explain"], model_home, cwd=dst, timeout=600)
    assert r.code == 0, r.stderr
    assert "+++ b/mod.js" in r.stdout
    assert subprocess.run(["node", "test.js"], cwd=dst, capture_output=True).returncode == 0
    assert "for (let i = 0; i < xs.length; i++) {" in (dst / "mod.js").read_text()
