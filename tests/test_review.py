"""`coder review`: findings read and checked against the diff, the command on real git repositories with
the scripted engine, and the real 0.5B model on a staged change with obvious bugs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coder_cli.core.diff_packing import pack
from coder_cli.core.patch import classify, parse_diff
from coder_cli.core.review_corrections import suggestions, syntax_error_line
from coder_cli.core.review_findings import parse_review
from tests.conftest import run_cli, run_inprocess
from tests.git_repos import STATS, STATS_BUGGY, git, make_repo, stage

FINDING = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): (?P<severity>error|warning|info): (?P<message>\S.*)$")

DIFF = """\
diff --git a/stats.py b/stats.py
--- a/stats.py
+++ b/stats.py
@@ -1,6 +1,9 @@
 def mean(values):
     \"\"\"The average of VALUES.\"\"\"
-    return sum(values) / len(values) if values else 0.0
+    total = 0
+    for v in values:
+        total += v
+    return total / 0
\x20
\x20
 def is_adult(age):
@@ -7,1 +10,1 @@
-    return age >= 18
+    return age <= 18
diff --git a/app/auth.py b/app/auth.py
new file mode 100644
--- /dev/null
+++ b/app/auth.py
@@ -0,0 +1,4 @@
+def check_password(user, password):
+    if password = "admin":
+        return True
+    return user.password == password
"""


@pytest.fixture
def view():
    return pack(classify(parse_diff(DIFF)), 1000, lambda text: len(text.split()))


def _found(reply, view):
    parsed = parse_review(reply, view)
    return [f.format() for f in parsed.findings], parsed.dropped


def test_stated_findings_are_checked_against_the_lines_shown(view):
    reply = (
        "stats.py:6: critical: division by zero\n"
        "stats.py:10: medium: the comparison is reversed\n"
        "app/auth.py:2: nit: use == here\n"
        "stats.py:99: error: a line that is not in the diff\n"
        "other.py:3: error: a file that is not in the diff\n"
        "stats.py:6: critical: division by zero\n"
    )
    found, dropped = _found(reply, view)
    assert found == [
        "stats.py:6: error: Division by zero",
        "stats.py:10: warning: The comparison is reversed",
        "app/auth.py:2: info: Use == here",
    ]
    assert dropped == 2


def test_a_quoted_line_points_at_its_number(view):
    found, dropped = _found("1. **Wrong comparison**: `return age <= 18` should be `return age >= 18`.", view)
    assert found == ["stats.py:10: warning: Wrong comparison: `return age <= 18` should be `return age >= 18`"]
    assert dropped == 0


def test_what_small_models_write_instead_of_findings_is_dropped(view):
    reply = (
        "stats.py:1: no findings\n"
        "path:1: error: wrong logic\n"
        "- The line `return sum(values) / len(values) if values else 0.0` is wrong\n"  # a removed line
        '- `if password = "admin":` - `if password = "admin"`\n'  # "should be" what is there
        "- The line `total = 0` is correct.\n"
        "stats.py:3: error: Cannot assign to variable 'total'\n"
        "stats.py:4: error: Cannot assign to variable 'total'\n"
        "stats.py:5: error: Cannot assign to variable 'total'\n"
    )
    found, dropped = _found(reply, view)
    assert found == []
    assert dropped >= 6


def test_corrected_code_becomes_findings_at_the_lines_it_changes(view):
    # What the 0.5B model wrote for this diff, asked for the changed code with its bugs fixed.
    reply = (
        '```python\ndef mean(values):\n    """The average of VALUES."""\n    if not values:\n        return 0.0\n'
        "    total = sum(values)\n    return total / len(values)\n\ndef is_adult(age):\n    return age >= 18\n\n"
        'def check_password(user: dict, password: str) -> bool:\n    if password == "admin":\n        return True\n'
        "    return user.password == password\n```\n"
    )
    auth = "".join(line[1:] + "\n" for line in DIFF.split("+++ b/app/auth.py\n")[1].splitlines()[1:])
    broken = {"app/auth.py": syntax_error_line(auth.encode())}
    assert broken == {"app/auth.py": 2}
    parsed = parse_review(reply, view, broken)
    assert [f.format() for f in parsed.findings] == [
        "stats.py:6: warning: looks wrong; did you mean `return total / len(values)`?",
        "stats.py:10: warning: looks wrong; did you mean `return age >= 18`?",
        'app/auth.py:2: error: syntax error; did you mean `if password == "admin":`?',
    ]
    assert parsed.dropped == 0
    # Without the whole file to compile, a line that does not compile alone is no sure error.
    assert _found(reply, view)[0][2] == 'app/auth.py:2: warning: looks wrong; did you mean `if password == "admin":`?'


CALL = """\
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,4 @@
 def f(first, second):
