"""Engines: the Engine interface, and a tokenizer that loads lazily. `engine.select` picks the engine a command runs on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coder_cli.engine.base import Engine, EngineInfo, Generation, GenParams, GenStats, Message, TokenScore

__all__ = [
    "Engine",
    "EngineInfo",
    "GenParams",
    "GenStats",
    "Generation",
    "Message",
    "TokenScore",
]

SCRIPTED_PREFIX = "scripted:"


class LazyTokenizer:
    """Counts tokens with the model's tokenizer, loaded on the first count only.

    ``id`` names the tokenizer (for caches of counts) without loading anything.
    When the model cannot be had, counts fall back to an estimate (4 characters
    per token) and ``note`` says so.
    """

    def __init__(self, settings, store, warn: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.warn = warn or (lambda msg: None)
        self._tok = None
        self.note: str | None = None
        name = settings.model
        self.id = name if name.startswith(SCRIPTED_PREFIX) else self._identify(name)

    def _identify(self, name: str) -> str:
        from coder_cli.model_store import looks_like_path

        if looks_like_path(name):
            p = Path(name).expanduser()
            try:
                return f"path:{p.resolve()}:{p.stat().st_size}"
            except OSError:
                return f"path:{p}"
        m = self.store.lookup(name)
        return m.id

    def __call__(self, text: str) -> int:
        if self._tok is None:
            self._tok = self._load()
        return self._tok(text)

    def _load(self) -> Callable[[str], int]:
        from coder_cli.errors import ModelError

        name = self.settings.model
        if name.startswith(SCRIPTED_PREFIX):
            from coder_cli.engine.scripted import ScriptedEngine

            return ScriptedEngine([""]).count_tokens
        try:
            resolved = self.store.resolve(name)
        except ModelError as exc:
            self.note = f"token counts are estimates (4 characters a token): {exc.message}"
            self.warn(self.note)
            return lambda text: (len(text) + 3) // 4
        from coder_cli.engine.llama import LlamaTokenizer

        return LlamaTokenizer(str(resolved.path)).count_tokens
