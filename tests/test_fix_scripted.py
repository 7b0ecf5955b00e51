"""`coder fix` and `coder undo` logic with the scripted engine (the real model is tested in test_fix_real)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from coder_cli.fs.atomic_write import WriteRefused
from coder_cli.fs.undo_journal import UndoJournal
from tests.conftest import run_inprocess

FIXTURES = Path(__file__).parent / "fixtures" / "fix"
GOOD_AREA = '```python\ndef area(width, height):\n    """Area of a rectangle."""\n    return width * height\n```\n'
TEST = "--test=python -m pytest -q -p no:cacheprovider test_mod.py"


def _case(tmp_path: Path, name: str = "wrong_operator") -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(FIXTURES / name, dst)
    subprocess.run(["git", "init", "-q", str(dst)], check=True)
    return dst


@pytest.mark.slow
def test_yes_writes_the_fix_and_undo_restores_it(tmp_path, home, scripted):
    proj = _case(tmp_path)
    before = (proj / "mod.py").read_bytes()
    model, calls = scripted(GOOD_AREA)
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    assert "return width * height" in (proj / "mod.py").read_text()
    prompt = calls()[0]["messages"][-1]["content"]
    assert "assert 7 == 12" in prompt and "def area(width, height):" in prompt
    r = run_inprocess(["undo"], home, proj)
    assert r.code == 0 and (proj / "mod.py").read_bytes() == before


@pytest.mark.slow
def test_without_a_terminal_nothing_is_written_and_the_patch_applies(tmp_path, home, scripted):
    proj = _case(tmp_path)
    before = (proj / "mod.py").read_bytes()
    model, _ = scripted(GOOD_AREA)
    r = run_inprocess(["fix", "mod.py", TEST, "-m", model], home, proj)
    assert r.code == 1
    assert (proj / "mod.py").read_bytes() == before
    assert "pass --yes" in r.stderr
    (proj / "fix.patch").write_text(r.stdout)
    subprocess.run(["git", "-C", str(proj), "apply", "fix.patch"], check=True)
    assert "width * height" in (proj / "mod.py").read_text()


@pytest.mark.slow
def test_dry_run_never_writes(tmp_path, home, scripted):
    proj = _case(tmp_path)
    before = (proj / "mod.py").read_bytes()
    model, _ = scripted(GOOD_AREA)
    r = run_inprocess(["fix", "mod.py", TEST, "--dry-run", "-m", model], home, proj)
    assert r.code == 1 and "+    return width * height" in r.stdout
    assert (proj / "mod.py").read_bytes() == before


@pytest.mark.slow
def test_garbage_and_wrong_code_write_nothing(tmp_path, home, scripted):
    proj = _case(tmp_path)
    before = (proj / "mod.py").read_bytes()
    model, calls = scripted(
        "I am not sure.", "```python\ndef other():\n    pass\n```", "```python\ndef area(w, h):\n    return w - h\n```"
    )
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "--rounds", "2", "-m", model, "--json"], home, proj)
    data = json.loads(r.stdout)
    assert r.code == 4 and data["fixed"] is False and data["written"] is False
    assert (proj / "mod.py").read_bytes() == before
    outcomes = [a["outcome"] for a in data["attempts"]]
    assert outcomes[0].startswith("rejected: the reply has no code block")
    assert not list((home / "undo").glob("*.before")) if (home / "undo").exists() else True


@pytest.mark.slow
def test_already_passing_file_is_reported(tmp_path, home, scripted):
    proj = _case(tmp_path)
    (proj / "mod.py").write_text("def area(width, height):\n    return width * height\n")
    model, calls = scripted("never")
    r = run_inprocess(["fix", "mod.py", TEST, "-m", model], home, proj)
    assert r.code == 0 and "already passes" in r.stderr
    assert calls() == []


@pytest.mark.slow
def test_default_check_finds_the_test_file(tmp_path, home, scripted):
    proj = _case(tmp_path, "wrong_comparison")
    model, _ = scripted("```python\ndef is_adult(age):\n    return age >= 18\n```")
    r = run_inprocess(["fix", "mod.py", "--yes", "-m", model, "--explain"], home, proj)
    assert r.code == 0, r.stderr
    assert "pytest" in r.stderr and "test_mod.py" in r.stderr
    assert "age >= 18" in (proj / "mod.py").read_text()


@pytest.mark.slow
def test_crlf_file_keeps_crlf(tmp_path, home, scripted):
    proj = _case(tmp_path)
    mod = proj / "mod.py"
    mod.write_bytes(mod.read_bytes().replace(b"\n", b"\r\n"))
    model, _ = scripted(GOOD_AREA)
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    data = mod.read_bytes()
    assert b"width * height\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_filter_mode_prints_the_repaired_file(tmp_path, home, scripted):
    model, _ = scripted("```python\ndef greet(name):\n    return 'hi ' + name\n```")
    r = run_inprocess(
        ["fix", "-", "--lang", "python", "-m", model], home, tmp_path, stdin="def greet(name)\n    return 'hi ' + name\n"
    )
    assert r.code == 0, r.stderr
    assert r.stdout == "def greet(name):\n    return 'hi ' + name\n"


@pytest.mark.slow
def test_a_file_changed_between_check_and_write_is_refused(tmp_path, home, scripted):
    from coder_cli.actions.fix import FixRequest, run_fix
    from coder_cli.engine.scripted import ScriptedEngine

    proj = _case(tmp_path)
    engine = ScriptedEngine([GOOD_AREA])
    result = run_fix(FixRequest(proj / "mod.py", TEST[len("--test=") :]), lambda: engine, lambda m: None, home)
    assert result.fixed is not None
    (proj / "mod.py").write_text("# edited meanwhile\n")
    journal = UndoJournal(home)
    try:
        journal.write(result.target, result.original.raw, result.new_bytes(), "coder fix")
        raise AssertionError("the write should have been refused")
    except WriteRefused as exc:
        assert "changed since" in exc.message
    assert (proj / "mod.py").read_text() == "# edited meanwhile\n"
    assert journal.entries() == []


def test_undo_list_and_empty_journal(tmp_path, home):
    r = run_inprocess(["undo"], home, tmp_path)
    assert r.code == 2 and "nothing to undo" in r.stderr
    r = run_inprocess(["undo", "--list"], home, tmp_path)
    assert r.code == 0 and "empty" in r.stderr


@pytest.mark.slow
def test_a_check_that_never_ends_is_killed_with_its_children(tmp_path):
    import time

    from coder_cli.actions.checks import Check

    marker = tmp_path / "alive"
    cmd = f"python3 -c \"import time, pathlib\nwhile True: pathlib.Path('{marker}').touch(); time.sleep(0.05)\""
    result = Check("loop", cmd, None, timeout=1).run(tmp_path, "x.py")
    assert not result.passed and result.timed_out and "timed out" in result.output
    marker.unlink()
    time.sleep(0.3)
    assert not marker.exists(), "the test runner kept running after the timeout"


@pytest.mark.slow
def test_outside_a_repository_the_check_runs_where_it_was_typed(tmp_path, home, scripted):
    # A library unpacked from its sdist: no .git, the tests beside the package, not beside the file.
    proj = tmp_path / "lib-1.0"
    (proj / "lib").mkdir(parents=True)
    (proj / "tests").mkdir()
    shutil.copy(FIXTURES / "wrong_operator" / "mod.py", proj / "lib" / "mod.py")
    test = (FIXTURES / "wrong_operator" / "test_mod.py").read_text().replace("from mod ", "from lib.mod ")
    (proj / "tests" / "test_mod.py").write_text(test)
    model, _ = scripted(GOOD_AREA)
    cmd = "--test=python -m pytest -q -p no:cacheprovider tests/test_mod.py"
    r = run_inprocess(["fix", "lib/mod.py", cmd, "--yes", "-m", model, "--explain"], home, proj)
    assert r.code == 0, r.stderr
    assert f"(in {proj.resolve()})" in r.stderr
    assert "return width * height" in (proj / "lib" / "mod.py").read_text()


@pytest.mark.slow
def test_in_a_sub_folder_of_a_repository_the_check_runs_there(tmp_path, home, scripted):
    proj = tmp_path / "proj"
    shutil.copytree(FIXTURES / "wrong_operator", proj / "sub")
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    model, _ = scripted(GOOD_AREA)
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "-m", model, "--explain"], home, proj / "sub")
    assert r.code == 0, r.stderr
    assert f"(in {(proj / 'sub').resolve()})" in r.stderr
    assert "return width * height" in (proj / "sub" / "mod.py").read_text()


def test_a_command_typed_outside_the_root_runs_in_the_root(tmp_path):
    from coder_cli.actions.checks import plan

    root = tmp_path / "proj"
    root.mkdir()
    (root / "mod.py").write_text("x = 1\n")
    check = plan(root / "mod.py", root, "python", "pytest", cwd=tmp_path)
    assert check.workdir == "" and check.cwd(root) == root
    check = plan(root / "mod.py", root, "python", "pytest", cwd=root)
    assert check.workdir == "" and f"(in {root})" in check.description
