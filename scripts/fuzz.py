"""The parser fuzz, run long: the properties of tests/fuzz_properties.py with many more examples.

Usage: .venv/bin/python scripts/fuzz.py [--minutes M] [--examples N] [--only NAME ...] [--module MOD ...] [--serve]

The suite runs each property a few hundred times, always the same examples; this script runs them
with fresh random examples, in rounds of --examples per property, until --minutes have passed
(default: one round). Every distinct failure (exception type and the line that raised it) is
printed once, with the smallest input hypothesis found for it; exit 1 when there was any.
--module adds another module's PROPERTIES (a dict of name -> Property) to the run. --serve then runs
tests/test_serve_fuzz.py (serve's request parsing, the handler over a socket, the editor protocol)
with --examples fresh random examples per test, once per round.
Run it before a release; put each input it finds in tests/test_fuzz_parsers.py as a regression.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _signature(exc: BaseException) -> str:
    """What makes a failure distinct: its type and the innermost line of coder_cli that raised it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "coder_cli" in f.filename]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def _load(modules: list[str]) -> dict:
    properties: dict = {}
    for name in modules:
        properties.update(importlib.import_module(name).PROPERTIES)
    return properties


def _serve_round(examples: int, round_no: int) -> bool:
    """One run of the serve fuzz tests with EXAMPLES fresh examples each; whether they passed."""
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_serve_fuzz.py"],
        cwd=root,
        env={**os.environ, "FUZZ_EXAMPLES": str(examples)},
    )
    outcome = "ok" if proc.returncode == 0 else f"failed (pytest exit {proc.returncode})"
    print(f"round {round_no} serve: {examples} examples per test, {time.monotonic() - started:.1f} s, {outcome}", flush=True)
    return proc.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=0.0, help="keep running rounds this long (default: one round)")
    parser.add_argument("--examples", type=int, default=10_000, help="examples per property per round")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these properties")
    parser.add_argument("--module", nargs="+", default=[], metavar="MOD", help="more modules with PROPERTIES")
    parser.add_argument("--serve", action="store_true", help="also fuzz coder serve's requests (tests/test_serve_fuzz.py)")
    args = parser.parse_args(argv)
    properties = _load(["tests.fuzz_properties", *args.module])
    names = args.only or list(properties)
    unknown = sorted(set(names) - set(properties))
    if unknown:
        parser.error(f"unknown properties: {', '.join(unknown)} (known: {', '.join(properties)})")
    deadline = time.monotonic() + args.minutes * 60
    found: dict[str, str] = {}
    rounds = 0
    while True:
        rounds += 1
        for name in names:
            started = time.monotonic()
            try:
                properties[name].test(args.examples)()
                outcome = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure of the property is what we are looking for
                key = f"{name}: {_signature(exc)}"
                outcome = key
                if key not in found:
                    found[key] = "".join(traceback.format_exception(exc))
                    print(f"\n=== {key}\n{found[key]}", flush=True)
            print(f"round {rounds} {name}: {args.examples} examples, {time.monotonic() - started:.1f} s, {outcome}", flush=True)
        if args.serve and not _serve_round(args.examples, rounds):
            found.setdefault("serve: tests/test_serve_fuzz.py failed (its output is above)", "")
        if time.monotonic() >= deadline:
            break
    print(f"\n{rounds} round(s), {len(found)} distinct failure(s)")
    for key in found:
        print(f"  {key}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
