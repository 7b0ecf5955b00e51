"""`coder doctor`'s probe: a child that crashes or hangs is reported, safer settings are tried one
at a time, and what works is kept in the user config (asked, or with --yes)."""

from __future__ import annotations

import json
import time

import psutil
import pytest

from coder_cli import config
from coder_cli.actions.probe import Attempt, run_ladder, steps
from tests.conftest import run_cli

FULL = {"extra_bufts": True, "flash_attn": True, "gpu_layers": -1, "threads": 4}


def test_the_ladder_tries_each_safer_setting_alone_then_all():
    ladder = steps(FULL)
    assert [label for label, _ in ladder] == [
        "as configured",
        "extra buffer types off",
        "flash attention off",
        "no GPU layers",
        "one thread",
        "all of these",
    ]
    assert ladder[0][1] == {} and ladder[1][1] == {"extra_bufts": False}
    assert ladder[-1][1] == {"extra_bufts": False, "flash_attn": False, "gpu_layers": 0, "threads": 1}


def test_steps_that_change_nothing_are_skipped():
    # An AMX CPU build: extra buffer types already off, no GPU offload, two threads.
    ladder = steps({"extra_bufts": False, "flash_attn": True, "gpu_layers": 0, "threads": 2})
    assert [changes for _, changes in ladder] == [{}, {"flash_attn": False}, {"threads": 1}, {"flash_attn": False, "threads": 1}]
    assert steps({"extra_bufts": False, "flash_attn": False, "gpu_layers": 0, "threads": 1}) == [("as configured", {})]


def test_the_ladder_stops_at_the_first_setting_that_works():
    seen, events = [], []

    def attempt(label, changes):
        seen.append(changes)
        ok = changes.get("flash_attn") is False
        return Attempt(label, changes, "ok" if ok else "crashed", "" if ok else "SIGSEGV")

    report = run_ladder(FULL, attempt, lambda i, n, label, a: events.append((i, n, a is None)))
    assert seen == [{}, {"extra_bufts": False}, {"flash_attn": False}]
    assert report.working.changes == {"flash_attn": False} and not report.defaults_work
    assert events[:2] == [(1, 6, True), (1, 6, False)]
    assert report.as_dict()["working_changes"] == {"flash_attn": False}


def test_a_setting_is_not_blamed_for_a_slow_first_load():
    calls = []

    def attempt(label, changes):
        calls.append(label)
        outcome = "hung" if len(calls) == 1 else "ok"  # the first load read a cold disk
        return Attempt(label, changes, outcome)

    report = run_ladder(FULL, attempt)
    assert calls == ["as configured", "extra buffer types off", "as configured, again"]
    assert report.working.changes == {}  # nothing to write


def test_an_out_of_memory_kill_ends_the_ladder():
    calls = []

    def attempt(label, changes):
        calls.append(label)
        return Attempt(label, changes, "killed", "SIGKILL: out of memory, most likely")

    report = run_ladder(FULL, attempt)
    assert calls == ["as configured"] and report.working is None


