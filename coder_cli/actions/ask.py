"""`coder ask`: one prompt in, one reply out, streamed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.core.ask_prompts import Part, ask_messages, ask_parts
from coder_cli.core.extract import CodeExtractor
from coder_cli.core.languages import is_binary
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.errors import ContextOverflow, UsageError
from coder_cli.fs.text_file import read_bytes

# The reply always gets at least this many tokens of room (or max_tokens, if smaller).
MIN_REPLY = 256


@dataclass
class AskRequest:
    prompt: str | None
    stdin_text: str | None
    files: list[Path] = field(default_factory=list)
    system: str | None = None
    extract: bool = False
    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int = 0


@dataclass
class AskResult:
    reply: str
    code: str | None
    stats: GenStats
    model: str
    parts: dict[str, int]
    load_s: float
    total_s: float
    notes: list[str] = field(default_factory=list)


def read_files(paths: list[Path]) -> list[tuple[str, str]]:
    out = []
    for path in paths:
        data = read_bytes(path)
        if is_binary(data):
            raise UsageError(f"{path} looks like a binary file", "pass text files only")
        out.append((str(path), data.decode("utf-8", errors="replace")))
    return out


def build_parts(req: AskRequest) -> list[Part]:
    """Validate the inputs before any model is loaded."""
    files = read_files(req.files)
    stdin_text = req.stdin_text if req.stdin_text and req.stdin_text.strip() else None
    prompt = req.prompt if req.prompt and req.prompt.strip() else None
    if prompt is None and stdin_text is None and not files:
        if req.stdin_text is not None:
            raise UsageError("nothing to ask: standard input was empty", 'pass a prompt: coder ask "question"')
        raise UsageError("nothing to ask", 'pass a prompt (coder ask "question"), pipe text in, or use -f FILE')
    return ask_parts(prompt, stdin_text, files, req.system)


def fit_reply(engine: Engine, parts: list[Part], n_prompt: int, max_tokens: int) -> tuple[int, list[str]]:
    """The reply budget; raise ContextOverflow (naming every part) when the prompt cannot fit."""
    notes: list[str] = []
    room = engine.n_ctx - n_prompt
    need = min(MIN_REPLY, max_tokens)
    if room < need:
        listing = ", ".join(f"{p.label} {engine.count_tokens(p.text):,}" for p in parts)
        raise ContextOverflow(
            f"the prompt is {n_prompt:,} tokens; with {need:,} reserved for the reply the context "
            f"of {engine.n_ctx:,} is {need - room:,} tokens over (included: {listing})",
            "send less input, or raise --ctx (up to the model's trained length "
            f"{engine.info.n_ctx_train:,}); nothing was truncated",
        )
    if room < max_tokens:
        notes.append(f"reply limited to {room:,} tokens by the context window ({engine.n_ctx:,})")
        max_tokens = room
    return max_tokens, notes


def run_ask(
    req: AskRequest,
    parts: list[Part],
    load: Callable[[], Engine],
    emit: Callable[[str], None],
) -> AskResult:
    """Load the engine, check the context, stream the reply through EMIT."""
    t0 = time.perf_counter()
    engine = load()
    load_s = time.perf_counter() - t0
    messages = ask_messages(parts)
    tokens = engine.chat_prompt(messages)
    max_tokens, notes = fit_reply(engine, parts, len(tokens), req.max_tokens)
    params = GenParams(max_tokens=max_tokens, temperature=req.temperature, seed=req.seed)
    extractor = CodeExtractor() if req.extract else None
    pieces: list[str] = []
    code_pieces: list[str] = []
    gen = engine.chat(messages, params)
    try:
        for piece in gen:
            pieces.append(piece)
            if extractor:
                code_pieces.append(extractor.feed(piece))
                emit(code_pieces[-1])
            else:
                emit(piece)
        if extractor:
            code_pieces.append(extractor.finish())
            emit(code_pieces[-1])
    finally:
        gen.close()
    reply = "".join(pieces)
    code = "".join(code_pieces) if extractor else None
    if gen.stats.finish_reason == "length":
        notes.append(f"the reply stopped at the {max_tokens:,}-token limit (--max-tokens)")
    return AskResult(
        reply=reply,
        code=code,
        stats=gen.stats,
        model=engine.info.model,
        parts={p.label: engine.count_tokens(p.text) for p in parts},
        load_s=load_s,
        total_s=time.perf_counter() - t0,
        notes=notes,
    )
