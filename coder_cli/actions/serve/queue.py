"""The request queue: one llama.cpp context serves one request at a time, in arrival order.

A pre-warm holds the engine only until another request waits (``GiveWay``); a client whose
socket closed while it waited is noticed (``Peer.gone``) and not served. A streaming reply
goes through an ``Outbox``, so a client that stops reading never holds the engine.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable

# A streaming client that takes no byte of its answer for this many seconds is dropped: its
# generation stops and the engine goes to the next request. Loopback clients read at once;
# five seconds is far more than a live one ever lags, and short enough that hooks queued
# behind a hung editor do not time out.
STALL_TIMEOUT = 5.0
# ... or for this many while another request waits for the engine: a live client takes each event as
# it comes (its buffer has room the moment it reads), so a second with no byte taken is a stall, and
# the queue behind it should not pay five of them.
STALL_TIMEOUT_CONTENDED = 1.0
# ... and so is one that falls this far behind (bytes of events not yet taken).
MAX_BEHIND = 1024 * 1024
# Once the engine is free, the rest of a stream (at most MAX_BEHIND) must be taken within this.
DRAIN_LIMIT = 60.0
# The kernel's send buffer for a stream: small, so a client that stops reading shows soon
# (autotuned, it grows to 4 MB: minutes of tokens before anything could notice). Linux doubles it
# for its bookkeeping; a token's event is about 200 bytes, and a live client takes each as it comes
# (20-50 events a second is 4-10 KB/s: a 4 KB buffer holds up no reader, even over a slow network).
SEND_BUFFER = 4 * 1024


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

    def __init__(self, queue: Queue, peer: Peer) -> None:
        self.queue = queue
        self.peer = peer

    def is_set(self) -> bool:
        return self.queue.waiting > 0 or self.peer.gone()


# The first bytes of every answer (the handler's protocol version). Sent early, they ask a client
# whose end of file we saw whether it closed (the kernel answers with a reset) or only half-closed.
PROBE = b"HTTP/1.0 "
PROBE_WAIT = 0.1  # how long a reset may take to come back (loopback: microseconds; a LAN: a millisecond)


class Peer:
    """The client of one connection, and whether it is still there to be answered.

    An end of file is not enough to say "gone": a client may half-close (shutdown(SHUT_WR)) after its
    request and still read the answer, and TCP shows that as it shows a close. So the first end of
    file seen is answered with the first bytes of the reply (``PROBE``): a socket that was closed
    answers them with a reset, one that was half-closed takes them. ``probed``: the handler then
    leaves those bytes out of its status line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.probed = False

    def gone(self) -> bool:
        try:
            ready, _, _ = select.select([self.sock], [], [], 0)
            if ready and self.sock.recv(1, socket.MSG_PEEK) == b"" and not self.probed:
                return not self._answers_probe()
            return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0
        except (OSError, ValueError):
            return True  # a reset (or a closed socket)

    def _answers_probe(self) -> bool:
        self.probed = True
        self.sock.sendall(PROBE)
        deadline = time.monotonic() + PROBE_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.005)
            self.sock.recv(1, socket.MSG_PEEK)  # b"" again while it holds; raises once the reset is in
            if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                return False
        return True


class Outbox:
    """The bytes a streaming client has yet to take, sent without ever waiting on it.

    While the engine generates, ``put`` sends what the socket takes at once and keeps the rest;
    a client that takes nothing for STALL_TIMEOUT seconds (STALL_TIMEOUT_CONTENDED while another
    request waits for the engine), or falls MAX_BEHIND bytes behind, is
    dropped with a TimeoutError, which ends its generation and frees the engine. Once the engine
    is free, ``drain`` waits for the client, with the same limit. A client that went away shows
    as BrokenPipeError or ConnectionResetError from either."""

    def __init__(self, sock: socket.socket, contended: Callable[[], bool] = lambda: False) -> None:
        self.sock = sock
        self.contended = contended  # whether another request waits for the engine this stream holds
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.pending = bytearray()
        self.moved = time.monotonic()

    def put(self, data: bytes) -> None:
        self.pending += data
        self.sock.settimeout(0.0)  # never block while the engine is held
        while self.pending:
            try:
                sent = self.sock.send(self.pending)
            except BlockingIOError:
                break
            del self.pending[:sent]
            self.moved = time.monotonic()
        if self.pending and (len(self.pending) > MAX_BEHIND or time.monotonic() - self.moved > self._limit()):
            self.drop()
            raise TimeoutError("the client stopped reading its answer")

    def _limit(self) -> float:
        return STALL_TIMEOUT_CONTENDED if self.contended() else STALL_TIMEOUT

    def drain(self) -> None:
        """Send the rest, waiting at most STALL_TIMEOUT seconds for the client to make room each time
        and DRAIN_LIMIT in all (a client taking a byte now and then must not keep its thread for ever)."""
        self.sock.settimeout(STALL_TIMEOUT)
        deadline = time.monotonic() + DRAIN_LIMIT
        try:
            while self.pending:
                if time.monotonic() > deadline:
                    raise TimeoutError("the client takes its answer too slowly")
                del self.pending[: self.sock.send(self.pending)]
        except TimeoutError:
            self.drop()
            raise

    def drop(self) -> None:
        """Reset the connection: the kernel frees what the client never took, at once."""
        self.pending.clear()
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
