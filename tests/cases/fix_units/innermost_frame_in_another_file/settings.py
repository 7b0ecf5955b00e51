"""Service settings read from a small key=value file."""

from __future__ import annotations

from dataclasses import dataclass, field

from durations import parse_duration

DEFAULTS = {
    "name": "service",
    "timeout": "30s",
    "retry_after": "1m",
    "workers": "4",
}


@dataclass
class Settings:
    name: str
    timeout: int
    retry_after: int
    workers: int
    tags: list[str] = field(default_factory=list)


def read_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition("=")
        pairs[key.strip()] = value.strip()
    return pairs


def merged(text: str) -> dict[str, str]:
    values = dict(DEFAULTS)
    values.update(read_pairs(text))
    return values


def load_settings(text: str) -> Settings:
    values = merged(text)
    timeout = parse_duration(values["timeout"])
    retry_after = parse_duration(values["retry_after"] + "s")
    tags = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
    return Settings(values["name"], timeout, retry_after, int(values["workers"]), tags)


def describe(settings: Settings) -> str:
    parts = [
        f"{settings.name}: {settings.workers} workers",
        f"timeout {settings.timeout}s",
        f"retry after {settings.retry_after}s",
    ]
    if settings.tags:
        parts.append("tags " + ", ".join(settings.tags))
    return "; ".join(parts)


def validate(settings: Settings) -> list[str]:
    problems = []
    if settings.workers < 1:
        problems.append("workers must be at least 1")
    if settings.timeout <= 0:
        problems.append("timeout must be positive")
    return problems
