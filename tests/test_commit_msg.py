"""`coder commit-msg`: reply clean-up (golden cases), the command on real git repositories with the
scripted engine, and the real 0.5B model on a real staged change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coder_cli.core.commit_msg import SUBJECT_MAX, category, make_message, shorten, wrap_body
from tests.conftest import run_cli, run_inprocess
from tests.git_repos import STATS, STATS_BUGGY, git, make_repo, stage

CASES = sorted((Path(__file__).parent / "cases" / "commit_msg").glob("*.txt"))


def _load(path: Path) -> tuple[list[str], bool, bool, str, str]:
    text = path.read_text()
    head, rest = text.split("=== reply ===\n", 1)
    reply, expected = rest.split("=== expected ===\n", 1)
    options = head.split("=== options ===\n", 1)[1].split()
    paths = [w.removeprefix("paths=") for w in options if w not in ("conventional", "truncated")]
    return paths, "conventional" in options, "truncated" in options, reply, expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case):
    paths, conventional, truncated, reply, expected = _load(case)
    message = make_message(reply, paths, conventional, truncated)
    assert (message.text if message else "") == expected


def test_shorten_keeps_72_characters_at_a_word_boundary():
    subject = "Make the repository map rank definitions by personalised PageRank toward the files in play today"
    short = shorten(subject)
    assert len(short) <= SUBJECT_MAX and subject.startswith(short) and not short.endswith((" ", "the", "in"))
    assert shorten("Fix it.") == "Fix it"


def test_body_is_wrapped_at_72_with_bullets_indented():
    body = wrap_body(["- " + "word " * 30, "", "A paragraph " * 10])
    lines = body.splitlines()
    assert all(len(ln) <= 72 for ln in lines)
    assert lines[0].startswith("- ") and lines[1].startswith("  word")
    assert "" in lines


def test_categories_of_paths():
    assert category("README.md") == category("docs/index.rst") == "docs"
    assert category("tests/test_x.py") == category("src/x_test.go") == category("web/a.spec.ts") == "test"
    assert category(".github/workflows/ci.yml") == "ci"
    assert category("pyproject.toml") == category("requirements-dev.txt") == "build"
    assert category("src/app.py") is None


# -- the command, scripted engine, real repositories


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, {"stats.py": STATS, "package-lock.json": '{"lockfileVersion": 2}\n', "README.md": "Stats.\n"})
    stage(repo, {"stats.py": STATS_BUGGY, "package-lock.json": '{"lockfileVersion": 3}\n'})
    return repo


def test_message_on_stdout_and_nothing_else(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, calls = scripted(
        "```\nCommit message: compute the mean with a loop and keep the age check simple for now, as agreed.\n```"
    )
    r = run_inprocess(["commit-msg", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    assert r.stdout == "Compute the mean with a loop and keep the age check simple for now\n"
    (call,) = calls()
    system, user = call["messages"]
    prompt = user["content"]
    assert "package-lock.json (modified, +1 -1; lockfile)" in prompt and "lockfileVersion" not in prompt
    assert " 6 +    return total / 0" in prompt  # new-side line numbers in the gutter
    assert prompt.index("return total / 0") < prompt.index("Write a git commit message")  # the diff first
    assert call["params"]["max_tokens"] == 96


def test_staged_is_the_default_and_accepted_explicitly(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    (repo / "README.md").write_text("Stats, unstaged.\n")
    model, calls = scripted("Compute the mean with a loop")
    assert run_inprocess(["commit-msg", "--staged", "-m", model], home, repo).code == 0
    assert "README.md" not in calls()[0]["messages"][1]["content"]
    r = run_inprocess(["commit-msg", "--all", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    assert "README.md (modified, +1 -1)" in calls()[1]["messages"][1]["content"]


def test_nothing_staged_is_a_usage_error_with_a_hint(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {"a.py": "x = 1\n"})
    (repo / "a.py").write_text("x = 2\n")  # changed, not staged
    model, calls = scripted("never asked")
    r = run_inprocess(["commit-msg", "-m", model], home, repo)
    assert r.code == 2 and r.stdout == ""
    assert "nothing staged" in r.stderr and "git add" in r.stderr
    assert calls() == []  # no model loaded


def test_not_a_repository_is_a_git_error(tmp_path, home, scripted):
    folder = tmp_path / "plain"
    folder.mkdir()
    model, _ = scripted("x")
    r = run_inprocess(["commit-msg", "-m", model], home, folder, GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert r.code == 5 and "not a git repository" in r.stderr and r.stdout == ""


def test_first_commit_without_head(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {}, commit=False)
    stage(repo, {"app.py": "print('hi')\n"})
    model, calls = scripted("Add the app")
    r = run_inprocess(["commit-msg", "-m", model], home, repo)
    assert r.code == 0 and r.stdout == "Add the app\n"
    assert "app.py (new file, +1 -0)" in calls()[0]["messages"][1]["content"]


def test_hook_environment_git_index_file_is_honoured(tmp_path, home, scripted):
    """`git commit FILE` runs hooks with GIT_INDEX_FILE pointing at a temporary index."""
    repo = make_repo(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    (repo / "a.py").write_text("a = 2\n")
    (repo / "b.py").write_text("b = 2\n")
    index = tmp_path / "other-index"
    env = dict(os.environ, GIT_INDEX_FILE=str(index))
    git(repo, "read-tree", "HEAD", env=env)
    git(repo, "add", "b.py", env=env)
    model, calls = scripted("Change b")
    r = run_inprocess(["commit-msg", "-m", model], home, repo, GIT_INDEX_FILE=str(index))
    assert r.code == 0, r.stderr
    prompt = calls()[0]["messages"][1]["content"]
    assert "b.py (modified" in prompt and "a.py" not in prompt


def test_generated_and_binary_files_are_named_not_shown(tmp_path, home, scripted):
    generated = "# Code generated by protoc. DO NOT EDIT.\n" + "".join(f"FIELD_{k} = {k}\n" for k in range(40))
    repo = make_repo(tmp_path, {"api_pb2.py": generated, "app.py": "x = 1\n"})
    stage(repo, {"api_pb2.py": generated.replace("FIELD_30 = 30", "FIELD_30 = 31"), "app.py": "x = 2\n"})
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    git(repo, "add", "logo.png")
    model, calls = scripted("Bump x")
    assert run_inprocess(["commit-msg", "-m", model], home, repo).code == 0
    prompt = calls()[0]["messages"][1]["content"]
    assert "api_pb2.py (modified, +1 -1; generated)" in prompt and "FIELD_30" not in prompt
    assert "logo.png (new file; binary)" in prompt
    assert "x = 2" in prompt


def test_conventional_repairs_the_type(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {"README.md": "Old.\n", "docs/use.md": "Use.\n"})
    stage(repo, {"README.md": "New.\n"})
    model, calls = scripted("feat(readme): Describe the new review command.")
    r = run_inprocess(["commit-msg", "--conventional", "-m", model], home, repo)
    assert r.code == 0 and r.stdout == "docs(readme): describe the new review command\n"
    assert "Conventional Commits" in calls()[0]["messages"][1]["content"]


def test_unusable_reply_falls_back_to_naming_the_files(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted("```diff\n+ total = 0\n```")
    r = run_inprocess(["commit-msg", "-m", model], home, repo)
    assert r.code == 0 and r.stdout == "Update 2 files\n"
    assert "no usable commit message" in r.stderr


def test_json_fields(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted("Compute the mean with a loop\n\nThe old one-liner hid the empty case.")
    r = run_inprocess(["commit-msg", "--json", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["message"] == "Compute the mean with a loop\n\nThe old one-liner hid the empty case.\n"
    assert data["subject"] == "Compute the mean with a loop" and data["body"] == "The old one-liner hid the empty case."
    assert {f["path"]: f["excluded"] for f in data["files"]} == {"package-lock.json": "lockfile", "stats.py": None}
    assert data["omitted"] == {"hunks": 0, "files": [], "excluded": {"package-lock.json": "lockfile"}}
    assert data["model"] == "scripted" and data["fallback"] is False
    assert data["tokens"]["prompt"] > data["tokens"]["diff"] > 0
    # the one usage/timing shape (engine/usage.py); `tokens` stays as the older alias
    assert set(data["timing"]) == {"load_s", "prompt_s", "generate_s", "total_s", "prompt_tokens_per_s", "tokens_per_s"}
    assert data["usage"]["prompt_tokens"] == data["tokens"]["prompt"]


def test_small_budget_leaves_hunks_out_and_says_so(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {f"m{i}.py": "".join(f"v{k} = {k}\n" for k in range(30)) for i in range(3)})
    stage(repo, {f"m{i}.py": "".join(f"v{k} = {k * 2}\n" for k in range(30)) for i in range(3)})
    model, calls = scripted("Double the values")
    r = run_inprocess(["commit-msg", "--budget", "120", "--json", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["omitted"]["hunks"] > 0 and data["tokens"]["diff"] <= 120
    assert "not shown to the model" in r.stderr
    prompt = calls()[0]["messages"][1]["content"]
    assert all(f"m{i}.py" in prompt for i in range(3))  # every file named


# -- the real model


@pytest.mark.model
def test_real_model_writes_a_short_subject_that_is_not_the_diff(model_home, tmp_path):
    repo = make_repo(tmp_path, {"stats.py": STATS})
    stage(
        repo,
        {
            "stats.py": STATS.replace(
                "def is_adult", "def median(values):\n    return sorted(values)[len(values) // 2]\n\n\ndef is_adult"
            )
        },
    )
    r = run_cli(["commit-msg", "--staged"], model_home, repo, timeout=120)
    assert r.code == 0, r.stderr
    assert r.stdout.endswith("\n") and not r.stdout.endswith("\n\n")
    subject = r.stdout.splitlines()[0]
    assert 0 < len(subject) <= 72 and subject == subject.strip()
    assert not subject.startswith(("+", "-", "@@", "diff", "```")) and "sorted(values)[len(values) // 2]" not in subject
    lines = r.stdout.splitlines()
    assert len(lines) == 1 or (lines[1] == "" and all(len(ln) <= 72 for ln in lines[2:]))


def test_prewarm_without_a_server_loads_nothing(tmp_path, home, scripted):
    """--prewarm only warms a running `coder serve`: loading a model here for a cache that dies with
    the process would only cost (the post-index-change hook runs it on every index write)."""
    repo = _repo(tmp_path)
    r = run_inprocess(["commit-msg", "--prewarm"], home, repo)
    assert r.code == 0 and r.stdout == ""
    assert "no coder serve answers" in r.stderr
    r = run_inprocess(["commit-msg", "--prewarm", "--model", "/nonexistent/model.gguf"], home, repo)
    assert r.code == 0 and "model" not in r.stderr.replace("no coder serve answers", "")
