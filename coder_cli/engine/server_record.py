"""The record a running `coder serve` leaves in $CODER_HOME/server.json, and finding the server by it.

The server writes the record (url, pid, model, n_ctx, token, proof_key; mode 0600, it holds the
token) when it starts listening and removes it when it stops. Every other command reads it (or
CODER_SERVER, a URL; "off" to never use a server) to find a warm engine; a record whose pid is dead
is never asked. A crashed server leaves its record behind, and its pid and port can go to another
program: before the token goes anywhere, the server must prove it wrote the record, answering a
fresh random challenge with its HMAC under the record's proof_key (``GET /coder/hello``, no token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from coder_cli.engine.remote import Endpoint
from coder_cli.environment import pid_alive
from coder_cli.errors import ConfigError, GenerationError

SERVER_FILE = "server.json"
_OFF = {"", "0", "off", "no", "none", "false"}


def server_file(home) -> Path:
    return Path(home) / SERVER_FILE


def server_disabled(environ) -> bool:
    """CODER_SERVER=off (or 0, no, none, false): never use a running server."""
    chosen = environ.get("CODER_SERVER")
    return chosen is not None and chosen.strip().lower() in _OFF


def describe_server(home, environ) -> dict:
    """Which `coder serve`, if any, commands would use (for `coder doctor` and `coder hook status`)."""
    if server_disabled(environ):
        return {"url": None, "why": "none used (CODER_SERVER=off)"}
    found = find_server(home, environ)
    if found is None:
        return {"url": None, "why": "none running (`coder serve` keeps one warm)"}
    endpoint, info = found
    return {"url": endpoint.root, "model": info.get("model"), "pid": info.get("pid"), "served": info.get("served")}


def find_server(home, environ, timeout: float = 2.0) -> tuple[Endpoint, dict] | None:
    """A `coder serve` that answers: CODER_SERVER (a URL; "off" to never use one) or the file
    the server wrote in $CODER_HOME. None when there is none or it does not answer."""
    chosen = environ.get("CODER_SERVER")
    api_key = environ.get("CODER_API_KEY", "")
    if server_disabled(environ):
        return None
    if chosen:
        url = chosen
    else:
        path = server_file(home)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            url = record["url"]
            api_key = api_key or record.get("token", "")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not pid_alive(record.get("pid")) or not _wrote_record(url, record.get("proof_key"), timeout):
            return None
    try:
        endpoint = Endpoint.parse(url, api_key)
        info = endpoint.get_json(endpoint.root + "/coder/info", timeout=timeout)
    except (ConfigError, GenerationError):
        return None
    if info.get("server") != "coder":
        return None
    return endpoint, info


def proof(key: str, challenge: str) -> str:
    """What a server holding KEY answers to CHALLENGE (hex HMAC-SHA256)."""
    return hmac.new(key.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def _wrote_record(url, key, timeout: float) -> bool:
    """Whether the server at URL holds the record's KEY: it answers a fresh challenge, asked
    without any credentials (a stranger on a crashed server's port learns nothing)."""
    if not isinstance(key, str) or not key or not isinstance(url, str):
        return False  # a record from before proofs: not trusted with the token
    challenge = secrets.token_hex(16)
    try:
        endpoint = Endpoint.parse(url)
        answer = endpoint.get_json(f"{endpoint.root}/coder/hello?challenge={challenge}", timeout=timeout)
    except (ConfigError, GenerationError):
        return False
    given = answer.get("proof") if isinstance(answer, dict) else None
    return isinstance(given, str) and hmac.compare_digest(given, proof(key, challenge))


def write_record(home: Path, record: dict) -> Path:
    """Write RECORD as this process's server record (atomically, mode 0600: it holds the token)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = server_file(home)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def remove_record(home: Path) -> None:
    """Remove the server record if this process wrote it (another server may have replaced it)."""
    path = server_file(home)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def refuse_second_server(home: Path, environ) -> None:
    """A UsageError when a `coder serve` already answers for HOME (whatever CODER_SERVER says)."""
    from coder_cli.errors import UsageError

    running = find_server(home, {k: v for k, v in environ.items() if k != "CODER_SERVER"})
    if running is not None:
        endpoint, info = running
        raise UsageError(
            f"a coder serve already runs for {home} at {endpoint.root} (pid {info.get('pid')}, {info.get('model')})",
            "stop it first, or give this one its own CODER_HOME",
        )
