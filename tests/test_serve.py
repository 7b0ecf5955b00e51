"""`coder serve` and the remote engine: the HTTP protocol with the scripted engine, a stand-in
OpenAI-compatible server for the generic path, and the real model end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coder_cli.actions.serve import Queue, Server
from coder_cli.engine.base import GenParams
from coder_cli.engine.remote import Endpoint, RemoteEngine, ServerError, estimate_tokens
from coder_cli.engine.scripted import ScriptedEngine
from coder_cli.engine.server_record import find_server
from coder_cli.errors import ConfigError, ContextOverflow, UsageError
from tests.conftest import clean_environ, run_cli, run_inprocess


@pytest.fixture
def served(tmp_path):
    """A Server on a free loopback port around a scripted engine; yields (server, engine)."""
    started = []

    def start(*replies: str, api_key: str = "", n_ctx: int = 4096):
        engine = ScriptedEngine(list(replies), n_ctx=n_ctx, fim=True)
        server = Server(engine, tmp_path / "home", "127.0.0.1", 0, api_key)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server, engine

    yield start
    for server, thread in started:
        server.shutdown()
        thread.join(5)


def post(url: str, body: dict, key: str = "") -> tuple[int, dict | str]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read().decode()
            return resp.status, json.loads(raw) if resp.headers["Content-Type"] == "application/json" else raw
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_chat_completions_plain_and_streamed(served):
    server, engine = served("Hello there friend")
    status, data = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 50})
    assert status == 200
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "Hello there friend"}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] == 3
    assert data["usage"]["prompt_tokens"] > 0

    status, raw = post(
        server.url + "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "max_tokens": 2,
            "stream_options": {"include_usage": True},
        },
    )
    events = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Hello there"  # max_tokens 2
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert engine.calls[-1]["params"]["max_tokens"] == 2


def test_completions_take_token_ids_and_tokenize_round_trips(served):
    server, engine = served("filled in")
    status, data = post(server.url + "/tokenize", {"content": "def add ( a , b ) :"})
    assert status == 200 and data["count"] == 8
    status, text = post(server.url + "/detokenize", {"tokens": data["tokens"]})
    assert text == {"content": "def add ( a , b ) :"}
    status, out = post(server.url + "/v1/completions", {"prompt": data["tokens"], "max_tokens": 8})
    assert status == 200 and out["choices"][0]["text"] == "filled in"
    assert engine.calls[-1] == {"kind": "complete", "tokens": data["tokens"], "params": {"max_tokens": 8, "temperature": 0.0}}
    status, chat = post(server.url + "/tokenize", {"messages": [{"role": "user", "content": "x y"}]})
    assert chat["tokens"] == engine.chat_prompt([{"role": "user", "content": "x y"}])


def test_bad_requests_get_clear_errors_and_the_server_goes_on(served):
    server, _ = served("ok", n_ctx=50)
    status, data = post(server.url + "/v1/chat/completions", {"messages": []})
    assert status == 400 and "messages" in data["error"]["message"]
    status, data = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "w " * 80}]})
    assert status == 400 and data["error"]["type"] == "context_length_exceeded"
    status, data = post(server.url + "/v1/nothing", {})
    assert status == 404
    status, data = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "temperature": 9})
    assert status == 400 and "temperature" in data["error"]["message"]
    status, data = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
    assert status == 200


def test_api_key_required_off_loopback_and_checked_when_set(served, tmp_path):
    with pytest.raises(UsageError, match="anyone who reaches it"):
        Server(ScriptedEngine(["x"]), tmp_path, "0.0.0.0", 0, "")
    server, _ = served("secret reply", api_key="k123")
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert post(server.url + "/v1/chat/completions", body)[0] == 401
    assert post(server.url + "/v1/chat/completions", body, key="wrong")[0] == 401
    assert post(server.url + "/v1/chat/completions", body, key="k123")[0] == 200
    engine = RemoteEngine(Endpoint.parse(server.url, "k123"), server_info=_info(server.url, "k123"))
    assert engine.chat(body["messages"], GenParams()).text() == "secret reply"
    with pytest.raises(ConfigError, match="401"):
        RemoteEngine(Endpoint.parse(server.url, "bad"), server_info={"model": "m", "n_ctx": 9}).chat(
            body["messages"], GenParams()
        ).text()


def _info(url: str, key: str = "") -> dict:
    return Endpoint.parse(url, key).get_json(Endpoint.parse(url, key).root + "/coder/info")


def test_remote_engine_against_coder_serve_is_exact(served):
    server, engine = served("a + b")
    remote = RemoteEngine(Endpoint.parse(server.url + "/v1"), server_info=_info(server.url))
    assert remote.info.model == "scripted" and remote.n_ctx == 4096
    assert remote.tokenize("x = 1") == engine.tokenize("x = 1")
    msgs = [{"role": "user", "content": "add them"}]
    assert remote.chat_prompt(msgs) == engine.chat_prompt(msgs)
    assert remote.fim_tokens() == engine.fim_tokens()
    gen = remote.complete(engine.tokenize("def add(a, b): return"), GenParams(max_tokens=5))
    assert gen.text() == "a + b"
    assert gen.stats.completion_tokens == 3 and gen.stats.prompt_tokens == 4
    assert remote.prefill(engine.tokenize("one two three")) == 3
    cancelled = threading.Event()
    cancelled.set()
    assert remote.prefill(engine.tokenize("four five"), cancelled) == 0  # given up at once, not waited for
    assert [s.token for s in remote.score([100], [101, 102])] == [101, 102]
    # Probes travel both ways: the rated tokens at a position, and after the last one.
    rows = remote.score([100], [101, 102], {1: [5, 103], 2: [5]})
    assert [s.probes for s in rows] == [(), (-1.0, -5.0), (-1.0,)] and rows[-1].token == -1


def test_queue_serves_in_arrival_order():
    q = Queue()
    order: list[int] = []
    q.__enter__()
    threads = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (q.__enter__(), order.append(i), q.__exit__()))
        t.start()
        threads.append(t)
        while q.waiting < i + 1:
            time.sleep(0.005)
    assert q.waiting == 5
    q.__exit__()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


class _OpenAIStandIn(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that is not `coder serve` (no /coder/info, no /tokenize)."""

    status = 200
    whole = False  # ignore stream=true: answer with the whole message and llama.cpp server's timings

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        if self.path == "/v1/models":
            self._json(200, {"data": [{"id": "big-model", "max_model_len": 32768}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).last = body
        if self.status != 200:
            self._json(self.status, {"error": {"message": "model overloaded"}})
            return
        if self.whole:
            usage = {"prompt_tokens": 21, "completion_tokens": 5}
            message = {"role": "assistant", "content": "The answer is 42."}
            timings = {"prompt_ms": 120.5, "predicted_ms": 250.0}
            self._json(200, {"choices": [{"message": message, "finish_reason": "stop"}], "usage": usage, "timings": timings})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ["The ", "answer ", "is 42."]:
            self.wfile.write(b"data: " + json.dumps({"choices": [{"delta": {"content": piece}}]}).encode() + b"\n\n")
        usage = {"prompt_tokens": 21, "completion_tokens": 5}
        self.wfile.write(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\ndata: [DONE]\n\n")

    def _json(self, status, data):
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def stand_in():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIStandIn)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _OpenAIStandIn.status = 200
    _OpenAIStandIn.whole = False
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_generic_server_chat_with_estimated_counts_then_usage(stand_in):
    remote = RemoteEngine(Endpoint.parse(stand_in))
    assert remote.info.model == "big-model" and remote.n_ctx == 32768
    assert remote.fim_tokens() is None
    assert 3 <= remote.count_tokens("def parse_date(text): return None") <= 14
    gen = remote.chat([{"role": "user", "content": "6 * 7?"}], GenParams(max_tokens=20, temperature=0.5, seed=3))
    assert gen.text() == "The answer is 42."
    assert (gen.stats.prompt_tokens, gen.stats.completion_tokens) == (21, 5)  # the server's usage numbers
    sent = _OpenAIStandIn.last
    assert sent["model"] == "big-model" and sent["stream"] is True and sent["max_tokens"] == 20 and sent["seed"] == 3
    with pytest.raises(Exception, match="tokenizer"):
        remote.complete([1, 2], GenParams())


def test_a_reply_in_one_piece_takes_the_servers_clock(stand_in):
    """A server that ignores stream=true sends the reply at once: the client's clock would say 0 s of
    generation (a chat turn once read "67 tokens at 0/s"); the server's timings say how long it took."""
    _OpenAIStandIn.whole = True
    gen = RemoteEngine(Endpoint.parse(stand_in)).chat([{"role": "user", "content": "6 * 7?"}], GenParams())
    assert gen.text() == "The answer is 42."
    assert gen.stats.completion_tokens == 5 and gen.stats.generate_s == 0.25
    assert gen.stats.tokens_per_s == 16.0  # 4 tokens after the first, in 0.25 s


def test_generic_server_errors_are_clear(stand_in):
    remote = RemoteEngine(Endpoint.parse(stand_in))
    _OpenAIStandIn.status = 503
    with pytest.raises(ServerError, match="HTTP 503: model overloaded"):
        remote.chat([{"role": "user", "content": "hi"}], GenParams()).text()
    _OpenAIStandIn.status = 400
    with pytest.raises(ServerError, match="HTTP 400"):
        remote.chat([{"role": "user", "content": "hi"}], GenParams()).text()


def test_ask_through_the_generic_backend(stand_in, home):
    r = run_inprocess(["ask", "--backend", "openai", "--base-url", stand_in, "--json", "6 * 7?"], home, home)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["reply"] == "The answer is 42." and data["model"] == "big-model"
    assert _OpenAIStandIn.last["messages"][-1]["content"].endswith("6 * 7?")


def test_chat_and_complete_through_the_generic_backend(stand_in, home, tmp_path):
    from tests.conftest import git_project

    proj = git_project(tmp_path, {"calc.py": "def add(a, b):\n    return \n"})
    r = run_inprocess(["chat", "--base-url", stand_in, "--model", "big-model"], home, proj, stdin="q1\nq2\n")
    assert r.code == 0, r.stderr
    assert r.stdout == "The answer is 42.\nThe answer is 42.\n"
    assert [m["content"] for m in _OpenAIStandIn.last["messages"][-3:]] == ["q1", "The answer is 42.", "q2"]
    r = run_inprocess(["complete", "--base-url", stand_in, "calc.py:2"], home, proj)
    assert r.code == 3 and "token ids" in r.stderr and "coder serve" in r.stderr


def test_refused_connection_is_a_clear_error(home):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_inprocess(["ask", "--base-url", f"http://127.0.0.1:{port}/v1", "hi"], home, home)
    assert r.code == 3
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused" in r.stderr
    assert "is the server running?" in r.stderr
    r = run_inprocess(["ask", "--backend", "openai", "hi"], home, home)
    assert r.code == 3 and "--base-url" in r.stderr


def test_find_server_skips_stale_records_and_honours_off(tmp_path, served):
    home = tmp_path / "h"
    home.mkdir()
    assert find_server(home, {}) is None
    (home / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 2**22 + 12345}))
    assert find_server(home, {}) is None  # a dead pid: not even asked
    server, _ = served("x")
    assert find_server(home, {"CODER_SERVER": server.url})[1]["model"] == "scripted"
    assert find_server(home, {"CODER_SERVER": "off"}) is None
    assert find_server(server.home, {})[0].root == server.url  # through the file it wrote
    assert len(estimate_tokens("abc def")) == 2


