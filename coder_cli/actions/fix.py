"""`coder fix`: run the check, read the failure, ask for the failing unit rewritten, verify the
candidate in a scratch copy, loop; the real file is only written by the caller, on confirmation."""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.actions import fix_units as units
from coder_cli.actions.checks import Check, CheckResult, plan
from coder_cli.actions.scratch import Scratch
from coder_cli.config import project_root
from coder_cli.core import failure as failures
from coder_cli.core.edits import NoCodeBlock
from coder_cli.core.fix_prompts import FIX_SYSTEM, fix_request, fix_retry, fix_unchanged, fix_unusable
from coder_cli.engine import Engine, GenParams
from coder_cli.errors import UsageError
from coder_cli.files import TextFile, check_inside, read_text

FAILURE_BUDGET = 500
TEST_BUDGET = 350
RELATED_BUDGET = 350
MAP_BUDGET = 200
REPLY_TOKENS = 1536
SAMPLE_TEMPERATURE = 1.0  # diversity matters more than polish when greedy is stuck


@dataclass
class FixRequest:
    path: Path
    test_cmd: str | None = None
    rounds: int = 3
    samples: int = 3
    lang: str | None = None
    timeout: float = 120.0
    use_map: bool = True


@dataclass
class Attempt:
    round: int
    temperature: float
    outcome: str  # "passed", "failed", or "rejected: why"
    summary: str
    seconds: float


@dataclass
class FixResult:
    target: Path
    root: Path
    rel: str
    original: TextFile
    check: Check
    before: CheckResult
    fixed: str | None = None
    after: CheckResult | None = None
    unit: units.Unit | None = None
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def already_passing(self) -> bool:
        return self.before.passed

    def new_bytes(self) -> bytes:
        assert self.fixed is not None
        return self.original.encode(self.fixed)

    def patch(self) -> str:
        """A `git apply`-able unified diff of the fix."""
        assert self.fixed is not None
        nl = self.original.newline
        old = self.original.text.replace("\n", nl).splitlines(keepends=True)
        new = self.fixed.replace("\n", nl).splitlines(keepends=True)
        lines = list(difflib.unified_diff(old, new, f"a/{self.rel}", f"b/{self.rel}"))
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


def prepare(req: FixRequest) -> tuple[Path, Path, str, TextFile, str | None]:
    target = req.path.expanduser()
    if not target.exists():
        raise UsageError(f"file not found: {target}")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; name the file to fix")
    target = target.resolve()
    root = project_root(target.parent)
    check_inside(target, root)
    original = read_text(target)
    from coder_cli.context.languages import language_for

    lang = req.lang or language_for(target.name, original.raw[:256])
    if lang is None and not req.test_cmd:
        raise UsageError(f"coder does not know the language of {target.name}", 'pass --lang LANG or --test "CMD"')
    return target, root, target.relative_to(root).as_posix(), original, lang


def run_fix(req: FixRequest, load: Callable[[], Engine], note: Callable[[str], None], home: Path) -> FixResult:
    """The whole repair: returns the result with FIXED set when a candidate passed the check."""
    t0 = time.perf_counter()
    target, root, rel, original, lang = prepare(req)
    check = plan(target, root, lang or "", req.test_cmd, req.timeout)
    note(f"checking: {check.description}")
    with Scratch(root) as scratch:
        before = _run(check, scratch, rel)
        result = FixResult(target, root, rel, original, check, before)
        if before.passed:
            result.seconds = time.perf_counter() - t0
            return result
        failure = failures.parse(before.output)
        note(f"failure: {failure.summary}")
        engine = load()
        ctx = units.Context(
            target, root, rel, original, lang or "text", home, engine.count_tokens, engine.info.model, req.use_map
        )
        try:
            unit = units.choose(ctx, failure)
            result.unit = unit
            note(f"rewriting {unit.describe()} of {rel}")
            _loop(req, engine, ctx, unit, failure, check, scratch, result, note)
        finally:
            ctx.close()
    result.seconds = time.perf_counter() - t0
    return result


def _run(check: Check, scratch: Scratch, rel: str) -> CheckResult:
    res = check.run(scratch.root, rel)
    # Paths in the output should name the real repository, not the scratch copy.
    out = res.output.replace(str(scratch.root) + "/", "").replace(str(scratch.root), ".")
    return CheckResult(res.passed, out, res.seconds, res.timed_out)


