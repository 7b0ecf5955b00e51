"""Folders only this user can open: the undo journal, saved chats and the repository index hold
copies, conversations and names of the user's code."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """PATH as a 0700 folder: made so, or (one made by an older coder, or by hand, and this user's)
    narrowed to it."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(OSError):
        st = path.stat()
        if stat.S_IMODE(st.st_mode) != PRIVATE_DIR and st.st_uid == os.geteuid():
            os.chmod(path, PRIVATE_DIR)
    return path