def test_context_overflow_from_the_server_is_a_usage_error(served):
    server, _ = served("ok", n_ctx=30)
    remote = RemoteEngine(Endpoint.parse(server.url), server_info=_info(server.url))
    with pytest.raises(ContextOverflow):
        remote.chat([{"role": "user", "content": "w " * 60}], GenParams()).text()


# -- the real model, end to end ------------------------------------------------------------------
def _start_serve(home: Path, model_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "serve", "--port", "0", "--model", str(model_path), "--ctx", "4096", *extra],
        env=clean_environ(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    record = home / "server.json"
    deadline = time.time() + 120
    while not record.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"coder serve did not start: {proc.communicate()[1]}")
        time.sleep(0.1)
    return proc, json.loads(record.read_text())["url"]


@pytest.mark.model
def test_serve_end_to_end_with_the_real_model(tmp_path, model_path):
    home = tmp_path / "home"
    home.mkdir()
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return \n")
    proc, url = _start_serve(home, model_path)
    try:

        def answered(expected: int) -> bool:
            """The server has answered EXPECTED requests (one its client closed early counts once the
            server notices, a token or two later)."""
            for _ in range(100):
                n = _info(url)["served"]
                if n >= expected:
                    return n == expected
                time.sleep(0.1)
            return False

        # `ask` finds the server through the file in CODER_HOME and uses it.
        r = run_cli(["ask", "What is 17 + 25? Answer with the number only."], home, proj)
        assert r.code == 0, r.stderr
        assert "42" in r.stdout
        assert answered(1)
        # `complete --stdin-json` too: two requests in one process, both answered by the server.
        requests = [
            {"path": "calc.py", "line": 6, "id": 1},
            {"path": "calc.py", "prefix": "def sub(a, b):\n    return ", "suffix": "\n", "id": 2},
        ]
        r = run_cli(["complete", "--stdin-json"], home, proj, stdin="".join(json.dumps(q) + "\n" for q in requests))
        assert r.code == 0, r.stderr
        answers = [json.loads(line) for line in r.stdout.splitlines()]
        assert [a["id"] for a in answers] == [1, 2] and all("error" not in a for a in answers)
        assert "a" in answers[0]["completion"] and "b" in answers[0]["completion"]
        assert answered(3)
        # The remote backend path, named explicitly (and with discovery off).
        r = run_cli(
            [
                "ask",
                "--backend",
                "openai",
                "--base-url",
                f"{url}/v1",
                "--json",
                "What is 6 times 7? Answer with the number only.",
            ],
            home,
            proj,
            CODER_SERVER="off",
        )
        assert r.code == 0, r.stderr
        assert "42" in json.loads(r.stdout)["reply"]
        assert answered(4)
        # CODER_SERVER=off: the command loads its own model and the server sees nothing.
        r = run_cli(["ask", "--model", str(model_path), "Say ok."], home, proj, CODER_SERVER="off")
        assert r.code == 0 and _info(url)["served"] == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "coder serve stopped (4 requests served)" in err
    assert not (home / "server.json").exists()
    # With the server gone, the stale URL is a clear error, and discovery falls back in-process.
    r = run_cli(["ask", "--base-url", f"{url}/v1", "hi"], home, proj)
    assert r.code == 3 and "connection refused" in r.stderr
    assert os.environ.get("CODER_SERVER") is None


