"""The HTTP handler of `coder serve`: who may call (token, API key, loopback Host/Origin), the routes,
errors as OpenAI-shaped JSON, and streaming as server-sent events."""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import time
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from coder_cli.actions.serve.dialect_routes import ROUTES as DIALECT_ROUTES
from coder_cli.actions.serve.protocol import (
    LOOPBACK,
    body_length,
    hostname,
    json_body,
    json_bytes,
    messages_from,
    origin_allowed,
    params_from,
    probe_map,
    stream_flags,
    token_list,
)
from coder_cli.actions.serve.queue import PROBE, GiveWay, Outbox, Peer
from coder_cli.engine.base import GenParams, GenStats
from coder_cli.engine.usage import usage_timing
from coder_cli.errors import CoderError, ContextOverflow, UsageError

IDLE_TIMEOUT = 120  # seconds a client may stall sending or receiving before its connection is dropped


def make_handler(server):
    """The request handler class bound to SERVER (`server.Server`)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; a stream ends when it closes
        server_version = "coder-serve"
        timeout = IDLE_TIMEOUT
        streaming = False  # once the event stream's headers are out, errors go into the stream
        outbox: Outbox | None = None  # a stream's bytes go through it: a stalled client never holds the engine

        def setup(self) -> None:
            super().setup()
            self.peer = Peer(self.connection)

        def send_response_only(self, code, message=None) -> None:
            super().send_response_only(code, message)
            if self.peer.probed:  # the status line's first bytes went out as the probe
                assert PROBE == f"{self.protocol_version} ".encode()
                self._headers_buffer[-1] = self._headers_buffer[-1][len(PROBE) :]

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            server.log(f"{self.address_string()} {format % args}")

        # -- plumbing --------------------------------------------------------------------
        def _send_json(self, status: int, data: dict) -> None:
            raw = json_bytes(data)
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
                    self.outbox.drain()
                return
            self._send_json(status, error)

        def flush_headers(self) -> None:
            if self.outbox is None:
                super().flush_headers()
                return
            self.outbox.put(b"".join(self._headers_buffer))
            self._headers_buffer = []

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
            if host is not None and hostname(host) not in LOOPBACK:
                return f"Host {host!r} is not this machine"
            origin = self.headers.get("Origin")  # a browser's: only a page this server itself serves may call
            if origin is not None and not origin_allowed(origin, server.port):
                return f"requests from the web page {origin!r} are refused"
            return None

        def _read_request(self, method: str) -> None:
            """Read the body (a POST's) now, then tell the listener the request is in: from here on the
            connection is served, not a candidate for eviction."""
            self._length = 0
            self._raw = b""
            if method == "POST":
                self._length = body_length(self.headers.get("Content-Length"), self.headers.get("Transfer-Encoding"))
                self._raw = self.rfile.read(self._length) if self._length else b""
            self.server.finished_reading(self.connection)  # the listener (server._Listener)

        def _body(self) -> dict:
            return json_body(self._raw) if self._length else {}

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
                ("GET", "/coder/hello"): self.hello,
                ("POST", "/chat/completions"): self.chat_completions,
                ("POST", "/completions"): self.completions,
                ("POST", "/tokenize"): self.tokenize,
                ("POST", "/detokenize"): self.detokenize,
                ("POST", "/coder/prefill"): self.prefill,
                ("POST", "/coder/score"): self.score,
                ("POST", "/coder/complete"): self.complete,
            }
            dialect = DIALECT_ROUTES.get((method, path))
            if dialect is not None:
                routes[(method, path)] = lambda: dialect(self, server)
            route = routes.get((method, path))
            try:
                refused = self._local_only()
                if refused is not None:
                    self._error(403, refused, "permission_error")
                    return
                if route is None:
                    known = any(p == path for _, p in [*routes, *DIALECT_ROUTES])
                    self._error(405 if known else 404, f"{method} {self.path}: " + ("wrong method" if known else "no such route"))
                    return
                if path not in ("/health", "/coder/hello") and not self._authorized(files=path == "/coder/complete"):
                    what = "the API key" if server.api_key else "the token in $CODER_HOME/server.json"
                    self._error(401, f"{what} is required (Authorization: Bearer …)", "authentication_error")
                    return
                self._read_request(method)
                route()
            except (BrokenPipeError, ConnectionResetError, TimeoutError) as exc:
                server.log(f"{self.address_string()} {method} {self.path}: dropped ({type(exc).__name__})")
                # the client went away (or stalled); its generation was stopped
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

        def hello(self) -> None:
            """Discovery's proof, before it trusts this server with the token: ``?challenge=C`` is
            answered with proof(proof_key, C), which only the process that wrote the record can give."""
            from urllib.parse import parse_qs, urlsplit

            from coder_cli.engine.server_record import proof

            challenge = parse_qs(urlsplit(self.path).query).get("challenge", [""])[0]
            if not 16 <= len(challenge) <= 256:
                raise UsageError("'challenge' must be 16 to 256 characters")
            self._send_json(200, {"server": "coder", "proof": proof(server.proof_key, challenge)})

        def coder_info(self) -> None:
            self._send_json(200, server.info())

        def tokenize(self) -> None:
            body = self._body()
            engine = server.engine
            # Through the queue: llama.cpp's vocabulary calls are not documented safe beside a decode.
            if "messages" in body:
                messages = messages_from(body)
                with server.queue:
                    tokens = engine.chat_prompt(messages)
            else:
                content = body.get("content", body.get("prompt"))
                if not isinstance(content, str):
                    raise UsageError("'content' must be text (or give 'messages')")
                special = bool(body.get("parse_special", body.get("special", False)))
                with server.queue:
                    tokens = engine.tokenize(content, special=special)
            self._send_json(200, {"tokens": tokens, "count": len(tokens)})

        def detokenize(self) -> None:
            tokens = token_list(self._body().get("tokens"), "tokens", server.n_vocab)
            with server.queue:
                content = server.engine.detokenize(tokens)
            self._send_json(200, {"content": content})

        def warm(self, tokens: list[int]) -> GenStats:
            """Read TOKENS into the engine's cache, giving way to any request that comes (the caller
            holds the queue); what it read, as stats."""
            t0 = time.perf_counter()
            done = server.engine.prefill(tokens, GiveWay(server.queue, self.peer))
            return GenStats(prompt_tokens=len(tokens), cached_tokens=len(tokens) - done, prompt_s=time.perf_counter() - t0)

        def start_stream(self, content_type: str) -> None:
            """The 200 and headers of a streamed answer; its bytes go through an Outbox from here on."""
            self.outbox = Outbox(self.connection, lambda: server.queue.waiting > 0)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.streaming = True

        def prefill(self) -> None:
            tokens = token_list(self._body().get("tokens"), "tokens", server.n_vocab)
            with server.queue:
                stats = self.warm(tokens)
            done, seconds = stats.prompt_tokens - stats.cached_tokens, stats.prompt_s
            self._send_json(200, {"evaluated": done, "seconds": round(seconds, 4), **usage_timing(stats, total_s=seconds)})

        def score(self) -> None:
            body = self._body()
            prompt = token_list(body.get("prompt"), "prompt", server.n_vocab)
            continuation = token_list(body.get("continuation"), "continuation", server.n_vocab)
            probes = probe_map(body.get("probes"), len(continuation), server.n_vocab)
            with server.queue:
                rows = server.engine.score(prompt, continuation, probes)
            self._send_json(200, {"scores": [[s.token, s.logprob, s.best, s.best_logprob, list(s.probes)] for s in rows]})

        def complete(self) -> None:
            from coder_cli.actions.complete_json import answer_one, repository_of

            body = self._body()
            cwd = body.pop("cwd", None) or os.getcwd()
            root = repository_of(cwd)  # the request reads inside this repository only
            with server.queue:
                completer, cache = server.completer()
                answer = answer_one(completer, cache, json.dumps(body), Path(cwd), root)
            server.served += 1
            self._send_json(200, answer)

        def chat_completions(self) -> None:
            body = self._body()
            messages = messages_from(body)
            params = params_from(body)
            self._generate(body, params, chat=True, run=lambda: server.engine.chat(messages, params))

        def completions(self) -> None:
            body = self._body()
            params = params_from(body, default_max=16)
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], (str, list)):
                prompt = prompt[0]  # a batch of one
            stop_tokens = body.get("stop_tokens") or []
            if not isinstance(stop_tokens, list) or not all(isinstance(s, str) for s in stop_tokens):
                raise UsageError("'stop_tokens' must be a list of special-token texts")
            engine = server.engine
            if isinstance(prompt, str):  # read with special tokens, once the engine is this request's

                def run():
                    return engine.complete(engine.tokenize(prompt, special=True), params, stop_tokens)
            else:
                tokens = token_list(prompt, "prompt", server.n_vocab)

                def run():
                    return engine.complete(tokens, params, stop_tokens)

            self._generate(body, params, chat=False, run=run)

        def _generate(self, body: dict, params: GenParams, chat: bool, run) -> None:
            stream, usage_chunk = stream_flags(body)
            rid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
            kind = "chat.completion" if chat else "text_completion"
            created = int(time.time())
            model = server.engine.info.model
            with server.queue:
                if self.peer.gone():
                    return  # its client gave up while it waited (a hook's timeout): read nothing for it
                gen = run()  # a prompt that does not fit raises here, before any byte is sent
                if stream:
                    self.start_stream("text/event-stream")
                pieces: list[str] = []
                try:
                    if stream and chat:
                        self._event(rid, kind + ".chunk", created, model, {"delta": {"role": "assistant", "content": ""}})
                    for piece in gen:
                        pieces.append(piece)
                        if not stream and self.peer.gone():
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
                self.outbox.put(b"data: [DONE]\n\n")
                self.outbox.drain()  # the engine is free by now: wait for the client here
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
            self.outbox.put(b"data: " + json_bytes(data) + b"\n\n")

    return Handler
