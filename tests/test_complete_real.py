"""`coder complete` with the real default model (0.5B, greedy): behaviour, not exact strings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git_project, run_cli

pytestmark = pytest.mark.model

TEMPS = '''def fahrenheit(celsius):
    """Convert a temperature in degrees Celsius to degrees Fahrenheit."""
    return


def test_fahrenheit():
    assert fahrenheit(100) == 212
    assert fahrenheit(0) == 32
'''


def _proj(tmp_path: Path, files: dict[str, str]) -> Path:
    return git_project(tmp_path, files, "shop")


def test_a_fill_makes_the_test_pass(model_home, tmp_path):
    proj = _proj(tmp_path, {"test_temps.py": TEMPS})
    test = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_temps.py"]
    assert subprocess.run(test, cwd=proj, capture_output=True).returncode != 0
    r = run_cli(["complete", "test_temps.py:3", "--write", "--yes"], model_home, cwd=proj)
    assert r.code == 0, r.stderr
    passed = subprocess.run(test, cwd=proj, capture_output=True, text=True)
    assert passed.returncode == 0, (proj / "test_temps.py").read_text() + passed.stdout


def test_every_marker_is_filled_and_the_file_parses(model_home, tmp_path):
    text = (
        "def celsius_to_kelvin(c):\n"
        '    """Degrees Celsius in kelvin."""\n'
        "<FILL>\n\n\n"
        "def kelvin_to_celsius(k):\n"
        '    """Kelvin in degrees Celsius."""\n'
        "    <FILL>\n"
    )
    proj = _proj(tmp_path, {"units.py": text})
    r = run_cli(["complete", "units.py"], model_home, cwd=proj)
    assert r.code == 0, r.stderr
    assert "<FILL>" not in r.stdout
    compile(r.stdout, "units.py", "exec")  # parses
    bodies = r.stdout.split("def kelvin_to_celsius")
    assert all("return" in body for body in bodies), r.stdout  # each function got a body
    # (Which temperature the 0.5B model returns is its business; it mixes the two up.)
    assert (proj / "units.py").read_text() == text  # printed, not written


def test_stdin_json_answers_three_requests_in_one_process(model_home, tmp_path):
    proj = _proj(tmp_path, {"app.py": "def greet(name):\n    return\n"})
    requests = [
        {"id": 1, "path": "app.py", "prefix": "def add(a, b):\n    return ", "suffix": "\n"},
        {"id": 2, "path": "app.py", "line": 2},
        {"id": 3, "path": "app.py", "prefix": "def is_even(n):\n    return n % 2 ==", "suffix": "\n", "mode": "line"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests)
    r = run_cli(["complete", "--stdin-json"], model_home, cwd=proj, stdin=stdin)
    assert r.code == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert all(isinstance(a["completion"], str) and a["timing_ms"] > 0 for a in answers)
    assert "a" in answers[0]["completion"] and "b" in answers[0]["completion"]
    assert "0" in answers[2]["completion"] and "\n" not in answers[2]["completion"]


COUNTDOWN = """def countdown(n):
    steps = []
    while n > 0:
        steps.append(n)
    return steps
"""


def test_at_the_end_of_a_finished_line_the_next_line_is_proposed(model_home, tmp_path):
    # Where an editor most often asks: right after the user finished a line, no newline typed.
    proj = _proj(tmp_path, {"countdown.py": COUNTDOWN})
    r = run_cli(["complete", "countdown.py:4", "--json"], model_home, cwd=proj)  # after `steps.append(n)`
    assert r.code == 0, r.stderr
    fill = json.loads(r.stdout)["fills"][0]
    assert fill["mode"] == "line"
    text = fill["completion"]
    assert text.startswith("\n") and text.strip(), text  # a new line, not the (empty) rest of this one
    assert "\n" not in text.strip("\n"), text  # one line
    assert text.lstrip("\n").startswith("        "), text  # at the loop body's depth
    lines = COUNTDOWN.split("\n")
    compile("\n".join(lines[:4]) + text + "\n" + "\n".join(lines[4:]), "countdown.py", "exec")
    # At the end of a line that opens a block with nothing under it yet: the block.
    opener = "def countdown(n):\n    while n > 0:\n    return n\n"
    (proj / "opener.py").write_text(opener)
    r = run_cli(["complete", "opener.py:2", "--json"], model_home, cwd=proj)
    assert r.code == 0, r.stderr
    fill = json.loads(r.stdout)["fills"][0]
    assert fill["mode"] == "block" and fill["completion"].startswith("\n        "), fill
    compile(opener.replace("n > 0:", "n > 0:" + fill["completion"]), "opener.py", "exec")
    # At the end of `while n > 0:` whose body is already there: a new first line of it, not a block.
    r = run_cli(["complete", "countdown.py:3", "--json"], model_home, cwd=proj)
    assert r.code == 0, r.stderr
    fill = json.loads(r.stdout)["fills"][0]
    assert fill["mode"] == "line" and fill["completion"].startswith("\n        "), fill
    assert "\n" not in fill["completion"].strip("\n"), fill


def test_the_prompt_uses_the_real_special_tokens_repo_name_and_path(engine, tmp_path):
    from coder_cli.actions.complete import Completer, FillRequest

    proj = _proj(
        tmp_path,
        {
            "shop/prices.py": "def with_tax(amount):\n    return amount * 1.2\n",
            "shop/cart.py": "from shop.prices import with_tax\n",
        },
    )
    completer = Completer(engine, tmp_path / "home")
    prefix = "from shop.prices import with_tax\n\n\ndef total(items):\n    return "
    tokens, files = completer.prompt(FillRequest(proj / "shop/cart.py", prefix, "\n"))
    completer.close()
    ids = engine.fim_tokens()
    special = {ids.repo_name, ids.file_sep, ids.prefix, ids.suffix, ids.middle}
    for name, tid in [("<|repo_name|>", ids.repo_name), ("<|file_sep|>", ids.file_sep), ("<|fim_middle|>", ids.middle)]:
        assert engine.special_token_id(name) == tid
    order = [t for t in tokens if t in special]
    assert order == [ids.repo_name, ids.file_sep, ids.file_sep, ids.prefix, ids.suffix, ids.middle]
    assert tokens[0] == ids.repo_name and tokens[-1] == ids.middle
    seps = [i for i, t in enumerate(tokens) if t == ids.file_sep]
    assert engine.detokenize(tokens[1 : seps[0]]) == "shop\n"  # the real repository (folder) name
    assert engine.detokenize(tokens[seps[0] + 1 : seps[1]]).startswith("shop/prices.py\ndef with_tax(amount):")
    assert engine.detokenize(tokens[seps[1] + 1 : tokens.index(ids.prefix)]) == "shop/cart.py\n"
    assert files == ["shop/prices.py"]


def test_position_errors_come_before_the_model_loads(model_home, tmp_path):
    proj = _proj(tmp_path, {"a.py": "x = 1\n", "empty.py": ""})
    (proj / "blob.py").write_bytes(b"\x00\xff" * 64)
    for target, message in [
        ("a.py:7", "past the end of the file"),
        ("empty.py:1", "is empty"),
        ("blob.py:1", "binary"),
        ("nope.py:1", "file not found"),
    ]:
        r = run_cli(["complete", target], model_home, cwd=proj, timeout=60)
        assert r.code == 2 and message in r.stderr, (target, r.stderr)