def test_chat_runs_unchanged_through_a_server_found_by_coder_server(served, home, tmp_path):
    """The whole `coder chat` path over HTTP: history, the exact prompt and an edit applied."""
    from tests.conftest import git_project

    reply = "greet.py\n```python\ndef greet(name):\n    return 'Hi ' + name\n```"
    server, engine = served("first answer", reply)
    proj = git_project(tmp_path, {"greet.py": "def greet(name):\n    return 'Hello ' + name\n"})
    r = run_inprocess(["chat", "--yes", "greet.py"], home, proj, stdin="q1\nmake it Hi\n", CODER_SERVER=server.url)
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("first answer\n")
    assert "applied to greet.py" in r.stderr
    assert (proj / "greet.py").read_text() == "def greet(name):\n    return 'Hi ' + name\n"
    assert [c["kind"] for c in engine.calls] == ["chat", "chat"]
    second = [c for c in engine.calls if c["kind"] == "chat"][1]["messages"]
    assert [m["content"] for m in second[-3:]] == ["q1", "first answer", "make it Hi"]


@pytest.mark.slow
def test_fix_runs_through_a_server_with_its_line_round(served, home, tmp_path):
    """`coder fix` over HTTP: the FIM line round (token ids, scores) and the whole-unit round."""
    import shutil

    fixtures = Path(__file__).parent / "fixtures" / "fix"
    proj = tmp_path / "proj"
    shutil.copytree(fixtures / "wrong_operator", proj)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    good = '```python\ndef area(width, height):\n    """Area of a rectangle."""\n    return width * height\n```\n'
    server, engine = served(good)
    test = "--test=python -m pytest -q -p no:cacheprovider test_mod.py"
    r = run_inprocess(["fix", "mod.py", test, "--yes"], home, proj, CODER_SERVER=server.url)
    assert r.code == 0, r.stderr
    assert "return width * height" in (proj / "mod.py").read_text()
    kinds = [c["kind"] for c in engine.calls]
    assert "complete" in kinds and "chat" in kinds, kinds  # the line round, then the unit round


