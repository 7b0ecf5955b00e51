"""`coder serve`: one warm engine (model + KV cache) behind an OpenAI-compatible HTTP API.

Routes (JSON in and out; ``stream: true`` gives server-sent events like OpenAI's):

- ``GET /health``, ``GET /v1/models``
- ``POST /v1/chat/completions`` (messages), ``POST /v1/completions`` (a string prompt, read
  with special tokens, or a list of token ids; ``stop_tokens`` names special tokens that end it)
- ``POST /tokenize`` (``content`` [+ ``parse_special``], or ``messages``: the exact chat prompt),
  ``POST /detokenize`` (``tokens``): the llama.cpp server's shapes
- ``GET /coder/info``, ``POST /coder/prefill``, ``POST /coder/score``: what `coder` commands need
  to run unchanged against this server (RemoteEngine)
- ``POST /coder/complete``: one request of `coder complete --stdin-json` (plus ``cwd``, the
  folder its path is relative to), answered by the same code with the warm engine

One llama.cpp context serves one request at a time: requests queue on a lock in arrival order
(a pre-warm gives way as soon as another request waits). Tokenizing needs no lock.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from coder_cli.engine.base import GenParams
from coder_cli.errors import CoderError, ContextOverflow, UsageError

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
IDLE_TIMEOUT = 120  # seconds a client may stall sending or receiving before its connection is dropped
MAX_BODY = 64 * 1024 * 1024


class Queue:
    """A FIFO lock: requests get the engine in the order they asked for it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tickets: list[int] = []
        self._next = 0

    def __enter__(self):
        with self._cond:
            ticket = self._next
            self._next += 1
            self._tickets.append(ticket)
            while self._tickets[0] != ticket:
                self._cond.wait()
        return self

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._tickets.pop(0)
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._tickets)

    @property
    def waiting(self) -> int:
        """Requests queued behind the one holding the engine."""
        with self._cond:
            return max(0, len(self._tickets) - 1)


class _GiveWay:
    """A cancel flag for a pre-warm: set when another request waits or its client has gone."""

    def __init__(self, queue: Queue, sock: socket.socket) -> None:
        self.queue = queue
        self.sock = sock

    def is_set(self) -> bool:
        return self.queue.waiting > 0 or _closed(self.sock)


def _closed(sock: socket.socket) -> bool:
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Server:
    def __init__(
        self,
        engine,
        home: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "",
        log: Callable[[str], None] | None = None,
        completer_factory: Callable[[object], object] | None = None,
    ) -> None:
        if host not in LOOPBACK and not api_key:
            raise UsageError(
                f"serving on {host} would let anyone who reaches it run the model",
                "pass --api-key (or set CODER_API_KEY), or keep the default 127.0.0.1",
            )
        self.engine = engine
        self.home = Path(home)
        self.api_key = api_key
        # Only whoever can read $CODER_HOME/server.json (mode 0600: this user) has the token, and only
        # the token (or the API key) opens /coder/complete, the one route that reads files from disk.
        self.token = secrets.token_urlsafe(24)
        self.loopback = host in LOOPBACK
        self.log = log or (lambda msg: None)
        self.queue = Queue()
        self.started = time.time()
        self.served = 0
        self._completer_factory = completer_factory
        self._completer = None
        self._fill_cache = None
        self._eog: list[int] | None = None
        server_class = _ThreadingHTTPServerV6 if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host, port), _handler(self))
        except OSError as exc:
            hint = "pick another with --port (0 picks a free one)" if exc.errno in (98, 48, 10048) else None
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint) from None
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- the server record ------------------------------------------------------------
    def record_path(self) -> Path:
        from coder_cli.engine.server_record import server_file

        return server_file(self.home)

    def write_record(self) -> None:
        from coder_cli.engine.server_record import write_record

        info = self.engine.info
        record = {
            "url": self.url,
            "pid": os.getpid(),
            "model": info.model,
            "path": info.path,
            "n_ctx": info.n_ctx,
            "started": self.started,
            "token": self.token,
        }
        write_record(self.home, record)

    def remove_record(self) -> None:
        from coder_cli.engine.server_record import remove_record

        remove_record(self.home)

    def serve_forever(self) -> None:
        self.write_record()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.remove_record()
            self.httpd.server_close()

    def shutdown(self) -> None:
        self.httpd.shutdown()

    # -- what the routes do --------------------------------------------------------------
    def info(self) -> dict:
        e = self.engine
        i = e.info
        if self._eog is None:
            self._eog = _eog_ids(e)
        fim = e.fim_tokens()
        return {
            "server": "coder",
            "version": _version(),
            "pid": os.getpid(),
            "model": i.model,
            "path": i.path,
            "n_ctx": i.n_ctx,
            "n_ctx_train": i.n_ctx_train,
            "threads": i.threads,
            "gpu_layers": i.gpu_layers,
            "backend": i.backend,
            "flash_attn": i.flash_attn,
            "kv_type": i.kv_type,
            "eog": self._eog,
            "fim": None if fim is None else fim.__dict__,
            "uptime_s": round(time.time() - self.started, 1),
            "served": self.served,
            "queued": self.queue.waiting,
        }

    def completer(self):
        if self._completer is None:
            from coder_cli.actions.complete import FillCache

            factory = self._completer_factory
            if factory is None:
                from coder_cli.actions.complete import Completer

                def factory(engine):
                    return Completer(engine, self.home, candidates=1)

            self._completer = factory(self.engine)
            self._fill_cache = FillCache()
        return self._completer, self._fill_cache


