"""Layered configuration: flags > CODER_* environment > project .coder.toml >
user config.toml in $CODER_HOME > defaults.

Every effective value remembers where it came from (`coder config show`).
Unknown keys in a file are errors with a suggestion.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder_cli.errors import ConfigError
from coder_cli.tomlcompat import tomllib

PROJECT_FILE = ".coder.toml"
USER_FILE = "config.toml"
# CODER_* variables that are not config keys.
RESERVED_ENV = {
    "CODER_HOME", "CODER_SERVER", "CODER_DEBUG", "CODER_CRASH_GUARD", "CODER_TEST_FAULT", "CODER_TEST_KILL_AT", "CODER_VENV",
}  # fmt: skip
# Keys a project's .coder.toml may not set: they decide where code and keys are sent (and how long
# a reply from there may take).
USER_ONLY = {"backend", "base_url", "api_key", "remote_model", "request_timeout"}

# Bounds that hold wherever a value is set. Past them a value is a typo or an attack, never a
# setting: llama.cpp would try to allocate it (ctx, batch) or overflow a C int (gpu_layers).
MAX_THREADS = 1024  # more than any CPU has today: a fixed bound, so one config works on every machine
MAX_CTX = 1 << 20  # the longest context any model is trained for; a model's own trained length caps it later
MAX_BATCH = 1 << 16
MAX_TOKENS = 1 << 20
MAX_GPU_LAYERS = 10_000  # "all" is -1; any number past the model's layers means all of them
MAX_SEED = 2**32 - 1  # llama.cpp's sampler seed is a uint32 (-1, its default, asks for a random one)
MAX_TIMEOUT = 86_400
# A project file's tighter bounds: what every shipped model is trained for, and llama.cpp's own
# default batch (a larger one multiplies the compute buffers, up to gigabytes, for no gain here).
PROJECT_MAX_CTX = 32_768
PROJECT_MAX_BATCH = 2048
PROJECT_MAX_BYTES = 64 * 1024  # a project file past this is not a config file


def _gpu_layers(value: Any) -> str | int:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    n = _int(value)
    if not -1 <= n <= MAX_GPU_LAYERS:
        raise ValueError(f"must be 'auto', -1 (all) or a number of layers from 0 to {MAX_GPU_LAYERS:,}")
    return n


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("expected a whole number")


def _int_upto(low: int, high: int) -> Callable[[Any], int]:
    """A parser of whole numbers from LOW to HIGH."""

    def parse(value: Any) -> int:
        n = _int(value)
        if not low <= n <= high:
            raise ValueError(f"must be from {low:,} to {high:,}")
        return n

    return parse


def _threads(value: Any) -> int:
    n = _int(value)
    if not 0 <= n <= MAX_THREADS:
        raise ValueError(f"must be 0 (physical cores) or a number of threads up to {MAX_THREADS:,}")
    return n


def _float01(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number") from None
    if not 0.0 <= f <= 2.0:
        raise ValueError("must be between 0 and 2")
    return f


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _auto_bool(value: Any) -> str | bool:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return _bool(value)
    except ValueError:
        raise ValueError("expected auto, true or false") from None


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _url(value: Any) -> str:
    s = _str(value).rstrip("/")
    if not (s.startswith("http://") or s.startswith("https://")):
        raise ValueError("must start with http:// or https://")
    return s


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        s = _str(value).lower()
        if s not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return s

    return parse


@dataclass(frozen=True)
class Key:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


KEYS: dict[str, Key] = {
    k.name: k
    for k in [
        Key("model", "default", _str, "model id, alias or path to a .gguf file (a project file: an id or alias only)"),
        Key("gpu_layers", "auto", _gpu_layers, "layers to offload: auto, -1 (all) or N"),
        Key("threads", 0, _threads, "CPU threads; 0 = physical cores"),
        Key("ctx", 8192, _int_upto(1, MAX_CTX), "context window in tokens (capped at the model's trained length)"),
        Key("batch", 512, _int_upto(1, MAX_BATCH), "prompt-processing batch size"),
        Key("flash_attn", True, _bool, "use flash attention where llama.cpp supports it"),
        Key(
            "extra_bufts",
            "auto",
            _auto_bool,
            "llama.cpp's extra (weight-repack) CPU buffer types: auto (off when the build reports AMX), true, false",
        ),
        Key("kv_type", "f16", _choice("f16", "q8_0", "q4_0"), "KV-cache type"),
        Key("speculate", True, _bool, "greedy replies check prompt-lookup drafts several tokens at a time (same text)"),
        Key("temperature", 0.0, _float01, "sampling temperature; 0 = greedy"),
        Key("max_tokens", 1024, _int_upto(1, MAX_TOKENS), "longest reply in tokens"),
        Key("seed", 0, _int_upto(-1, MAX_SEED), "sampling seed; -1: a random one (llama.cpp's default)"),
        Key("backend", "local", _choice("local", "openai"), "local (here, or a running `coder serve`) or openai (base_url)"),
        Key("base_url", "", _url, "OpenAI-compatible server for backend openai, e.g. http://127.0.0.1:8000/v1"),
        Key("api_key", "", _str, "API key for the OpenAI-compatible server (sent as a Bearer token)"),
        Key("remote_model", "", _str, "model name to ask the remote server for (default: the first it lists)"),
        Key("request_timeout", 600, _int_upto(1, MAX_TIMEOUT), "seconds to wait for a remote server's reply"),
    ]
}


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, list(KEYS), n=1)
    return f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(KEYS)}"


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key) and "=" in line:
            return i
    return None


def read_file(path: Path) -> dict[str, Any]:
    """Parse one config file (the user's); errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    data, problems = _parse(path, text)
    if problems:
        raise ConfigError(*problems[0])
    return data


def read_project_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A repository's .coder.toml: (the values it may hold, warnings). Never an error and never a
    wait: a cloned repository must not stop every command in it, so a file that is not a small
    regular file (a FIFO, a link to /dev/zero), not UTF-8 or not TOML is ignored, and an unknown key
    or a table is left out, each with a warning."""
    from coder_cli.fs.text_file import NotRegularFile, read_regular

    try:
        raw = read_regular(path, PROJECT_MAX_BYTES)
    except FileNotFoundError:
        return {}, []
    except NotRegularFile:
        return {}, [f"{path}: not a regular file; ignored"]
    except OSError as exc:
        return {}, [f"{path}: cannot read it ({exc.strerror}); ignored"]
    if len(raw) > PROJECT_MAX_BYTES:
        return {}, [f"{path}: over {PROJECT_MAX_BYTES // 1024} KB; ignored"]
    try:
        data, problems = _parse(path, raw.decode("utf-8"))
    except UnicodeDecodeError:
        return {}, [f"{path}: not UTF-8; ignored"]
    warnings = [f"{message}; ignored" + (f" ({hint})" if hint else "") for message, hint in problems]
    return data, warnings


def _parse(path: Path, text: str) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """TEXT's known keys, and (message, hint) for what is wrong in it: invalid TOML (then nothing is
    kept), unknown keys and tables (left out)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [(f"{path}: invalid TOML: {exc}", "fix the file or remove it")]
    problems = []
    for key, value in list(data.items()):
        where = f"{path}:{_line_of(text, key) or 1}"
        if key not in KEYS:
            problems.append((f"{where}: unknown config key {key!r}", _suggest(key)))
            del data[key]
        elif isinstance(value, dict):
            problems.append((f"{where}: {key!r} must be a value, not a table", None))
            del data[key]
    return data, problems