def _raw(url: str, path: str, body: bytes, headers: dict) -> tuple[int, str]:
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
    conn.putrequest("POST", path, skip_host="Host" in headers)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


def test_browser_pages_and_foreign_hosts_are_refused_on_loopback(served):
    server, _ = served("ok")
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    n = str(len(body))
    # DNS rebinding: the page's own name resolves to 127.0.0.1, so its Host is foreign.
    status, text = _raw(server.url, "/v1/chat/completions", body, {"Host": "attacker.example:8741", "Content-Length": n})
    assert status == 403 and "not this machine" in text
    status, text = _raw(server.url, "/v1/chat/completions", body, {"Origin": "http://evil.example", "Content-Length": n})
    assert status == 403 and "web page" in text
    # A page on another local port (a dev server, a notebook) is another origin: refused (issue 16).
    status, text = _raw(server.url, "/v1/chat/completions", body, {"Origin": "http://localhost:3000", "Content-Length": n})
    assert status == 403 and "web page" in text
    own = f"http://localhost:{server.port}"
    assert _raw(server.url, "/v1/chat/completions", body, {"Origin": own, "Content-Length": n})[0] == 200
    assert _raw(server.url, "/v1/chat/completions", body, {"Content-Length": "abc"})[0] == 400
    assert _raw(server.url, "/v1/chat/completions", body, {"Transfer-Encoding": "chunked"})[0] == 400


def test_coder_complete_reads_files_only_for_the_token_holder(served, tmp_path):
    from tests.conftest import git_project

    server, _ = served("a + b")
    proj = git_project(tmp_path, {"calc.py": "def add(a, b):\n    return \n"})
    request = {"cwd": str(proj), "path": "calc.py", "line": 2}
    status, data = post(server.url + "/coder/complete", request)
    assert status == 401 and "server.json" in data["error"]["message"]
    token = json.loads((server.home / "server.json").read_text())["token"]
    assert oct((server.home / "server.json").stat().st_mode & 0o777) == "0o600"
    status, data = post(server.url + "/coder/complete", request, key=token)
    assert status == 200 and data["completion"] == "a + b"


