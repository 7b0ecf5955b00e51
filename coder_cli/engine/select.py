"""Which engine a command runs on: `select` is the one policy.

1. ``--backend openai``: the OpenAI-compatible server at ``--base-url`` (a `coder serve` there is
   recognised and used with its exact tokenizer);
2. else a running `coder serve` (CODER_SERVER, or the record in $CODER_HOME, see
   `engine.server_record`) that serves the model this command would load, with at least the
   context asked for; CODER_SERVER=off never uses one;
3. else the configured model, loaded in this process (``scripted:FILE``: the test engine).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from coder_cli.engine import SCRIPTED_PREFIX
from coder_cli.engine.base import Engine


def select(
    settings,
    store,
    home: Path,
    environ,
    *,
    warn: Callable[[str], None] | None = None,
    progress=None,
    loading: Callable[[str], contextlib.AbstractContextManager] | None = None,
    use_server: bool = True,
) -> Engine:
    """The engine for SETTINGS. USE_SERVER false: always the model here. LOADING (a terminal's
    spinner): wraps a local load, after any install from the mirror, which shows PROGRESS."""
    from coder_cli.engine.faults import ENV, Fault

    if use_server and settings.backend == "openai":
        return connect_remote(settings, warn)
    if use_server:
        engine = connect_server(settings, store, home, environ, warn)
        if engine is not None:
            return engine
    fault = Fault.parse(environ.get(ENV))
    if loading is None:
        return load_engine(settings, store, progress, warn, fault)
    from coder_cli.model_store import looks_like_path

    if not looks_like_path(settings.model) and not settings.model.startswith(SCRIPTED_PREFIX):
        store.resolve(settings.model, progress=progress)  # install from the mirror (its own bar) first
    with loading(f"loading {settings.model}…"):
        return load_engine(settings, store, progress, warn, fault)


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
        speculate=settings.speculate,
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
    from coder_cli.engine.remote import RemoteEngine
    from coder_cli.engine.server_record import find_server

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
