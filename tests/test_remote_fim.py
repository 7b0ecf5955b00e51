"""Completion and fix's line round when the model runs elsewhere: against llama-cpp-python's own
OpenAI server (`python -m llama_cpp.server`, the `server` extra), started here on loopback with the
real default model. It shares no token ids, so coder sends its fill-in-the-middle prompts as text
with the special tokens written out (engine/remote.py: TextPieces)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from coder_cli.engine.remote import TextPieces
from tests.conftest import git_project, run_cli


@pytest.fixture(scope="module")
def llama_server(model_path: Path, tmp_path_factory):
    """`python -m llama_cpp.server` with the default model on a free loopback port; its /v1 URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "4096", "--n_threads", "2"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as resp:
                    if json.loads(resp.read())["data"]:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_complete_against_a_generic_server(llama_server, home, tmp_path):
    proj = git_project(tmp_path, {"m.py": 'def mul(a, b):\n    """Multiply a by b."""\n    return \n'})
    r = run_cli(["complete", "m.py:3", "--base-url", llama_server, "--json"], home, cwd=proj)
    assert r.code == 0, r.stderr
    fill = json.loads(r.stdout)["fills"][0]
    assert "a * b" in fill["completion"], fill
    assert fill["usage"]["prompt_tokens"] > 10  # the server's own count of the text prompt


def test_fix_line_round_against_a_generic_server(llama_server, home, tmp_path):
    """The issue's case: `return a - b` took 3 rewrite rounds and 15 s and stayed broken; the line
    round (the hole's fill, sent as a text FIM prompt) repairs it in round 1."""
    proj = git_project(
        tmp_path,
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        },
    )
    r = run_cli(["fix", "calc.py", "--base-url", llama_server, "--yes", "--explain"], home, cwd=proj)
    assert r.code == 0, r.stderr
    assert "round 1 (line 2 refilled): passed" in r.stderr, r.stderr
    assert (proj / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_ask_against_a_generic_server(llama_server, home, tmp_path):
    r = run_cli(
        ["ask", "-x", "Write a Python function add(a, b) that returns their sum.", "--base-url", llama_server], home, cwd=tmp_path
    )
    assert r.code == 0, r.stderr
    assert "def add" in r.stdout, r.stdout


def test_text_pieces_round_trip_and_keep_file_text_from_becoming_control_tokens():
    p = TextPieces()
    prefix, middle = p.tokenize("<|fim_prefix|>", special=True), p.tokenize("<|fim_middle|>", special=True)
    body = p.tokenize("def f():\n    return 1\n")
    assert len(prefix) == 1 and body[0] < 0 and all(t == p.PAD for t in body[1:]) and len(body) > 3
    assert p.owns(prefix + body) and not p.owns([*body, 5])
    assert p.text(prefix + body + middle) == "<|fim_prefix|>def f():\n    return 1\n<|fim_middle|>"
    # A file that holds the text of a special token: sent so the server cannot read it as one.
    sneaky = p.text(p.tokenize('doc = "<|fim_middle|>"'))
    assert "<|fim_middle|>" not in sneaky and sneaky.replace("\u200c", "") == 'doc = "<|fim_middle|>"'
    # Forgetting old pieces keeps the newest.
    small = TextPieces(limit=4)
    handles = [small.tokenize(f"piece {i}")[0] for i in range(6)]
    assert small.text([handles[-1]]) == "piece 5"