class _FailingEngine(ScriptedEngine):
    """Writes one piece, then fails the way a llama_decode error would."""

    def chat(self, messages, params):
        from coder_cli.engine.base import Generation, GenStats
        from coder_cli.errors import GenerationError

        def pieces():
            yield "Fix the parser"
            raise GenerationError("llama_decode failed")

        return Generation(pieces(), GenStats())


def test_a_generation_that_fails_mid_stream_is_an_error_not_a_short_reply(tmp_path):
    server = Server(_FailingEngine(["x"]), tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        remote = RemoteEngine(Endpoint.parse(server.url), server_info=_info(server.url))
        gen = remote.chat([{"role": "user", "content": "hi"}], GenParams())
        with pytest.raises(ServerError, match="llama_decode failed"):
            gen.text()
    finally:
        server.shutdown()
        thread.join(5)


def test_a_project_file_cannot_choose_where_code_is_sent(home, tmp_path, stand_in):
    from tests.conftest import git_project

    proj = git_project(tmp_path, {".coder.toml": f'backend = "openai"\nbase_url = "{stand_in}"\napi_key = "x"\n'})
    r = run_inprocess(["config", "show"], home, proj)
    assert "ignoring 'backend'" in r.stderr and "ignoring 'base_url'" in r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
    assert lines["backend"].split()[1] == "local" and stand_in not in r.stdout
    r = run_inprocess(["config", "show"], home, proj, CODER_API_KEY="short")
    assert "short" not in r.stdout


def test_serve_loads_its_model_here_even_when_the_backend_is_remote(tmp_path, scripted):
    model, _ = scripted("ok")
    home = tmp_path / "h"
    home.mkdir()
    env = clean_environ(home, CODER_BACKEND="openai", CODER_BASE_URL="http://127.0.0.1:9/v1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "serve", "--port", "0", "--model", model],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while not (home / "server.json").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert (home / "server.json").exists(), proc.stderr.read() if proc.poll() is not None else "no server file"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "coder serve stopped" in err and not (home / "server.json").exists()


# -- issue 16: every token id a route takes is checked against the vocabulary --------------------
@pytest.mark.parametrize(
    "route, body",
    [
        ("/detokenize", {"tokens": [151_936]}),
        ("/detokenize", {"tokens": [101, -1]}),
        ("/v1/completions", {"prompt": [100, 10**12], "max_tokens": 2}),
        ("/v1/completions", {"prompt": [[-5]], "max_tokens": 2}),
        ("/coder/prefill", {"tokens": [100, 2**31]}),
        ("/coder/score", {"prompt": [100], "continuation": [151_936]}),
        ("/coder/score", {"prompt": [-1], "continuation": [100]}),
        ("/coder/score", {"prompt": [100], "continuation": [100], "probes": {"1": [151_936]}}),
    ],
)
def test_token_ids_outside_the_vocabulary_are_refused(served, route, body):
    """llama.cpp aborts the whole process on an id >= n_vocab (std::out_of_range): refuse it first."""
    server, engine = served("ok")
    status, data = post(server.url + route, body)
    assert status == 400, data
    assert "vocabulary" in data["error"]["message"]
    assert engine.calls == []  # nothing reached the engine
    assert post(server.url + "/detokenize", {"tokens": engine.tokenize("still here")})[1] == {"content": "still here"}


@pytest.mark.model
def test_a_token_id_past_the_real_vocabulary_does_not_kill_the_server(tmp_path, model_path):
    """The real Qwen2 vocabulary (151,936 ids): before the check, /detokenize [151936] ended the
    process with SIGABRT (exit 134)."""
    home = tmp_path / "home"
    home.mkdir()
    proc, url = _start_serve(home, model_path)
    try:
        for route, body in (("/detokenize", {"tokens": [151_936]}), ("/v1/completions", {"prompt": [-1], "max_tokens": 1})):
            try:
                status, data = post(url + route, body)
            except OSError as exc:  # the process died under the request
                pytest.fail(f"{route}: {exc}; server exit {proc.wait(10)}")
            assert status == 400 and "vocabulary" in data["error"]["message"], data
        assert post(url + "/detokenize", {"tokens": [151_935]})[0] == 200  # the last id is fine
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def _stalled_stream(url: str, body: dict) -> socket.socket:
    """A streaming request from a client with a tiny receive buffer that never reads its answer."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect((parts.hostname, parts.port))
    raw = json.dumps(body).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(raw), raw))  # fmt: skip
    return sock


def _read_until_closed(sock, limit_s: float) -> tuple[int, bool]:
    """(bytes read, whether the server closed the connection within LIMIT_S seconds)."""
    got, deadline = 0, time.monotonic() + limit_s
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got, True
        if not chunk:
            return got, True
        got += len(chunk)
    return got, False


def test_a_client_that_stops_reading_does_not_hold_the_engine(served):
    """Before: the stream was written while holding the engine, so a client that never read held it
    until IDLE_TIMEOUT (120 s per blocked write) and every other request waited behind it."""
    from coder_cli.actions.serve.queue import STALL_TIMEOUT

    long_reply = " ".join(f"w{i}" for i in range(20_000))  # ~3 MB of events: more than any socket buffers
    server, _ = served(long_reply, "short answer")
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 20_000}
    stalled = _stalled_stream(server.url, body)
    try:
        time.sleep(0.5)  # its generation holds the engine first
        t0 = time.monotonic()
        status, data = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
        assert status == 200 and data["choices"][0]["message"]["content"] == "short answer"
        assert time.monotonic() - t0 < STALL_TIMEOUT / 2
    finally:
        stalled.close()


class _SlowEngine(ScriptedEngine):
    """Generates a long reply at a model's pace (1 ms a token) and counts what it generated."""

    generated = 0

    def chat(self, messages, params):
        from coder_cli.engine.base import Generation, GenStats

        def pieces():
            for i in range(params.max_tokens):
                time.sleep(0.001)
                type(self).generated += 1
                yield f" w{i}"

        return Generation(pieces(), GenStats())


@pytest.mark.slow
def test_a_stalled_client_is_cut_off_after_the_stall_timeout(tmp_path):
    """Mid-generation (the engine still held) and after it (only its own thread waits): either way
    the client that stopped reading is dropped after STALL_TIMEOUT seconds without progress."""
    from coder_cli.actions.serve.queue import STALL_TIMEOUT

    server = Server(_SlowEngine(["x"]), tmp_path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 60_000}  # a minute's work
    stalled = _stalled_stream(server.url, body)
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        status, _ = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 3})
        waited = time.monotonic() - t0
        assert status == 200 and waited < STALL_TIMEOUT + 5, waited  # its buffers fill in a few s, then the timeout
        assert _SlowEngine.generated < 30_000  # the stalled generation was stopped, not run to its end
        got, closed = _read_until_closed(stalled, 3)
        assert closed and got < 60_000 * 100, got
        assert post(server.url + "/tokenize", {"content": "still up"})[0] == 200
    finally:
        stalled.close()
        server.shutdown()


