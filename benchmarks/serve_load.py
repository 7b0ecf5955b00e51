"""`coder serve` under load and faults with the real model (issue 16): the scenario of
tests/test_serve_load.py (50 clients at once: 35 well-behaved, 5 that stall without reading,
5 that disconnect mid-stream, 5 that send garbage) against the default 0.5B model.

Prints: clients answered, p50/p99 latency of the well-behaved ones, the serving process's RSS
before and after, and when the stalled clients were cut off; then the baseline measured in the
same run (the 35 well-behaved clients alone) beside the faulty run, with the ratio: what the 15
faulty clients cost the others. A stalled client holds the engine
while its own generation runs (as a reading one would) and is cut off STALL_TIMEOUT seconds after
the server last could send it anything; the rest queue in arrival order.

Usage: python benchmarks/serve_load.py [--model default] [--max-tokens 12] [--stall-tokens 400]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import coder_cmd, env_with, machine, store_path  # noqa: E402

from tests import serve_load  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--max-tokens", type=int, default=12, help="each well-behaved client's answer")
    ap.add_argument(
        "--stall-tokens", type=int, default=400, help="what a stalled client asks for (must outgrow ~20 KB of buffers)"
    )
    ap.add_argument("--limit", type=float, default=600.0, help="seconds any one client may take")
    args = ap.parse_args()

    import psutil

    from coder_cli.actions.serve.queue import STALL_TIMEOUT

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        model = store_path(None, args.model)
        proc = subprocess.Popen(coder_cmd("serve", "--port", "0", "--model", str(model), "--ctx", "4096"),
                                env=env_with(home), stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            while not (home / "server.json").exists():
                if proc.poll() is not None:
                    sys.exit(f"coder serve did not start: {proc.stderr.read()}")
                time.sleep(0.1)
            record = json.loads((home / "server.json").read_text())
            server = psutil.Process(record["pid"])
            serve_load.run(record["url"], well=2, stall=0, drop=0, garbage=0, max_tokens=args.max_tokens)  # warm
            # The baseline, in the same run: the 35 well-behaved clients alone, no faulty ones.
            alone = serve_load.run(record["url"], stall=0, drop=0, garbage=0, max_tokens=args.max_tokens,
                                   limit_s=args.limit, check=lambda text: bool(text.strip()))  # fmt: skip
            before = server.memory_info().rss
            report = serve_load.run(record["url"], max_tokens=args.max_tokens, stall_tokens=args.stall_tokens,
                                    limit_s=args.limit, check=lambda text: bool(text.strip()))  # fmt: skip
            after = server.memory_info().rss
            with urllib.request.urlopen(record["url"] + "/health", timeout=30) as resp:
                health = resp.status
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
    print(f"# coder serve under load: {args.model} model, {machine()}")
    print(f"# well-behaved max_tokens {args.max_tokens}, stalled max_tokens {args.stall_tokens}")
    print(serve_load.table(report, before, after, STALL_TIMEOUT))
    print()
    print("the 35 well-behaved clients alone (baseline, same run) and with the 15 faulty ones:")
    print(f"{'':28}{'alone':>10}{'with faults':>14}{'ratio':>8}")
    for name, a, b in (
        ("latency p50 (s)", alone.percentile(50), report.percentile(50)),
        ("latency p99 (s)", alone.percentile(99), report.percentile(99)),
        ("wall time (s)", alone.wall_s, report.wall_s),
    ):
        print(f"{name:28}{a:>10.2f}{b:>14.2f}{b / a:>8.2f}")
    print(f"health afterwards: {health}; server exit: {proc.returncode}")
    failed = [o for o in alone.outcomes + report.outcomes if not o.ok]
    for o in failed:
        print(f"  not ok: {o.kind} after {o.seconds:.1f} s: {o.detail}")
    return 0 if not failed and health == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
