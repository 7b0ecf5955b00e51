"""Property-based tests of what `coder serve` and `coder complete --stdin-json` read from a client
(issue 16): any input is a value or a UsageError (a 400), an answer object, never another exception
(a 500, or an editor's stream ended).

Bounded (derandomized, a few hundred examples each, about ten seconds in all) so the suite stays
within CI's limits. The long run before a release: `scripts/fuzz.py --serve` sets FUZZ_EXAMPLES,
which raises every test's examples and makes them fresh random ones each run.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coder_cli.actions.serve import Server
from coder_cli.actions.serve.protocol import (
    body_length,
    hostname,
    json_body,
    json_bytes,
    messages_from,
    origin_allowed,
    params_from,
    stream_flags,
    token_list,
)
from coder_cli.engine.base import GenParams
from coder_cli.engine.scripted import ScriptedEngine
from coder_cli.errors import UsageError

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
                suppress_health_check=list(HealthCheck))  # fmt: skip

# JSON values as a client can send them: Python's json reads NaN and Infinity, and ints of any size.
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400), max_value=10**400) | st.floats() | st.text()
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12
)
FIELDS = ("max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "repeat_penalty", "seed", "stop",
          "stream", "stream_options", "messages", "prompt", "tokens", "content", "role", "type", "text")  # fmt: skip
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), JSON, max_size=6)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool"]) | JSON},
    optional={"content": JSON | st.lists(st.dictionaries(st.sampled_from(["type", "text"]), JSON | st.just("text")))},
)


def _value_or_usage_error(fn, *args):
    try:
        return fn(*args)
    except UsageError:
        return None


@FUZZ
@given(BODIES, st.integers(min_value=1, max_value=4096))
def test_params_are_params_or_a_400(body, default_max):
    p = _value_or_usage_error(params_from, body, default_max)
    if p is not None:
        assert isinstance(p, GenParams)
        for value in (p.temperature, p.top_p, p.repeat_penalty):
            assert value == value and abs(value) != float("inf")  # never NaN nor infinite
        assert -1 <= p.seed < 2**32 and 0 <= p.top_k <= 1_000_000 and p.max_tokens >= 1


@FUZZ
@given(st.dictionaries(st.just("messages"), st.lists(MESSAGE | JSON, max_size=4)) | BODIES)
def test_messages_are_messages_or_a_400(body):
    messages = _value_or_usage_error(messages_from, body)
    if messages is not None:
        assert all(isinstance(m["content"], str) and m["role"] in ("system", "user", "assistant") for m in messages)


@FUZZ
@given(JSON | st.lists(st.integers(min_value=-(2**70), max_value=2**70)), st.integers(min_value=1, max_value=200_000))
def test_token_lists_are_ids_of_the_vocabulary_or_a_400(value, n_vocab):
    tokens = _value_or_usage_error(token_list, value, "tokens", n_vocab)
    if tokens is not None:
        assert all(type(t) is int and 0 <= t < n_vocab for t in tokens)


@FUZZ
@given(st.none() | st.text(max_size=24), st.none() | st.text(max_size=12))
def test_body_length_is_a_size_or_a_400(content_length, transfer_encoding):
    length = _value_or_usage_error(body_length, content_length, transfer_encoding)
    assert length is None or 0 <= length <= 8 * 1024 * 1024


@FUZZ
@given(st.binary(max_size=64) | JSON.map(lambda v: json.dumps(v).encode()))
def test_json_body_is_an_object_or_a_400(raw):
    data = _value_or_usage_error(json_body, raw)
    assert data is None or isinstance(data, dict)


@FUZZ
@given(st.text(max_size=40), st.integers(min_value=0, max_value=70_000))
def test_host_and_origin_checks_never_raise(value, port):
    assert isinstance(hostname(value), str)
    assert origin_allowed(value, port) in (True, False)


@FUZZ
@given(BODIES)
def test_stream_flags_are_two_booleans_or_a_400(body):
    flags = _value_or_usage_error(stream_flags, body)
    assert flags is None or all(isinstance(f, bool) for f in flags)


@FUZZ
@given(JSON)
def test_every_answer_can_be_written(value):
    assert json.loads(json_bytes({"id": value} if not isinstance(value, float) or value == value else {})) is not None


# -- the editor protocol: any line is answered ------------------------------------------------------
@pytest.fixture(scope="module")
def completer_and_cwd():
    from coder_cli.actions.complete import Completer, FillCache

    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "f.py").write_text("def f(x):\n    return x\n")
        completer = Completer(ScriptedEngine([" x + 1\n"], fim=True), cwd / "home", budget=0, candidates=1)
        yield completer, FillCache(), cwd
        completer.close()


REQUEST_FIELDS = ("id", "path", "line", "col", "prefix", "suffix", "mode")
REQUESTS = st.dictionaries(st.sampled_from(REQUEST_FIELDS), JSON | st.sampled_from(["f.py", "../f.py", "f\x00.py", "\ud800"]))


@FUZZ
@given(REQUESTS.map(json.dumps) | JSON.map(json.dumps) | st.text(max_size=40))
def test_every_editor_request_line_gets_an_answer_object(completer_and_cwd, line):
    from coder_cli.actions.complete_json import answer_line, answer_one

    completer, cache, cwd = completer_and_cwd
    answer = answer_one(completer, cache, line, cwd, root=cwd.resolve())
    assert isinstance(answer, dict) and ("completion" in answer or "error" in answer)
    assert json.loads(answer_line(answer, "ascii")) is not None  # whatever it echoes, it can be written


# -- the handler, over a real loopback socket -------------------------------------------------------
@pytest.fixture(scope="module")
def live_server():
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(ScriptedEngine(["ok then"], n_ctx=256, fim=True), Path(tmp), "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join(5)


ROUTES = ["/health", "/v1/models", "/coder/info", "/coder/hello?challenge=" + "a" * 32, "/v1/chat/completions",
          "/v1/completions", "/tokenize", "/detokenize", "/coder/prefill", "/coder/score", "/coder/complete", "/x"]  # fmt: skip
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\r\n"), max_size=20)


def _exchange(server, method: str, path: str, headers: dict, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("utf-8") + body)  # (non-ASCII header bytes on the wire)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@settings(max_examples=EXAMPLES * 3 // 4, deadline=None, derandomize=not LONG_RUN, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(ROUTES),
    st.dictionaries(st.sampled_from(["Origin", "Host", "Content-Length", "Transfer-Encoding", "Authorization"]), HEADER_VALUES),
    BODIES.map(lambda b: json.dumps(b).encode()) | st.binary(max_size=40),
    st.booleans(),
)
def test_any_request_is_answered_without_a_server_error(live_server, method, path, headers, body, right_length):
    if right_length:
        headers = {**headers, "Content-Length": str(len(body))}
    reply = _exchange(live_server, method, path, headers, body)
    status = reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/1.0 ") else reply[:40]
    assert status in (b"200", b"400", b"401", b"403", b"404", b"405"), reply[:300]
    assert b"internal error" not in reply, reply[:300]