class _ThreadingHTTPServerV6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _hostname(value: str) -> str:
    """The host part of a Host header or an origin URL, without port or brackets, lower case."""
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _version() -> str:
    from coder_cli import __version__

    return __version__


def _eog_ids(engine) -> list[int]:
    """Every end-of-generation id of the vocabulary (a client checks them without asking)."""
    eog_ids = getattr(engine, "eog_ids", None)
    return list(eog_ids()) if callable(eog_ids) else [t for t in range(100) if engine.is_eog(t)]


def params_from(body: dict, default_max: int = 1024) -> GenParams:
    """OpenAI request fields → GenParams; a bad value is a 400."""

    def num(key, kind, default, lo=None, hi=None):
        value = body.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{key!r} must be a number")
        value = kind(value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise UsageError(f"{key!r} must be between {lo} and {hi}")
        return value

    stop = body.get("stop") or ()
    if isinstance(stop, str):
        stop = (stop,)
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise UsageError("'stop' must be a string or a list of strings")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return GenParams(
        max_tokens=num("max_tokens", int, default_max, 1) if max_tokens is None else _positive(max_tokens),
        temperature=num("temperature", float, 0.0, 0.0, 2.0),
        top_p=num("top_p", float, 0.8, 0.0, 1.0),
        top_k=num("top_k", int, 20, 0),
        repeat_penalty=num("repeat_penalty", float, 1.0, 0.0),
        seed=num("seed", int, 0),
        stop=tuple(stop),
    )


def _positive(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError("'max_tokens' must be a whole number from 1")
    return value


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UsageError("'messages' must be a non-empty list")
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise UsageError("each message needs a role: system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):  # the content-parts form: keep the text parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise UsageError("each message's content must be text")
        out.append({"role": m["role"], "content": content})
    return out


def _token_list(value, name: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise UsageError(f"{name!r} must be a list of token ids")
    return value


def _handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; a stream ends when it closes
        server_version = "coder-serve"
        timeout = IDLE_TIMEOUT
        streaming = False  # once the event stream's headers are out, errors go into the stream

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            server.log(f"{self.address_string()} {format % args}")

        # -- plumbing --------------------------------------------------------------------
        def _send_json(self, status: int, data: dict) -> None:
            raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            error = {"error": {"message": message, "type": kind, "code": status}}
            if self.streaming:  # the 200 and part of the reply are out: end the stream with the error
                with contextlib.suppress(OSError):
                    self._write_event(error)
                return
            self._send_json(status, error)

        def _bearer(self) -> bytes:
            given = self.headers.get("Authorization", "")
            return given[7:].strip().encode() if given.lower().startswith("bearer ") else b""

        def _authorized(self, files: bool = False) -> bool:
            """The API key (when set) opens every route; the server file's token opens every route;
            without a key, loopback clients reach every route but the one that reads files (FILES)."""
            given = self._bearer()
            if hmac.compare_digest(given, server.token.encode()):
                return True
            if server.api_key:
                return hmac.compare_digest(given, server.api_key.encode())
            return not files

        def _local_only(self) -> str | None:
            """Why a loopback server refuses this request: a browser page's (DNS rebinding, or a
            cross-site form) carries a foreign Host or Origin. None when it is fine."""
            if not server.loopback:
                return None
            host = self.headers.get("Host")
            if host is not None and _hostname(host) not in LOOPBACK:
                return f"Host {host!r} is not this machine"
            origin = self.headers.get("Origin")
            if origin is not None and _hostname(origin) not in LOOPBACK:
                return f"requests from the web page {origin!r} are refused"
            return None

        def _body(self) -> dict:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raise UsageError("send the body with a Content-Length (chunked bodies are not read)")
            raw_length = self.headers.get("Content-Length") or "0"
            if not raw_length.strip().isdigit():
                raise UsageError(f"bad Content-Length {raw_length!r}")
            length = int(raw_length)
            if length > MAX_BODY:
                raise UsageError(f"the request is over {MAX_BODY // (1024 * 1024)} MB")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"the body is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise UsageError("the body must be a JSON object")
            return data

        def do_GET(self) -> None:  # noqa: N802 (the base class's name)
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def _route(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path.startswith("/v1/"):
                path = path[3:]
            routes = {
                ("GET", "/health"): self.health,
                ("GET", "/models"): self.models,
                ("GET", "/coder/info"): self.coder_info,
                ("POST", "/chat/completions"): self.chat_completions,
                ("POST", "/completions"): self.completions,
                ("POST", "/tokenize"): self.tokenize,
                ("POST", "/detokenize"): self.detokenize,
                ("POST", "/coder/prefill"): self.prefill,
                ("POST", "/coder/score"): self.score,
                ("POST", "/coder/complete"): self.complete,
            }
            route = routes.get((method, path))
            try:
                refused = self._local_only()
                if refused is not None:
                    self._error(403, refused, "permission_error")
                    return
                if route is None:
                    known = any(p == path for _, p in routes)
                    self._error(405 if known else 404, f"{method} {self.path}: " + ("wrong method" if known else "no such route"))
                    return
                if path != "/health" and not self._authorized(files=path == "/coder/complete"):
                    what = "the API key" if server.api_key else "the token in $CODER_HOME/server.json"
                    self._error(401, f"{what} is required (Authorization: Bearer …)", "authentication_error")
                    return
                route()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the client went away (or stalled); its generation was stopped
            except ContextOverflow as exc:
                self._error(400, exc.message, "context_length_exceeded")
            except UsageError as exc:
                self._error(400, exc.message)
            except CoderError as exc:
                self._error(500, exc.message, "server_error")
            except Exception as exc:  # noqa: BLE001 - one request's bug must not stop the server
                server.log(f"internal error on {method} {self.path}: {type(exc).__name__}: {exc}")
                self._error(500, f"internal error: {type(exc).__name__}: {exc}", "server_error")

        # -- routes ----------------------------------------------------------------------
        def health(self) -> None:
            self._send_json(200, {"status": "ok", "model": server.engine.info.model})

        def models(self) -> None:
            i = server.engine.info
            entry = {"id": i.model, "object": "model", "created": int(server.started), "owned_by": "coder"}
            entry["max_model_len"] = i.n_ctx
            self._send_json(200, {"object": "list", "data": [entry]})

        def coder_info(self) -> None:
            self._send_json(200, server.info())

        def tokenize(self) -> None:
            body = self._body()
            if "messages" in body:
                tokens = server.engine.chat_prompt(_messages(body))
            else:
                content = body.get("content", body.get("prompt"))
                if not isinstance(content, str):
                    raise UsageError("'content' must be text (or give 'messages')")
                tokens = server.engine.tokenize(content, special=bool(body.get("parse_special", body.get("special", False))))
            self._send_json(200, {"tokens": tokens, "count": len(tokens)})

        def detokenize(self) -> None:
            body = self._body()
            self._send_json(200, {"content": server.engine.detokenize(_token_list(body.get("tokens"), "tokens"))})

        def prefill(self) -> None:
            tokens = _token_list(self._body().get("tokens"), "tokens")
            with server.queue:
                t0 = time.perf_counter()
                done = server.engine.prefill(tokens, _GiveWay(server.queue, self.connection))
            self._send_json(200, {"evaluated": done, "seconds": round(time.perf_counter() - t0, 4)})

        def score(self) -> None:
            body = self._body()
            prompt = _token_list(body.get("prompt"), "prompt")
            continuation = _token_list(body.get("continuation"), "continuation")
            with server.queue:
                rows = server.engine.score(prompt, continuation)
            self._send_json(200, {"scores": [[s.token, s.logprob, s.best, s.best_logprob] for s in rows]})

        def complete(self) -> None:
            from coder_cli.actions.complete_json import answer_one

            body = self._body()
            cwd = body.pop("cwd", None) or os.getcwd()
            if not isinstance(cwd, str):
                raise UsageError("'cwd' must be a folder path")
            cwd = Path(cwd)
            with server.queue:
                completer, cache = server.completer()
                answer = answer_one(completer, cache, json.dumps(body), cwd)
            server.served += 1
            self._send_json(200, answer)

        def chat_completions(self) -> None:
            body = self._body()
            messages = _messages(body)
            params = params_from(body)
            self._generate(body, params, chat=True, run=lambda: server.engine.chat(messages, params))

        def completions(self) -> None:
            body = self._body()
            params = params_from(body, default_max=16)
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], (str, list)):
                prompt = prompt[0]  # a batch of one
            if isinstance(prompt, str):
                tokens = server.engine.tokenize(prompt, special=True)
            else:
                tokens = _token_list(prompt, "prompt")
            stop_tokens = body.get("stop_tokens") or []
            if not isinstance(stop_tokens, list) or not all(isinstance(s, str) for s in stop_tokens):
                raise UsageError("'stop_tokens' must be a list of special-token texts")
            self._generate(body, params, chat=False, run=lambda: server.engine.complete(tokens, params, stop_tokens))

        def _generate(self, body: dict, params: GenParams, chat: bool, run) -> None:
            stream = bool(body.get("stream"))
            usage_chunk = bool((body.get("stream_options") or {}).get("include_usage"))
            rid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
            kind = "chat.completion" if chat else "text_completion"
            created = int(time.time())
            model = server.engine.info.model
            with server.queue:
                if _closed(self.connection):
                    return  # its client gave up while it waited (a hook's timeout): read nothing for it
                gen = run()  # a prompt that does not fit raises here, before any byte is sent
                if stream:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.end_headers()
                    self.streaming = True
                pieces: list[str] = []
                try:
                    if stream and chat:
                        self._event(rid, kind + ".chunk", created, model, {"delta": {"role": "assistant", "content": ""}})
                    for piece in gen:
                        pieces.append(piece)
                        if not stream and _closed(self.connection):
                            raise BrokenPipeError  # nobody waits for this reply any more
                        if stream:
                            choice = {"delta": {"content": piece}} if chat else {"text": piece}
                            self._event(rid, kind + ".chunk" if chat else kind, created, model, choice)
                finally:
                    gen.close()  # a client that went away (it had what it needed) stops the generation here
                    server.served += 1
            st = gen.stats
            reason = "length" if st.finish_reason == "length" else "stop"
            usage = {
                "prompt_tokens": st.prompt_tokens,
                "completion_tokens": st.completion_tokens,
                "total_tokens": st.prompt_tokens + st.completion_tokens,
                "prompt_tokens_details": {"cached_tokens": st.cached_tokens},
            }
            timings = {"prompt_s": round(st.prompt_s, 4), "generate_s": round(st.generate_s, 4)}
            if stream:
                end = {"delta": {}} if chat else {"text": ""}
                self._event(rid, kind + ".chunk" if chat else kind, created, model, {**end, "finish_reason": reason})
                if usage_chunk:
                    self._write_event({"id": rid, "object": kind + ".chunk" if chat else kind, "created": created,
                                       "model": model, "choices": [], "usage": usage, "timings": timings})  # fmt: skip
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                return
            text = "".join(pieces)
            choice = {"index": 0, "finish_reason": reason}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text, "logprobs": None})
            self._send_json(
                200,
                {"id": rid, "object": kind, "created": created, "model": model, "choices": [choice], "usage": usage,
                 "timings": timings},
            )  # fmt: skip

        def _event(self, rid: str, obj: str, created: int, model: str, choice: dict) -> None:
            choice = {"index": 0, "finish_reason": None, **choice}
            self._write_event({"id": rid, "object": obj, "created": created, "model": model, "choices": [choice]})

        def _write_event(self, data: dict) -> None:
            self.wfile.write(b"data: " + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n\n")
            self.wfile.flush()

    return Handler
