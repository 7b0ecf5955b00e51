"""Test-only: die by SIGKILL at a named point of a write, as an OOM kill or a power cut would.

``CODER_TEST_KILL_AT=NAME`` makes the process kill itself when a write reaches NAME; the kill tests
(tests/test_write_kills.py) then check that the file is the original or the approved result and
that `coder undo` puts it back. Unset (always, outside those tests) a point costs one lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "CODER_TEST_KILL_AT"
POINTS = (
    "journal-blob",  # the pre-image is on disk, its journal line is not
    "journal-line",  # the journal line is on disk, the file is not replaced yet
    "write-temp",  # the new bytes are in the temp file beside the file, not renamed
    "write-renamed",  # the file is replaced, the folder not fsynced, the command not finished
    "journal-drop",  # undo: the journal line is gone, the pre-image blob not yet removed
)


def reached(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
