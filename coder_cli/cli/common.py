"""What every command shares: options, the runtime (environment, settings, store)."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from coder_cli import config
from coder_cli.environment import Environment
from coder_cli.ui.console import Diagnostics


def _complete_model(incomplete: str) -> list[str]:
    from coder_cli import manifest

    names = [n for m in manifest.load_all() for n in (m.id, *m.aliases)]
    return [n for n in names if n.startswith(incomplete)]


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model id, alias (see `coder models list`) or path to a .gguf file.",
        autocompletion=_complete_model,
        show_default=False,
    ),
]
GpuLayersOpt = Annotated[
    str | None, typer.Option("--gpu-layers", help="Layers to offload to the GPU: auto, -1 (all) or N.", show_default=False)
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", "-t", help="CPU threads (default: physical cores).", show_default=False)
]
CtxOpt = Annotated[int | None, typer.Option("--ctx", help="Context window in tokens (default: 8192).", show_default=False)]
FlashOpt = Annotated[
    bool | None, typer.Option("--flash-attn/--no-flash-attn", help="Flash attention (default: on).", show_default=False)
]
SpeculateOpt = Annotated[
    bool | None,
    typer.Option(
        "--speculate/--no-speculate",
        help="Greedy replies check drafts copied from the prompt several tokens per step; same text, faster edits (default: on).",
        show_default=False,
    ),
]
KvOpt = Annotated[
    str | None, typer.Option("--kv-type", help="KV-cache type: f16, q8_0 or q4_0 (default: f16).", show_default=False)
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="local: llama.cpp in this process, or a running `coder serve`; openai: the server at --base-url.",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server (llama.cpp server, vLLM, Ollama), e.g. http://127.0.0.1:8000/v1.",
        show_default=False,
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", help="API key for --base-url (or CODER_API_KEY).", show_default=False),
]


MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", help="Longest reply in tokens (default: 1024).", show_default=False)
]
TemperatureOpt = Annotated[
    float | None, typer.Option("--temperature", help="0 is greedy and reproducible (default: 0).", show_default=False)
]


_ENGINE_OPTIONS = {
    "model": ModelOpt,
    "gpu_layers": GpuLayersOpt,
    "threads": ThreadsOpt,
    "ctx_size": CtxOpt,  # (`ctx` is the Typer context)
    "flash_attn": FlashOpt,
    "kv_type": KvOpt,
    "speculate": SpeculateOpt,
}
_REMOTE_OPTIONS = {"backend": BackendOpt, "base_url": BaseUrlOpt, "api_key": ApiKeyOpt}


def engine_options(*, remote: bool = True):
    """Give a command the engine options (--model, --gpu-layers, --threads, --ctx, --flash-attn,
    --kv-type, --speculate and, with REMOTE, --backend, --base-url, --api-key), declared once here. The command
    takes them as one parameter, ``engine``: the settings flags for ``runtime(ctx, **engine)``."""

    options = {**_ENGINE_OPTIONS, **(_REMOTE_OPTIONS if remote else {})}

    def decorate(func):
        signature = inspect.signature(func, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "engine"]
        keyword = inspect.Parameter.KEYWORD_ONLY
        added = [inspect.Parameter(name, keyword, default=None, annotation=a) for name, a in options.items()]

        @functools.wraps(func)
        def command(*args, **kwargs):
            flags = {"ctx" if name == "ctx_size" else name: kwargs.pop(name, None) for name in options}
            if flags.get("base_url") is not None and flags.get("backend") is None:
                flags["backend"] = "openai"  # --base-url alone means the remote backend
            return func(*args, engine=flags, **kwargs)

        command.__signature__ = signature.replace(parameters=[*own, *added])
        command.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
        return command

    return decorate


@dataclass
class Runtime:
    env: Environment
    flags: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home: Path = config.coder_home(self.env.environ)
        self.settings = config.load(self.home, self.env.cwd, self.env.environ, self.flags)
        self.diag = Diagnostics(self.env)
        for warning in self.settings.warnings:
            self.diag.warn(warning)
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from coder_cli.model_store import Store

            self._store = Store(self.home, environ=self.env.environ)
        return self._store

    def progress(self):
        from coder_cli.ui.progress import make_progress

        return make_progress(self.env)

    def consent(self, *, yes: bool, quiet: bool = False, **fields):
        """How this command gets a yes before a write (`actions.proposal`): --yes, the terminal's
        y/N after the diff, or (nobody to ask) the patch to stdout. QUIET: no words, no diff."""
        from coder_cli.actions.proposal import Consent
        from coder_cli.ui.confirm import can_ask, confirm, show_diff

        env = self.env
        if quiet:
            return Consent(**{"yes": yes, "note": lambda msg: None, "show": lambda patch: None, "ask": None, **fields})

        def pipe(patch: str) -> None:
            env.stdout.write(patch)
            env.stdout.flush()

        usual = {
            "yes": yes,
            "note": self.diag.note,
            "show": lambda patch: show_diff(env, patch),
            "ask": (lambda question: confirm(env, question)) if can_ask(env) else None,
            "pipe": None if env.stdout_isatty else pipe,
        }
        return Consent(**{**usual, **fields})

    def load_engine(self, use_server: bool = True):
        """The engine this command runs on (the policy: `engine.select`), with a spinner on a terminal.
        USE_SERVER false: always the model here."""
        from coder_cli.engine.select import select

        loading = None
        if self.env.stderr_isatty:

            def loading(text: str):
                return self.diag.console.status(text, spinner="dots")

        return select(
            self.settings,
            self.store,
            self.home,
            self.env.environ,
            warn=self.diag.warn,
            progress=self.progress(),
            loading=loading,
            use_server=use_server,
        )

    def running_server(self):
        """A running `coder serve` with this command's model, or None (never loads one here)."""
        from coder_cli.engine.select import connect_server

        return connect_server(self.settings, self.store, self.home, self.env.environ, self.diag.warn)


def environment(typer_ctx: typer.Context) -> Environment:
    """The Environment `cli.app.run` injected (tests give their own streams), or the process's."""
    return typer_ctx.obj if isinstance(typer_ctx.obj, Environment) else Environment()


def runtime(typer_ctx: typer.Context, /, **flags: Any) -> Runtime:
    return Runtime(environment(typer_ctx), flags)
