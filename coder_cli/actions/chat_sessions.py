"""Chat sessions on disk: one JSON file per session, per repository, under $CODER_HOME/sessions/."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.errors import UsageError
from coder_cli.fs.private import private_dir

VERSION = 1
_NAME = re.compile(r"^[\w.-]{1,64}$")


@dataclass
class SessionData:
    name: str
    files: list[str] = field(default_factory=list)  # paths relative to the repository
    turns: list[tuple[str, str]] = field(default_factory=list)  # (user, assistant)
    applied: list[str] = field(default_factory=list)  # undo-journal entry ids written by this session
    model: str = ""
    saved: float = 0.0


def new_name() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(f"bad session name {name!r}", "use letters, digits, '.', '-' and '_' (64 at most)")
    return name


class SessionStore:
    """The sessions of one repository; ``last`` names the one used most recently."""

    def __init__(self, home: Path, root: Path) -> None:
        root = root.resolve()
        digest = hashlib.sha1(str(root).encode("utf-8")).hexdigest()[:10]
        slug = re.sub(r"[^\w.-]", "_", root.name) or "root"
        self.dir = home / "sessions" / f"{slug}-{digest}"
        self.root = root

    def path(self, name: str) -> Path:
        return self.dir / f"{check_name(name)}.json"

    def save(self, data: SessionData, force: bool = False) -> Path | None:
        """Write DATA atomically and mark it as the last session; an empty session is not saved
        (unless FORCE), so `--continue` never resumes a chat that was opened and closed at once."""
        if not (data.turns or data.files or force or self.path(data.name).exists()):
            return None
        private_dir(self.dir.parent)  # conversations hold code
        private_dir(self.dir)
        data.saved = time.time()
        payload = {
            "version": VERSION,
            "root": str(self.root),
            "name": data.name,
            "model": data.model,
            "files": data.files,
            "turns": [list(t) for t in data.turns],
            "applied": data.applied,
            "saved": data.saved,
        }
        target = self.path(data.name)
        _write_atomic(target, json.dumps(payload, indent=1))
        _write_atomic(self.dir / "last", data.name + "\n")
        return target

    def load(self, name: str) -> SessionData:
        path = self.path(name)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(n for n, *_ in self.list()) or "none yet"
            raise UsageError(f"no session named {name!r} for {self.root}", f"saved sessions: {known}") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read session {path}: {exc}") from None
        if raw.get("version") != VERSION:
            raise UsageError(f"session {path} has an unknown format (version {raw.get('version')!r})")
        return SessionData(
            name=raw["name"],
            files=list(raw.get("files", [])),
            turns=[(u, a) for u, a in raw.get("turns", [])],
            applied=list(raw.get("applied", [])),
            model=raw.get("model", ""),
            saved=float(raw.get("saved", 0.0)),
        )

    def last(self) -> str | None:
        try:
            name = (self.dir / "last").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name and self.path(name).exists() else None

    def list(self) -> list[tuple[str, float, int, int]]:
        """(name, saved time, turns, files) of every session, newest first."""
        out = []
        for path in self.dir.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                raw = json.loads(path.read_text(encoding="utf-8"))
                out.append((raw["name"], float(raw.get("saved", 0)), len(raw.get("turns", [])), len(raw.get("files", []))))
        return sorted(out, key=lambda row: -row[1])


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
