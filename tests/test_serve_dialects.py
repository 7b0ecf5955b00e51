"""`coder serve` speaking llama.cpp server's completion dialect (llama.vim, llama.vscode) and
Ollama's (Continue, Twinny), with the request bodies those clients send (tests/fixtures/dialects,
each with a note of where its shape comes from), against the real default model."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from coder_cli.actions.serve import Server
from coder_cli.actions.serve.dialects import fim_from_prompt, infill_request, pick_fields
from coder_cli.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "dialects"


def fixture(name: str) -> dict:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.pop("_source")
    return body


@pytest.fixture(scope="module")
def real_server(engine, tmp_path_factory):
    """A Server around the session's real engine, on a free loopback port."""
    server = Server(engine, tmp_path_factory.mktemp("dialect-home"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.httpd.server_close()


def call(server: Server, method: str, path: str, body: dict | None = None, key: str = "") -> tuple[int, str, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data, {"Content-Type": "application/json"}, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


# -- llama.cpp's dialect -------------------------------------------------------------------------
def test_llamavim_infill_gets_the_flattened_fields_it_asks_for(real_server):
    status, kind, raw = call(real_server, "POST", "/infill", fixture("llamavim_infill"))
    assert status == 200 and kind == "application/json", raw
    answer = json.loads(raw)
    # Exactly the fields asked for, nested ones under their path, as llama.cpp answers them.
    assert set(answer) == {
        "content", "timings/prompt_n", "timings/prompt_ms", "timings/prompt_per_token_ms", "timings/prompt_per_second",
        "timings/predicted_n", "timings/predicted_ms", "timings/predicted_per_token_ms", "timings/predicted_per_second",
        "truncated", "tokens_cached",
    }  # fmt: skip
    # The cursor is after `    return math.pi * ` in circle_area: the fill finishes that line, and stops there.
    assert "radius" in answer["content"] and "\n" not in answer["content"].strip("\n"), answer
    assert answer["timings/predicted_n"] > 0 and answer["timings/prompt_n"] > 0
    assert answer["tokens_cached"] >= answer["timings/prompt_n"]


def test_llamavim_cache_warming_reads_the_prompt_and_answers_nothing(real_server):
    status, _, raw = call(real_server, "POST", "/infill", fixture("llamavim_warm"))
    assert status == 200 and json.loads(raw) == {}  # response_fields [""] asks for nothing


def test_llamavscode_infill_gets_the_whole_answer(real_server):
    status, _, raw = call(real_server, "POST", "/infill", fixture("llamavscode_infill"))
    assert status == 200, raw
    answer = json.loads(raw)
    assert "radius" in answer["content"], answer
    assert answer["stop"] is True and answer["truncated"] is False
    assert answer["generation_settings"]["n_ctx"] == real_server.engine.info.n_ctx
    t = answer["timings"]
    assert t["predicted_n"] == answer["tokens_predicted"] > 0
    assert {"prompt_n", "prompt_ms", "prompt_per_second", "predicted_ms", "predicted_per_second"} <= set(t)
    status, _, raw = call(real_server, "POST", "/infill", fixture("llamavscode_warm"))
    assert status == 200 and json.loads(raw)["content"] == ""


def test_infill_streams_as_llamacpp_does(real_server):
    body = {**fixture("llamavscode_infill"), "stream": True}
    status, kind, raw = call(real_server, "POST", "/infill", body)
    assert status == 200 and kind == "text/event-stream"
    events = [json.loads(line[6:]) for line in raw.split("\n\n") if line.startswith("data: ")]
    assert "[DONE]" not in raw  # llama.cpp's own routes end with the last event, stop: true
    assert events[-1]["stop"] is True and all(e["stop"] is False for e in events[:-1])
    assert "radius" in "".join(e["content"] for e in events)


def test_completion_continues_a_prompt_and_fills_a_fim_prompt(real_server):
    status, _, raw = call(real_server, "POST", "/completion", {"prompt": "def add(a, b):\n    return", "n_predict": 8})
    assert status == 200
    answer = json.loads(raw)
    assert answer["tokens_predicted"] <= 8 and answer["content"], answer
    # A prompt in the model's FIM layout (Twinny's llama.cpp provider) is filled as /infill fills.
    prompt = fixture("twinny_generate")["prompt"]
    status, _, raw = call(real_server, "POST", "/completion", {"prompt": prompt, "stream": False, "max_tokens": 64})
    assert status == 200 and "radius" in json.loads(raw)["content"]


def test_props_and_health(real_server):
    status, _, raw = call(real_server, "GET", "/props")
    props = json.loads(raw)
    assert status == 200 and props["default_generation_settings"]["n_ctx"] == real_server.engine.info.n_ctx
    assert props["total_slots"] == 1 and props["model_path"] == real_server.engine.info.path
    status, _, raw = call(real_server, "GET", "/health")
    assert status == 200 and json.loads(raw)["status"] == "ok"


# -- Ollama's dialect ----------------------------------------------------------------------------
def _ndjson(raw: str) -> list[dict]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def test_continue_fim_through_api_generate(real_server):
    status, _, raw = call(real_server, "POST", "/api/show", {"name": "qwen2.5-coder:0.5b"})
    assert status == 200 and ".Suffix" in json.loads(raw)["template"]  # so Continue sends prompt + suffix
    status, kind, raw = call(real_server, "POST", "/api/generate", fixture("continue_generate"))
    assert status == 200 and kind == "application/x-ndjson"
    lines = _ndjson(raw)
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert all(line["done"] is False for line in lines[:-1])
    text = "".join(line["response"] for line in lines)
    assert "radius" in text and "\n" not in text.strip("\n"), text
    assert lines[-1]["eval_count"] > 0 and lines[-1]["prompt_eval_count"] > 0 and lines[-1]["total_duration"] > 0


def test_twinny_formatted_prompt_through_api_generate(real_server):
    status, _, raw = call(real_server, "POST", "/api/generate", {**fixture("twinny_generate"), "stream": False})
    assert status == 200
    answer = json.loads(raw)
    assert answer["done"] is True and "radius" in answer["response"], answer


def test_ollama_chat_tags_version_and_a_load_request(real_server):
    status, _, raw = call(real_server, "POST", "/api/chat", fixture("ollama_chat"))
    assert status == 200
    lines = _ndjson(raw)
    text = "".join(line["message"]["content"] for line in lines)
    assert "def " in text and lines[-1]["done"] is True and lines[-1]["message"]["role"] == "assistant"
    status, _, raw = call(real_server, "GET", "/api/tags")
    (model,) = json.loads(raw)["models"]
    assert model["name"].endswith(":latest") and model["details"]["format"] == "gguf" and model["size"] > 0
    assert json.loads(call(real_server, "GET", "/api/version")[2])["version"]
    status, _, raw = call(real_server, "POST", "/api/generate", {"model": "qwen2.5-coder:0.5b"})
    assert status == 200 and json.loads(raw)["done_reason"] == "load"
    status, _, raw = call(
        real_server,
        "POST",
        "/api/generate",
        {"model": "x", "prompt": "Say hi.", "raw": True, "stream": False, "options": {"num_predict": 4}},
    )
    assert status == 200 and json.loads(raw)["eval_count"] <= 4


# -- the requests read as values (no model) --------------------------------------------------------
def test_infill_request_puts_the_cursor_after_prompt():
    req, n = infill_request(fixture("llamavim_infill"))
    assert req.prefix.endswith('"""The area of a circle of RADIUS."""\n    return math.pi * ') and n == 128
    assert req.suffix.startswith("\n\n\ndef main")
    assert req.extra == (("shapes/square.py", "def square_area(side):\n    return side * side\n"),)
    assert req.own_context is False and req.path.name == "untitled.py"  # the language from the chunks' names
    assert req.time_limit == 0.25 and req.max_tokens == 128
    req, _ = infill_request(fixture("llamavscode_infill"))
    assert req.own_context is True and req.path == Path("/nonexistent-project/shapes/untitled.py")


@pytest.mark.parametrize(
    "body",
    [
        {"input_prefix": 3},
        {"input_extra": "x"},
        {"input_extra": [1]},
        {"n_predict": "a"},
        {"n_predict": -5},
        {"t_max_predict_ms": -1},
    ],
)
def test_bad_infill_fields_are_refused(body):
    with pytest.raises(UsageError):
        infill_request(body)


def test_pick_fields_flattens_paths_and_skips_missing():
    answer = {"content": "x", "timings": {"prompt_n": 3}}
    assert pick_fields(answer, ["content", "timings/prompt_n", "timings/nope", ""]) == {"content": "x", "timings/prompt_n": 3}
    assert pick_fields(answer, None) is answer


def test_fim_from_prompt_reads_back_the_layouts():
    req = fim_from_prompt(
        "<|repo_name|>p\n<|file_sep|>a.py\nx = 1\n<|file_sep|>b.py\n<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>"
    )
    assert (req.prefix, req.suffix, req.extra, req.path.name) == ("def f():", "\n", (("a.py", "x = 1\n"),), "b.py")
    req = fim_from_prompt("Context:\n\nfoo\n<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>c")
    assert (req.prefix, req.suffix, req.extra) == ("ac", "b", (("context", "Context:\n\nfoo\n"),))
    assert fim_from_prompt("def f():\n    return") is None
    assert fim_from_prompt("<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>c<|fim_prefix|>") is None
