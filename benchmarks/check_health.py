"""Does `coder fix` tell a check that cannot test the file from a real failure? (issue 17, point 2)

On HumanEvalFix (Python, 164 bugs; ../shared/data), each bug written out as repair.py does
(solution.py + test_solution.py), with the benchmark's own check: every one fails on the buggy
file, and every one is the file's to fix, so fix must refuse none of them. Then the same projects
with the check broken in five ways a user breaks one (a module that does not exist, a test path
that does not exist, a command that does not exist, a filter that selects no test, a test file that
dies on a missing dependency before it imports the file): fix must refuse every one, before any
model is loaded. Timed: the decision (including the run with the stand-in) against one run of the
check, measured in the same run. No model is used.

Usage: python benchmarks/check_health.py [--data FILE] [--broken N]   (N projects per broken kind; default 20)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median, table  # noqa: E402
from repair import DEFAULT_DATA, write_project  # noqa: E402

from coder_cli.actions.checks import Check  # noqa: E402
from coder_cli.actions.fix import _run, refuse_an_unusable_check  # noqa: E402
from coder_cli.actions.scratch import Scratch  # noqa: E402
from coder_cli.errors import UsageError  # noqa: E402
from coder_cli.fs.text_file import read_text  # noqa: E402

PY = sys.executable
GOOD = f"{PY} -m pytest -x -q -p no:cacheprovider test_solution.py"
BROKEN = {
    "module that does not exist": f"{PY} -m nosuchmodule test_solution.py",
    "test path that does not exist": f"{PY} -m pytest -x -q -p no:cacheprovider test_solutions.py",
    "command that does not exist": "pytset -x -q test_solution.py",
    "filter that selects no test": f"{PY} -m pytest -x -q -p no:cacheprovider -k no_such_test test_solution.py",
    "dependency missing in the test": f"{PY} -m pytest -x -q -p no:cacheprovider test_solution.py",
}


def decide(folder: Path, command: str) -> tuple[bool | None, float, float]:
    """(refused: True/False, or None when the check passed; seconds of the check; seconds of the decision)."""
    check = Check(f"`{command}`", command, None, 20.0)
    with Scratch(folder, keep="solution.py") as scratch:
        before = _run(check, scratch, "solution.py")
        if before.passed:
            return None, before.seconds, 0.0
        t0 = time.perf_counter()
        try:
            refuse_an_unusable_check(check, before, scratch, "solution.py", "python", read_text(folder / "solution.py"))
            refused = False
        except UsageError:
            refused = True
        return refused, before.seconds, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--broken", type=int, default=20)
    args = ap.parse_args()
    tasks = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="coder-check-health-"))
    refused_real, passed, check_s, decide_s = [], 0, [], []
    for i, task in enumerate(tasks):
        folder = work / f"real-{i}"
        write_project(task, folder)
        refused, seconds, extra = decide(folder, GOOD)
        if refused is None:
            passed += 1
            continue
        check_s.append(seconds)
        decide_s.append(extra)
        if refused:
            refused_real.append(task["task_id"])
    rows = [["HumanEvalFix, the real check (fails on the buggy file)", f"{len(refused_real)}/{len(check_s)}", "0"]]
    for kind, command in BROKEN.items():
        refused = 0
        for i, task in enumerate(tasks[: args.broken]):
            folder = work / f"{kind.replace(' ', '-')}-{i}"
            write_project(task, folder)
            if kind.startswith("dependency"):
                test = folder / "test_solution.py"
                test.write_text("import nosuchdependency  # noqa: F401\n" + test.read_text())
            refused += decide(folder, command)[0] is True
        rows.append([f"broken check: {kind}", f"{refused}/{args.broken}", f"{args.broken}"])
    print(f"# {machine()}; {args.data.name}, {len(tasks)} tasks ({passed} already passing)")
    print(table(["check", "refused", "should be"], rows))
    ratio = median(decide_s) / median(check_s) if check_s else float("nan")
    print(f"\nthe decision on a real failure (the run with the stand-in included): median {median(decide_s):.2f} s,")
    print(f"against {median(check_s):.2f} s for one run of the check (same run): ratio {ratio:.2f}")
    for task_id in refused_real:
        print(f"  refused a real failure: {task_id}")
    return 0 if not refused_real else 1


if __name__ == "__main__":
    sys.exit(main())
