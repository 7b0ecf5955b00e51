"""The routes of the other servers' dialects (see ``dialects``): llama.cpp's ``/infill``,
``/completion`` and ``/props``; Ollama's ``/api/tags``, ``/api/version``, ``/api/show``,
``/api/ps``, ``/api/generate`` and ``/api/chat``. Each takes the request's handler (its body,
its socket) and the server (the engine, the queue, the completer)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import replace

from coder_cli.actions.complete import Fill, FillRequest
from coder_cli.actions.serve.dialects import (
    UNTITLED,
    fill_stats,
    fim_from_prompt,
    infill_request,
    llama_answer,
    ollama_counts,
    ollama_name,
    ollama_params,
    ollama_time,
    pick_fields,
)
from coder_cli.actions.serve.protocol import json_bytes, messages_from, params_from, token_list
from coder_cli.engine.base import GenStats
from coder_cli.errors import UsageError

OLLAMA_VERSION = "0.12.6"  # the Ollama API these routes follow (docs/api.md); clients check it is recent


# -- helpers -------------------------------------------------------------------------------------
def _fill(h, server, req: FillRequest, *, files: bool) -> Fill:
    """REQ filled by the server's completer (its cache first). Without FILES (the caller may not read
    files: no token, no API key) no repository context is read from disk."""
    completer, cache = server.completer()
    return cache.fill(completer, _readable(req, files))


def _readable(req: FillRequest, files: bool) -> FillRequest:
    """REQ as a caller may have it: without FILES, no repository context read from disk."""
    return replace(req, own_context=False) if req.own_context and not files else req


def _stop_type(fill: Fill, cap: int) -> str:
    return "limit" if fill.completion_tokens >= cap else "eos"


def _pieces(h, gen, stream: bool, emit: Callable[[str], None]) -> str:
    """Run GEN (a Generation), passing each piece to EMIT when STREAM; the whole text."""
    out = []
    try:
        for piece in gen:
            out.append(piece)
            if stream:
                emit(piece)
            elif h.peer.gone():
                raise BrokenPipeError  # nobody waits for this reply any more
    finally:
        gen.close()
    return "".join(out)


# -- llama.cpp server ----------------------------------------------------------------------------
def props(h, server) -> None:
    i = server.engine.info
    h._send_json(
        200,
        {
            "default_generation_settings": {
                "id": 0,
                "n_ctx": i.n_ctx,
                "speculative": False,
                "is_processing": server.queue.busy,
                "params": {"n_predict": -1, "temperature": 0.0, "top_k": 20, "top_p": 0.8, "stop": [], "samplers": []},
            },
            "total_slots": 1,
            "model_path": i.path,
            "chat_template": "",
            "modalities": {"vision": False, "audio": False},
            "build_info": f"coder {server.info()['version']}",
            "is_sleeping": False,
        },
    )


def infill(h, server) -> None:
    """llama.cpp's ``/infill``: coder's fill at ``input_prefix + prompt``; ``n_predict`` 0 only reads
    the prompt (cache warming, giving way to any request that comes)."""
    body = h._body()
    req, n_predict = infill_request(body)
    model = server.engine.info.model
    files = h._authorized(files=True)
    stream = _flag(body, "stream")
    with server.queue:
        if h.peer.gone():
            return
        if n_predict == 0:
            completer, _ = server.completer()
            tokens, _ = completer.prompt(_readable(req, files))
            answer = llama_answer("", h.warm(tokens), model, stop_type="limit", n_ctx=server.engine.info.n_ctx, n_predict=0)
        else:
            fill = _fill(h, server, req, files=files)
            answer = llama_answer(
                fill.completion,
                fill_stats(fill),
                model,
                stop_type=_stop_type(fill, req.max_tokens or n_predict),
                n_ctx=server.engine.info.n_ctx,
                n_predict=n_predict,
            )
        server.served += 1
    answer = pick_fields(answer, body.get("response_fields"))
    _llama_send(h, server, answer, stream)


def _llama_send(h, server, answer: dict, stream: bool) -> None:
    if not stream:
        h._send_json(200, answer)
        return
    h.start_stream("text/event-stream")
    if answer.get("content"):
        h.outbox.put(b"data: " + json_bytes({"content": answer["content"], "stop": False, "tokens": []}) + b"\n\n")
    h.outbox.put(b"data: " + json_bytes({**answer, "content": ""}) + b"\n\n")  # (llama.cpp ends with no [DONE])
    h.outbox.drain()


def completion(h, server) -> None:
    """llama.cpp's ``/completion``: the prompt (text, special tokens read, or token ids) continued;
    a prompt in the model's fill-in-the-middle layout is filled as ``/infill`` would."""
    body = h._body()
    prompt = body.get("prompt", "")
    stream = _flag(body, "stream")
    n_predict = body.get("n_predict", body.get("max_tokens", -1))
    if isinstance(n_predict, bool) or not isinstance(n_predict, int) or n_predict < -1:
        raise UsageError("'n_predict' must be a whole number from -1")
    model = server.engine.info.model
    n_ctx = server.engine.info.n_ctx
    req = fim_from_prompt(prompt) if isinstance(prompt, str) else None
    if req is not None and n_predict != 0:
        cap = 4 * 128 if n_predict < 0 else n_predict
        req = replace(req, max_tokens=cap)
        with server.queue:
            if h.peer.gone():
                return
            fill = _fill(h, server, req, files=False)
            server.served += 1
        answer = llama_answer(
            fill.completion, fill_stats(fill), model, stop_type=_stop_type(fill, cap), n_ctx=n_ctx, n_predict=n_predict
        )
        _llama_send(h, server, pick_fields(answer, body.get("response_fields")), stream)
        return
    engine = server.engine
    if isinstance(prompt, str):
        tokens = None
    else:
        tokens = token_list(prompt, "prompt", server.n_vocab)
    params = params_from({k: v for k, v in body.items() if k not in ("max_tokens", "max_completion_tokens")}, default_max=1)
    params = replace(params, max_tokens=max(1, n_ctx if n_predict < 0 else n_predict))
    with server.queue:
        if h.peer.gone():
            return
        ids = tokens if tokens is not None else engine.tokenize(prompt, special=True)
        if n_predict == 0:
            answer = llama_answer("", h.warm(ids), model, stop_type="limit", n_ctx=n_ctx, n_predict=0)
            server.served += 1
            _llama_send(h, server, pick_fields(answer, body.get("response_fields")), stream)
            return
        room = n_ctx - len(ids)
        if n_predict < 0:
            params = replace(params, max_tokens=max(1, room))
        gen = engine.complete(ids, params)  # a prompt that does not fit raises here, before any byte is sent
        if stream:
            h.start_stream("text/event-stream")

        def emit(piece: str) -> None:
            h.outbox.put(b"data: " + json_bytes({"content": piece, "stop": False, "tokens": []}) + b"\n\n")

        try:
            text = _pieces(h, gen, stream, emit)
        finally:
            server.served += 1
    st = gen.stats
    kind = "limit" if st.finish_reason == "length" else "eos"
    answer = pick_fields(
        llama_answer(text, st, model, stop_type=kind, n_ctx=n_ctx, n_predict=n_predict), body.get("response_fields")
    )
    if stream:
        h.outbox.put(b"data: " + json_bytes({**answer, "content": ""}) + b"\n\n")
        h.outbox.drain()
    else:
        h._send_json(200, answer)