def test_the_probe_does_not_import_from_the_working_directory(tmp_path, monkeypatch):
    """A json.py in the user's project must not run in place of the standard library's."""
    from coder_cli.actions.probe import child_attempt

    (tmp_path / "json.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.chdir(tmp_path)
    a = child_attempt({"path": str(tmp_path / "missing.gguf")}, 30)("as configured", {})
    assert a.outcome == "failed" and "shadowed" not in a.detail
    assert "missing.gguf" in a.detail


def _doctor(model_home, *args, **env):
    return run_cli(["doctor", "--no-bench", "--json", *args], model_home, **env)


@pytest.fixture
def fresh_home(model_home, tmp_path):
    """The session's model store under a CODER_HOME of this test's own (its config file is new)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(model_home / "models")
    return home


@pytest.mark.model
def test_a_setting_that_crashes_is_found_and_kept_and_then_the_model_works(fresh_home):
    fault = {"CODER_TEST_FAULT": "segv@flash_attn"}
    before = run_cli(["ask", "hi"], fresh_home, **fault)
    assert before.code == 3 and "llama.cpp crashed with SIGSEGV" in before.stderr
    r = _doctor(fresh_home, "--yes", **fault)
    assert r.code == 0, r.stderr
    probe = json.loads(r.stdout)["probe"]
    first, last = probe["attempts"][0], probe["attempts"][-1]
    assert first["label"] == "as configured" and first["outcome"] == "crashed" and first["detail"].startswith("SIGSEGV")
    assert last["outcome"] == "ok" and last["changes"] == {"flash_attn": False}
    assert probe["written"] == str(fresh_home / "config.toml")
    assert config.read_file(fresh_home / "config.toml") == {"flash_attn": False}
    after = run_cli(["ask", "--max-tokens", "8", "hi"], fresh_home, **fault)
    assert after.code == 0, after.stderr
    assert after.stdout.strip()


@pytest.mark.model
def test_in_a_pipe_without_yes_nothing_is_written_and_the_exit_says_so(fresh_home):
    r = run_cli(["doctor", "--no-bench"], fresh_home, CODER_TEST_FAULT="abort@flash_attn")
    assert r.code == 1, r.stderr
    assert "crashed (SIGABRT" in r.stdout and "works with flash_attn = false (not written)" in r.stdout
    assert "coder config set flash_attn false" in r.stderr
    assert not (fresh_home / "config.toml").exists()


@pytest.mark.model
def test_a_hanging_probe_is_killed_within_its_timeout(fresh_home):
    t0 = time.monotonic()
    r = _doctor(fresh_home, "--probe-timeout", "8", CODER_TEST_FAULT="hang@flash_attn")
    elapsed = time.monotonic() - t0
    assert r.code == 1, r.stderr
    first = json.loads(r.stdout)["probe"]["attempts"][0]
    assert first["outcome"] == "hung" and 8 <= first["seconds"] < 12
    assert elapsed < 40
    mine = str(fresh_home)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if mine in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


@pytest.mark.model
def test_when_nothing_works_doctor_says_so_and_exits_3(fresh_home):
    r = _doctor(fresh_home, "--yes", CODER_TEST_FAULT="abort")
    assert r.code == 3
    attempts = json.loads(r.stdout)["probe"]["attempts"]
    assert len(attempts) >= 3 and all(a["outcome"] == "crashed" for a in attempts)
    assert "every setting the probe tried" in r.stderr
    assert "measurement" not in json.loads(r.stdout)
    assert not (fresh_home / "config.toml").exists()


@pytest.mark.model
def test_a_working_machine_passes_the_probe_as_configured(fresh_home):
    r = _doctor(fresh_home)
    assert r.code == 0, r.stderr
    probe = json.loads(r.stdout)["probe"]
    assert probe["defaults_work"] is True and len(probe["attempts"]) == 1


def test_config_set_keeps_the_other_lines(tmp_path):
    home = tmp_path
    (home / "config.toml").write_text('# mine\nmodel = "1.5b"\nthreads = 2\n')
    config.set_user_value(home, "threads", "1")
    config.set_user_value(home, "flash_attn", False)
    assert (home / "config.toml").read_text() == '# mine\nmodel = "1.5b"\nthreads = 1\nflash_attn = false\n'
    with pytest.raises(config.ConfigError, match="unknown config key 'thread'") as exc:
        config.set_user_value(home, "thread", 1)
    assert exc.value.hint == "did you mean 'threads'?"
    with pytest.raises(config.ConfigError, match="invalid value"):
        config.set_user_value(home, "extra_bufts", "perhaps")


def test_config_set_writes_valid_toml_through_a_symlink(tmp_path):
    real = tmp_path / "dotfiles" / "coder.toml"
    real.parent.mkdir()
    real.write_text('"threads" = 2  # mine\n')
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").symlink_to(real)
    config.set_user_value(home, "threads", 3)
    config.set_user_value(home, "model", 'a\tb"\x7f\x1bc')
    assert (home / "config.toml").is_symlink()
    assert config.read_file(real) == {"threads": 3, "model": 'a\tb"\x7f\x1bc'}


def test_config_set_repairs_a_broken_value_and_masks_a_key(tmp_path):
    from tests.conftest import run_inprocess

    (tmp_path / "config.toml").write_text('threads = "lots"\n')
    r = run_inprocess(["config", "set", "threads", "4"], tmp_path, tmp_path)
    assert r.code == 0, r.stderr
    assert config.read_file(tmp_path / "config.toml") == {"threads": 4}
    r = run_inprocess(["config", "set", "api_key", "sk-live-0123456789abcdef"], tmp_path, tmp_path)
    assert r.code == 0 and "0123456789abcdef" not in r.stderr and "****cdef" in r.stderr


def test_the_scripts_variable_is_not_a_config_key(tmp_path):
    assert config.load(tmp_path, tmp_path, {"CODER_VENV": ".venv"}).warnings == []


def test_config_set_command(tmp_path):
    from tests.conftest import run_inprocess

    r = run_inprocess(["config", "set", "extra_bufts", "false"], tmp_path, tmp_path)
    assert r.code == 0, r.stderr
    assert config.read_file(tmp_path / "config.toml") == {"extra_bufts": False}
    shown = run_inprocess(["config", "show", "--json"], tmp_path, tmp_path)
    assert json.loads(shown.stdout)["extra_bufts"] == {"value": False, "from": str(tmp_path / "config.toml")}