def project_refusal(key: str, value: Any, home: Path | None = None) -> str | None:
    """Why a project's .coder.toml may not set KEY to VALUE (None: it may).

    A cloned repository may tune the model it runs on, within what this machine can give, but not
    choose where code is sent, which file is loaded as a model or read as replies, or sizes that
    take the machine down.
    """
    if key in USER_ONLY:
        return "where code is sent, and how, is yours to choose"
    try:
        parsed = KEYS[key].parse(value)
    except ValueError as exc:
        return f"invalid value {value!r}: {exc}"
    if key == "model":
        return _project_model(parsed, home)
    limits = {
        "threads": (os.cpu_count() or 1, "this machine's CPUs"),
        "ctx": (PROJECT_MAX_CTX, ""),
        "batch": (PROJECT_MAX_BATCH, ""),
    }
    if key in limits and parsed > limits[key][0]:
        most, what = limits[key]
        return f"{parsed:,} is more than a project file may set ({most:,}{f', {what}' if what else ''})"
    return None


def _project_model(name: str, home: Path | None) -> str | None:
    """Why a project file may not choose the model NAME: only an id or alias of a known model, never a
    file (a GGUF is code llama.cpp parses) nor the scripted engine (its file answers for the model);
    and only one installed in HOME (or in its offline mirror): a repository must not make every
    command fail with "not installed", nor start a multi-gigabyte download."""
    from coder_cli import manifest

    m = manifest.find(name)
    if m is None:
        return f"a project file may only name a known model by id or alias (`coder models list`), not {name!r}"
    if home is not None:
        from coder_cli.model_store import Store

        store = Store(home)
        if not store.path_of(m).is_file() and store.mirror_parts(m) is None:
            return f"{m.id} is not installed (`coder models pull {m.id}` to use it)"
    return None