def _loop(req, engine: Engine, ctx, unit, failure, check: Check, scratch: Scratch, result: FixResult, note) -> None:
    count = engine.count_tokens
    first = fix_request(
        check=check.description.split(" (in ")[0],
        digest=failures.digest(failure, ctx.rel, ctx.lines()),
        failure=failures.trim(failure.output, FAILURE_BUDGET, count),
        unit_kind=unit.kind,
        unit_name=unit.name,
        rel=ctx.rel,
        lang=ctx.lang,
        unit_text=unit.text,
        first_line=unit.first + 1,
        test_source=units.failing_test_source(ctx, failure, TEST_BUDGET),
        related=units.related_definitions(ctx, unit, RELATED_BUDGET),
        repo_map=units.small_map(ctx, MAP_BUDGET) if req.use_map else None,
    )
    messages = [{"role": "system", "content": FIX_SYSTEM}, {"role": "user", "content": first}]
    what = f"{ctx.rel}" if unit.kind == "file" else f"{unit.kind} `{unit.name}`"
    seen_code: set[str] = set()
    seen_failures = {failure.summary}
    last_summary = failure.summary
    stuck = False
    for round_no in range(1, req.rounds + 1):
        temps = [(SAMPLE_TEMPERATURE, seed + 100 * round_no) for seed in range(1, req.samples + 1)] if stuck else [(0.0, 0)]
        feedback: tuple[str, str] | None = None  # (reply, what to say about it): the first candidate's
        progressed = False
        for temperature, seed in temps:
            t0 = time.perf_counter()
            params = GenParams(max_tokens=REPLY_TOKENS, temperature=temperature, seed=seed, top_p=0.95, top_k=50)
            reply = _first_block(engine, messages, params)
            try:
                candidate = units.apply(ctx, unit, reply)
            except units.Unchanged:
                _attempt(result, round_no, temperature, "rejected: it changes nothing", "", t0, note)
                feedback = feedback or (reply, fix_unchanged(last_summary, what))
                continue
            except (NoCodeBlock, units.Rejected) as exc:
                _attempt(result, round_no, temperature, f"rejected: {exc}", "", t0, note)
                feedback = feedback or (reply, fix_unusable(str(exc), what))
                continue
            if candidate in seen_code:
                _attempt(result, round_no, temperature, "rejected: same as an earlier candidate", "", t0, note)
                continue
            seen_code.add(candidate)
            scratch.write(ctx.rel, ctx.original.encode(candidate))
            res = _run(check, scratch, ctx.rel)
            if res.passed:
                _attempt(result, round_no, temperature, "passed", "", t0, note)
                result.fixed, result.after = candidate, res
                return
            new_failure = failures.parse(res.output)
            _attempt(result, round_no, temperature, "failed", new_failure.summary, t0, note)
            fresh = new_failure.summary not in seen_failures
            seen_failures.add(new_failure.summary)
            progressed = progressed or fresh
            if feedback is None:
                last_summary = new_failure.summary
                retry = fix_retry(failures.trim(new_failure.output, FAILURE_BUDGET, count), not fresh, what)
                feedback = (reply, retry)
        scratch.write(ctx.rel, ctx.original.raw)
        # Greedy decoding that repeats itself, or a failure that does not move: sample next round.
        stuck = not progressed
        if feedback is not None:
            messages += [{"role": "assistant", "content": feedback[0]}, {"role": "user", "content": feedback[1]}]
            _fit(engine, messages)


def _first_block(engine: Engine, messages: list[dict], params: GenParams) -> str:
    """The reply up to the end of its first complete code block (the rest is prose we would not use)."""
    from coder_cli.core.edits import first_complete_block

    gen = engine.chat(messages, params)
    text = ""
    try:
        for piece in gen:
            text += piece
            if "`" in piece or "~" in piece:
                if first_complete_block(text):
                    break
    finally:
        gen.close()
    return text


def _attempt(result: FixResult, round_no: int, temperature: float, outcome: str, summary: str, t0: float, note) -> None:
    result.attempts.append(Attempt(round_no, temperature, outcome, summary, time.perf_counter() - t0))
    note(f"round {round_no}: {outcome}" + (f" ({summary})" if summary else ""))


def _fit(engine: Engine, messages: list[dict]) -> None:
    """Drop the oldest retry exchanges while the conversation leaves too little room for a reply."""
    while len(messages) > 4 and len(engine.chat_prompt(messages)) + REPLY_TOKENS > engine.n_ctx:
        del messages[2:4]