+    total = add(first,
+                second)
     return 0
"""
CALL_FIXED = "```python\ndef f(first, second):\n    total = add(first, second)\n    return 0\n```"


def test_one_line_of_a_statement_over_several_lines_is_no_syntax_error():
    view = pack(classify(parse_diff(CALL)), 1000, lambda text: len(text.split()))
    whole = b"def f(first, second):\n    total = add(first,\n                second)\n    return 0\n"
    assert syntax_error_line(whole) is None
    found = [f.format() for f in parse_review(CALL_FIXED, view, {}).findings]
    assert found == ["calc.py:2: warning: looks wrong; did you mean `total = add(first, second)`?"]
    # The same line when the file really ends there: the compiler blames it.
    broken = syntax_error_line(b"def f(first, second):\n    total = add(first,\n    return 0\n")
    assert broken == 2
    found = [f.format() for f in parse_review(CALL_FIXED, view, {"calc.py": broken}).findings]
    assert found[0] == "calc.py:2: error: syntax error; did you mean `total = add(first, second)`?"
    # Broken elsewhere (another hunk): the rewrite of this line is no syntax error.
    found = [f.format() for f in parse_review(CALL_FIXED, view, {"calc.py": 40}).findings]
    assert found[0].startswith("calc.py:2: warning: ")


def test_compiling_the_new_side_is_quiet_and_safe():
    assert syntax_error_line(b'x = "\\d"\n') is None  # an invalid escape warns; nothing is printed
    assert syntax_error_line(b"x = 1\n\x00\n") in (None, 2)  # a null byte: no exception, whatever the Python
    assert syntax_error_line(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n") is None
    assert syntax_error_line(b"def f(:\n    pass\n") == 1


def test_an_echo_of_the_code_is_no_finding(view):
    echo = (
        "```\n" + "\n".join(line for line in DIFF.splitlines() if line.startswith("+") and not line.startswith("+++")) + "\n```"
    )
    assert suggestions(echo, view) == []
    gutter = "```\n 6 +    return total / 0\n10 +    return age <= 18\n```"
    assert suggestions(gutter, view) == []


# -- the command, scripted engine, real repositories


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, {"stats.py": STATS, "yarn.lock": "a@1\n"})
    stage(repo, {"stats.py": STATS_BUGGY, "yarn.lock": "a@2\n"})
    return repo


STATED = "stats.py:6: error: division by zero\nstats.py:10: warning: age check reversed\nstats.py:42: error: not shown\n"


CALC = "def f(first, second):\n    return 0\n"
CALC_CALL = "def f(first, second):\n    total = add(first,\n                second)\n    return 0\n"
CALC_BROKEN = "def f(first, second):\n    total = add(first,\n    return 0\n"


@pytest.mark.parametrize("where", ["staged", "range", "files"])
def test_strict_blocks_on_a_syntax_error_only_when_the_whole_file_does_not_compile(tmp_path, home, scripted, where):
    """The model's one-line rewrite of a statement over two lines is no error; of a really unclosed call, it is."""
    model, _ = scripted(CALL_FIXED)
    args = {"staged": ["--staged"], "range": ["HEAD"], "files": ["calc.py"]}[where]
    for name, text, code, severity in (("ok", CALC_CALL, 0, "warning"), ("bad", CALC_BROKEN, 1, "error")):
        repo = make_repo(tmp_path, {"calc.py": CALC}, name=name)
        stage(repo, {"calc.py": text})
        if where == "range":
            git(repo, "commit", "-q", "-m", "change")
            (repo / "calc.py").write_text(CALC)  # the work tree no longer matters
        elif where == "staged":
            (repo / "calc.py").write_text(CALC_CALL if text == CALC_BROKEN else CALC_BROKEN)  # nor here
        r = run_inprocess(["review", "--strict", *args, "-m", model], home, repo)
        assert r.code == code, (name, r.stdout, r.stderr)
        assert r.stdout.startswith(f"calc.py:2: {severity}: "), (name, r.stdout)