def project_root(cwd: Path) -> Path:
    """The git work tree containing cwd, or cwd itself outside a repository."""
    cwd = cwd.resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def load(
    home: Path,
    cwd: Path,
    environ: Mapping[str, str],
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every key through the layers; raise ConfigError on bad input.

    A value the project file may not set (see `project_refusal`) is left out with a warning, not
    an error: a cloned repository must neither choose for you nor stop every command in it.
    """
    settings = Settings()
    layers: list[tuple[str, dict[str, Any]]] = []
    user = home / USER_FILE
    layers.append((str(user), read_file(user)))
    project = project_root(cwd) / PROJECT_FILE
    project_layer, problems = read_project_file(project)
    settings.warnings += problems
    for key in sorted(project_layer):
        why = project_refusal(key, project_layer[key], home)
        if why is not None:
            del project_layer[key]
            settings.warnings.append(
                f"{project}: ignoring {key!r}: {why} (set it in {home / USER_FILE}, CODER_{key.upper()} or a flag)"
            )
    layers.append((str(project), project_layer))
    env_layer: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("CODER_") or name in RESERVED_ENV:
            continue
        key = name[len("CODER_") :].lower()
        if key in KEYS:
            env_layer[key] = value
        else:
            settings.warnings.append(f"ignoring unknown environment variable {name} ({_suggest(key)})")
    layers.append(("env", env_layer))
    layers.append(("flag", {k: v for k, v in (flags or {}).items() if v is not None}))

    for key, spec in KEYS.items():
        settings.values[key] = spec.default
        settings.origins[key] = "default"
        for origin, layer in layers:
            if key not in layer:
                continue
            try:
                settings.values[key] = spec.parse(layer[key])
            except ValueError as exc:
                label = {"env": f"CODER_{key.upper()}", "flag": f"--{key.replace('_', '-')}"}.get(origin, f"{origin}: {key}")
                raise ConfigError(f"invalid value {layer[key]!r} for {label}: {exc}") from None
            settings.origins[key] = f"CODER_{key.upper()}" if origin == "env" else origin
    return settings


def coder_home(environ: Mapping[str, str]) -> Path:
    """$CODER_HOME, or the platform's user cache folder."""
    if environ.get("CODER_HOME"):
        return Path(environ["CODER_HOME"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("coder", appauthor=False))


def format_value(value: Any) -> str:
    """VALUE as TOML (a basic string escaped as TOML requires)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def set_user_value(home: Path, key: str, value: Any) -> Path:
    """Set KEY in the user config file ($CODER_HOME/config.toml), keeping its other lines and
    comments; atomic, through a symlink to the file it points to. VALUE is checked like any
    config value, and the new text must parse before it replaces the old. Returns the path."""
    import os
    import tempfile

    if key not in KEYS:
        raise ConfigError(f"unknown config key {key!r}", _suggest(key))
    try:
        parsed = KEYS[key].parse(value)
    except ValueError as exc:
        raise ConfigError(f"invalid value {value!r} for {key}: {exc}") from None
    path = home / USER_FILE
    read_file(path)  # refuse to edit a file that does not parse
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    line = f"{key} = {format_value(parsed)}"
    first_table = next((i for i, old in enumerate(lines) if old.strip().startswith("[")), len(lines))
    for i, old in enumerate(lines[:first_table]):
        name = old.split("=", 1)[0].strip().strip("\"'")
        if "=" in old and not old.lstrip().startswith("#") and name == key:
            lines[i] = line
            break
    else:
        lines.insert(first_table, line)
    text = "\n".join(lines) + "\n"
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - format_value escapes what TOML needs
        raise ConfigError(f"cannot write {key} to {path}: {exc}") from None
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".config.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)
    return path
