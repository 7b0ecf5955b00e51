"""Report keys of app.ini that the app does not know, as path:line: messages."""

import sys

KNOWN = {"host", "port", "workers", "timeout", "url", "pool_size", "echo", "backend", "ttl", "sender", "tls", "level",
         "format", "file", "folder", "max_size", "allowed", "index", "batch", "signup", "beta_editor", "dark_mode",
         "enabled", "path", "secret_key", "session_hours", "csrf"}
problems = 0
with open("app.ini", encoding="utf-8") as fh:
    for number, line in enumerate(fh, 1):
        key = line.split("=", 1)[0].strip()
        if "=" in line and key not in KNOWN:
            print(f"app.ini:{number}: unknown key {key!r}")
            problems += 1
sys.exit(1 if problems else 0)
