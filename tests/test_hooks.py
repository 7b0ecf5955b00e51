"""`coder hook`: install/uninstall/status, the hook scripts and the `hook run` supervisor, on real git repositories.

The supervisor's failure handling is tested on a fake child (a small script standing in for
`coder commit-msg` / `coder review`); the end-to-end tests commit through real hooks that run
the real commands with the scripted engine (and once with the real model).
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coder_cli.actions.hook_run import HookContext, pre_commit, prepare_commit_msg, run_hook
from coder_cli.core.hooks import (
    BLOCK_STATUS,
    HookSettings,
    has_message,
    is_ours,
    manager_lines,
    own_name_use,
    parse_settings,
    recorded_python,
    render_script,
    run_line,
    with_message,
)
from tests.conftest import clean_environ, git_project, run_inprocess

TEMPLATE = (
    "\n# Please enter the commit message for your changes. Lines starting\n"
    "# with '#' will be ignored, and an empty message aborts the commit.\n#\n"
    "# On branch master\n# Changes to be committed:\n#\tnew file:   a.py\n#\n"
)
SCISSORS = "# ------------------------ >8 ------------------------\n"


def git_env(home: Path, **extra: str) -> dict[str, str]:
    """A git environment that ignores the user's own git config (a global core.hooksPath would break these tests)."""
    return clean_environ(home, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", **extra)


def git(proj: Path, home: Path, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", *args], cwd=proj, env=git_env(home, **extra), capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def repo(tmp_path: Path, home: Path, files: dict[str, str] | None = None, name: str = "proj") -> Path:
    """A git repository with one commit (so --amend and merges have something to work on)."""
    proj = git_project(tmp_path, files or {"README.md": "hello\n"}, name)
    git(proj, home, "config", "user.name", "Test")
    git(proj, home, "config", "user.email", "test@example.com")
    git(proj, home, "add", "-A")
    git(proj, home, "commit", "-q", "--no-verify", "-m", "initial")
    return proj


def hook_cli(args: list[str], home: Path, cwd: Path):
    return run_inprocess(["hook", *args], home, cwd, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")


def last_message(proj: Path, home: Path) -> str:
    return git(proj, home, "log", "-1", "--format=%B").stdout.strip()


def coder_notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("coder: ")]


# --- pure parts -----------------------------------------------------------------------------------


def test_script_records_its_settings_and_interpreter():
    text = render_script("pre-commit", HookSettings(7.5, False, True), "/opt/my python/bin/python")
    assert text.startswith("#!/bin/sh\n# coder-hook: pre-commit")
    assert is_ours(text) and not is_ours("#!/bin/sh\necho hi\n")
    assert parse_settings(text) == HookSettings(7.5, False, True)
    assert parse_settings("#!/bin/sh\nexit 0\n") is None
    assert recorded_python(text) == "/opt/my python/bin/python"
    assert "'/opt/my python/bin/python' -m coder_cli hook run pre-commit --timeout 7.5 --strict -- \"$@\"" in text


@pytest.mark.parametrize(
    ("text", "dispatches"),
    [
        ('#!/usr/bin/env sh\n. "$(dirname "$0")/h"\n', True),  # husky 9's per-hook shim
        ('#!/usr/bin/env sh\n. "$(dirname -- "$0")/_/husky.sh"\nnpm test\n', True),  # husky 5-8
        ('#!/bin/sh\ncase "$(basename "$0")" in pre-commit) lint ;; esac\n', True),
        ("#!/bin/sh\nexec tool run ${0##*/}\n", True),
        ("#!/usr/bin/env ruby\nhook_type = File.basename($0)\n", True),  # overcommit
        ('#!/usr/bin/env bash\nHERE="$(cd "$(dirname "$0")" && pwd)"\nexec pre-commit hook-impl --hook-dir "$HERE"\n', False),
        ('#!/bin/sh\necho "$# $1" >&2\nexit 0\n', False),
    ],
    ids=["husky9-shim", "husky8", "case-basename", "param-0", "overcommit", "dirname-only", "plain"],
)
def test_hooks_that_find_their_work_by_their_own_name(text, dispatches):
    assert (own_name_use(text) is not None) == dispatches


def test_message_detection_ignores_comments_and_the_verbose_diff():
    assert not has_message(TEMPLATE)
    assert not has_message("\n\n")
    assert has_message("Fix the parser\n" + TEMPLATE)
    assert not has_message(TEMPLATE + SCISSORS + "diff --git a/a.py b/a.py\n+x = 1\n")
    assert not has_message("; a comment\n", comments=";")
    assert has_message("# not a comment here\n", comments=";")


def test_generated_message_goes_on_top_of_git_comments():
    on_top = with_message("Add a parser\n\nIt reads TOML.\n", TEMPLATE)
    assert on_top == "Add a parser\n\nIt reads TOML.\n\n" + TEMPLATE.lstrip("\n")
    assert with_message("Add a parser", "") == "Add a parser\n"


# --- install / uninstall / status ---------------------------------------------------------------


def test_install_defaults_to_prepare_commit_msg(tmp_path, home):
    proj = repo(tmp_path, home)
    r = hook_cli(["install"], home, proj)
    assert r.code == 0, r.stderr
    hook = proj / ".git/hooks/prepare-commit-msg"
    assert is_ours(hook.read_text()) and os.access(hook, os.X_OK)
    assert not (proj / ".git/hooks/pre-commit").exists()
    assert f"{sys.executable} -m coder_cli hook run prepare-commit-msg --timeout 20 --" in hook.read_text()
    s = hook_cli(["status"], home, proj)
    assert s.code == 0
    assert s.stdout.splitlines() == [
        f"hooks folder: {(proj / '.git/hooks').resolve()} (core.hooksPath not set)",
        "prepare-commit-msg: installed (timeout 20 s)",
        "pre-commit: not installed",
        "post-index-change: not installed",
        "server: none running (`coder serve` keeps one warm): each hook loads the model itself",
    ]


def test_install_both_with_settings_and_status_json(tmp_path, home):
    proj = repo(tmp_path, home)
    r = hook_cli(["install", "--prepare-commit-msg", "--pre-commit", "--strict", "--conventional", "--timeout", "5"], home, proj)
    assert r.code == 0, r.stderr
    data = json.loads(hook_cli(["status", "--json"], home, proj).stdout)
    pcm, pc = data["hooks"]["prepare-commit-msg"], data["hooks"]["pre-commit"]
    assert pcm["state"] == pc["state"] == "ours"
    assert pcm["settings"] == pc["settings"] == {"timeout": 5.0, "conventional": True, "strict": True}
    assert pcm["python"] == sys.executable and data["core_hooks_path"] is None
    text = hook_cli(["status"], home, proj).stdout
    assert "prepare-commit-msg: installed (timeout 5 s, conventional)" in text
    assert "pre-commit: installed (timeout 5 s, strict: blocks on an error finding)" in text


def test_settings_that_do_not_fit_the_hooks_are_usage_errors(tmp_path, home):
    proj = repo(tmp_path, home)
    assert hook_cli(["install", "--strict"], home, proj).code == 2
    assert hook_cli(["install", "--pre-commit", "--conventional"], home, proj).code == 2
    assert hook_cli(["install", "--timeout", "0"], home, proj).code == 2
    assert not (proj / ".git/hooks/prepare-commit-msg").exists()


def test_outside_a_repository_is_a_git_error(tmp_path, home):
    outside = tmp_path / "plain"
    outside.mkdir()
    for args in (["install"], ["uninstall"], ["status"]):
        r = hook_cli(args, home, outside)
        assert r.code == 5, (args, r.stderr)
        assert "not in a git repository" in r.stderr


def test_existing_hook_is_chained_and_uninstall_restores_it_byte_for_byte(tmp_path, home):
    proj = repo(tmp_path, home)
    hook = proj / ".git/hooks/pre-commit"
    original = b"#!/bin/sh\n# the team's own check \xe2\x9c\x93\r\nexit 0\n"
    hook.write_bytes(original)
    hook.chmod(0o750)
    r = hook_cli(["install", "--pre-commit"], home, proj)
    assert r.code == 0, r.stderr
    assert "moved to pre-commit.coder-previous and runs first" in r.stderr
    previous = proj / ".git/hooks/pre-commit.coder-previous"
    assert previous.read_bytes() == original and is_ours(hook.read_text())
    assert "pre-commit: installed (timeout 20 s, advisory: never blocks); chains the previous hook" in (
        hook_cli(["status"], home, proj).stdout
    )
    r = hook_cli(["uninstall"], home, proj)
    assert r.code == 0, r.stderr
    assert hook.read_bytes() == original and stat.S_IMODE(hook.stat().st_mode) == 0o750
    assert not previous.exists()
    assert "pre-commit: removed; the previous hook is back" in r.stderr
    assert "prepare-commit-msg: not installed" in r.stderr


def test_install_twice_is_idempotent_and_updates_settings(tmp_path, home):
    proj = repo(tmp_path, home)
    hook = proj / ".git/hooks/prepare-commit-msg"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    assert hook_cli(["install"], home, proj).code == 0
    first = hook.read_bytes()
    r = hook_cli(["install"], home, proj)
    assert r.code == 0 and "already installed" in r.stderr
    assert hook.read_bytes() == first
    r = hook_cli(["install", "--conventional", "--timeout", "9"], home, proj)
    assert r.code == 0 and "prepare-commit-msg: updated (timeout 9 s, conventional)" in r.stderr
    assert parse_settings(hook.read_text()) == HookSettings(9.0, True, False)
    assert (proj / ".git/hooks/prepare-commit-msg.coder-previous").read_text() == "#!/bin/sh\nexit 0\n"
    names = sorted(p.name for p in (proj / ".git/hooks").glob("prepare-commit-msg*") if p.suffix != ".sample")
    assert names == ["prepare-commit-msg", "prepare-commit-msg.coder-previous"]


def test_a_taken_previous_name_is_refused_and_nothing_changes(tmp_path, home):
    proj = repo(tmp_path, home)
    hooks = proj / ".git/hooks"
    (hooks / "prepare-commit-msg").write_text("#!/bin/sh\necho mine\n")
    (hooks / "prepare-commit-msg.coder-previous").write_text("#!/bin/sh\necho something else\n")
    r = hook_cli(["install"], home, proj)
    assert r.code == 5
    assert "prepare-commit-msg.coder-previous is already taken" in r.stderr
    assert (hooks / "prepare-commit-msg").read_text() == "#!/bin/sh\necho mine\n"
    assert (hooks / "prepare-commit-msg.coder-previous").read_text() == "#!/bin/sh\necho something else\n"


def test_every_hook_is_checked_before_anything_is_written(tmp_path, home):
    proj = repo(tmp_path, home)
    hooks = proj / ".git/hooks"
    (hooks / "prepare-commit-msg").write_text("#!/bin/sh\necho mine\n")
    (hooks / "pre-commit").write_text("#!/bin/sh\necho team\n")
    (hooks / "pre-commit.coder-previous").write_text("#!/bin/sh\necho something else\n")
    before = sorted(p.name for p in hooks.iterdir())
    r = hook_cli(["install", "--prepare-commit-msg", "--pre-commit"], home, proj)
    assert r.code == 5 and "pre-commit.coder-previous is already taken; nothing was changed" in r.stderr
    assert sorted(p.name for p in hooks.iterdir()) == before
    assert (hooks / "prepare-commit-msg").read_text() == "#!/bin/sh\necho mine\n"
    (hooks / "pre-commit.coder-previous").unlink()
    (hooks / "pre-commit").write_text('#!/bin/sh\n. "$(dirname "$0")/h"\n')
    r = hook_cli(["install", "--prepare-commit-msg", "--pre-commit"], home, proj)
    assert r.code == 5 and "looks like a hook manager's hook" in r.stderr
    assert not (hooks / "prepare-commit-msg.coder-previous").exists()
    assert (hooks / "prepare-commit-msg").read_text() == "#!/bin/sh\necho mine\n"


def husky(proj: Path, home: Path, team_hook: str) -> Path:
    """husky 9 as `husky init` sets it up: core.hooksPath=.husky/_, per-hook shims sourcing `h`, which runs .husky/NAME."""
    shims = proj / ".husky/_"
    shims.mkdir(parents=True)
    (shims / "h").write_text(
        '#!/usr/bin/env sh\nn=$(basename "$0")\ns=$(dirname "$(dirname "$0")")/$n\n[ ! -f "$s" ] && exit 0\nsh -e "$s" "$@"\n'
    )
    (shims / "pre-commit").write_text('#!/usr/bin/env sh\n. "$(dirname "$0")/h"\n')
    for shim in shims.iterdir():
        shim.chmod(0o755)
    (proj / ".husky/pre-commit").write_text(team_hook)
    git(proj, home, "config", "core.hooksPath", ".husky/_")
    return shims


def test_a_hook_managers_hook_is_refused_with_the_line_to_add_to_it(tmp_path, home, engine_file):
    """Renamed to pre-commit.coder-previous, husky's shim would look for .husky/pre-commit.coder-previous and run nothing."""
    proj = repo(tmp_path, home)
    shims = husky(proj, home, "echo 'lint ok' >&2\n")
    shim = (shims / "pre-commit").read_bytes()
    r = hook_cli(["install", "--pre-commit", "--strict"], home, proj)
    assert r.code == 5, r.stderr
    assert "looks like a hook manager's hook" in r.stderr and "nothing was changed" in r.stderr
    line = run_line("pre-commit", HookSettings(strict=True), sys.executable)
    assert line == f'PYTHONSAFEPATH=1 {sys.executable} -m coder_cli hook run pre-commit --timeout 20 --strict -- "$@"'
    assert f"    {line}\n" in r.stderr and "--force" in r.stderr
    assert (shims / "pre-commit").read_bytes() == shim and not (shims / "pre-commit.coder-previous").exists()
    # The line, added to the team's hook, runs the review there.
    with (proj / ".husky/pre-commit").open("a") as fh:
        fh.write(line + "\n")
    model, calls = engine_file("calc.py:2: error: Divides by zero when b is 0")
    staged_change(proj, home)
    c = git(proj, home, "commit", "-q", "-m", "add ratio", check=False, CODER_MODEL=model)
    assert c.returncode != 0 and "lint ok" in c.stderr
    assert "coder: pre-commit blocked the commit: the review found an error" in c.stderr
    assert len(calls()) == 1
    # --force chains it anyway (the user's call).
    r = hook_cli(["install", "--pre-commit", "--force"], home, proj)
    assert r.code == 0 and "moved to pre-commit.coder-previous" in r.stderr
    assert (shims / "pre-commit.coder-previous").read_bytes() == shim


def test_a_hooks_path_outside_the_git_folder_is_warned_about(tmp_path, home):
    proj = repo(tmp_path, home)
    shared = tmp_path / "global-hooks"
    git(proj, home, "config", "core.hooksPath", str(shared))
    r = hook_cli(["install"], home, proj)
    assert r.code == 0, r.stderr
    assert f"warning: core.hooksPath = {shared} ({shared.resolve()}) is outside this repository: " in r.stderr
    assert "run in every repository that uses the folder" in r.stderr
    assert is_ours((shared / "prepare-commit-msg").read_text())
    git(proj, home, "config", "core.hooksPath", ".git/hooks")
    r = hook_cli(["install"], home, proj)
    assert r.code == 0 and "warning:" not in r.stderr


def test_uninstall_leaves_another_tools_hook_alone(tmp_path, home):
    proj = repo(tmp_path, home)
    hook = proj / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    r = hook_cli(["uninstall", "--pre-commit"], home, proj)
    assert r.code == 0 and "pre-commit: not coder's hook; left alone" in r.stderr
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"
    assert "pre-commit: another tool's hook is present (not coder's)" in hook_cli(["status"], home, proj).stdout


def test_core_hooks_path_is_honoured_and_created(tmp_path, home):
    proj = repo(tmp_path, home)
    git(proj, home, "config", "core.hooksPath", "team-hooks")
    r = hook_cli(["install"], home, proj)
    assert r.code == 0, r.stderr
    assert is_ours((proj / "team-hooks/prepare-commit-msg").read_text())
    team = (proj / "team-hooks").resolve()
    assert f"warning: core.hooksPath = team-hooks ({team}) is in the work tree: if it is tracked, " in r.stderr
    assert not (proj / ".git/hooks/prepare-commit-msg").exists()
    status = hook_cli(["status"], home, proj / "team-hooks").stdout  # from a subfolder: still the same folder
    assert f"hooks folder: {(proj / 'team-hooks').resolve()} (set by core.hooksPath = team-hooks)" in status


def test_a_worktree_uses_the_common_hooks_folder(tmp_path, home):
    proj = repo(tmp_path, home)
    git(proj, home, "worktree", "add", "-q", str(tmp_path / "wt"))
    assert hook_cli(["install"], home, tmp_path / "wt").code == 0
    assert is_ours((proj / ".git/hooks/prepare-commit-msg").read_text())


# --- the hook script ------------------------------------------------------------------------------


def fake_interpreter(tmp_path: Path, body: str) -> str:
    path = tmp_path / "bin" / "python"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def write_hook(
    proj: Path, name: str, python: str, settings: HookSettings = HookSettings(), server_record: str | None = None
) -> None:
    hook = proj / ".git/hooks" / name
    hook.write_text(render_script(name, settings, python, server_record))
    hook.chmod(0o755)


def test_script_lets_the_commit_through_when_the_interpreter_is_gone(tmp_path, home):
    proj = repo(tmp_path, home)
    write_hook(proj, "pre-commit", str(tmp_path / "gone/python"))
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")
    r = git(proj, home, "commit", "-q", "-m", "mine")
    assert last_message(proj, home) == "mine"
    gone = f"coder: pre-commit skipped: {tmp_path}/gone/python is gone (run `coder hook install` again)"
    assert coder_notes(r.stderr) == [gone]


def test_script_lets_the_commit_through_when_coder_cannot_start(tmp_path, home):
    proj = repo(tmp_path, home)
    python = fake_interpreter(tmp_path, 'echo "$0: No module named coder_cli" >&2\nexit 1')
    write_hook(proj, "pre-commit", python)
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")
    r = git(proj, home, "commit", "-q", "-m", "mine")
    assert last_message(proj, home) == "mine"
    assert coder_notes(r.stderr) == [f"coder: pre-commit skipped: {python} -m coder_cli could not run (exit 1)"]


def test_script_blocks_only_on_the_supervisors_block_status(tmp_path, home):
    proj = repo(tmp_path, home)
    write_hook(proj, "pre-commit", fake_interpreter(tmp_path, f"exit {BLOCK_STATUS}"))
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")
    r = git(proj, home, "commit", "-q", "-m", "mine", check=False)
    assert r.returncode == 1
    assert last_message(proj, home) == "initial"


def test_chained_hook_runs_first_with_the_same_arguments(tmp_path, home):
    proj = repo(tmp_path, home)
    marker = tmp_path / "marker"
    hook = proj / ".git/hooks/prepare-commit-msg"
    hook.write_text(f'#!/bin/sh\necho "$# $2" >> {marker}\n')
    hook.chmod(0o755)
    assert hook_cli(["install"], home, proj).code == 0
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")
    git(proj, home, "commit", "-q", "-m", "mine")
    assert marker.read_text() == "2 message\n"  # MSGFILE and SOURCE, as git passed them
    assert last_message(proj, home) == "mine"


def test_chained_hook_failure_still_blocks_with_its_status(tmp_path, home, scripted):
    proj = repo(tmp_path, home)
    model, calls = scripted("a.py:1: info: fine")
    hook = proj / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'team check failed' >&2\nexit 3\n")
    hook.chmod(0o755)
    assert hook_cli(["install", "--pre-commit"], home, proj).code == 0
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")
    r = git(proj, home, "commit", "-q", "-m", "mine", check=False, CODER_MODEL=model)
    assert r.returncode != 0 and "team check failed" in r.stderr
    assert last_message(proj, home) == "initial"
    assert calls() == []  # our review never ran


# --- post-index-change: no Python without a server record (issue 16, finding 13) ----------------------


def prewarm_hook(tmp_path: Path, home: Path) -> tuple[Path, Path, Path, Path]:
    """A repository with the --prewarm hook running a fake interpreter that notes each start.

    Returns (repository, hook, the record path baked in as the default, the file of starts)."""
    proj = repo(tmp_path, home)
    started = tmp_path / "started"
    python = fake_interpreter(tmp_path, f'echo "$*" >> "{started}"')
    default_record = tmp_path / "default-home" / "server.json"
    write_hook(proj, "post-index-change", python, server_record=str(default_record))
    return proj, proj / ".git/hooks/post-index-change", default_record, started


def run_hook_script(hook: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([str(hook), "1", "0"], cwd=hook.parent.parent.parent, env=env, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")


def starts(started: Path) -> int:
    return len(started.read_text().splitlines()) if started.exists() else 0


def test_prewarm_hook_starts_python_only_when_a_server_record_exists(tmp_path, home):
    proj, hook, default_record, started = prewarm_hook(tmp_path, home)
    (proj / "a.py").write_text("x = 1\n")
    git(proj, home, "add", "a.py")  # CODER_HOME (set by git_env) holds no server.json
    run_hook_script(hook, git_env(home))
    assert starts(started) == 0
    (home / "server.json").write_text("{}")
    run_hook_script(hook, git_env(home))
    assert starts(started) == 1
    run_hook_script(hook, git_env(home, CODER_SERVER="off"))  # never use a server
    run_hook_script(hook, git_env(home, CODER_SERVER=""))
    assert starts(started) == 1
    without_home = {k: v for k, v in git_env(home).items() if k != "CODER_HOME"}
    run_hook_script(hook, without_home)  # the default folder, resolved at install: no record there
    assert starts(started) == 1
    default_record.parent.mkdir()
    default_record.write_text("{}")
    run_hook_script(hook, without_home)
    assert starts(started) == 2
    (home / "server.json").unlink()
    run_hook_script(hook, git_env(home, CODER_SERVER="http://127.0.0.1:9/"))  # a server named: Python asks it
    assert starts(started) == 3
    assert started.read_text().splitlines()[-1].split()[:5] == ["-m", "coder_cli", "hook", "run", "post-index-change"]


def test_a_hook_managers_prewarm_lines_start_no_python_without_a_server(tmp_path, home):
    """The lines `coder hook install` gives for a hook manager's post-index-change (husky's
    .husky/post-index-change) gate in sh too; their `exit 0` ends only their subshell, so the rest of
    the team's hook still runs."""
    proj = repo(tmp_path, home)
    started = tmp_path / "started"
    python = fake_interpreter(tmp_path, f'echo "$*" >> "{started}"')
    record = tmp_path / "default-home" / "server.json"
    team = tmp_path / "team-post-index-change"
    lines = manager_lines("post-index-change", HookSettings(), python, str(record))
    team.write_text(f"#!/bin/sh\n{lines}\necho 'team step' >&2\n")
    for expected in (0, 1):
        proc = subprocess.run(["sh", str(team), "1", "0"], cwd=proj, env=git_env(home), capture_output=True, text=True)
        assert proc.returncode == 0 and "team step" in proc.stderr
        assert starts(started) == expected
        (home / "server.json").write_text("{}")
    # install prints these lines when it refuses a manager's post-index-change hook
    hooks = proj / ".git/hooks"
    (hooks / "post-index-change").write_text('#!/bin/sh\n. "$(dirname "$0")/h"\n')
    r = hook_cli(["install", "--prepare-commit-msg", "--prewarm"], home, proj)
    assert r.code == 5 and "add these lines to the post-index-change hook" in r.stderr, r.stderr
    assert "server.json" in r.stderr and "exit 0" in r.stderr


def test_prewarm_hook_without_a_server_costs_a_few_milliseconds(tmp_path, home):
    """Five `touch` + `git status` went from 0.02 s to 0.68 s with the hook starting Python each time."""
    proj, hook, _, started = prewarm_hook(tmp_path, home)
    env = git_env(home)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        run_hook_script(hook, env)
        times.append(time.perf_counter() - t0)
    assert starts(started) == 0
    assert sorted(times)[len(times) // 2] < 0.010, times


def test_install_bakes_the_default_server_record_into_the_prewarm_hook(tmp_path, home):
    import shlex

    from coder_cli import config
    from coder_cli.core import hooks
    from coder_cli.engine import server_record

    assert hooks.SERVER_FILE == server_record.SERVER_FILE  # the sh test looks where the server writes
    proj = repo(tmp_path, home)
    assert hook_cli(["install", "--prewarm"], home, proj).code == 0
    text = (proj / ".git/hooks/post-index-change").read_text()
    default = config.coder_home({}) / "server.json"
    assert f"[ ! -f {shlex.quote(str(default))} ]" in text
    assert "server.json" not in render_script("prepare-commit-msg", HookSettings(), sys.executable, str(default))


# --- the supervisor on a fake child ------------------------------------------------------------------

FAKE_CODER = """
import json, os, subprocess, sys, time
spec = json.load(open(sys.argv[1]))
with open(sys.argv[1] + ".argv", "a") as fh:
    fh.write(json.dumps(sys.argv[2:]) + "\\n")
with open(sys.argv[1] + ".debug", "w") as fh:
    fh.write(os.environ.get("CODER_DEBUG", "unset"))
if spec.get("grandchild"):
    child = subprocess.Popen(["sleep", "60"])
    open(spec["grandchild"], "w").write(str(child.pid))
time.sleep(spec.get("sleep", 0))
if spec.get("abort"):
    os.abort()
sys.stdout.write(spec.get("stdout", ""))
sys.stderr.write(spec.get("stderr", ""))
sys.exit(spec.get("exit", 0))
"""


@pytest.fixture
def fake(tmp_path):
    """A fake `coder` for the supervisor: returns (HookContext maker, argv reader)."""
    script = tmp_path / "fake_coder.py"
    script.write_text(FAKE_CODER)
    spec_path = tmp_path / "fake.json"

    def make(**spec):
        spec_path.write_text(json.dumps(spec))
        err = io.StringIO()
        return HookContext([sys.executable, str(script), str(spec_path)], dict(os.environ), tmp_path, err)

    def argv() -> list[list[str]]:
        record = Path(f"{spec_path}.argv")
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    return make, argv


def msgfile(tmp_path: Path, text: str = TEMPLATE) -> Path:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(text)
    return path


def test_supervisor_writes_the_message_above_git_comments(tmp_path, fake):
    make, argv = fake
    ctx = make(stdout="Add a.py\n\nIt holds x.\n")
    path = msgfile(tmp_path)
    assert prepare_commit_msg([str(path)], HookSettings(conventional=True), ctx) == 0
    assert path.read_text() == "Add a.py\n\nIt holds x.\n\n" + TEMPLATE.lstrip("\n")
    assert argv() == [["commit-msg", "--staged", "--conventional"]]
    assert ctx.stderr.getvalue() == ""


@pytest.mark.parametrize("source", ["merge", "squash", "commit", "message"])
def test_supervisor_leaves_given_messages_alone(tmp_path, fake, source):
    make, argv = fake
    ctx = make(stdout="never")
    path = msgfile(tmp_path, "Merge branch 'x'\n" + TEMPLATE)
    assert prepare_commit_msg([str(path), source, "HEAD"], HookSettings(), ctx) == 0
    assert path.read_text() == "Merge branch 'x'\n" + TEMPLATE
    assert argv() == [] and ctx.stderr.getvalue() == ""


def test_supervisor_leaves_a_file_with_a_message_alone(tmp_path, fake):
    make, argv = fake
    ctx = make(stdout="never")
    path = msgfile(tmp_path, "Ticket-42: \n" + TEMPLATE)
    assert prepare_commit_msg([str(path), "template"], HookSettings(), ctx) == 0
    assert path.read_text() == "Ticket-42: \n" + TEMPLATE and argv() == []


@pytest.mark.slow
def test_supervisor_timeout_kills_the_whole_group_quickly(tmp_path, fake):
    make, _ = fake
    pid_file = tmp_path / "grandchild.pid"
    ctx = make(sleep=30, grandchild=str(pid_file), stdout="never")
    path = msgfile(tmp_path)
    t0 = time.monotonic()
    assert prepare_commit_msg([str(path)], HookSettings(timeout=1.5), ctx) == 0
    assert time.monotonic() - t0 < 6
    assert ctx.stderr.getvalue() == "coder: prepare-commit-msg skipped: the model took over 1.5 s (timeout)\n"
    assert path.read_text() == TEMPLATE
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize(
    ("spec", "note"),
    [
        ({"abort": True}, "`coder commit-msg` crashed (SIGABRT)"),
        (
            {"stderr": "warning: x\nerror: model file not found: /m.gguf\nhint: pull it\n", "exit": 3},
            "`coder commit-msg` failed: model file not found: /m.gguf (exit 3)",
        ),
        ({"stdout": "\n  \n"}, "`coder commit-msg` printed no message"),
    ],
    ids=["crash", "error-exit", "empty-output"],
)
def test_supervisor_failures_are_one_line_and_exit_0(tmp_path, fake, spec, note):
    make, _ = fake
    ctx = make(**spec)
    path = msgfile(tmp_path)
    assert prepare_commit_msg([str(path)], HookSettings(), ctx) == 0
    assert ctx.stderr.getvalue() == f"coder: prepare-commit-msg skipped: {note}\n"
    assert path.read_text() == TEMPLATE


def test_supervisor_cannot_start_the_child(tmp_path):
    ctx = HookContext([str(tmp_path / "nothing/python"), "-m", "coder_cli"], dict(os.environ), tmp_path, io.StringIO())
    assert run_hook("pre-commit", [], HookSettings(), ctx) == 0
    note = f"coder: pre-commit skipped: cannot start `coder review` ({tmp_path}/nothing/python): "
    assert ctx.stderr.getvalue().startswith(note)
    assert ctx.stderr.getvalue().count("\n") == 1


def review_json(*findings: tuple[str, int, str, str]) -> str:
    """What `coder review --json` prints (the parts the supervisor reads)."""
    rows = [{"path": p, "line": n, "severity": sev, "message": msg} for p, n, sev, msg in findings]
    return json.dumps({"findings": rows, "dropped": 0, "reply": "", "files": []}, indent=2) + "\n"


def test_supervisor_pre_commit_is_advisory_unless_strict(tmp_path, fake):
    make, argv = fake
    findings = review_json(("a.py", 1, "error", "Divides by zero"), ("a.py", 2, "warning", "Looks wrong"))
    ctx = make(stdout=findings, stderr="2 findings (1 error)\n", exit=0)
    assert pre_commit(HookSettings(), ctx) == 0
    assert ctx.stderr.getvalue().splitlines() == [
        "coder review: a.py:1: error: Divides by zero",
        "coder review: a.py:2: warning: Looks wrong",
        "coder review: 2 findings (1 error)",
    ]
    ctx = make(stdout=findings, stderr="2 findings (1 error)\n", exit=0)
    assert pre_commit(HookSettings(strict=True), ctx) == BLOCK_STATUS
    assert "coder: pre-commit blocked the commit: the review found an error" in ctx.stderr.getvalue()
    ctx = make(stdout=review_json(("a.py", 2, "warning", "Looks wrong")), exit=0)
    assert pre_commit(HookSettings(strict=True), ctx) == 0
    assert argv() == [["review", "--staged", "--json"]] * 3
    ctx = make(stderr="error: model file not found: /m.gguf\n", exit=3)
    assert pre_commit(HookSettings(strict=True), ctx) == 0
    assert ctx.stderr.getvalue() == "coder: pre-commit skipped: `coder review` failed: model file not found: /m.gguf (exit 3)\n"


@pytest.mark.parametrize(
    ("spec", "note"),
    [
        (
            {
                "stdout": "a.py:1: error: divides by zero\n",
                "stderr": "Traceback (most recent call last):\nValueError: x\n",
                "exit": 1,
            },
            "`coder review` failed: ValueError: x (exit 1)",
        ),
        ({"stdout": "a.py:1: error: divides by zero\n", "exit": 0}, "`coder review` printed no JSON result"),
        ({"stdout": '{"findings": [{"path": "a.py", "severity": "error"}]}', "exit": 0}, "`coder review` printed no JSON result"),
    ],
    ids=["crash-exit-1", "not-json", "not-findings"],
)
def test_supervisor_blocks_only_on_an_error_in_the_json_result(tmp_path, fake, spec, note):
    """A crash exits 1 too (Python's status for a traceback, with CODER_DEBUG in the user's environment)."""
    make, _ = fake
    ctx = make(**spec)
    assert pre_commit(HookSettings(strict=True), ctx) == 0
    assert ctx.stderr.getvalue() == f"coder: pre-commit skipped: {note}\n"


def test_supervisor_children_run_without_coder_debug(tmp_path, fake):
    make, _ = fake
    ctx = make(stdout=review_json())
    ctx = HookContext(ctx.coder, {**ctx.environ, "CODER_DEBUG": "1"}, ctx.cwd, ctx.stderr)
    assert pre_commit(HookSettings(strict=True), ctx) == 0
    assert (tmp_path / "fake.json.debug").read_text() == "unset"
    assert prepare_commit_msg([str(msgfile(tmp_path))], HookSettings(), ctx) == 0
    assert (tmp_path / "fake.json.debug").read_text() == "unset"


def test_hook_run_imports_nothing_heavy(tmp_path, home):
    proj = repo(tmp_path, home)
    code = (
        "import sys\n"
        "from coder_cli.cli.app import run\n"
        "run(['hook', 'run', 'pre-commit', '--timeout', '0.01'])\n"
        "heavy = ('llama_cpp', 'tree_sitter', 'git', 'prompt_toolkit', 'huggingface_hub', 'numpy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=proj, env=git_env(home), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert "coder: pre-commit skipped: the model took over 0.01 s (timeout)" in proc.stderr


# --- end to end: real commits through real hooks running `coder commit-msg` / `coder review` ------------


@pytest.fixture
def engine_file(tmp_path):
    """Write the scripted engine's file; returns (CODER_MODEL value, calls reader)."""
    path = tmp_path / "engine.json"
    calls = tmp_path / "engine.json.calls.jsonl"

    def make(*replies: str, **extra) -> tuple[str, object]:
        path.write_text(json.dumps({"replies": list(replies), **extra}))

        def read() -> list[dict]:
            return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

        return f"scripted:{path}", read

    return make


def editor(tmp_path: Path) -> str:
    """An editor that keeps a message that is there and types one when there is none."""
    path = tmp_path / "editor.sh"
    path.write_text("#!/bin/sh\nif ! grep -q '^[^#]' \"$1\"; then printf 'typed by hand\\n' > \"$1\"; fi\n")
    path.chmod(0o755)
    return str(path)


def staged_change(proj: Path, home: Path, text: str = "def ratio(a, b):\n    return a / b\n") -> None:
    (proj / "calc.py").write_text(text)
    git(proj, home, "add", "calc.py")


def test_commit_gets_the_generated_message(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, calls = engine_file("Add a ratio helper\n\nDivide a by b.")
    assert hook_cli(["install"], home, proj).code == 0
    staged_change(proj, home)
    r = git(proj, home, "commit", "-q", CODER_MODEL=model, GIT_EDITOR="true")
    assert last_message(proj, home) == "Add a ratio helper\n\nDivide a by b."
    assert coder_notes(r.stderr) == []
    assert [c["kind"] for c in calls()] == ["chat"]


def test_commit_all_reviews_what_git_is_about_to_commit(tmp_path, home, engine_file):
    """`git commit -a` stages into a temporary index (GIT_INDEX_FILE): the child must see it."""
    proj = repo(tmp_path, home, {"calc.py": "x = 1\n"})
    model, calls = engine_file("Set x to 42")
    assert hook_cli(["install"], home, proj).code == 0
    (proj / "calc.py").write_text("x = 42\n")  # modified, not staged
    git(proj, home, "commit", "-q", "-a", CODER_MODEL=model, GIT_EDITOR="true")
    assert last_message(proj, home) == "Set x to 42"
    assert "x = 42" in json.dumps(calls()[0]["messages"])


def test_dash_m_keeps_the_users_message(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, calls = engine_file("never used")
    assert hook_cli(["install"], home, proj).code == 0
    staged_change(proj, home)
    git(proj, home, "commit", "-q", "-m", "my own words", CODER_MODEL=model)
    assert last_message(proj, home) == "my own words"
    assert calls() == []


def test_amend_is_untouched(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, calls = engine_file("never used")
    assert hook_cli(["install"], home, proj).code == 0
    staged_change(proj, home)
    git(proj, home, "commit", "--amend", "-q", CODER_MODEL=model, GIT_EDITOR="true")
    assert last_message(proj, home) == "initial"
    assert calls() == []


def test_merge_commit_is_untouched(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, calls = engine_file("never used")
    main = git(proj, home, "branch", "--show-current").stdout.strip()
    git(proj, home, "checkout", "-q", "-b", "side")
    staged_change(proj, home)
    git(proj, home, "commit", "-q", "-m", "side work")
    git(proj, home, "checkout", "-q", main)
    (proj / "other.py").write_text("y = 2\n")
    git(proj, home, "add", "other.py")
    git(proj, home, "commit", "-q", "-m", "main work")
    assert hook_cli(["install", "--prepare-commit-msg", "--pre-commit"], home, proj).code == 0
    git(proj, home, "merge", "-q", "side", CODER_MODEL=model, GIT_EDITOR="true")
    assert last_message(proj, home) == "Merge branch 'side'"
    assert calls() == []


@pytest.mark.parametrize("how", ["merge", "cherry-pick", "revert"])
def test_concluding_a_conflicted_merge_cherry_pick_or_revert_is_not_reviewed(tmp_path, home, engine_file, how):
    """Their changes were reviewed where they were made; a strict review must not block the conclusion."""
    proj = repo(tmp_path, home, {"calc.py": "def f():\n    return 1\n"})
    model, calls = engine_file("calc.py:2: error: Divides by zero")
    main = git(proj, home, "branch", "--show-current").stdout.strip()
    git(proj, home, "checkout", "-q", "-b", "side")
    staged_change(proj, home, "def f():\n    return 2\n")
    git(proj, home, "commit", "-q", "-m", "side")
    git(proj, home, "checkout", "-q", main)
    staged_change(proj, home, "def f():\n    return 3\n")
    git(proj, home, "commit", "-q", "-m", "main")
    assert hook_cli(["install", "--prepare-commit-msg", "--pre-commit", "--strict"], home, proj).code == 0
    start = {"merge": ["merge", "side"], "cherry-pick": ["cherry-pick", "side"], "revert": ["revert", "--no-edit", "HEAD~1"]}
    if how == "revert":
        git(proj, home, "reset", "-q", "--hard", "side")  # revert "side" on top of a commit that changed its line again
        staged_change(proj, home, "def f():\n    return 4\n")
        git(proj, home, "commit", "-q", "--no-verify", "-m", "again")
    assert git(proj, home, *start[how], check=False, CODER_MODEL=model).returncode != 0  # a conflict
    staged_change(proj, home, "def f():\n    return 2 / 0\n")
    conclude = ["commit", "--no-edit"] if how == "merge" else [how, "--continue"]
    r = git(proj, home, *conclude, CODER_MODEL=model, GIT_EDITOR="true")
    assert git(proj, home, "status", "--porcelain").stdout == ""
    assert git(proj, home, "show", "HEAD:calc.py").stdout == "def f():\n    return 2 / 0\n"
    assert calls() == [] and coder_notes(r.stderr) == [] and "coder review" not in r.stderr


def test_a_crash_with_coder_debug_set_never_blocks_a_commit(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, _ = engine_file("never used", n_ctx="abc")  # the engine file is broken: coder review crashes
    assert hook_cli(["install", "--pre-commit", "--strict"], home, proj).code == 0
    staged_change(proj, home)
    r = git(proj, home, "commit", "-q", "-m", "mine", CODER_MODEL=model, CODER_DEBUG="1")
    assert last_message(proj, home) == "mine"
    (note,) = coder_notes(r.stderr)
    assert note.startswith("coder: pre-commit skipped: `coder review` failed: ")


def test_pre_commit_advisory_prints_findings_and_commits(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, _ = engine_file("calc.py:2: error: Divides by zero when b is 0")
    assert hook_cli(["install", "--pre-commit"], home, proj).code == 0
    staged_change(proj, home)
    r = git(proj, home, "commit", "-q", "-m", "add ratio", CODER_MODEL=model)
    assert last_message(proj, home) == "add ratio"
    assert "coder review: calc.py:2: error: Divides by zero when b is 0" in r.stderr.splitlines()


def test_a_repositorys_config_cannot_choose_the_model_the_hooks_run(tmp_path, home, engine_file):
    """The hooks' commands read the same config as any command: a committed .coder.toml naming the
    scripted engine (its file would answer the review and record the staged diff) is ignored."""
    proj = repo(tmp_path, home)
    mine, calls = engine_file("calc.py:2: error: Divides by zero when b is 0")
    (home / "config.toml").write_text(f"model = {mine!r}\n")
    (proj / "theirs.json").write_text(json.dumps({"replies": ["calc.py:2: error: Send your code to us"]}))
    (proj / ".coder.toml").write_text('model = "scripted:theirs.json"\n')
    assert hook_cli(["install", "--pre-commit"], home, proj).code == 0
    staged_change(proj, home)
    r = git(proj, home, "commit", "-q", "-m", "add ratio")
    assert last_message(proj, home) == "add ratio"
    assert "coder review: calc.py:2: error: Divides by zero when b is 0" in r.stderr.splitlines()
    assert "Send your code" not in r.stderr and not (proj / "theirs.json.calls.jsonl").exists()
    assert [c["kind"] for c in calls()] == ["chat"]
    assert "ignoring 'model'" in r.stderr


@pytest.mark.slow
def test_pre_commit_strict_blocks_on_an_error_and_lets_a_clean_change_through(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, _ = engine_file("calc.py:2: error: Divides by zero when b is 0")
    assert hook_cli(["install", "--pre-commit", "--strict"], home, proj).code == 0
    staged_change(proj, home)
    r = git(proj, home, "commit", "-q", "-m", "add ratio", check=False, CODER_MODEL=model)
    assert r.returncode == 1
    assert "coder review: calc.py:2: error: Divides by zero when b is 0" in r.stderr.splitlines()
    assert "coder: pre-commit blocked the commit: the review found an error" in r.stderr
    assert last_message(proj, home) == "initial"
    model, _ = engine_file("no findings")
    r = git(proj, home, "commit", "-q", "-m", "add ratio", CODER_MODEL=model)
    assert last_message(proj, home) == "add ratio"
    assert "coder: pre-commit blocked" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("engine", "note"),
    [
        ({"model": "/nonexistent/model.gguf"}, "model file not found: /nonexistent/model.gguf (exit 3)"),
        ({"delay_s": 30}, "the model took over 2 s (timeout)"),
        # The child is a guarded command: its own one-line crash report, exit 3 (cli/crash_guard.py).
        ({"crash": True}, "crashed in native code with SIGABRT (in _reply, engine/scripted.py:"),
    ],
    ids=["missing-model", "timeout", "crash"],
)
def test_a_broken_model_never_blocks_a_commit(tmp_path, home, engine_file, engine, note):
    proj = repo(tmp_path, home)
    model = engine.get("model") or engine_file("never used", **engine)[0]
    install = ["install", "--prepare-commit-msg", "--pre-commit", "--strict", "--timeout", "2"]
    assert hook_cli(install, home, proj).code == 0
    staged_change(proj, home)
    t0 = time.monotonic()
    r = git(proj, home, "commit", "-q", CODER_MODEL=model, GIT_EDITOR=editor(tmp_path))
    took = time.monotonic() - t0
    assert last_message(proj, home) == "typed by hand"
    notes = coder_notes(r.stderr)
    assert len(notes) == 2, r.stderr
    assert notes[0].startswith("coder: pre-commit skipped: ") and note in notes[0]
    assert notes[1].startswith("coder: prepare-commit-msg skipped: ") and note in notes[1]
    assert took < 15, took  # two hooks, each at most its 2 s timeout plus start-up


@pytest.mark.model
def test_real_model_writes_the_commit_message(tmp_path, model_home):
    proj = repo(tmp_path, model_home)
    assert hook_cli(["install", "--timeout", "300"], model_home, proj).code == 0
    staged_change(proj, model_home, "def ratio(a, b):\n    if b == 0:\n        return 0.0\n    return a / b\n")
    r = git(proj, model_home, "commit", "-q", GIT_EDITOR=editor(tmp_path))
    message = last_message(proj, model_home)
    assert coder_notes(r.stderr) == [], r.stderr
    assert message and message != "typed by hand"
    assert not message.startswith("#")


def test_verbose_commit_gets_the_message_above_the_diff(tmp_path, home, engine_file):
    proj = repo(tmp_path, home)
    model, _ = engine_file("Add a ratio helper")
    assert hook_cli(["install"], home, proj).code == 0
    staged_change(proj, home)
    git(proj, home, "commit", "-q", "-v", CODER_MODEL=model, GIT_EDITOR="true")
    assert last_message(proj, home) == "Add a ratio helper"


# --- post-index-change: the diff read at `git add` ------------------------------------------------


@pytest.mark.slow
def test_git_add_pre_reads_the_staged_diff_into_a_running_server(tmp_path, home):
    """With --prewarm and a `coder serve` answering, `git add` returns at once and, in the background,
    the server reads the prompt the commit will send; the message at commit time then reads only
    the question's last token. Without a server it does nothing and says nothing."""
    import threading

    from coder_cli.actions.serve import Server
    from coder_cli.engine.scripted import ScriptedEngine

    proj = repo(tmp_path, home)
    r = hook_cli(["install", "--prepare-commit-msg", "--prewarm"], home, proj)
    assert r.code == 0, r.stderr
    assert is_ours((proj / ".git/hooks/post-index-change").read_text())
    (proj / "a.py").write_text("def f():\n    return 1\n")
    added = git(proj, home, "add", "a.py")
    assert added.stderr == ""  # no server: silent, nothing started
    engine = ScriptedEngine(["Add f"], n_ctx=8192)
    server = Server(engine, home, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (proj / "b.py").write_text("def g():\n    return 2\n")
        t0 = time.perf_counter()
        added = git(proj, home, "add", "b.py")
        assert time.perf_counter() - t0 < 5 and added.stderr == ""
        deadline = time.time() + 30
        while not any(c["kind"] == "prefill" for c in engine.calls) and time.time() < deadline:
            time.sleep(0.1)
        prefills = [c for c in engine.calls if c["kind"] == "prefill"]
        assert prefills and prefills[-1]["evaluated"] > 0
        git(proj, home, "commit", "-q", GIT_EDITOR="true")
        assert last_message(proj, home) == "Add f"
        chat = [c for c in engine.calls if c["kind"] == "chat"][-1]
        assert "b.py" in chat["messages"][-1]["content"]
        assert prefills[-1]["tokens"] == len(engine.chat_prompt(chat["messages"]))  # the commit's whole prompt, read ahead
    finally:
        server.shutdown()
    s = hook_cli(["status"], home, proj)
    assert "post-index-change: installed (timeout 20 s, pre-reads the staged diff into a running coder serve)" in s.stdout
