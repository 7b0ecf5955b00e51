"""The other servers' dialects `coder serve` speaks, as values: llama.cpp server's `/infill` and
`/completion` (what llama.vim and llama.vscode send) and Ollama's `/api/generate` and `/api/chat`
(what Continue- and Twinny-style clients send). Pure functions: a request body in, a FillRequest
or GenParams out (a bad field is a UsageError, a 400), and the answer's JSON from what was done.

Where the shapes come from (field by field): llama.cpp's tools/server/README.md and the request
code of ggml-org/llama.vim (autoload/llama.vim) and ggml-org/llama.vscode; Ollama's docs/api.md.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path

from coder_cli.actions.complete import Fill, FillRequest
from coder_cli.actions.serve.protocol import params_from
from coder_cli.engine.base import GenParams, GenStats
from coder_cli.errors import UsageError

# A fill's cap when the client sends none (llama.vim sends 128).
DEFAULT_N_PREDICT = 128
MAX_EXTRA_CHUNKS = 256  # llama.vim's ring buffer holds 16 by default
UNTITLED = Path("/untitled")


def _text(body: dict, key: str, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise UsageError(f"{key!r} must be text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{key!r} must be text a file can hold (no lone surrogates)") from None
    return value


def _int(body: dict, key: str, default: int | None, lo: int, hi: int = 1 << 30) -> int | None:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not lo <= value <= hi:
        raise UsageError(f"{key!r} must be a whole number from {lo}")
    return int(value)


def extra_chunks(value) -> tuple[tuple[str, str], ...]:
    """llama.cpp's ``input_extra``: ``[{"filename": ..., "text": ...}]``, as (name, text) pairs."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_EXTRA_CHUNKS:
        raise UsageError(f"'input_extra' must be a list of at most {MAX_EXTRA_CHUNKS} {{filename, text}} objects")
    out = []
    for chunk in value:
        if not isinstance(chunk, dict):
            raise UsageError("each 'input_extra' chunk is an object: {filename, text}")
        out.append((_text(chunk, "filename"), _text(chunk, "text")))
    return tuple(out)


def infill_request(body: dict) -> tuple[FillRequest, int]:
    """llama.cpp's ``/infill`` body as a fill request and its ``n_predict`` (0: only read the prompt,
    llama.vim's cache warming).

    The cursor is at ``input_prefix + prompt`` (llama.vim sends the lines above as ``input_prefix``
    and the cursor's line up to the cursor as ``prompt``); ``input_suffix`` is what follows.
    ``input_extra`` chunks are the context. The sampling fields (``samplers``, ``top_k``, ``top_p``,
    ``temperature``) are read and not used: a fill is greedy, then post-processed (line or block,
    parse check), which is what makes coder's fills better than the sampler's."""
    prefix = _text(body, "input_prefix") + _text(body, "prompt")
    suffix = _text(body, "input_suffix")
    n_predict = _int(body, "n_predict", DEFAULT_N_PREDICT, -1)
    if n_predict < 0:  # llama.cpp: -1 is "until it stops"
        n_predict = DEFAULT_N_PREDICT * 4
    t_max = _int(body, "t_max_predict_ms", None, 0)
    path, own = _request_path(body)
    req = FillRequest(
        path,
        prefix,
        suffix,
        "auto",
        extra=extra_chunks(body.get("input_extra")),
        own_context=own,
        max_tokens=max(1, n_predict),
        time_limit=t_max / 1000 if t_max else None,
    )
    return req, n_predict


def _request_path(body: dict) -> tuple[Path, bool]:
    """The file the request is for and whether it is on disk to take coder's own repository context
    from: ``path`` (coder's field) when the client names it; else a file beside the absolute chunk
    file names llama.vscode sends (an unnamed one, with their commonest extension, so the language
    is known); else a name only (llama.vim's relative names)."""
    value = body.get("path")
    if isinstance(value, str) and value and "\x00" not in value:
        p = Path(value)
        return (p, True) if p.is_absolute() else (UNTITLED.with_name(p.name or "untitled"), False)
    names = [c.get("filename") for c in body.get("input_extra") or () if isinstance(c, dict)]
    names = [n for n in names if isinstance(n, str) and n and "\x00" not in n]
    absolute = [Path(n) for n in names if Path(n).is_absolute()]
    suffixes = [Path(n).suffix for n in names if Path(n).suffix]
    suffix = max(set(suffixes), key=suffixes.count) if suffixes else ""
    if absolute:
        return absolute[-1].parent / f"untitled{suffix}", True
    return UNTITLED.with_name(f"untitled{suffix}"), False


def llama_timings(stats: GenStats) -> dict:
    """llama.cpp server's ``timings`` object."""
    prompt_n = max(0, stats.prompt_tokens - stats.cached_tokens)
    prompt_ms = stats.prompt_s * 1000
    predicted_ms = stats.generate_s * 1000
    n = stats.completion_tokens
    return {
        "cache_n": stats.cached_tokens,
        "prompt_n": prompt_n,
        "prompt_ms": round(prompt_ms, 3),
        "prompt_per_token_ms": round(prompt_ms / prompt_n, 3) if prompt_n else 0.0,
        "prompt_per_second": round(prompt_n / stats.prompt_s, 2) if stats.prompt_s > 0 else 0.0,
        "predicted_n": n,
        "predicted_ms": round(predicted_ms, 3),
        "predicted_per_token_ms": round(predicted_ms / n, 3) if n else 0.0,
        "predicted_per_second": round(n / stats.generate_s, 2) if stats.generate_s > 0 else 0.0,
    }


