"""The model store against the real offline mirror of the default model."""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest

from coder_cli import manifest
from coder_cli.errors import ModelError
from coder_cli.model_store import Store
from tests.conftest import clean_environ, run_cli

DEFAULT = manifest.default()
FINAL = DEFAULT.file


def _mirror_copy(dst: Path, flip_part: int | None = None) -> Path:
    """A site-packages-like folder holding the mirror's parts (hard links, one copied and flipped)."""
    parts = Store(dst).mirror_parts(DEFAULT)
    assert parts, "the `model` extra must be installed"
    for i, part in enumerate(parts):
        pkg_dir = part.parent.parent
        target = dst / pkg_dir.name / "data" / part.name
        target.parent.mkdir(parents=True)
        (dst / pkg_dir.name / "__init__.py").write_text("")
        if i == flip_part:
            shutil.copyfile(part, target)
            with target.open("r+b") as fh:
                fh.seek(1_000_000)
                byte = fh.read(1)
                fh.seek(1_000_000)
                fh.write(bytes([byte[0] ^ 0xFF]))
        else:
            try:
                os.link(part, target)
            except OSError:
                shutil.copyfile(part, target)
    return dst


@pytest.mark.model
def test_pull_assembles_and_verifies(home):
    r = run_cli(["models", "pull"], home)
    assert r.code == 0, r.stderr
    assert "installed from the mirror (sha256 verified)" in r.stderr
    assert Store(home).verified(DEFAULT) is True
    assert not list((home / "models").glob(".tmp-*"))
    again = run_cli(["models", "pull", "default"], home)
    assert again.code == 0 and "already installed" in again.stderr
    verify = run_cli(["models", "verify"], home)
    assert verify.code == 0 and "qwen2.5-coder-0.5b-instruct: ok" in verify.stdout


@pytest.mark.model
def test_corrupted_part_is_refused_and_leaves_no_file(home, tmp_path):
    site = _mirror_copy(tmp_path / "site", flip_part=2)
    r = run_cli(["models", "pull"], home, PYTHONPATH=str(site))
    assert r.code == 3
    assert "sha256 mismatch" in r.stderr
    assert not (home / "models" / FINAL).exists()
    assert not list((home / "models").glob(".tmp-*"))


@pytest.mark.model
def test_killed_assembly_leaves_no_file_under_the_final_name(home):
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "models", "pull"],
        env=clean_environ(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    models = home / "models"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(models.glob(".tmp-*")):
        time.sleep(0.005)
    temps = list(models.glob(".tmp-*"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert temps, "the assembly finished before it could be killed"
    assert not (models / FINAL).exists()
    # The next pull cleans the dead process's temp file and succeeds.
    r = run_cli(["models", "pull"], home)
    assert r.code == 0, r.stderr
    assert not list(models.glob(".tmp-*"))
    assert Store(home).verified(DEFAULT) is True


@pytest.mark.model
def test_two_pulls_at_once_end_with_one_good_file(home):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "coder_cli", "models", "pull"],
            env=clean_environ(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    messages = " ".join(err for _, err in outs)
    assert "installed from the mirror" in messages and "already installed" in messages
    assert [p.name for p in (home / "models").glob("*.gguf")] == [FINAL]
    assert Store(home).verify(DEFAULT) is True


def test_store_file_corrupted_later_is_detected(home, model_path):
    models = home / "models"
    models.mkdir()
    shutil.copyfile(model_path, models / FINAL)
    with (models / FINAL).open("r+b") as fh:
        fh.seek(5_000_000)
        fh.write(b"\0\1\2\3")
    r = run_cli(["models", "verify"], home)
    assert r.code == 3 and "BAD" in r.stdout
    r = run_cli(["ask", "hi"], home)
    assert r.code == 3 and "does not match the sha256" in r.stderr


def test_not_enough_disk_space_is_refused_before_writing(home):
    usage = namedtuple("usage", "total used free")
    store = Store(home, disk_usage=lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(ModelError, match="not enough disk space") as err:
        store.pull(DEFAULT)
    assert "CODER_HOME" in err.value.hint
    assert not (home / "models" / FINAL).exists()


def test_rm_removes_only_the_store_copy(home, model_path):
    r = run_cli(["models", "rm", "default"], home)
    assert r.code == 0
    assert model_path.exists()
