"""Model manifests: one TOML file per model file, validated on load.

The manifests live in ``models/`` at the repository top and are shipped in the
wheel as ``coder_cli/_manifests``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from coder_cli.errors import ModelError
from coder_cli.tomlcompat import tomllib


@dataclass(frozen=True)
class MirrorPart:
    package: str
    path: str  # relative to the site-packages folder the package installs into


@dataclass(frozen=True)
class Mirror:
    extra: str
    version: str
    parts: tuple[MirrorPart, ...]


@dataclass(frozen=True)
class PromptFormat:
    chat: str
    fim_prefix: str
    fim_suffix: str
    fim_middle: str
    fim_pad: str
    repo_name: str
    file_sep: str


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    top_k: int
    repeat_penalty: float


@dataclass(frozen=True)
class Manifest:
    id: str
    aliases: tuple[str, ...]
    description: str
    parameters: str
    quantization: str
    file: str
    bytes: int
    bytes_exact: bool
    sha256: str
    context_length: int
    hf_repo: str
    hf_revision: str
    mirror: Mirror | None
    prompt: PromptFormat
    stop_chat: tuple[str, ...]
    stop_fim: tuple[str, ...]
    sampling: Sampling
    source: Path = field(compare=False)


# key -> (type, required)
_TOP = {
    "id": (str, True),
    "aliases": (list, True),
    "description": (str, True),
    "parameters": (str, True),
    "quantization": (str, True),
    "file": (str, True),
    "bytes": (int, True),
    "bytes_exact": (bool, False),
    "sha256": (str, True),
    "context_length": (int, True),
    "huggingface": (dict, True),
    "mirror": (dict, False),
    "prompt": (dict, True),
    "stop": (dict, True),
    "sampling": (dict, True),
}
_HF = {"repo": (str, True), "revision": (str, True)}
_MIRROR = {"extra": (str, True), "version": (str, True), "parts": (list, True)}
_PART = {"package": (str, True), "path": (str, True)}
_PROMPT = {k: (str, True) for k in PromptFormat.__dataclass_fields__}
_STOP = {"chat": (list, True), "fim": (list, True)}
_SAMPLING = {
    "temperature": ((int, float), True),
    "top_p": ((int, float), True),
    "top_k": (int, True),
    "repeat_penalty": ((int, float), True),
}


def _check(table: dict[str, Any], schema: dict, where: str, source: Path) -> None:
    for key in table:
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(schema)}"
            raise ModelError(f"{source}: unknown key {where}{key!r}", hint)
    for key, (typ, required) in schema.items():
        if key not in table:
            if required:
                raise ModelError(f"{source}: missing key {where}{key!r}")
            continue
        value = table[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise ModelError(f"{source}: key {where}{key!r} has the wrong type ({type(value).__name__})")


def parse_manifest(data: dict[str, Any], source: Path) -> Manifest:
    """Validate one manifest table; raise ModelError naming the file and key."""
    _check(data, _TOP, "", source)
    _check(data["huggingface"], _HF, "huggingface.", source)
    _check(data["prompt"], _PROMPT, "prompt.", source)
    _check(data["stop"], _STOP, "stop.", source)
    _check(data["sampling"], _SAMPLING, "sampling.", source)
    mirror = None
    if "mirror" in data:
        _check(data["mirror"], _MIRROR, "mirror.", source)
        parts = []
        for i, part in enumerate(data["mirror"]["parts"]):
            if not isinstance(part, dict):
                raise ModelError(f"{source}: mirror.parts[{i}] must be a table")
            _check(part, _PART, f"mirror.parts[{i}].", source)
            parts.append(MirrorPart(part["package"], part["path"]))
        if not parts:
            raise ModelError(f"{source}: mirror.parts is empty")
        m = data["mirror"]
        mirror = Mirror(m["extra"], m["version"], tuple(parts))
    sha = data["sha256"].lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ModelError(f"{source}: key 'sha256' is not a sha256 hex digest")
    for key in ("aliases",):
        if not all(isinstance(a, str) for a in data[key]):
            raise ModelError(f"{source}: key {key!r} must be a list of strings")
    s = data["sampling"]
    return Manifest(
        id=data["id"],
        aliases=tuple(data["aliases"]),
        description=data["description"],
        parameters=data["parameters"],
        quantization=data["quantization"],
        file=data["file"],
        bytes=data["bytes"],
        bytes_exact=data.get("bytes_exact", True),
        sha256=sha,
        context_length=data["context_length"],
        hf_repo=data["huggingface"]["repo"],
        hf_revision=data["huggingface"]["revision"],
        mirror=mirror,
        prompt=PromptFormat(**data["prompt"]),
        stop_chat=tuple(data["stop"]["chat"]),
        stop_fim=tuple(data["stop"]["fim"]),
        sampling=Sampling(float(s["temperature"]), float(s["top_p"]), s["top_k"], float(s["repeat_penalty"])),
        source=source,
    )


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: invalid TOML: {exc}") from exc
    return parse_manifest(data, path)


def manifests_dir() -> Path:
    """The shipped manifests (wheel) or the repository's ``models/`` (editable install)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_manifests", here.parent / "models"):
        if candidate.is_dir():
            return candidate
    raise ModelError("no model manifests found", "reinstall coder: the package is incomplete")


@cache
def load_all(directory: Path | None = None) -> tuple[Manifest, ...]:
    """All manifests, sorted by id; ids and aliases must be unique."""
    directory = directory or manifests_dir()
    result = [load_manifest(p) for p in sorted(directory.glob("*.toml"))]
    seen: dict[str, Path] = {}
    for m in result:
        for name in (m.id, *m.aliases):
            if name in seen:
                raise ModelError(f"{m.source}: model name {name!r} is also used by {seen[name]}")
            seen[name] = m.source
    return tuple(result)


def find(name: str, directory: Path | None = None) -> Manifest | None:
    key = name.strip().lower()
    for m in load_all(directory):
        if key == m.id or key in m.aliases:
            return m
    return None


def close_matches(name: str, directory: Path | None = None) -> list[str]:
    names = [n for m in load_all(directory) for n in (m.id, *m.aliases)]
    return difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.5)


def default(directory: Path | None = None) -> Manifest:
    m = find("default", directory)
    if m is None:
        raise ModelError("no manifest has the alias 'default'")
    return m
