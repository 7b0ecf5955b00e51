"""The request queue: one llama.cpp context serves one request at a time, in arrival order.

A pre-warm holds the engine only until another request waits (``GiveWay``); a client whose
socket closed while it waited is noticed (``client_gone``) and not served.
"""

from __future__ import annotations

import select
import socket
import threading


class Queue:
    """A FIFO lock: requests get the engine in the order they asked for it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tickets: list[int] = []
        self._next = 0

    def __enter__(self):
        with self._cond:
            ticket = self._next
            self._next += 1
            self._tickets.append(ticket)
            while self._tickets[0] != ticket:
                self._cond.wait()
        return self

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._tickets.pop(0)
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._tickets)

    @property
    def waiting(self) -> int:
        """Requests queued behind the one holding the engine."""
        with self._cond:
            return max(0, len(self._tickets) - 1)


class GiveWay:
    """A cancel flag for a pre-warm: set when another request waits or its client has gone."""

    def __init__(self, queue: Queue, sock: socket.socket) -> None:
        self.queue = queue
        self.sock = sock

    def is_set(self) -> bool:
        return self.queue.waiting > 0 or client_gone(self.sock)


def client_gone(sock: socket.socket) -> bool:
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
