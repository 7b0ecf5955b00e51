"""Engines: the registry that turns settings and a model name into an Engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coder_cli.engine.base import Engine, EngineInfo, Generation, GenParams, GenStats, Message

__all__ = ["Engine", "EngineInfo", "GenParams", "GenStats", "Generation", "Message", "load_engine"]

SCRIPTED_PREFIX = "scripted:"


def load_engine(settings, store, progress=None, warn: Callable[[str], None] | None = None) -> Engine:
    """Resolve settings.model through the store and load it.

    ``scripted:FILE`` selects the scripted test engine; everything else is a
    model id, alias or GGUF path for llama.cpp.
    """
    name = settings.model
    if name.startswith(SCRIPTED_PREFIX):
        from coder_cli.engine.scripted import ScriptedEngine

        return ScriptedEngine.from_file(Path(name[len(SCRIPTED_PREFIX) :]))
    resolved = store.resolve(name, progress=progress)
    from coder_cli.engine.llama import LlamaEngine

    m = resolved.manifest
    n_ctx_train = m.context_length if m else None
    return LlamaEngine(
        str(resolved.path),
        resolved.name,
        n_ctx=settings.ctx,
        n_ctx_train=n_ctx_train,
        threads=settings.threads,
        gpu_layers=settings.gpu_layers,
        batch=settings.batch,
        flash_attn=settings.flash_attn,
        kv_type=settings.kv_type,
        seed=settings.seed,
        chat_stops=m.stop_chat if m else ("<|im_end|>", "<|endoftext|>"),
        warn=warn,
    )
