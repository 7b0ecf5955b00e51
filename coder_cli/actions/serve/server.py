"""The server: the listening socket, the server record, and what the routes do with the warm engine."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path

from coder_cli.actions.serve.handler import make_handler
from coder_cli.actions.serve.protocol import LOOPBACK
from coder_cli.actions.serve.queue import Queue
from coder_cli.engine.base import eog_ids
from coder_cli.errors import UsageError

# Connections served at once (each holds a thread while it sends, waits or reads); one more is
# answered 503 at once. Fifty editors, hooks and scripts on one machine is already a crowd.
MAX_CONNECTIONS = 64
# When every slot is taken: a connection still sending its request this long after it was accepted
# is closed for a new one (a live client sends its request at once), and the new one waits at most
# EVICT_WAIT for the slot to come free.
EVICT_AFTER = 2.0
EVICT_WAIT = 1.0


class Server:
    def __init__(
        self,
        engine,
        home: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "",
        log: Callable[[str], None] | None = None,
        completer_factory: Callable[[object], object] | None = None,
    ) -> None:
        if host not in LOOPBACK and not api_key:
            raise UsageError(
                f"serving on {host} would let anyone who reaches it run the model",
                "pass --api-key (or set CODER_API_KEY), or keep the default 127.0.0.1",
            )
        self.engine = engine
        self.n_vocab = engine.n_vocab  # every token id a client sends is checked against it
        self.home = Path(home)
        self.api_key = api_key
        # Only whoever can read $CODER_HOME/server.json (mode 0600: this user) has the token, and only
        # the token (or the API key) opens /coder/complete, the one route that reads files from disk.
        self.token = secrets.token_urlsafe(24)
        # Proves to a client reading the record that this process wrote it (see engine.server_record).
        self.proof_key = secrets.token_hex(32)
        self.loopback = host in LOOPBACK
        self.log = log or (lambda msg: None)
        self.queue = Queue()
        self.started = time.time()
        self.served = 0
        self._completer_factory = completer_factory
        self._completer = None
        self._fill_cache = None
        # Read from the vocabulary now, before any request can decode: /coder/info (discovery, which
        # must not wait behind a generation) then never touches the engine.
        self._eog = eog_ids(engine)  # a client checks them without asking
        self._fim = engine.fim_tokens()
        server_class = _ListenerV6 if ":" in host else _Listener
        try:
            self.httpd = server_class((host, port), make_handler(self))
        except OSError as exc:
            hint = "pick another with --port (0 picks a free one)" if exc.errno in (98, 48, 10048) else None
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint) from None
        self.host = host
        self.port = self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- the server record ------------------------------------------------------------
    def record_path(self) -> Path:
        from coder_cli.engine.server_record import server_file

        return server_file(self.home)

    def write_record(self) -> None:
        from coder_cli.engine.server_record import write_record

        info = self.engine.info
        record = {
            "url": self.url,
            "pid": os.getpid(),
            "model": info.model,
            "path": info.path,
            "n_ctx": info.n_ctx,
            "started": self.started,
            "token": self.token,
            "proof_key": self.proof_key,
        }
        write_record(self.home, record)

    def remove_record(self) -> None:
        from coder_cli.engine.server_record import remove_record

        remove_record(self.home)

    def serve_forever(self) -> None:
        self.write_record()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.remove_record()
            self.httpd.server_close()

    def shutdown(self) -> None:
        self.httpd.shutdown()

    # -- what the routes do --------------------------------------------------------------
    def info(self) -> dict:
        i = self.engine.info
        fim = self._fim
        return {
            "server": "coder",
            "version": _version(),
            "pid": os.getpid(),
            "model": i.model,
            "path": i.path,
            "n_ctx": i.n_ctx,
            "n_ctx_train": i.n_ctx_train,
            "threads": i.threads,
            "gpu_layers": i.gpu_layers,
            "backend": i.backend,
            "flash_attn": i.flash_attn,
            "kv_type": i.kv_type,
            "eog": self._eog,
            "fim": None if fim is None else fim.__dict__,
            "uptime_s": round(time.time() - self.started, 1),
            "served": self.served,
            "queued": self.queue.waiting,
        }

    def completer(self):
        if self._completer is None:
            from coder_cli.actions.complete import FillCache

            factory = self._completer_factory
            if factory is None:
                from coder_cli.actions.complete import Completer

                def factory(engine):
                    return Completer(engine, self.home, candidates=1)

            self._completer = factory(self.engine)
            self._fill_cache = FillCache()
        return self._completer, self._fill_cache


class _Listener(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS at once. When they are all taken, the
    connection that has spent longest sending its request (EVICT_AFTER seconds at least) is closed
    to make room: idle or trickling sockets, which need no credentials to open, cannot shut everyone
    out. Past that (every slot busy with a real request) a quick 503."""

    daemon_threads = True
    # The listen backlog (socketserver's default is 5): fifty clients connecting at once overflowed
    # it and the rest waited out SYN retransmits, 1, 3, 7 s.
    request_queue_size = 128

    def server_activate(self) -> None:
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._reading: dict[int, tuple[float, socket.socket]] = {}  # connections still sending their request
        self._reading_lock = threading.Lock()
        super().server_activate()

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            if not (self._evict_slowest() and self.slots.acquire(timeout=EVICT_WAIT)):
                _busy(request)
                self.shutdown_request(request)
                return
        with self._reading_lock:
            self._reading[id(request)] = (time.monotonic(), request)
        try:
            super().process_request(request, client_address)  # starts process_request_thread
        except BaseException:
            self.finished_reading(request)
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.finished_reading(request)
            self.slots.release()

    def finished_reading(self, request) -> None:
        """REQUEST's request is read (the handler calls this): it is no longer a candidate for eviction."""
        with self._reading_lock:
            self._reading.pop(id(request), None)

    def _evict_slowest(self) -> bool:
        """Close the connection that has been sending its request longest, if for EVICT_AFTER s at least."""
        now = time.monotonic()
        with self._reading_lock:
            slow = [(since, sock) for since, sock in self._reading.values() if now - since >= EVICT_AFTER]
            if not slow:
                return False
            since, sock = min(slow, key=lambda pair: pair[0])
            self._reading.pop(id(sock), None)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # its handler's read ends at once; its thread frees the slot
        return True


class _ListenerV6(_Listener):
    address_family = socket.AF_INET6


def _busy(request: socket.socket) -> None:
    """Answer 503 on the accepting thread without ever waiting on the client: what of its request
    has arrived is read (unread bytes would turn the close into a reset that can eat the answer),
    and the answer fits any empty send buffer."""
    body = b'{"error": {"message": "too many connections; try again", "type": "server_error", "code": 503}}'
    head = b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    with contextlib.suppress(OSError):
        request.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            request.recv(65536)
        request.send(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _version() -> str:
    from coder_cli import __version__

    return __version__


def run(server: Server) -> None:
    """Serve until Ctrl-C or SIGTERM (the server record is removed either way), then free the engine
    unless a request still holds it (the process exits anyway)."""
    import signal
    import threading

    from coder_cli.errors import Interrupted

    previous = None
    if threading.current_thread() is threading.main_thread():

        def stop(signum, frame):
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except (Interrupted, KeyboardInterrupt):
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if server.queue.waiting == 0 and not server.queue.busy:
            server.engine.close()