def test_findings_on_stdout_summary_on_stderr(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, calls = scripted(STATED)
    r = run_inprocess(["review", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    assert r.stdout == "stats.py:6: error: Division by zero\nstats.py:10: warning: Age check reversed\n"
    assert "2 findings (1 error) in 2 files, 1 hunk (1 not shown: lockfile)" in r.stderr
    assert "dropped 1 finding" in r.stderr
    prompt = calls()[0]["messages"][1]["content"]
    assert "yarn.lock (modified, +1 -1; lockfile)" in prompt and "a@2" not in prompt


def test_strict_exits_1_only_on_an_error(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted(STATED)
    assert run_inprocess(["review", "--strict", "-m", model], home, repo).code == 1
    model, _ = scripted("stats.py:10: warning: age check reversed\n")
    assert run_inprocess(["review", "--strict", "-m", model], home, repo).code == 0
    model, _ = scripted("no findings")
    r = run_inprocess(["review", "--strict", "-m", model], home, repo)
    assert r.code == 0 and r.stdout == "" and "no findings in 2 files" in r.stderr


def test_json_shape(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted(STATED)
    r = run_inprocess(["review", "--json", "--staged", "-m", model], home, repo)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["findings"] == [
        {"path": "stats.py", "line": 6, "severity": "error", "message": "Division by zero"},
        {"path": "stats.py", "line": 10, "severity": "warning", "message": "Age check reversed"},
    ]
    assert data["dropped"] == 1 and data["model"] == "scripted"
    assert [f["path"] for f in data["files"]] == ["stats.py", "yarn.lock"]
    assert data["omitted"]["excluded"] == {"yarn.lock": "lockfile"}
    assert data["tokens"]["prompt"] > data["tokens"]["diff"] > 0 and "total_s" in data["timing"]


def test_review_and_commit_msg_prompts_start_the_same(tmp_path, home, scripted):
    """A warm engine reuses the diff: both prompts share the system prompt and the rendered diff."""
    repo = _repo(tmp_path)
    model, calls = scripted("no findings", "Compute the mean with a loop")
    assert run_inprocess(["review", "--staged", "-m", model], home, repo).code == 0
    assert run_inprocess(["commit-msg", "--staged", "-m", model], home, repo).code == 0
    review, commit = calls()
    assert review["messages"][0] == commit["messages"][0]
    a, b = review["messages"][1]["content"], commit["messages"][1]["content"]
    diff_end = a.index("10 +    return age <= 18") + len("10 +    return age <= 18")
    assert a[:diff_end] == b[:diff_end]


def test_nothing_staged_is_no_finding(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {"a.py": "a = 1\n"})
    model, calls = scripted("never asked")
    r = run_inprocess(["review", "--strict", "-m", model], home, repo)
    assert r.code == 0 and r.stdout == ""
    assert "nothing to review" in r.stderr and "git add" in r.stderr
    assert calls() == []
    r = run_inprocess(["review", "--json", "-m", model], home, repo)
    assert json.loads(r.stdout)["findings"] == []


def test_a_revision_range_and_one_commit(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {"stats.py": STATS})
    stage(repo, {"stats.py": STATS_BUGGY})
    git(repo, "commit", "-q", "-m", "buggy")
    model, calls = scripted("stats.py:6: error: division by zero")
    for spec in ("HEAD~1..HEAD", "HEAD~1...HEAD", "HEAD"):
        r = run_inprocess(["review", spec, "-m", model], home, repo)
        assert r.code == 0, r.stderr
        assert r.stdout == "stats.py:6: error: Division by zero\n"
    r = run_inprocess(["review", "nosuch..HEAD", "-m", model], home, repo)
    assert r.code == 5 and "unknown revision" in r.stderr


def test_files_changed_untracked_and_unchanged(tmp_path, home, scripted):
    repo = make_repo(tmp_path, {"stats.py": STATS, "same.py": "x = 1\n"})
    (repo / "stats.py").write_text(STATS_BUGGY)  # changed, not staged
    (repo / "new.py").write_text("def f():\n    return 1 / 0\n")  # untracked
    model, calls = scripted("new.py:2: error: division by zero\nsame.py:1: info: a constant\nstats.py:6: error: zero")
    sub = repo / "sub"
    sub.mkdir()
    r = run_inprocess(["review", "../stats.py", "../new.py", "../same.py", "-m", model], home, sub)
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "stats.py:6: error: Zero",
        "new.py:2: error: Division by zero",
        "same.py:1: info: A constant",
    ]
    prompt = calls()[0]["messages"][1]["content"]
    assert "new.py (new file, +2 -0)" in prompt and "2 +    return 1 / 0" in prompt


def test_usage_and_git_errors(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted("x")
    r = run_inprocess(["review", "missing.py", "-m", model], home, repo)
    assert r.code == 2 and "no such file or revision" in r.stderr
    r = run_inprocess(["review", "--staged", "stats.py", "-m", model], home, repo)
    assert r.code == 2
    folder = tmp_path / "plain"
    folder.mkdir()
    r = run_inprocess(["review", "-m", model], home, folder, GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert r.code == 5 and "not a git repository" in r.stderr


def test_a_terminal_gets_colours_a_pipe_plain_lines(tmp_path, home, scripted):
    repo = _repo(tmp_path)
    model, _ = scripted(STATED)
    r = run_cli(["review", "-m", model], home, repo, TERM="xterm-256color", NO_COLOR="")
    assert r.code == 0 and "\x1b" not in r.stdout and r.stdout.startswith("stats.py:6: error:")


# -- the real model


@pytest.mark.model
def test_real_model_review_is_advisory_and_points_at_lines_of_the_diff(model_home, tmp_path):
    repo = make_repo(tmp_path, {"stats.py": STATS})
    stage(repo, {"stats.py": STATS_BUGGY})
    diff = parse_diff(git(repo, "diff", "--cached", "--no-color"))
    lines = {ln.new for f in diff for h in f.hunks for ln in h.lines if ln.new is not None}
    r = run_cli(["review", "--staged"], model_home, repo, timeout=120)
    assert r.code == 0, r.stderr
    printed = r.stdout.splitlines()
    for line in printed:
        m = FINDING.match(line)
        assert m, line
        assert m.group("path") == "stats.py" and int(m.group("line")) in lines, line
    assert re.search(r"(no|\d+) findings? .*in 1 file", r.stderr)
    strict = run_cli(["review", "--staged", "--strict"], model_home, repo, timeout=120)
    assert strict.stdout == r.stdout  # greedy decoding: the same findings
    has_error = any(FINDING.match(line).group("severity") == "error" for line in printed)
    assert strict.code == (1 if has_error else 0)
