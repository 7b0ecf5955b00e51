"""Planted bugs in a real library, repaired against the library's own tests.

HumanEvalFix gives `coder fix` a ten-line function and a test file written for it.
A user's module is longer, its tests are the project's own, and a failing test may
sit far from the bug. This benchmark takes toolz 1.0.0 (pure Python; its sdist
ships its pytest suite), plants one bug at a time in `toolz/itertoolz.py` (1,058
lines) or `toolz/dicttoolz.py` (339 lines), and runs

    coder fix toolz/MODULE.py --yes --json --test "python -m pytest -x -q toolz/tests/test_MODULE.py"

in a fresh copy of the sdist. A bug counts as repaired when coder exits 0, the
module's tests then pass and no test file changed; "exact" when the module is
byte for byte the original again. Bugs the tests do not catch are listed and left
out of the count.

The bugs are the kinds HumanEvalFix names, written by hand and checked against
toolz's tests (an argument swap in `accumulate` the tests do not catch was
replaced) before coder was first run on them, and not changed after: four from the report that opened issue 17
(`islice(seq, n + 1)`, `d[item] = 1`, `v.__self__` for `func(v.__self__)`, a deleted
statement) and thirteen more, among them four deleted lines, which the line
edits cannot invert. No naive baseline: a one-shot rewrite of a 1,000-line
module does not fit the 0.5B's answer.

Usage: python benchmarks/repair_library.py [--model default] [--sdist toolz-1.0.0.tar.gz] [--out FILE.jsonl]
(without --sdist the sdist is fetched with pip download and its sha256 checked).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import coder_cmd, env_with, machine, median, store_path, table  # noqa: E402

SDIST = "toolz-1.0.0.tar.gz"
SDIST_SHA256 = "2c86e3d9a04798ac556793bced838816296a2f085017664e4995cb40a1047a02"


@dataclass(frozen=True)
class Bug:
    module: str  # itertoolz or dicttoolz
    line: int  # 1-based line of the module
    written: str  # the line as toolz has it, stripped
    planted: str | None  # the line as the bug has it, stripped; None: the line deleted
    kind: str  # HumanEvalFix's bug types

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        have = lines[self.line - 1]
        assert have.strip() == self.written, f"{self.module}:{self.line} is {have.strip()!r}"
        if self.planted is None:
            del lines[self.line - 1]
        else:
            lines[self.line - 1] = have[: len(have) - len(have.lstrip())] + self.planted
        return "\n".join(lines)


BUGS = [
    # the four of issue 17's report
    Bug("itertoolz", 328, "return itertools.islice(seq, n)", "return itertools.islice(seq, n + 1)", "value misuse"),
    Bug("itertoolz", 549, "d[item] += 1", "d[item] = 1", "operator misuse"),
    Bug("dicttoolz", 69, "result[k] = func(v.__self__)", "result[k] = v.__self__", "missing logic"),
    Bug("itertoolz", 385, "next(seq)", None, "missing logic"),
    # itertoolz
    Bug("itertoolz", 629, "d[k] = binop(d[k], item)", "d[k] = binop(d[k], k)", "variable misuse"),
    Bug("itertoolz", 265, "if item not in seen:", "if item in seen:", "operator misuse"),
    Bug("itertoolz", 312, "seen_add(item)", None, "missing logic"),
    Bug("itertoolz", 342, "return seq[-n:]", "return seq[n:]", "operator misuse"),
    Bug("itertoolz", 533, "next(inposed)", None, "missing logic"),
    Bug("itertoolz", 623, "if k not in d:", "if k in d:", "operator misuse"),
    Bug("itertoolz", 956, "if items.count(items[0]) != N:", "if items.count(items[0]) == N:", "operator misuse"),
    Bug(
        "itertoolz",
        983,
        "return tuple(heapq.nlargest(k, seq, key=key))",
        "return tuple(heapq.nsmallest(k, seq, key=key))",
        "function misuse",
    ),
    # dicttoolz
    Bug(
        "dicttoolz",
        85,
        "rv.update(zip(d.keys(), map(func, d.values())))",
        "rv.update(zip(d.keys(), map(func, d.keys())))",
        "variable misuse",
    ),
    Bug("dicttoolz", 136, "if predicate(v):", "if not predicate(v):", "excess logic"),
    Bug("dicttoolz", 197, "d2[key] = value", None, "missing logic"),
    Bug("dicttoolz", 220, "if key in d2:", "if key not in d2:", "operator misuse"),
    Bug("dicttoolz", 299, "inner[k] = func(default)", "inner[k] = default", "missing logic"),
]


def fetch(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "toolz==1.0.0", "-d", str(into)],
        check=True,
    )
    return into / SDIST


def unpack(sdist: Path, folder: Path) -> Path:
    with tarfile.open(sdist) as tar:
        tar.extractall(folder, filter="data")
    return folder / "toolz-1.0.0"


def test_command(bug: Bug) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", f"toolz/tests/test_{bug.module}.py"]


def tests_pass(project: Path, bug: Bug) -> bool:
    try:
        return subprocess.run(test_command(bug), cwd=project, capture_output=True, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--sdist", type=Path, default=None, help=f"{SDIST} (fetched with pip download when not given)")
    ap.add_argument("--bugs", default="", help="only these bugs, by number (1,4,7)")
    ap.add_argument("--timeout", type=int, default=60, help="seconds one run of the tests may take in coder fix")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coder-library-"))
    sdist = args.sdist or fetch(work / "sdist")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256}")
    home = work / "home"
    model_path = store_path(home, args.model)
    chosen = {int(x) for x in args.bugs.split(",") if x} or set(range(1, len(BUGS) + 1))
    out = args.out.open("w") if args.out else None
    rows: list[dict] = []
    for n, bug in enumerate(BUGS, 1):
        if n not in chosen:
            continue
        project = unpack(sdist, work / f"bug-{n}")
        target = project / "toolz" / f"{bug.module}.py"
        original = target.read_text()
        assert tests_pass(project, bug), f"toolz's own tests fail on an unchanged {bug.module}.py"
        target.write_text(bug.apply(original))
        row = {"bug": n, "module": bug.module, "line": bug.line, "kind": bug.kind, "planted": bug.planted}
        if tests_pass(project, bug):
            row["caught"] = False
        else:
            row["caught"] = True
            tests_before = {p: p.read_bytes() for p in (project / "toolz" / "tests").glob("*.py")}
            planted = target.read_text()
            t0 = time.perf_counter()
            r = subprocess.run(
                coder_cmd(
                    "fix",
                    f"toolz/{bug.module}.py",
                    "--model",
                    args.model,
                    "--yes",
                    "--json",
                    "--timeout",
                    str(args.timeout),
                    "--test",
                    " ".join(test_command(bug)),
                ),
                cwd=project,
                env=env_with(home),
                capture_output=True,
                text=True,
                timeout=1800,
            )
            row["seconds"] = round(time.perf_counter() - t0, 2)
            try:
                result = json.loads(r.stdout)
            except ValueError:
                result = {}
            attempts = result.get("attempts", [])
            tests_after = {p: p.read_bytes() for p in (project / "toolz" / "tests").glob("*.py")}
            ok = r.returncode == 0 and tests_after == tests_before and tests_pass(project, bug)
            if not ok:
                assert target.read_text() == planted, f"bug {n}: changed but not repaired"
            row["repaired"] = ok
            row["exact"] = ok and target.read_text() == original
            row["checks"] = sum(a["outcome"] in ("passed", "failed") for a in attempts)
            row["how"] = next((a["how"] for a in attempts if a["outcome"] == "passed"), "")
            row["attempts"] = [[a["round"], a["how"], a["outcome"][:6], round(a["seconds"], 2)] for a in attempts]
        rows.append(row)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
        status = "not caught by the tests" if not row["caught"] else ("repaired" if row["repaired"] else "no")
        print(f"[{n}/{len(BUGS)}] {bug.module}:{bug.line} ({bug.kind}): {status}", file=sys.stderr, flush=True)
    print(f"machine: {machine()}")
    print(f"model: {model_path.name}; toolz 1.0.0 (sha256 {SDIST_SHA256[:12]}...), {len(rows)} planted bugs\n")
    report(rows)


def report(rows: list[dict]) -> None:
    caught = [r for r in rows if r["caught"]]
    fixed = [r for r in caught if r["repaired"]]
    print(
        table(
            ["bugs caught by the tests", "repaired", "exact original"],
            [[str(len(caught)), f"{len(fixed)}/{len(caught)}", str(sum(r["exact"] for r in caught))]],
        )
    )
    print()
    kinds: dict[str, list[int]] = {}
    for r in caught:
        k = kinds.setdefault(r["kind"], [0, 0])
        k[0] += 1
        k[1] += r["repaired"]
    print(table(["bug type", "bugs", "repaired"], [[k, str(v[0]), f"{v[1]}/{v[0]}"] for k, v in sorted(kinds.items())]))
    print()
    rows_out = [
        [
            str(r["bug"]),
            f"{r['module']}:{r['line']}",
            r["kind"],
            "yes" if r["repaired"] else "no",
            f"{r['seconds']:.1f}",
            str(r["checks"]),
            r["how"],
        ]
        for r in caught
    ]
    print(table(["bug", "where", "type", "repaired", "s", "checks", "by"], rows_out))
    missed = [r for r in rows if not r["caught"]]
    if missed:
        print("\nnot caught by the tests (left out): " + ", ".join(f"{r['module']}:{r['line']}" for r in missed))
    every, repaired = median([r["seconds"] for r in caught]), median([r["seconds"] for r in fixed])
    print(f"\ncoder fix: median wall time per bug {every:.1f} s, per repaired bug {repaired:.1f} s")


if __name__ == "__main__":
    main()