def fill_stats(fill: Fill) -> GenStats:
    return GenStats(fill.prompt_tokens, fill.cached_tokens, fill.completion_tokens, fill.prompt_s, fill.generate_s)


def llama_answer(
    content: str, stats: GenStats, model: str, *, stop_type: str, n_ctx: int, n_predict: int, truncated: bool = False
) -> dict:
    """A llama.cpp server completion answer (``/completion``, ``/infill``)."""
    return {
        "index": 0,
        "content": content,
        "tokens": [],
        "id_slot": 0,
        "stop": True,
        "model": model,
        "tokens_predicted": stats.completion_tokens,
        "tokens_evaluated": stats.prompt_tokens,
        "has_new_line": "\n" in content,
        "truncated": truncated,
        "stop_type": stop_type,  # eos, limit or word (llama.cpp's names)
        "stopping_word": "",
        "tokens_cached": stats.prompt_tokens + stats.completion_tokens,
        "generation_settings": {"n_ctx": n_ctx, "model": model, "n_predict": n_predict},
        "timings": llama_timings(stats),
    }


def pick_fields(answer: dict, fields) -> dict:
    """llama.cpp's ``response_fields``: only the fields asked for, a nested one by its path
    (``timings/prompt_n``), each under the name it was asked by."""
    if fields is None:
        return answer
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise UsageError("'response_fields' must be a list of field names")
    out = {}
    for name in fields:
        value, ok = answer, True
        for key in name.split("/"):
            if isinstance(value, dict) and key in value:
                value = value[key]
            else:
                ok = False
                break
        if ok:
            out[name] = value
    return out


# -- Ollama ------------------------------------------------------------------------------------


def ollama_name(model: str) -> str:
    """The model's name as Ollama clients list and send it (``name:tag``)."""
    return model if ":" in model else f"{model}:latest"


def ollama_time(at: float | None = None) -> str:
    return datetime.fromtimestamp(at if at is not None else time.time(), timezone.utc).isoformat().replace("+00:00", "Z")


def ollama_params(body: dict, default_max: int = 1024) -> GenParams:
    """Ollama's ``options`` (num_predict, temperature, top_p, top_k, stop, seed, repeat_penalty) as
    GenParams, read as the OpenAI fields are (``protocol.params_from``: the same ranges). Unset, a
    reply is greedy, as coder's own are (Ollama itself samples at 0.8)."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise UsageError("'options' must be an object")
    n = options.get("num_predict")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, float)) or n != n or not -2 <= n <= 1 << 20):
        raise UsageError(f"options.num_predict must be a number from -2 to {1 << 20}")
    # -1: until it stops, -2: fill the context
    max_tokens = default_max if n is None else default_max * 4 if n < 0 else max(1, int(n))
    fields = {k: options[k] for k in ("temperature", "top_p", "top_k", "repeat_penalty", "seed", "stop") if k in options}
    return params_from({**fields, "max_tokens": max_tokens})


def ollama_counts(stats: GenStats, total_s: float) -> dict:
    """Ollama's counts and durations (nanoseconds) for a final line."""
    return {
        "total_duration": int(total_s * 1e9),
        "load_duration": 0,
        "prompt_eval_count": max(0, stats.prompt_tokens - stats.cached_tokens),
        "prompt_eval_duration": int(stats.prompt_s * 1e9),
        "eval_count": stats.completion_tokens,
        "eval_duration": int(stats.generate_s * 1e9),
    }


_FIM = re.compile(
    r"^(?P<head>.*?)<\|fim_prefix\|>(?P<prefix>.*?)<\|fim_suffix\|>(?P<suffix>.*?)<\|fim_middle\|>(?P<middle>.*)$", re.DOTALL
)
_FILE_SEP = "<|file_sep|>"


def fim_from_prompt(prompt: str) -> FillRequest | None:
    """A prompt in the model's own fill-in-the-middle layout (what Twinny, Continue without
    ``suffix`` or llama.vscode's OpenAI mode build from a Qwen template), read back as a fill
    request, so it gets coder's post-processing; None for any other prompt. Files before the
    cursor's (``<|file_sep|>name\ntext``) are its context, as is any other text before the layout;
    a text after ``<|fim_middle|>`` is where the fill starts."""
    m = _FIM.match(prompt)
    if m is None:
        return None
    if any(t in m.group("prefix") + m.group("suffix") + m.group("middle") for t in _FIM_TOKENS):
        return None
    head = m.group("head")
    chunks: list[tuple[str, str]] = []
    name = "untitled"
    if _FILE_SEP in head:
        before, *parts = head.split(_FILE_SEP)
        for part in parts:
            file_name, _, text = part.partition("\n")
            chunks.append((file_name.strip(), text))
        name = chunks.pop()[0] or "untitled"  # the last is the cursor's file: a name, its text is the prefix
        head = before.replace("<|repo_name|>", "", 1).partition("\n")[2] if before.startswith("<|repo_name|>") else before
    if head.strip():
        chunks.insert(0, ("context", head))
    return FillRequest(
        UNTITLED.with_name(Path(name).name or "untitled"),
        m.group("prefix") + m.group("middle"),
        m.group("suffix"),
        "auto",
        extra=tuple(chunks),
        own_context=False,
    )


_FIM_TOKENS = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", "<|repo_name|>")
