"""Engines: the registry that turns settings and a model name into an Engine."""

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
    "connect_remote",
    "connect_server",
    "load_engine",
]

SCRIPTED_PREFIX = "scripted:"


def load_engine(settings, store, progress=None, warn: Callable[[str], None] | None = None, fault=None) -> Engine:
    """Resolve settings.model through the store and load it.

    ``scripted:FILE`` selects the scripted test engine; everything else is a
    model id, alias or GGUF path for llama.cpp. FAULT: test only (engine/faults.py).
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
        extra_bufts=settings.extra_bufts,
        fault=fault,
        seed=settings.seed,
        chat_stops=m.stop_chat if m else ("<|im_end|>", "<|endoftext|>"),
        prompt_format=m.prompt if m else None,
        warn=warn,
    )


def connect_remote(settings, warn: Callable[[str], None] | None = None) -> Engine:
    """`--backend openai`: the OpenAI-compatible server at settings.base_url (a `coder serve`
    there is recognised and used with its exact tokenizer)."""
    from coder_cli.engine.remote import Endpoint, RemoteEngine, ServerUnreachable
    from coder_cli.errors import ConfigError, GenerationError

    if not settings.base_url:
        raise ConfigError(
            "--backend openai needs the server's URL",
            "pass --base-url http://HOST:PORT/v1 (or set base_url in the config, or CODER_BASE_URL)",
        )
    endpoint = Endpoint.parse(settings.base_url, settings.api_key, float(settings.request_timeout))
    info = None
    try:
        data = endpoint.get_json(endpoint.root + "/coder/info", timeout=min(10.0, endpoint.timeout))
        info = data if data.get("server") == "coder" else None
    except ServerUnreachable:
        raise
    except (ConfigError, GenerationError):
        pass  # not a `coder serve` (no /coder/info): an OpenAI-compatible server
    named = settings.remote_model or ("" if settings.origins.get("model") == "default" else settings.model)
    return RemoteEngine(endpoint, model=named, n_ctx=settings.ctx, server_info=info, warn=warn)


def connect_server(settings, store, home: Path, environ, warn: Callable[[str], None] | None = None) -> Engine | None:
    """A running `coder serve` (CODER_SERVER or $CODER_HOME/server.json) serving the model this
    command would load; None when there is none, it does not answer, or it has another model."""
    if settings.model.startswith(SCRIPTED_PREFIX):
        return None
    from coder_cli.engine.remote import RemoteEngine, find_server

    found = find_server(home, environ)
    if found is None:
        return None
    endpoint, info = found
    if settings.origins.get("model") != "default" and not _same_model(settings.model, info, store):
        return None  # the user named another model: load that one here
    if settings.origins.get("ctx") != "default" and int(info.get("n_ctx", 0)) < settings.ctx:
        return None  # a longer context asked for than the server has
    return RemoteEngine(endpoint, server_info=info, warn=warn)


def _same_model(name: str, info: dict, store) -> bool:
    from coder_cli.errors import ModelError
    from coder_cli.model_store import looks_like_path

    if looks_like_path(name):
        try:
            return Path(name).expanduser().resolve() == Path(info.get("path", "")).resolve()
        except OSError:
            return False
    try:
        return store.lookup(name).id == info.get("model")
    except ModelError:
        return False


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
