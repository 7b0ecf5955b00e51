"""A load-and-fault scenario against a running `coder serve` (issue 16), shared by
tests/test_serve_load.py (scripted engine) and benchmarks/serve_load.py (the real model).

Every client starts at once: WELL well-behaved ones (plain and streamed chat, a streamed
completion), STALL that stream with a tiny receive buffer and never read, DROP that close after
the first streamed event, GARBAGE that send what is not HTTP or not JSON. A stalled client learns
of its cut-off as a reset, seen through SO_ERROR without reading a byte.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
# A prompt a model keeps continuing (stalled clients must out-generate the socket buffers).
LONG_PROMPT = "numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,"
GARBAGE = [
    b"\x00\xff\x13\x37 not http at all\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 40\r\n\r\n{not json",  # short body, then gone
    b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    b'POST /detokenize HTTP/1.0\r\nContent-Length: 18\r\n\r\n{"tokens": [-7e9]}',
]


@dataclass
class Outcome:
    kind: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""
    streamed_s: float = 0.0  # a stalled client: from the first byte of its answer to the cut-off


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def latencies(self) -> list[float]:
        return sorted(o.seconds for o in self.of("well") if o.ok)

    def percentile(self, p: float) -> float:
        values = self.latencies()
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def _connect(url: str, rcvbuf: int | None = None, timeout: float = 60.0) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET6 if ":" in (parts.hostname or "") else socket.AF_INET)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect((parts.hostname, parts.port))
    return sock


def _request(path: str, body: dict) -> bytes:
    raw = json.dumps(body).encode()
    return b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        len(raw),
        raw,
    )


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def _well(url: str, i: int, max_tokens: int, check, limit_s: float) -> Outcome:
    """A client that asks, reads everything and checks the answer (CHECK: text -> bool)."""
    stream = i % 3 != 0
    if i % 3 == 2:
        path, body = COMPLETIONS, {"prompt": "def add(a, b):\n    return", "max_tokens": max_tokens, "stream": True}
    else:
        path, body = CHAT, {"messages": [{"role": "user", "content": f"Say hello to client {i}."}],
                            "max_tokens": max_tokens, "stream": stream}  # fmt: skip
    t0 = time.monotonic()
    with _connect(url, timeout=limit_s) as sock:  # (it may wait its turn behind the whole queue)
        sock.sendall(_request(path, body))
        raw = _read_all(sock)
    seconds = time.monotonic() - t0
    head, _, payload = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        return Outcome("well", False, seconds, head[:80].decode("latin-1"))
    if stream:
        events = [line[6:] for line in payload.decode().splitlines() if line.startswith("data: ")]
        if not events or events[-1] != "[DONE]":
            return Outcome("well", False, seconds, "stream not ended with [DONE]")
        chunks = [json.loads(e)["choices"] for e in events[:-1]]
        text = "".join(c[0].get("text") or c[0].get("delta", {}).get("content") or "" for c in chunks if c)
    else:
        text = json.loads(payload)["choices"][0]["message"]["content"]
    return Outcome("well", bool(check(text)), seconds, text[:60])


def _stall(url: str, max_tokens: int, limit_s: float) -> Outcome:
    """Stream a long answer with a tiny receive buffer, never read; the time until the server resets."""
    body = {"prompt": LONG_PROMPT, "max_tokens": max_tokens, "stream": True}
    t0 = time.monotonic()
    began = None
    with _connect(url, rcvbuf=1024) as sock:
        sock.sendall(_request(COMPLETIONS, body))
        while time.monotonic() - t0 < limit_s:
            if began is None and select.select([sock], [], [], 0)[0]:  # its answer began (unread)
                began = time.monotonic()
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):  # a reset arrived: cut off
                now = time.monotonic()
                return Outcome("stall", True, now - t0, streamed_s=now - (began or now))
            time.sleep(0.05)
    return Outcome("stall", False, time.monotonic() - t0, f"not cut off within {limit_s:g} s")


def _drop(url: str, max_tokens: int, limit_s: float) -> Outcome:
    """Stream, take the first event, go away."""
    body = {"prompt": LONG_PROMPT, "max_tokens": max_tokens, "stream": True}
    t0 = time.monotonic()
    with _connect(url, timeout=limit_s) as sock:
        sock.sendall(_request(COMPLETIONS, body))
        got = sock.recv(4096)
    return Outcome("drop", got.startswith(b"HTTP/1.0 200"), time.monotonic() - t0)


def _garbage(url: str, i: int) -> Outcome:
    t0 = time.monotonic()
    try:
        with _connect(url) as sock:
            sock.sendall(GARBAGE[i % len(GARBAGE)])
            sock.shutdown(socket.SHUT_WR)
            head = _read_all(sock)[:40]
    except OSError as exc:  # a reset is a fine answer to garbage
        head = str(exc).encode()
    return Outcome("garbage", not head.startswith(b"HTTP/1.0 5"), time.monotonic() - t0, head.decode("latin-1"))


def run(
    url: str,
    *,
    well: int = 35,
    stall: int = 5,
    drop: int = 5,
    garbage: int = 5,
    max_tokens: int = 16,
    stall_tokens: int = 2000,
    check=bool,
    limit_s: float = 100.0,
) -> Report:
    """Start every client at once; wait for all (each bounded by LIMIT_S); return what happened."""
    report = Report()
    lock = threading.Lock()
    jobs = [lambda: _stall(url, stall_tokens, limit_s) for _ in range(stall)]
    jobs += [lambda i=i: _well(url, i, max_tokens, check, limit_s) for i in range(well)]
    jobs += [lambda: _drop(url, stall_tokens, limit_s) for _ in range(drop)]
    jobs += [lambda i=i: _garbage(url, i) for i in range(garbage)]
    start = threading.Barrier(len(jobs))

    def client(job) -> None:
        start.wait()
        try:
            outcome = job()
        except OSError as exc:
            outcome = Outcome("error", False, 0.0, f"{type(exc).__name__}: {exc}")
        with lock:
            report.outcomes.append(outcome)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(job,), daemon=True) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, limit_s + 5 - (time.monotonic() - t0)))
    report.wall_s = time.monotonic() - t0
    return report


def table(report: Report, rss_before: int, rss_after: int, stall_timeout: float) -> str:
    """The figures as a small text table."""
    cut = [o.seconds for o in report.of("stall") if o.ok]
    streamed = [o.streamed_s for o in report.of("stall") if o.ok]
    well = report.of("well")
    rows = [
        ("well-behaved clients answered correctly", f"{sum(o.ok for o in well)}/{len(well)}"),
        ("latency p50 / p99 (well-behaved)", f"{report.percentile(50):.2f} s / {report.percentile(99):.2f} s"),
        ("stalled clients cut off", f"{len(cut)}/{len(report.of('stall'))}"),
        (
            "cut off after: connecting / its stream's start",
            f"{_span(cut)} / {_span(streamed)} (STALL_TIMEOUT {stall_timeout:g} s)" if cut else "-",
        ),
        ("mid-stream disconnects / garbage senders", f"{len(report.of('drop'))} / {len(report.of('garbage'))}"),
        ("server errors (5xx) to garbage", str(sum(not o.ok for o in report.of("garbage")))),
        ("RSS before / after", f"{rss_before / 2**20:.1f} MB / {rss_after / 2**20:.1f} MB"),
        ("wall time", f"{report.wall_s:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _span(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f} s"
