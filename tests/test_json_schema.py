"""One shape of usage and timing in every --json output (engine/usage.py), checked command by command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git_project, run_inprocess

USAGE = {"prompt_tokens", "cached_tokens", "completion_tokens", "total_tokens"}
TIMING = {"load_s", "prompt_s", "generate_s", "total_s", "prompt_tokens_per_s", "tokens_per_s"}
FIX = Path(__file__).parent / "fixtures" / "fix" / "wrong_operator"
GOOD_AREA = '```python\ndef area(width, height):\n    """Area of a rectangle."""\n    return width * height\n```\n'


def _shape(data: dict) -> None:
    assert set(data["usage"]) == USAGE and set(data["timing"]) == TIMING
    u = data["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and u["prompt_tokens"] > 0
    assert data["timing"]["total_s"] >= data["timing"]["prompt_s"] >= 0


def test_ask(tmp_path, home, scripted):
    model, _ = scripted("Four.")
    r = run_inprocess(["ask", "-m", model, "--json", "what is 2+2?"], home, tmp_path)
    assert r.code == 0, r.stderr
    _shape(json.loads(r.stdout))


def test_commit_msg_and_review(tmp_path, home, scripted):
    repo = git_project(tmp_path, {"a.py": "x = 1\n"})
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"], check=True)
    (repo / "a.py").write_text("x = 2\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    model, _ = scripted("Set x to 2", "No problems found.")
    for args in (["commit-msg"], ["review"]):
        r = run_inprocess([*args, "--json", "-m", model], home, repo)
        assert r.code == 0, r.stderr
        _shape(json.loads(r.stdout))


def test_complete(tmp_path, home, scripted):
    proj = git_project(tmp_path, {"calc.py": "def add(a, b):\n    <FILL>\n"})
    model, _ = scripted("    return a + b\n", fim=True)
    r = run_inprocess(["complete", "calc.py", "--json", "-m", model], home, proj, stdin="")
    assert r.code == 0, r.stderr
    fill = json.loads(r.stdout)["fills"][0]
    _shape(fill)
    assert fill["tokens"]["prompt"] == fill["usage"]["prompt_tokens"]  # the older alias, one release


@pytest.mark.slow
def test_fix(tmp_path, home, scripted):
    proj = tmp_path / "proj"
    shutil.copytree(FIX, proj)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    model, _ = scripted(GOOD_AREA)
    test = "--test=python -m pytest -q -p no:cacheprovider test_mod.py"
    r = run_inprocess(["fix", "mod.py", test, "--json", "-m", model], home, proj)
    data = json.loads(r.stdout)
    assert data["fixed"] is True, r.stderr
    _shape(data)
    assert abs(data["timing"]["total_s"] - data["seconds"]) < 0.01
