"""RemoteEngine: an OpenAI-compatible server over HTTP.

Two kinds of server:

- a running ``coder serve`` (found through ``$CODER_HOME/server.json`` or
  ``CODER_SERVER``, or named with ``--base-url``): it also answers ``/tokenize``,
  ``/detokenize`` and ``/coder/*``, so every Engine call is exact (token counts,
  FIM, scores, pre-warm) and commands behave as they do in-process;
- any other OpenAI-compatible server (llama.cpp server, vLLM, llama-cpp-python's
  ``llama_cpp.server``, Ollama): chat, and fill-in-the-middle as text. Token counts
  come from the server's tokenizer route where it has one (llama-cpp-python's
  ``/extras/tokenize``, llama.cpp's and vLLM's ``/tokenize``), else are estimates
  (about 4 characters a token) until the server's usage arrives with the reply.
  When that tokenizer reads ``<|fim_prefix|>`` as one token (or, with no tokenizer
  route, the model's name says Qwen2.5-Coder), FIM prompts are sent as text with the
  special tokens written out in ``/v1/completions`` (``TextPieces``): `coder complete`
  and fix's line round (its fills; the scored edits need logits the server does not
  give) work there too.

Only the standard library is used (http.client), so nothing heavy loads.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from coder_cli.engine.base import EngineInfo, Generation, GenParams, GenStats, Message, TokenScore, now
from coder_cli.errors import ConfigError, ContextOverflow, GenerationError, ModelError

_ESTIMATE = re.compile(r"\s*[A-Za-z]{1,4}|\s*\d{1,3}|\s*[^\sA-Za-z\d]|\s+")


def estimate_tokens(text: str) -> list[int]:
    """Stand-in token ids for a server without a tokenizer: word pieces of up to 4 letters,
    hashed, so equal text gives equal ids (prefix comparisons still work) and counts come close
    to a BPE tokenizer's on code and English."""
    return [hash(p) & 0x7FFFFFFF for p in _ESTIMATE.findall(text)]


# The special tokens of Qwen2.5-Coder's FIM layout, written out in a text prompt.
FIM_TEXTS = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|repo_name|>", "<|file_sep|>")
_SPECIAL_LIKE = re.compile(r"<\|(\w+)\|>")