def _flag(body: dict, key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UsageError(f"{key!r} must be true or false")
    return value


# -- Ollama --------------------------------------------------------------------------------------
def _model_entry(server) -> dict:
    i = server.engine.info
    try:
        st = os.stat(i.path)
        size, modified = st.st_size, st.st_mtime
    except (OSError, TypeError):
        size, modified = 0, server.started
    name = ollama_name(i.model)
    return {
        "name": name,
        "model": name,
        "modified_at": ollama_time(modified),
        "size": size,
        "digest": hashlib.sha256(f"{i.path}:{size}:{modified}".encode()).hexdigest(),  # (an id, not the file's hash)
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": _parameter_size(i.model),
            "quantization_level": _quantization(i.model),
        },
    }


def _parameter_size(model: str) -> str:
    for size in ("0.5b", "1.5b", "3b", "7b", "14b", "32b"):
        if size in model.lower():
            return size.upper()
    return ""


def _quantization(model: str) -> str:
    lower = model.lower()
    for q in ("q4_k_m", "q5_k_m", "q6_k", "q8_0", "f16"):
        if q in lower:
            return q.upper()
    return ""


def tags(h, server) -> None:
    h._send_json(200, {"models": [_model_entry(server)]})


def ps(h, server) -> None:
    entry = _model_entry(server)
    entry.update(expires_at=ollama_time(time.time() + 365 * 86400), size_vram=0)
    h._send_json(200, {"models": [entry]})


def version(h, server) -> None:
    h._send_json(200, {"version": OLLAMA_VERSION})


def show(h, server) -> None:
    """What Continue reads before it completes: ``template`` (``.Suffix`` in it says the model takes
    ``suffix``, so it sends prefix and suffix and coder lays out the fill) and ``parameters``."""
    entry = _model_entry(server)
    i = server.engine.info
    h._send_json(
        200,
        {
            "modelfile": f"FROM {i.path}\n",
            "parameters": f"num_ctx {i.n_ctx}",
            "template": "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>"
            "{{- else }}{{ .Prompt }}{{- end }}",
            "details": entry["details"],
            "model_info": {"general.architecture": "qwen2", "qwen2.context_length": i.n_ctx_train or i.n_ctx},
            "capabilities": ["completion", "insert"],
            "modified_at": entry["modified_at"],
        },
    )


