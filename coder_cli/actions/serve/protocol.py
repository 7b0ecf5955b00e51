"""What a request to `coder serve` says, as values: pure functions, a bad field is a UsageError (a 400).

OpenAI's fields (messages, max_tokens, temperature, stop, ...), llama.cpp's token lists, the
Host/Origin names a loopback server checks, the body's size limit and JSON, and the usage and
timing an answer reports.
"""

from __future__ import annotations

import json
import math
from urllib.parse import urlsplit

from coder_cli.engine.base import GenParams
from coder_cli.errors import UsageError

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_BODY = 8 * 1024 * 1024  # a prompt cannot outgrow the context (32k tokens is well under 1 MB of text)
MAX_SEED = 2**32 - 1  # llama.cpp's seed is a uint32; -1 (its server's default) asks for a random one
MAX_TOP_K = 1_000_000  # past the vocabulary it changes nothing; unbounded, it reached the sampler as is


def hostname(value: str) -> str:
    """The host part of a Host header or an origin URL, without port or brackets, lower case."""
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_allowed(origin: str, port: int) -> bool:
    """Whether a browser's Origin header is this loopback server's own (http, a loopback name, PORT):
    a page on any other port of this machine is another site and may not make it generate."""
    try:
        parts = urlsplit(origin.strip().lower())
        return parts.scheme == "http" and parts.hostname in LOOPBACK and parts.port == port and parts.path == ""
    except ValueError:  # a port out of range, a bad IPv6 literal
        return False


def params_from(body: dict, default_max: int = 1024) -> GenParams:
    """OpenAI request fields → GenParams; a bad value is a 400 (NaN and infinities included: they
    pass every comparison)."""

    def num(key, kind, default, lo=None, hi=None):
        value = body.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{key!r} must be a number")
        try:
            value = kind(value)
        except (OverflowError, ValueError):  # float(10**400), int(inf), int(nan)
            value = math.nan
        if isinstance(value, float) and not math.isfinite(value):  # (an int is finite; isfinite of a huge one overflows)
            raise UsageError(f"{key!r} must be a finite number")
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
        max_tokens=num("max_tokens", int, default_max, 1) if max_tokens is None else positive(max_tokens),
        temperature=num("temperature", float, 0.0, 0.0, 2.0),
        top_p=num("top_p", float, 0.8, 0.0, 1.0),
        top_k=num("top_k", int, 20, 0, MAX_TOP_K),
        repeat_penalty=num("repeat_penalty", float, 1.0, 0.0, 100.0),
        seed=num("seed", int, 0, -1, MAX_SEED),
        stop=tuple(stop),
    )


def positive(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError("'max_tokens' must be a whole number from 1")
    return value


def messages_from(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UsageError("'messages' must be a non-empty list")
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise UsageError("each message needs a role: system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):  # the content-parts form: keep the text parts
            texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if not all(isinstance(t, str) for t in texts):
                raise UsageError("a text part's 'text' must be text")
            content = "".join(texts)
        if not isinstance(content, str):
            raise UsageError("each message's content must be text")
        out.append({"role": m["role"], "content": content})
    return out


def stream_flags(body: dict) -> tuple[bool, bool]:
    """(stream, include_usage) from ``stream`` and ``stream_options``."""
    stream = body.get("stream", False)
    options = body.get("stream_options") or {}
    if not isinstance(stream, bool) and stream is not None:
        raise UsageError("'stream' must be true or false")
    if not isinstance(options, dict):
        raise UsageError("'stream_options' must be an object")
    return bool(stream), bool(options.get("include_usage"))


def token_list(value, name: str, n_vocab: int) -> list[int]:
    """VALUE as token ids of a vocabulary of N_VOCAB; anything else is a 400. The range matters:
    llama.cpp aborts the whole process (std::out_of_range) on an id outside its vocabulary."""
    if not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise UsageError(f"{name!r} must be a list of token ids")
    bad = next((t for t in value if not 0 <= t < n_vocab), None)
    if bad is not None:
        raise UsageError(f"{name!r} holds {bad}, outside the vocabulary (token ids 0 to {n_vocab - 1})")
    return value


def probe_map(value, n_continuation: int, n_vocab: int) -> dict[int, list[int]]:
    """VALUE ({"position": [token ids]}, positions 0..N_CONTINUATION) as a probe map; else a 400."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > n_continuation + 1:
        raise UsageError("'probes' must map positions of the continuation to lists of token ids")
    out: dict[int, list[int]] = {}
    for key, ids in value.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and int(key) <= n_continuation):
            raise UsageError(f"'probes' position {key!r} is not 0 to {n_continuation}")
        out[int(key)] = token_list(ids, f"probes[{key}]", n_vocab)[:64]
    return out


def body_length(content_length: str | None, transfer_encoding: str | None) -> int:
    """The body's size from its headers; chunked bodies, bad or too large lengths are refused."""
    if "chunked" in (transfer_encoding or "").lower():
        raise UsageError("send the body with a Content-Length (chunked bodies are not read)")
    raw_length = (content_length or "0").strip()
    if not (raw_length.isascii() and raw_length.isdigit()):  # isdigit() alone takes "²", which int() refuses
        raise UsageError(f"bad Content-Length {raw_length!r}")
    length = int(raw_length)
    if length > MAX_BODY:
        raise UsageError(f"the request is over {MAX_BODY // (1024 * 1024)} MB")
    return length


def json_bytes(data) -> bytes:
    """DATA as UTF-8 JSON; with every non-ASCII character escaped when it holds text UTF-8 cannot
    carry (a lone surrogate a client sent, echoed back)."""
    try:
        return json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data).encode("ascii")


def json_body(raw: bytes) -> dict:
    """The request body as a JSON object (a request without a body: {}, not this)."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("the body must be a JSON object")
    return data
