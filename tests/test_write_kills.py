"""Kill tests: `coder fix --yes` (and `coder undo`) killed by SIGKILL at every point of a write and at
random moments, on a repository with linked folders. Whatever the moment, the real file is the
original or the approved result (never a candidate, never half-written), no temp file stays beside
it once coder ran again, and `coder undo` gives back the original byte for byte with its mode."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coder_cli.fs.kill_points import ENV, POINTS
from tests.conftest import clean_environ

ORIGINAL = b"def area(width, height):\n    return width + height\n"
APPROVED = b"def area(width, height):\n    return width * height\n"
REPLY = "```python\ndef area(width, height):\n    return width * height\n```\n"
CANDIDATE_MARK = "width \\* height"
MODE = 0o640

pytestmark = pytest.mark.slow


def _repo(tmp_path: Path) -> Path:
    """vendor/ and node_modules/ (linked in the scratch copy), an absolute folder link, the file in vendor/."""
    proj = tmp_path / "proj"
    (proj / "vendor").mkdir(parents=True)
    (proj / "node_modules" / "dep").mkdir(parents=True)
    (proj / "node_modules" / "dep" / "index.js").write_text("module.exports = 1\n")
    (proj / "shared").mkdir()
    (proj / "shared" / "data.txt").write_text("data\n")
    os.symlink(proj / "shared", proj / "shared_link")
    lib = proj / "vendor" / "lib.py"
    lib.write_bytes(ORIGINAL)
    os.chmod(lib, MODE)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    return proj


def _coder(args: list[str], home: Path, proj: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coder_cli", *args],
        cwd=proj,
        env=clean_environ(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: a kill takes the crash guard and its child at once
    )


def _fix(home: Path, proj: Path, model: str, check: str, **env: str) -> subprocess.Popen:
    return _coder(["fix", "vendor/lib.py", f"--test={check}", "--yes", "-m", model], home, proj, **env)


def _assert_safe(home: Path, proj: Path) -> None:
    """The file is the original or the approved result; undo (run until empty) gives back the original."""
    lib = proj / "vendor" / "lib.py"
    assert lib.read_bytes() in (ORIGINAL, APPROVED)
    assert stat.S_IMODE(lib.stat().st_mode) == MODE
    assert (proj / "shared" / "data.txt").read_text() == "data\n"
    undo = _coder(["undo"], home, proj)
    out, err = undo.communicate(timeout=60)
    assert undo.returncode in (0, 2), err  # 2: nothing to undo (the write never happened)
    assert lib.read_bytes() == ORIGINAL
    assert stat.S_IMODE(lib.stat().st_mode) == MODE
    left = [p.name for p in (proj / "vendor").iterdir() if p.name != "lib.py"]
    assert left == [], left


@pytest.mark.parametrize("point", [p for p in POINTS if p != "journal-drop"])
def test_fix_killed_at_each_point_of_the_write(tmp_path, home, scripted, point):
    proj = _repo(tmp_path)
    model, _ = scripted(REPLY)
    proc = _fix(home, proj, model, f"grep -q '{CANDIDATE_MARK}' vendor/lib.py", **{ENV: point})
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (-9, 137), proc.returncode  # it did die at POINT
    assert ENV.encode() not in err  # a test variable, not an unknown config key
    expected = APPROVED if point == "write-renamed" else ORIGINAL
    assert (proj / "vendor" / "lib.py").read_bytes() == expected
    _assert_safe(home, proj)


def test_undo_killed_mid_way_is_finished_by_the_next_undo(tmp_path, home, scripted):
    proj = _repo(tmp_path)
    model, _ = scripted(REPLY)
    proc = _fix(home, proj, model, f"grep -q '{CANDIDATE_MARK}' vendor/lib.py")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (proj / "vendor" / "lib.py").read_bytes() == APPROVED
    undo = _coder(["undo"], home, proj, **{ENV: "journal-drop"})
    undo.communicate(timeout=60)
    assert undo.returncode in (-9, 137)
    _assert_safe(home, proj)


def test_fix_killed_during_the_candidates_check(tmp_path, home, scripted):
    proj = _repo(tmp_path)
    model, _ = scripted(REPLY)
    # The original fails the check; the candidate's check kills coder (as an OOM kill would).
    proc = _fix(home, proj, model, f"grep -q '{CANDIDATE_MARK}' vendor/lib.py && kill -9 $PPID; exit 1")
    proc.communicate(timeout=120)
    assert proc.returncode in (-9, 137)
    assert (proj / "vendor" / "lib.py").read_bytes() == ORIGINAL
    _assert_safe(home, proj)


def test_fix_killed_at_random_moments(tmp_path, home, scripted):
    """SIGKILL to the whole process group at moments spread over a whole run (seeded)."""
    model, _ = scripted(REPLY)
    check = f"sleep 0.2; grep -q '{CANDIDATE_MARK}' vendor/lib.py"
    proj = _repo(tmp_path / "timing")
    t0 = time.monotonic()
    proc = _fix(home, proj, model, check)
    proc.communicate(timeout=120)
    whole = time.monotonic() - t0
    assert proc.returncode == 0
    rng = random.Random(16)
    outcomes = set()
    for i in range(12):
        run_home = tmp_path / f"home{i}"
        run_home.mkdir()
        proj = _repo(tmp_path / f"run{i}")
        proc = _fix(run_home, proj, model, check)
        time.sleep(rng.uniform(0.3, 1.0) * whole)
        with_kill = proc.poll() is None
        if with_kill:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        outcomes.add((proj / "vendor" / "lib.py").read_bytes())
        _assert_safe(run_home, proj)
    assert ORIGINAL in outcomes  # some kills landed before the write