def generate(h, server) -> None:
    """Ollama's ``/api/generate``: with ``suffix``, or a prompt in the model's fill-in-the-middle
    layout, coder's fill; with ``raw``, the prompt continued as it is; else the prompt as a chat turn
    (with ``system``). An empty prompt only says the model is loaded."""
    body = h._body()
    t0 = time.perf_counter()
    prompt = body.get("prompt") or ""
    suffix = body.get("suffix")
    if not isinstance(prompt, str) or (suffix is not None and not isinstance(suffix, str)):
        raise UsageError("'prompt' and 'suffix' must be text")
    stream = _flag(body, "stream", True)
    raw = _flag(body, "raw")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        raise UsageError("'system' must be text")
    params = ollama_params(body)
    name = ollama_name(server.engine.info.model)
    if not prompt and not suffix:
        h._send_json(200, {"model": name, "created_at": ollama_time(), "response": "", "done": True, "done_reason": "load"})
        return
    req = FillRequest(UNTITLED, prompt, suffix, own_context=False) if suffix else fim_from_prompt(prompt)
    if req is not None:
        req = replace(req, max_tokens=params.max_tokens)
        with server.queue:
            if h.peer.gone():
                return
            fill = _fill(h, server, req, files=False)
            server.served += 1
        stats = fill_stats(fill)
        stats.finish_reason = "length" if fill.completion_tokens >= params.max_tokens else "stop"
        if stream:
            h.start_stream("application/x-ndjson")
            if fill.completion:
                h.outbox.put(json_bytes(_ollama_line(server, fill.completion, False, chat=False)) + b"\n")
            h.outbox.put(json_bytes(_ollama_final(server, "", stats, t0, chat=False)) + b"\n")
            h.outbox.drain()
        else:
            h._send_json(200, _ollama_final(server, fill.completion, stats, t0, chat=False))
        return
    engine = server.engine

    def run():
        if raw:
            return engine.complete(engine.tokenize(prompt, special=True), params)
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return engine.chat(messages, params)

    _ollama_generate(h, server, stream, run, t0, chat=False)


def chat(h, server) -> None:
    body = h._body()
    t0 = time.perf_counter()
    messages = messages_from(body)
    params = ollama_params(body)
    _ollama_generate(h, server, _flag(body, "stream", True), lambda: server.engine.chat(messages, params), t0, chat=True)


def _ollama_generate(h, server, stream: bool, run, t0: float, chat: bool) -> None:
    with server.queue:
        if h.peer.gone():
            return
        gen = run()  # a prompt that does not fit raises here, before any byte is sent
        if stream:
            h.start_stream("application/x-ndjson")

        def emit(piece: str) -> None:
            h.outbox.put(json_bytes(_ollama_line(server, piece, False, chat=chat)) + b"\n")

        try:
            text = _pieces(h, gen, stream, emit)
        finally:
            server.served += 1
        final = _ollama_final(server, "" if stream else text, gen.stats, t0, chat=chat)
        if stream:
            h.outbox.put(json_bytes(final) + b"\n")
    if stream:
        h.outbox.drain()  # the engine is free by now: wait for the client here
    else:
        h._send_json(200, final)


def _ollama_line(server, text: str, done: bool, *, chat: bool) -> dict:
    out: dict = {"model": ollama_name(server.engine.info.model), "created_at": ollama_time()}
    if chat:
        out["message"] = {"role": "assistant", "content": text}
    else:
        out["response"] = text
    out["done"] = done
    return out


def _ollama_final(server, text: str, stats: GenStats, t0: float, *, chat: bool) -> dict:
    """The last line (or the only object): the text when not streamed, why it stopped, the counts."""
    final = _ollama_line(server, text, True, chat=chat)
    final["done_reason"] = "length" if stats.finish_reason == "length" else "stop"
    if not chat:
        final["context"] = []
    final.update(ollama_counts(stats, time.perf_counter() - t0))
    return final


ROUTES = {
    ("GET", "/props"): props,
    ("POST", "/infill"): infill,
    ("POST", "/completion"): completion,
    ("GET", "/api/tags"): tags,
    ("GET", "/api/ps"): ps,
    ("GET", "/api/version"): version,
    ("POST", "/api/show"): show,
    ("POST", "/api/generate"): generate,
    ("POST", "/api/chat"): chat,
}