# -- issue 16: /coder/complete reads only the repository its cwd belongs to -------------------------
def _complete(server, request: dict) -> tuple[int, dict]:
    token = json.loads((server.home / "server.json").read_text())["token"]
    return post(server.url + "/coder/complete", request, key=token)


def test_coder_complete_reads_nothing_outside_the_repository(served, tmp_path):
    """Before: `cwd: "/", path: "etc/passwd"` completed inside the host's password file, and the
    errors told a line from a missing one (a line-length oracle for any file)."""
    from tests.conftest import git_project

    server, engine = served("a + b")
    proj = git_project(tmp_path, {"calc.py": "def add(a, b):\n    return \n"})
    (tmp_path / "secret.txt").write_text("line one\nline two\n")
    (proj / "link.py").symlink_to(tmp_path / "secret.txt")
    status, data = _complete(server, {"cwd": "/", "path": "etc/passwd", "line": 1})
    assert status == 400 and "git repository" in data["error"]["message"], data
    refusals = set()
    for path, line in (("../secret.txt", 1), ("../secret.txt", 99), ("../missing.txt", 1), ("link.py", 2),
                       (str(tmp_path / "secret.txt"), 1), ("/etc/passwd", 1)):  # fmt: skip
        status, data = _complete(server, {"cwd": str(proj), "path": path, "line": line})
        assert status == 200 and "completion" not in data, data
        refusals.add(data["error"].replace(path, "PATH"))
    assert refusals == {"PATH is outside the repository"}  # the same whatever the file holds, or if it is there
    status, data = _complete(server, {"cwd": str(proj), "path": "../secret.txt", "prefix": "x = ", "suffix": ""})
    assert "completion" not in data  # nor does a buffer sent for an outside path pull in its folder
    status, data = _complete(server, {"cwd": str(proj), "path": ".git/config", "line": 1})
    assert "completion" not in data and "outside the repository" in data["error"]
    assert engine.calls == []
    status, data = _complete(server, {"cwd": str(proj), "path": "calc.py", "line": 2, "id": "\udc80"})
    assert data["completion"] == "a + b" and data["id"] == "\udc80"  # (was a 500: the answer would not encode)


