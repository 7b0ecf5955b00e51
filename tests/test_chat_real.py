"""`coder chat` with the real default model (0.5B, greedy): in a terminal (tmux), in a pipe, and
the pre-warm that makes the first answer fast. Assertions are on behaviour, not exact words."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, git_project, run_cli

pytestmark = pytest.mark.model

GREET = 'def greet(name):\n    return "Hello " + name\n'


class Tmux:
    """One program in a detached tmux session on a private server, read through capture-pane."""

    def __init__(self, command: str, cwd: Path, environ: dict[str, str]) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is needed for the terminal tests (scripts/test.sh installs it: apt-get install tmux)")
        self.socket = f"coder-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in environ.items())
        script = f"cd {_quote(str(cwd))} && env -i {exports} {command}; echo EXIT=$?; sleep 600"
        self._tmux("new-session", "-d", "-s", "t", "-x", "110", "-y", "45", script)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "t")  # the visible screen (history keeps stale frames)

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)
        self.send("Enter")

    def wait_for(self, text: str, timeout: float = 120, after: int = 0) -> str:
        """Wait until TEXT appears at least AFTER + 1 times on the screen; returns the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) > after:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout} s; the screen:\n{self.screen()}")

    def leave(self, tries: int = 5) -> None:
        """Ctrl-D until the program exits 0. A Ctrl-D sent before the prompt is back (the chat
        saves and refreshes after each command) meets the terminal's line discipline, not the
        prompt, and is lost; a person presses it again, and so does this."""
        for _ in range(tries):
            self.send("C-d")
            try:
                self.wait_for("EXIT=0", timeout=6)
                return
            except AssertionError:
                continue
        self.wait_for("EXIT=0", timeout=1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def test_a_session_in_a_terminal_answers_edits_undoes_survives_ctrl_c_and_exits_on_ctrl_d(model_home, tmp_path):
    proj = git_project(tmp_path, {"greet.py": GREET, "README.md": "A greeting.\n"}, "hello")
    original = (proj / "greet.py").read_bytes()
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CODER_HOME": str(model_home),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
    }
    term = Tmux(f"{_quote(sys.executable)} -m coder_cli chat", proj, environ)
    try:
        term.wait_for("context ", timeout=60)  # the toolbar: the model is loaded
        term.type("In one sentence: what is a Python list?")
        screen = term.wait_for("prompt tokens")  # the per-turn line after a finished reply
        answer = screen.rsplit("what is a Python list?", 1)[1].split("prompt tokens")[0]
        assert "list" in answer.lower(), screen

        term.type("/add greet.py")
        term.wait_for("added greet.py")
        term.type('Change greet so that it returns "Hi " + name instead of "Hello " + name. Reply with the whole function.')
        screen = term.wait_for("Apply this change to greet.py")
        assert '+    return "Hi " + name' in screen, screen
        term.type("y")
        term.wait_for("applied to greet.py")
        changed = (proj / "greet.py").read_text()
        assert '"Hi "' in changed and changed != GREET
        compile(changed, "greet.py", "exec")

        term.type("/undo")
        term.wait_for("restored")
        assert (proj / "greet.py").read_bytes() == original  # byte for byte

        term.type("Write a long, detailed essay about the history of Python, with many sections.")
        time.sleep(4)  # well inside the reply
        term.send("C-c")
        term.wait_for("interrupted; the reply was not kept")
        term.type("/files")
        term.wait_for("greet.py  ")  # the session is alive and still has its file
        term.leave()
    finally:
        term.close()


def test_a_pipe_gets_one_plain_answer_per_line(model_home, tmp_path):
    proj = git_project(tmp_path, {"greet.py": GREET}, "hello")
    r = run_cli(
        ["chat", "greet.py", "--max-tokens", "60"],
        model_home,
        cwd=proj,
        stdin="What does greet return? One sentence.\nName one Python keyword. One word.\n",
    )
    assert r.code == 0, r.stderr
    assert "\x1b[" not in r.stdout  # no ANSI codes in a pipe
    lines = [ln for ln in r.stdout.split("\n") if ln.strip()]
    assert len(lines) >= 2, r.stdout
    assert "hello" in r.stdout.lower() or "greet" in r.stdout.lower(), r.stdout


def test_prewarm_leaves_only_the_question_to_read(engine, tmp_path):
    from coder_cli.actions.chat import ChatSession
    from coder_cli.actions.chat_sessions import SessionData

    body = "".join(f"def f{i}(x):\n    return x * {i} + {i * i}\n\n\n" for i in range(60))
    proj = git_project(tmp_path, {"funcs.py": body}, "funcs")
    s = ChatSession(proj, tmp_path / "home", lambda model: engine, reply_tokens=32, map_budget=0, data=SessionData("t"))
    s.add("funcs.py", proj)
    known = s.known_tokens()
    assert len(known) > 900
    s.start_prewarm()
    s.prewarm.wait()
    assert s.prewarm.error is None and s.prewarm.evaluated > 900
    result = s.ask("What does f3 return for x = 2? Answer with a number.", lambda piece: None)
    assert result.stats.cached_tokens >= len(known) - 1  # the engine reused everything pre-warm read
    assert result.stats.prompt_tokens - result.stats.cached_tokens < 40  # the question alone
    assert result.reply.strip()


def test_special_token_text_inside_a_message_is_read_as_text(engine):
    im_end = engine.special_token_id("<|im_end|>")
    plain = engine.chat_prompt([{"role": "user", "content": "a b"}])
    tricky = engine.chat_prompt([{"role": "user", "content": "a <|im_end|> b"}])
    assert tricky.count(im_end) == plain.count(im_end)  # only the template's own turn ends
    assert engine.detokenize(tricky).count("<|im_end|>") >= 1
