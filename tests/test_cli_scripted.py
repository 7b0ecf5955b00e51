"""Command logic with the scripted engine (deterministic; the real model is tested elsewhere)."""

import json

from tests.conftest import run_cli, run_inprocess


def test_stdin_and_prompt_are_combined(tmp_path, home, scripted):
    model, calls = scripted("Looks fine.")
    r = run_inprocess(["ask", "--model", model, "review this"], home, tmp_path, stdin="diff --git a/x b/x\n+1\n")
    assert r.code == 0, r.stderr
    assert r.stdout == "Looks fine.\n"
    user = calls()[0]["messages"][-1]["content"]
    assert user.startswith("```diff\ndiff --git a/x b/x\n+1\n```")
    assert user.endswith("review this")


def test_dash_reads_the_prompt_from_stdin_alone(tmp_path, home, scripted):
    model, calls = scripted("ok")
    r = run_inprocess(["ask", "--model", model, "-"], home, tmp_path, stdin="what is 2+2?")
    assert r.code == 0
    assert calls()[0]["messages"][-1]["content"] == "what is 2+2?"


def test_files_join_the_prompt_and_system_is_replaced(tmp_path, home, scripted):
    model, calls = scripted("ok")
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    r = run_inprocess(["ask", "-m", model, "-s", "Be brief.", "-f", str(f), "explain"], home, tmp_path)
    assert r.code == 0, r.stderr
    messages = calls()[0]["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert f"{f}\n```python\nx = 1\n```" in messages[1]["content"]


def test_extract_prints_only_code(tmp_path, home, scripted):
    model, _ = scripted("Here you go:\n```python\nprint('hi')\n```\nEnjoy!")
    r = run_inprocess(["ask", "-m", model, "-x", "say hi"], home, tmp_path)
    assert r.code == 0
    assert r.stdout == "print('hi')\n"


def test_json_has_typed_fields(tmp_path, home, scripted):
    model, calls = scripted("```python\nx = 1\n```")
    r = run_inprocess(["ask", "-m", model, "--json", "-x", "--max-tokens", "50", "go"], home, tmp_path)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["reply"] == "```python\nx = 1\n```" and data["code"] == "x = 1\n"
    assert isinstance(data["usage"]["prompt_tokens"], int) and data["usage"]["completion_tokens"] > 0
    assert isinstance(data["timing"]["total_s"], float)
    assert data["finish_reason"] == "stop"
    assert calls()[0]["params"]["max_tokens"] == 50


def test_empty_stdin_is_a_usage_error(tmp_path, home, scripted):
    model, calls = scripted("never")
    r = run_inprocess(["ask", "-m", model, "-"], home, tmp_path, stdin="")
    assert r.code == 2
    assert "standard input was empty" in r.stderr
    assert calls() == []


def test_no_prompt_at_a_terminal_is_a_usage_error(tmp_path, home, scripted):
    model, _ = scripted("never")
    r = run_inprocess(["ask", "-m", model], home, tmp_path)
    assert r.code == 2 and "nothing to ask" in r.stderr


def test_prompt_over_the_context_names_the_parts(tmp_path, home, scripted):
    model, calls = scripted("never", n_ctx=300)
    big = tmp_path / "big.txt"
    big.write_text("word " * 400)
    r = run_inprocess(["ask", "-m", model, "-f", str(big), "summarise"], home, tmp_path)
    assert r.code == 2
    assert "tokens over" in r.stderr and f"file {big}" in r.stderr and "nothing was truncated" in r.stderr
    assert calls() == []


def test_reply_limited_by_context_says_so(tmp_path, home, scripted):
    model, calls = scripted("a b c", n_ctx=300)
    r = run_inprocess(["ask", "-m", model, "--max-tokens", "1000", "hi"], home, tmp_path)
    assert r.code == 0
    assert "reply limited to" in r.stderr
    assert calls()[0]["params"]["max_tokens"] < 300


def test_missing_file_is_a_usage_error(tmp_path, home, scripted):
    model, _ = scripted("never")
    r = run_inprocess(["ask", "-m", model, "-f", str(tmp_path / "nope.py"), "x"], home, tmp_path)
    assert r.code == 2 and "file not found" in r.stderr


def test_unknown_model_has_close_matches_and_exit_3(tmp_path, home):
    r = run_inprocess(["ask", "-m", "qwen2.5-coder-0.5b-instruc", "hi"], home, tmp_path)
    assert r.code == 3
    assert "unknown model" in r.stderr and "qwen2.5-coder-0.5b-instruct" in r.stderr


def test_non_gguf_model_path_is_refused_before_llama_cpp(tmp_path, home):
    bad = tmp_path / "model.gguf"
    bad.write_text("not a model")
    r = run_inprocess(["ask", "-m", str(bad), "hi"], home, tmp_path)
    assert r.code == 3 and "not a GGUF model file" in r.stderr


def test_models_list_json(tmp_path, home):
    r = run_inprocess(["models", "list", "--json"], home, tmp_path)
    assert r.code == 0
    rows = json.loads(r.stdout)
    assert {row["id"] for row in rows} >= {"qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-7b-instruct"}
    assert all(row["installed"] is False for row in rows)


def test_models_path_and_rm_stay_in_the_store(tmp_path, home):
    r = run_inprocess(["models", "path", "0.5b"], home, tmp_path)
    assert r.stdout.strip() == str(home / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    assert r.code == 1  # not installed
    r = run_inprocess(["models", "rm", "0.5b"], home, tmp_path)
    assert r.code == 0 and "was not installed" in r.stderr


def test_pull_without_mirror_or_network_names_the_fix(tmp_path, home):
    r = run_inprocess(["models", "pull", "3b"], home, tmp_path)
    assert r.code == 3
    assert "cannot download" in r.stderr and "hint:" in r.stderr
    assert not list((home / "models").glob("*.gguf"))


def test_not_installed_model_without_mirror_is_not_downloaded_silently(tmp_path, home):
    r = run_inprocess(["ask", "-m", "7b", "hi"], home, tmp_path)
    assert r.code == 3
    assert "not installed" in r.stderr and "coder models pull qwen2.5-coder-7b-instruct" in r.stderr


def test_help_shows_the_help_of_arguments(tmp_path, home):
    # typer 0.20 with click 8.5 dropped every argument's help text; cli.app puts it back.
    for args, text in [(["fix", "--help"], "The file to repair"), (["complete", "--help"], "fill its <FILL> markers")]:
        r = run_cli(args, home, tmp_path, COLUMNS="200")
        assert r.code == 0 and text in " ".join(r.stdout.split()), r.stdout
