"""`coder serve` under load and faults (issue 16): a real server process (the scripted engine, so the
figures are the server's own), 50 clients at once of which 5 stall without reading, 5 disconnect
mid-stream and 5 send garbage. Bounded: every client and the whole test stop within LIMIT_S."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from coder_cli.actions.serve.queue import STALL_TIMEOUT
from tests import serve_load
from tests.conftest import clean_environ

LIMIT_S = 60
WORDS = 2000  # a stalled client's answer: far more than the socket buffers hold


@pytest.mark.slow
def test_fifty_clients_with_stalls_drops_and_garbage(tmp_path, scripted):
    import psutil

    reply = " ".join(f"w{i}" for i in range(WORDS))
    model, _ = scripted(reply, fim=True)
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "serve", "--port", "0"],
        env=clean_environ(home, CODER_MODEL=model),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (home / "server.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "coder serve did not start"
            time.sleep(0.05)
        record = json.loads((home / "server.json").read_text())
        url = record["url"]
        server = psutil.Process(record["pid"])  # the serving process (under the crash guard's parent)
        serve_load.run(url, well=5, stall=0, drop=0, garbage=0)  # warm: imports, first threads
        rss_before = server.memory_info().rss
        expected = " ".join(f"w{i}" for i in range(16))
        report = serve_load.run(url, max_tokens=16, stall_tokens=WORDS, limit_s=LIMIT_S,
                                check=lambda text: text.strip() == expected)  # fmt: skip
        rss_after = server.memory_info().rss
        print(serve_load.table(report, rss_before, rss_after, STALL_TIMEOUT))

        well = report.of("well")
        assert len(well) == 35 and all(o.ok for o in well), [o for o in well if not o.ok]
        assert not report.of("error"), report.of("error")
        # The well-behaved are served while the stalled wait out their timeout, not behind them.
        assert report.percentile(100) < STALL_TIMEOUT, report.latencies()
        stalled = report.of("stall")
        assert len(stalled) == 5 and all(o.ok for o in stalled), stalled
        assert all(STALL_TIMEOUT - 0.5 < o.seconds < STALL_TIMEOUT + 5 for o in stalled), [o.seconds for o in stalled]
        assert len(report.of("drop")) == 5 and all(o.ok for o in report.of("drop"))
        assert len(report.of("garbage")) == 5 and all(o.ok for o in report.of("garbage")), report.of("garbage")
        with urllib.request.urlopen(url + "/health", timeout=5) as resp:
            assert resp.status == 200
        assert proc.poll() is None
        assert rss_after - rss_before < 50 * 2**20
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