def test_coder_complete_reads_regular_files_of_a_bounded_size(served, tmp_path):
    from coder_cli.actions.complete_json import MAX_FILE
    from tests.conftest import git_project

    server, _ = served("a + b")
    proj = git_project(tmp_path, {"big.py": "x = 1\n" * (MAX_FILE // 6 + 1)})
    os.mkfifo(proj / "pipe.py")  # a read would wait for a writer forever, holding the engine
    for path in ("pipe.py", "big.py"):
        status, data = _complete(server, {"cwd": str(proj), "path": path, "line": 1})
        assert status == 200 and "completion" not in data, data
    assert "not a regular file" in _complete(server, {"cwd": str(proj), "path": "pipe.py", "line": 1})[1]["error"]
    assert "over 1 MB" in _complete(server, {"cwd": str(proj), "path": "big.py", "line": 1})[1]["error"]


# -- issue 16, finding 8: requests that were a 500, an empty reply, or too much ---------------------
def test_malformed_fields_are_a_400_not_a_500(served):
    server, _ = served("ok")
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    for body in (
        {**chat, "stream": True, "stream_options": [1]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        {**chat, "temperature": float("nan")},
        {**chat, "seed": 10**30},
    ):
        status, data = post(server.url + "/v1/chat/completions", body)
        assert status == 400, (body, data)
    raw = json.dumps(chat).encode()
    assert _raw(server.url, "/v1/chat/completions", raw, {"Content-Length": "\u00b2"})[0] == 400


def test_a_client_that_half_closes_after_its_request_is_answered(served):
    """shutdown(SHUT_WR) after the request is a legal HTTP/1.0 client; it read EOF, was taken for gone
    and got an empty reply. Streamed or not, it is answered."""
    from urllib.parse import urlsplit

    server, _ = served("Hello there friend")
    parts = urlsplit(server.url)
    for stream in (False, True):
        raw = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": stream}).encode()
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw))
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 200"), (stream, reply)
        assert b"friend" in reply


def test_tokenizing_waits_for_the_engine(served):
    """llama.cpp's vocabulary calls are not documented thread-safe against a decode: /tokenize and
    /detokenize run through the queue like every other use of the engine."""
    server, engine = served("ok")
    results = []
    server.queue.__enter__()  # a generation holds the engine
    try:
        for route, body in (("/tokenize", {"content": "a b"}), ("/detokenize", {"tokens": [100]})):
            t = threading.Thread(target=lambda r=route, b=body: results.append(post(server.url + r, b)[0]))
            t.start()
            t.join(1.0)
            assert t.is_alive() and results == [], route  # waiting its turn
            server.queue.__exit__()
            t.join(5)
            assert results.pop() == 200
            server.queue.__enter__()
    finally:
        server.queue.__exit__()


def test_connections_past_the_cap_get_a_quick_503(served):
    from urllib.parse import urlsplit

    from coder_cli.actions.serve.server import EVICT_AFTER, EVICT_WAIT, MAX_CONNECTIONS

    server, _ = served("ok")
    parts = urlsplit(server.url)
    idle = [socket.create_connection((parts.hostname, parts.port), timeout=10) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # every one holds a handler thread, waiting for its request
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as extra:
            extra.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            assert extra.recv(65536).startswith(b"HTTP/1.0 503")
        # Review of issue 16: 64 sockets that never send a request (no credentials needed) held every
        # slot for IDLE_TIMEOUT. Once they have idled EVICT_AFTER, a new request takes the oldest's slot.
        time.sleep(EVICT_AFTER)
        t0 = time.monotonic()
        with urllib.request.urlopen(server.url + "/health", timeout=5) as resp:
            assert resp.status == 200
        assert time.monotonic() - t0 < EVICT_WAIT + 1
        assert idle[0].recv(1) == b""  # the oldest idle one was closed for it
    finally:
        for s in idle:
            s.close()
    deadline = time.time() + 5
    while time.time() < deadline:  # the slots come back as the idle connections close
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=5) as resp:
                assert resp.status == 200
                break
        except urllib.error.HTTPError:
            time.sleep(0.1)
    else:
        pytest.fail("the server did not take connections again")


# -- issue 16, finding 9: discovery proves the server wrote the record before sending it the token --
class _Impostor(BaseHTTPRequestHandler):
    """Whoever listens on a crashed server's port: answers like coder serve, records what it is sent."""

    seen: list[str] = []

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        type(self).seen.append(f"{self.command} {self.path}\n{self.headers}\n{self.rfile.read(length).decode()}")
        raw = json.dumps({"server": "coder", "model": "scripted", "n_ctx": 4096, "proof": "0" * 64}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = _answer  # noqa: N815


def test_discovery_never_sends_the_token_to_a_server_that_did_not_write_the_record(tmp_path, served):
    """A crashed server leaves server.json; with its pid reused, whoever listens on its port next
    was sent the token by the first discovery request."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Impostor.seen = []
    home = tmp_path / "h"
    home.mkdir()
    record = {"url": f"http://127.0.0.1:{httpd.server_address[1]}", "pid": os.getpid(), "token": "TOKEN-abc123",
              "proof_key": "11" * 32}  # fmt: skip
    (home / "server.json").write_text(json.dumps(record))
    try:
        assert find_server(home, {}) is None
        assert _Impostor.seen  # it was asked to prove itself ...
        assert not any("TOKEN-abc123" in seen or "Authorization" in seen for seen in _Impostor.seen)  # ... and sent nothing
        del record["proof_key"]  # a record from before the proof: not trusted either
        (home / "server.json").write_text(json.dumps(record))
        assert find_server(home, {}) is None
        assert not any("TOKEN-abc123" in seen for seen in _Impostor.seen)
    finally:
        httpd.shutdown()
    server, _ = served("x")  # the real one proves itself and is found
    while not (server.home / "server.json").exists():
        time.sleep(0.01)
    endpoint, info = find_server(server.home, {})
    assert endpoint.root == server.url and info["server"] == "coder"


def _send_and_close(url: str, body: dict, half: bool) -> socket.socket:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    raw = json.dumps(body).encode()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw))
    if half:
        sock.shutdown(socket.SHUT_WR)
    else:
        sock.close()
    return sock


def test_a_client_that_closed_while_queued_is_not_generated_for_and_a_half_closer_is_answered(served):
    """A hook that timed out closes its socket while it waits for the engine: nothing is generated for
    it (the next in line gets the engine at once). A client that only half-closed is still answered.
    From the server both look the same (an end of file); the first bytes of the answer tell them
    apart: a closed socket answers them with a reset."""
    server, engine = served("for the half-closer", "for the last one", "spare")
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    server.queue.__enter__()  # a generation holds the engine
    try:
        _send_and_close(server.url, chat, half=False)
        time.sleep(0.2)  # in this order
        half = _send_and_close(server.url, chat, half=True)
        time.sleep(0.5)  # both wait in the queue
    finally:
        server.queue.__exit__()
    reply = b""
    while chunk := half.recv(65536):
        reply += chunk
    half.close()
    assert reply.startswith(b"HTTP/1.0 200 OK\r\n"), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["choices"][0]["message"]["content"] == "for the half-closer"
    status, data = post(server.url + "/v1/chat/completions", chat)
    assert status == 200 and data["choices"][0]["message"]["content"] == "for the last one"


@pytest.mark.slow
def test_a_stalled_client_is_cut_off_sooner_when_others_wait(tmp_path):
    """While the engine is held for a stalled stream and another request waits, one second with no
    byte taken ends it (not five): the queue behind a hung editor does not pay the whole timeout."""
    from coder_cli.actions.serve.queue import STALL_TIMEOUT, STALL_TIMEOUT_CONTENDED

    _SlowEngine.generated = 0
    server = Server(_SlowEngine(["x"]), tmp_path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 60_000}
    stalled = _stalled_stream(server.url, body)
    try:
        time.sleep(1.5)  # its buffers are full, the uncontended timer runs
        t0 = time.monotonic()
        status, _ = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 3})
        waited = time.monotonic() - t0
        assert status == 200 and waited < STALL_TIMEOUT_CONTENDED + 1.0 < STALL_TIMEOUT, waited
    finally:
        stalled.close()
        server.shutdown()


class _Full(BaseHTTPRequestHandler):
    """A server that is full the first FULL times it is asked (503, Retry-After: 0), then answers."""

    full = 0
    asked = 0

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        cls = type(self)
        cls.asked += 1
        busy = cls.asked <= cls.full
        raw = b'{"error": {"message": "too many connections"}}' if busy else b'{"ok": true}'
        self.send_response(503 if busy else 200)
        if busy:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.mark.parametrize("full, ok", [(2, True), (10, False)])
def test_the_client_asks_a_full_server_again_when_it_says_when(full, ok):
    """`coder serve` answers 503 with Retry-After before it reads a request when every connection is
    taken; the remote engine asks again (BUSY_RETRIES times) instead of failing the command."""
    from coder_cli.engine.remote import BUSY_RETRIES

    _Full.full, _Full.asked = full, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Full)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        endpoint = Endpoint.parse(f"http://127.0.0.1:{httpd.server_address[1]}")
        if ok:
            assert endpoint.get_json(endpoint.root + "/x") == {"ok": True}
            assert _Full.asked == full + 1
        else:
            with pytest.raises(ServerError, match="HTTP 503"):
                endpoint.get_json(endpoint.root + "/x")
            assert _Full.asked == BUSY_RETRIES + 1
    finally:
        httpd.shutdown()