class TextPieces:
    """Token ids for a server that shares no tokenizer: handles to pieces of text.

    ``tokenize`` gives a text one handle followed by padding, as many ids as its estimated token
    count (so lengths and budgets work as with real ids); the FIM special tokens have fixed
    handles. ``text`` turns a sequence of them back into the prompt text the server reads, special
    tokens written out; a file's own text that looks like a special token (``<|fim_prefix|>`` in a
    docstring) gets a zero-width non-joiner after its ``<``, so the server cannot read it as a
    control token (coder's own layout never parses specials in file text either)."""

    PAD = -9
    FIRST = -10

    def __init__(self, limit: int = 8192) -> None:
        self.special = {text: -1 - i for i, text in enumerate(FIM_TEXTS)}
        self._by_id = {v: k for k, v in self.special.items()}
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}
        self._next = self.FIRST
        self._limit = limit

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        if special and text in self.special:
            return [self.special[text]]
        if not text:
            return []
        handle = self._ids.get(text)
        if handle is None:
            if len(self._ids) >= self._limit:  # the oldest half goes (a prompt in flight uses the newest)
                for old in list(self._ids)[: self._limit // 2]:
                    self._texts.pop(self._ids.pop(old), None)
            handle = self._ids[text] = self._next
            self._texts[handle] = text
            self._next -= 1
        return [handle] + [self.PAD] * (max(1, len(estimate_tokens(text))) - 1)

    def owns(self, tokens: Sequence[int]) -> bool:
        return all(t < 0 for t in tokens)

    def text(self, tokens: Sequence[int]) -> str:
        out = []
        for t in tokens:
            if t == self.PAD:
                continue
            if t in self._by_id:
                out.append(self._by_id[t])
                continue
            piece = self._texts.get(t)
            if piece is None:
                raise ModelError("a prompt piece was forgotten before it was sent (internal)")
            out.append(_SPECIAL_LIKE.sub("<\u200c|\\1|>", piece))
        return "".join(out)


class ServerError(GenerationError):
    """The server answered with an error, or not at all."""


class ServerUnreachable(ConfigError):
    """Nothing answers at the URL (refused, unknown host, no route)."""


class NotFound(ConfigError):
    """HTTP 404: no such route (or model) on the server."""


@dataclass
class Endpoint:
    """Where a server lives: ``base`` is the OpenAI base (…/v1), ``root`` the server's own top."""

    base: str
    api_key: str = ""
    timeout: float = 600.0

    @classmethod
    def parse(cls, url: str, api_key: str = "", timeout: float = 600.0) -> Endpoint:
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"not a server URL: {url!r}", "give one like http://127.0.0.1:8000/v1")
        if not parts.path:
            url += "/v1"  # the OpenAI routes live under /v1 on every server we know
        return cls(url, api_key, timeout)

    @property
    def root(self) -> str:
        return self.base[: -len("/v1")] if self.base.endswith("/v1") else self.base

    def _connection(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        kwargs = {"context": ssl.create_default_context()} if parts.scheme == "https" else {}
        conn = cls(parts.netloc, timeout=timeout, **kwargs)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return conn, path

    def request(
        self, method: str, url: str, body: dict | None = None, *, timeout: float | None = None, cancel=None
    ) -> http.client.HTTPResponse:
        """Send one request; return the open response (status 2xx) or raise a clear error.
        With CANCEL (a threading.Event), wait for the answer in short steps and give up once set.
        A server that is full (503, or 429) and says when to come back (Retry-After, at most
        RETRY_MAX_S) is asked again, BUSY_RETRIES times: `coder serve` answers 503 before it reads
        anything, so asking again does nothing twice."""
        for attempt in range(BUSY_RETRIES + 1):
            try:
                return self._request_once(method, url, body, timeout=timeout, cancel=cancel)
            except _Busy as busy:
                if attempt == BUSY_RETRIES:
                    raise busy.error from None
                if cancel is not None:
                    if cancel.wait(busy.wait):
                        return None
                else:
                    time.sleep(busy.wait)
        raise AssertionError("unreachable")

    def _request_once(
        self, method: str, url: str, body: dict | None, *, timeout: float | None, cancel
    ) -> http.client.HTTPResponse:
        timeout = self.timeout if timeout is None else timeout
        conn, path = self._connection(url, timeout)
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            conn.request(method, path, body=data, headers=headers)
            if cancel is not None and not _wait_readable(conn, cancel, timeout):
                conn.close()
                return None
            resp = conn.getresponse()
        except http.client.HTTPException as exc:
            conn.close()
            raise ServerError(f"{url}: not an HTTP answer ({type(exc).__name__})", "is that the server's URL?") from None
        except (ConnectionRefusedError, socket.gaierror, OSError) as exc:
            conn.close()
            if isinstance(exc, (TimeoutError, socket.timeout)):
                raise ServerError(
                    f"{url}: no answer within {timeout:g} s", "the server may be busy or stuck; raise request_timeout"
                ) from None
            raise ServerUnreachable(
                f"cannot connect to {self.root}: {_reason(exc)}",
                "is the server running? check --base-url (or `coder serve` for a local one)",
            ) from None
        if resp.status >= 400:
            detail = _error_detail(resp.read())
            retry_after = resp.getheader("Retry-After")
            conn.close()
            error = _status_error(resp.status, url, detail)
            wait = _retry_after(retry_after) if resp.status in (429, 503) else None
            if wait is not None:
                raise _Busy(error, wait)
            raise error
        return resp

    def get_json(self, url: str, timeout: float | None = None) -> dict:
        resp = self.request("GET", url, timeout=timeout)
        return _read_json(resp, url)

    def post_json(self, url: str, body: dict, timeout: float | None = None, cancel=None) -> dict | None:
        resp = self.request("POST", url, body, timeout=timeout, cancel=cancel)
        return None if resp is None else _read_json(resp, url)


BUSY_RETRIES = 3
RETRY_MAX_S = 5.0


class _Busy(Exception):
    """A 503 (or 429) with a Retry-After: ask again after WAIT seconds; ERROR if it stays busy."""

    def __init__(self, error: Exception, wait: float) -> None:
        super().__init__(str(error))
        self.error, self.wait = error, wait


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (in seconds; an HTTP date is not worth a retry)."""
    if value is None or not value.strip().isascii() or not value.strip().isdigit():
        return None
    return min(float(value.strip()), RETRY_MAX_S)


def _wait_readable(conn: http.client.HTTPConnection, cancel, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if cancel.is_set():
            return False
        ready, _, _ = select.select([conn.sock], [], [], 0.05)
        if ready:
            return True
        if time.monotonic() > deadline:
            raise TimeoutError


def _reason(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _read_json(resp: http.client.HTTPResponse, url: str) -> dict:
    raw = resp.read()
    try:
        data = json.loads(raw)
    except ValueError:
        raise ServerError(f"{url}: the server's answer is not JSON: {raw[:120]!r}") from None
    if not isinstance(data, dict):
        raise ServerError(f"{url}: unexpected answer: {raw[:120]!r}")
    return data


def _error_detail(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:300]
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:300]
    return str(err)[:300]


def _status_error(status: int, url: str, detail: str) -> Exception:
    what = f"{url}: HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        return ConfigError(what, "the server refused the API key: pass --api-key (or set CODER_API_KEY)")
    if status == 404:
        return NotFound(what, "check --base-url (OpenAI-compatible servers usually serve it under /v1)")
    if status in (400, 413, 422) and re.search(r"context|too long|maximum.*length|exceed", detail, re.I):
        return ContextOverflow(what, "send less input, or use a server with a longer context")
    if status < 500:
        return ServerError(what)
    return ServerError(what, "the server failed; its own log says why")


class RemoteEngine:
    """The Engine protocol over HTTP (see the module docstring for what each server supports)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        model: str = "",
        n_ctx: int = 8192,
        server_info: dict | None = None,
        warn=None,
    ) -> None:
        self.endpoint = endpoint
        self._warn = warn or (lambda msg: None)
        self.coder = server_info is not None  # a `coder serve`: exact tokens, FIM, scores
        self._tokens: dict[tuple[str, bool], list[int]] = {}
        t0 = now()
        if server_info is None:
            listed = self._list_models()
            model = model or (listed[0]["id"] if listed else "")
            if not model:
                raise ConfigError(
                    f"{endpoint.base}/models lists no model", "name one with --model (or remote_model in the config)"
                )
            for m in listed:
                if m.get("id") == model:
                    n_ctx = int(m.get("max_model_len") or m.get("meta", {}).get("n_ctx_train") or n_ctx)
            info = EngineInfo(model, endpoint.base, n_ctx, n_ctx, 0, 0, f"remote {endpoint.base}", False, "", now() - t0)
            self._eog: set[int] = set()
            self._fim = None
        else:
            s = server_info
            info = EngineInfo(
                model=s["model"],
                path=s.get("path", ""),
                n_ctx=int(s["n_ctx"]),
                n_ctx_train=int(s.get("n_ctx_train", s["n_ctx"])),
                threads=int(s.get("threads", 0)),
                gpu_layers=int(s.get("gpu_layers", 0)),
                backend=f"coder serve {endpoint.root} ({s.get('backend', 'CPU')})",
                flash_attn=bool(s.get("flash_attn", False)),
                kv_type=str(s.get("kv_type", "")),
                load_s=now() - t0,
            )
            self._eog = set(s.get("eog", []))
            fim = s.get("fim")
            if fim:
                from coder_cli.core.fim_prompt import FimTokens

                self._fim = FimTokens(**fim)
            else:
                self._fim = None
        self.info = info
        self.request_model = model or info.model
        self.pieces = TextPieces()
        self.scores = self.coder  # teacher-forced scores need logits only coder serve gives
        self._text_fim: bool | None = None  # decided on first use (see fim_tokens)
        self._counts: dict[str, int] = {}
        self._tokenizer_route: tuple[str, str] | None = None
        if not self.coder:
            self._tokenizer_route = self._find_tokenizer()
            if self._tokenizer_route is None:
                info.notes.append("token counts are estimates (about 4 characters a token) until the server reports usage")
            else:
                info.notes.append(f"token counts from the server's {self._tokenizer_route[0]}")

    def _list_models(self) -> list[dict]:
        try:
            data = self.endpoint.get_json(self.endpoint.base + "/models", timeout=min(self.endpoint.timeout, 30))
        except NotFound as exc:  # a server without the listing
            self._warn(f"{self.endpoint.base}/models: {exc.message}")
            return []
        models = data.get("data") or data.get("models") or []
        return [m for m in models if isinstance(m, dict) and m.get("id")]

    # -- tokens --------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    def _need_coder(self, what: str):
        raise ModelError(
            f"{what} needs a tokenizer, which {self.endpoint.base} does not share",
            "run it against `coder serve` or in-process (drop --backend openai)",
        )

    def _find_tokenizer(self) -> tuple[str, str] | None:
        """The server's tokenizer route, as (path, request shape): llama-cpp-python's /extras/tokenize
        ({"input"}), llama.cpp's /tokenize ({"content"}), vLLM's /tokenize ({"model", "prompt"})."""
        for route in (("/extras/tokenize", "input"), ("/tokenize", "content"), ("/tokenize", "prompt")):
            try:
                if self._server_tokens("def", route):
                    return route
            except (ConfigError, GenerationError, ModelError, KeyError, TypeError, ValueError):
                continue
        return None

    def _server_tokens(self, text: str, route: tuple[str, str] | None = None) -> list[int]:
        """TEXT's token ids from the server's tokenizer (ROUTE, else the one found)."""
        path, shape = route or self._tokenizer_route
        body = {"input": text} if shape == "input" else {"content": text, "parse_special": True}
        if shape == "prompt":
            body = {"model": self.request_model, "prompt": text, "add_special_tokens": False}
        data = self.endpoint.post_json(self.endpoint.root + path, body, timeout=min(self.endpoint.timeout, 30))
        return [int(t["id"]) if isinstance(t, dict) else int(t) for t in data["tokens"]]

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        if not self.coder:
            return self.pieces.tokenize(text, special)
        key = (text, special)
        hit = self._tokens.get(key)
        if hit is None:
            data = self.endpoint.post_json(self.endpoint.root + "/tokenize", {"content": text, "parse_special": special})
            hit = [int(t) for t in data["tokens"]]
            if len(self._tokens) > 4096:
                self._tokens.clear()
            self._tokens[key] = hit
        return list(hit)

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        if not self.coder:
            if self._tokenizer_route is None:
                return len(estimate_tokens(text))
            n = self._counts.get(text)
            if n is None:  # budgets count the same messages and lines again and again: one request each
                if len(self._counts) > 4096:
                    self._counts.clear()
                n = self._counts[text] = len(self._server_tokens(text))
            return n
        return len(self.tokenize(text))

    def chat_prompt(self, messages: Sequence[Message]) -> list[int]:
        if not self.coder:
            tokens: list[int] = []
            for m in messages:  # <|im_start|>role\n … <|im_end|>\n: about 5 tokens a message
                tokens += [1, 2, 3, 4, 5] + estimate_tokens(m["content"])
            return tokens + [1, 2, 3]
        data = self.endpoint.post_json(self.endpoint.root + "/tokenize", {"messages": list(messages)})
        return [int(t) for t in data["tokens"]]

    def special_token_id(self, text: str) -> int:
        if not self.coder:
            self._need_coder(f"the special token {text!r}")
        ids = self.tokenize(text, special=True)
        if len(ids) != 1 or self.tokenize(text) == ids:
            raise ModelError(f"{self.info.model} has no special token {text!r} in its vocabulary")
        return ids[0]

    def detokenize(self, tokens: Sequence[int]) -> str:
        if not self.coder:
            self._need_coder("reading token ids")
        return self.endpoint.post_json(self.endpoint.root + "/detokenize", {"tokens": list(tokens)})["content"]

    def is_eog(self, token: int) -> bool:
        return token in self._eog

    def fim_tokens(self):
        if self.coder:
            return self._fim
        if self._text_fim is None:
            self._text_fim = self._reads_fim_text()
        if not self._text_fim:
            return None
        from coder_cli.core.fim_prompt import FimTokens

        sp = self.pieces.special
        return FimTokens(*(sp[t] for t in FIM_TEXTS))

    def _reads_fim_text(self) -> bool:
        """Whether the server's model reads Qwen2.5-Coder's FIM tokens written out in a prompt: its
        tokenizer makes one token of each; without a tokenizer route, the model's name decides."""
        if self._tokenizer_route is not None:
            try:
                return all(len(self._server_tokens(t)) == 1 for t in FIM_TEXTS[:3])
            except (ConfigError, GenerationError, KeyError, TypeError, ValueError):
                return False
        name = self.request_model.lower()
        return "qwen" in name and "coder" in name

    def score(
        self, prompt: Sequence[int], continuation: Sequence[int], probes: Mapping[int, Sequence[int]] | None = None
    ) -> list[TokenScore]:
        if not self.coder:
            self._need_coder("scoring a continuation")
        body: dict = {"prompt": list(prompt), "continuation": list(continuation)}
        if probes:
            body["probes"] = {str(k): list(v) for k, v in probes.items()}
        data = self.endpoint.post_json(self.endpoint.root + "/coder/score", body)
        return [TokenScore(*row[:4], tuple(row[4]) if len(row) > 4 else ()) for row in data["scores"]]

    def prefill(self, tokens: Sequence[int], cancel=None) -> int:
        if not self.coder:
            return 0  # nothing to warm: the server keeps its own cache
        data = self.endpoint.post_json(self.endpoint.root + "/coder/prefill", {"tokens": list(tokens)}, cancel=cancel)
        return 0 if data is None else int(data.get("evaluated", 0))

    # -- generation ----------------------------------------------------------------------
    def chat(self, messages: Sequence[Message], params: GenParams) -> Generation:
        body = {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
        # The prompt's length comes with the reply (usage): tokenizing it first would read it twice.
        return self._stream("/chat/completions", body, params, GenStats(), chat=True)

    def complete(self, tokens: Sequence[int], params: GenParams, stop_tokens: Sequence[str] = ()) -> Generation:
        if not self.coder:
            if not self.pieces.owns(tokens):
                self._need_coder("a completion from token ids")
            # The prompt as text, its FIM tokens written out (the server reads special tokens in a
            # /v1/completions prompt given without `suffix`: llama-cpp-python, llama.cpp, vLLM).
            body = {"prompt": self.pieces.text(tokens)}
            return self._stream("/completions", body, params, GenStats(prompt_tokens=len(tokens)), chat=False)
        body = {"prompt": list(tokens), "stop_tokens": list(stop_tokens)}
        return self._stream("/completions", body, params, GenStats(prompt_tokens=len(tokens)), chat=False)

    def _stream(self, route: str, body: dict, params: GenParams, stats: GenStats, chat: bool) -> Generation:
        body.update(
            model=self.request_model,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
        )
        if params.temperature > 0:
            body["top_k"] = params.top_k
        if params.stop:
            body["stop"] = list(params.stop)
        if params.repeat_penalty != 1.0:
            body["repeat_penalty"] = params.repeat_penalty
        url = self.endpoint.base + route
        t0 = now()
        resp = self.endpoint.request("POST", url, body)
        return Generation(self._pieces(resp, url, stats, chat, t0), stats)

    def _pieces(self, resp: http.client.HTTPResponse, url: str, stats: GenStats, chat: bool, t0: float) -> Iterator[str]:
        first = last = None
        counted = 0
        usage = timings = None
        stats.finish_reason = "stop"
        try:
            for event in _sse_events(resp, url):
                if "usage" in event and event["usage"]:
                    usage = event["usage"]
                if isinstance(event.get("timings"), dict):
                    timings = event["timings"]
                for choice in event.get("choices") or []:
                    if chat:  # a stream's delta, or the whole message from a server that ignored stream=true
                        piece = (choice.get("delta") or choice.get("message") or {}).get("content")
                    else:
                        piece = choice.get("text")
                    if piece:
                        t = now()
                        if first is None:
                            first = t
                            stats.prompt_s = t - t0
                        last = t
                        counted += 1
                        yield piece
                    reason = choice.get("finish_reason")
                    if reason:
                        stats.finish_reason = "length" if reason == "length" else "stop"
        except GeneratorExit:
            stats.finish_reason = "interrupted"
            raise
        finally:
            resp.close()
            if first is not None and last is not None:
                stats.generate_s = last - first
            if timings:  # the server's own clock: right also when the reply came in one piece
                server_s = _seconds(timings, "generate_s", "predicted_ms")
                stats.generate_s = server_s if server_s is not None else stats.generate_s
            stats.completion_tokens = counted
            if usage:
                stats.prompt_tokens = int(usage.get("prompt_tokens") or stats.prompt_tokens)
                stats.completion_tokens = int(usage.get("completion_tokens") or counted)
                details = usage.get("prompt_tokens_details") or {}
                stats.cached_tokens = int(details.get("cached_tokens") or 0)

    def close(self) -> None:
        self._tokens.clear()
        self._counts.clear()


def _seconds(timings: dict, seconds_key: str, ms_key: str) -> float | None:
    """A duration from a server's timings: coder serve's seconds, or llama.cpp server's milliseconds."""
    for key, scale in ((seconds_key, 1.0), (ms_key, 0.001)):
        value = timings.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value) * scale
    return None


def _sse_events(resp: http.client.HTTPResponse, url: str) -> Iterator[dict]:
    """The JSON events of a server-sent-event stream, to `data: [DONE]` (or one plain JSON body)."""
    if "text/event-stream" not in (resp.getheader("Content-Type") or ""):
        yield _read_json(resp, url)  # a server that ignored stream=true
        return
    while True:
        try:
            line = resp.readline()
        except TimeoutError:
            raise ServerError(f"{url}: the server stopped sending", "it may be overloaded; raise request_timeout") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServerError(f"{url}: the connection broke: {_reason(exc)}") from None
        if not line:  # a reply cut off (the server died or failed): not a finished one
            raise ServerError(f"{url}: the stream ended before the reply was complete", "the server's log says why")
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("error"):
            err = event["error"]
            raise ServerError(f"{url}: {err.get('message', err) if isinstance(err, dict) else err}")
        if isinstance(event, dict):
            yield event
