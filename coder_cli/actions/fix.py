"""`coder fix`: run the check, read the failure, ask for the failing unit rewritten, verify the
candidate in a scratch copy, loop; the real file is only written by the caller, on confirmation."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.actions import fix_lines
from coder_cli.actions import fix_units as units
from coder_cli.actions.checks import Check, CheckResult, plan
from coder_cli.actions.proposal import Proposal
from coder_cli.actions.scratch import Scratch
from coder_cli.actions.warm_check import WarmPytest, agrees
from coder_cli.config import project_root
from coder_cli.core import failure as failures
from coder_cli.core import line_edits
from coder_cli.core.edits import NoCodeBlock
from coder_cli.core.fix_prompts import FIX_SYSTEM, fix_request, fix_retry, fix_unchanged, fix_unusable
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.engine.usage import Metered, usage_timing
from coder_cli.errors import UsageError
from coder_cli.fs.atomic_write import check_inside
from coder_cli.fs.text_file import TextFile, read_text

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
    cwd: Path | None = None  # where the command was typed: a --test command runs there


@dataclass
class Attempt:
    round: int
    how: str  # "rewrite", "rewrite, sampled at 1", "line 12 refilled", ...
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
    failure: failures.Failure | None = None  # the check's failure before any fix, parsed once
    stats: GenStats = field(default_factory=GenStats)  # every generation of the repair, summed
    load_s: float = 0.0

    @property
    def already_passing(self) -> bool:
        return self.before.passed

    def proposal(self) -> Proposal:
        """The fix as the one write path takes it (the check passed on it in the scratch copy)."""
        assert self.fixed is not None
        return Proposal(
            self.target, self.rel, self.original, self.fixed, "coder fix", checks=[f"passes {self.check.description}"]
        )

    def summary(self) -> str:
        rounds = max((a.round for a in self.attempts), default=0)
        return f"{rounds} round(s), {len(self.attempts)} candidate(s), {self.seconds:.1f} s"

    def explain_lines(self) -> list[str]:
        """What was checked, what failed, and every attempt (`coder fix --explain`)."""
        lines = [f"checked: {self.check.description}", f"before: {'passes' if self.before.passed else 'fails'}"]
        if self.failure is not None:
            lines.append(f"failure: {self.failure.summary}")
        if self.unit:
            lines.append(f"unit: {self.unit.describe()}")
        for a in self.attempts:
            extra = f": {a.summary}" if a.summary else ""
            lines.append(f"round {a.round} ({a.how}): {a.outcome}{extra} [{a.seconds:.1f} s]")
        return lines

    def as_json(self, written: bool) -> dict:
        return {
            "file": str(self.target),
            "check": self.check.description,
            "passed_before": self.before.passed,
            "fixed": self.fixed is not None,
            "written": written,
            "unit": self.unit.describe() if self.unit else None,
            "attempts": [a.__dict__ for a in self.attempts],
            "seconds": round(self.seconds, 2),
            "patch": self.patch() if self.fixed is not None else None,
            **usage_timing(self.stats, load_s=self.load_s, total_s=self.seconds),
        }

    def new_bytes(self) -> bytes:
        assert self.fixed is not None
        return self.original.encode(self.fixed)

    def patch(self) -> str:
        """A `git apply`-able unified diff of the fix."""
        return self.proposal().diff


def prepare(req: FixRequest) -> tuple[Path, Path, str, TextFile, str | None]:
    target = req.path.expanduser()
    if not target.exists():
        raise UsageError(f"file not found: {target}")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; name the file to fix")
    target = target.resolve()
    root = fix_root(target, req.cwd if req.test_cmd else None)
    check_inside(target, root)
    original = read_text(target)
    from coder_cli.core.languages import language_for

    lang = req.lang or language_for(target.name, original.raw[:256])
    if lang is None and not req.test_cmd:
        raise UsageError(f"coder does not know the language of {target.name}", 'pass --lang LANG or --test "CMD"')
    return target, root, target.relative_to(root).as_posix(), original, lang


def fix_root(target: Path, cwd: Path | None) -> Path:
    """The folder copied for the check: the git work tree holding TARGET; outside a repository, CWD
    (where a --test command was typed, so the tests it names are in the copy) when TARGET is under
    it, else TARGET's own folder."""
    root = project_root(target.parent)
    if cwd is None or (root / ".git").exists():
        return root
    cwd = cwd.resolve()
    return cwd if target.is_relative_to(cwd) else root


def run_fix(req: FixRequest, load: Callable[[], Engine], note: Callable[[str], None], home: Path) -> FixResult:
    """The whole repair: returns the result with FIXED set when a candidate passed the check."""
    t0 = time.perf_counter()
    target, root, rel, original, lang = prepare(req)
    check = plan(target, root, lang or "", req.test_cmd, req.timeout, req.cwd)
    note(f"checking: {check.description}")
    with Scratch(root, keep=rel) as scratch:
        before = _run(check, scratch, rel)
        result = FixResult(target, root, rel, original, check, before)
        if before.passed:
            result.seconds = time.perf_counter() - t0
            return result
        failure = result.failure = failures.parse(before.output)
        note(f"failure: {failure.summary}")
        refuse_an_unusable_check(check, before, scratch, rel, lang, original)
        # Started before the model loads: its imports run while the weights are read.
        warm = WarmPytest.start(check.command, check.cwd(scratch.root), check.timeout, idle=scratch.dir)
        try:
            t_load = time.perf_counter()
            engine = Metered(load())
            result.load_s = time.perf_counter() - t_load
        except BaseException:
            if warm:
                warm.close()
            raise
        ctx = units.Context(
            target, root, rel, original, lang or "text", home, engine.count_tokens, engine.info.model, req.use_map
        )
        try:
            unit = units.choose(ctx, failure)
            result.unit = unit
            note(f"repairing {unit.describe()} of {rel}")
            _loop(req, engine, ctx, unit, failure, _Search(ctx, check, scratch, result, note, warm))
        finally:
            if warm:
                warm.close()
            ctx.close()
            result.stats = engine.total()
    result.seconds = time.perf_counter() - t0
    return result


def refuse_an_unusable_check(
    check: Check, before: CheckResult, scratch: Scratch, rel: str, lang: str | None, original: TextFile
) -> None:
    """A UsageError (exit 2) when the check's failure cannot be the file's: its command or runner is
    missing, it was used wrongly, it names a test that does not exist, it collected no tests, or it
    fails the same way with the file replaced by a stand-in that raises (one more run of the check).
    Repairing against such a check only burns rounds; what it printed says what to fix instead."""
    from coder_cli.core import check_health

    if before.timed_out or not check.command or before.returncode is None:
        return  # a timeout, or the syntax check failed first: the file's, as far as anyone can tell
    why = check_health.unusable(check.command, before.returncode, before.output, lambda p: (check.cwd(scratch.root) / p).exists())
    # A silent failure (`grep -q` on the file's text) says nothing a stand-in could contradict; one
    # whose traceback goes through the file needs no stand-in to show the check reaches it.
    if why is None and lang and before.output.strip() and not check_health.reaches(before.output, rel):
        stand_in = check_health.stand_in(lang, rel)
        if stand_in is not None:
            scratch.write(rel, stand_in.encode("utf-8"))
            try:
                stubbed = _run(Check(check.description, check.command, None, check.timeout, check.workdir), scratch, rel)
            finally:
                scratch.write(rel, original.raw)
            if not stubbed.passed and check_health.same_failure(
                before.returncode, before.output, stubbed.returncode, stubbed.output
            ):
                why = f"it fails the same way with {rel} replaced by a stand-in that raises: it never reaches the file"
    if why is not None:
        shown = "\n".join(f"  {line}" for line in before.output.strip().splitlines()[-6:]) or "  (nothing)"
        raise UsageError(
            f"the check cannot test {rel}: {why}; nothing was repaired",
            f'the check was {check.description}; it printed:\n{shown}\nfix the check (or pass one with --test "CMD")',
        )


def filter_extension(lang: str | None) -> str:
    """The file extension filter mode writes LANG's text under; a UsageError for no or an unknown LANG."""
    from coder_cli.core.languages import EXTENSIONS

    if not lang:
        raise UsageError("filter mode needs --lang (for example: coder fix - --lang python)")
    ext = next((e for e, name in EXTENSIONS.items() if name == lang), None)
    if ext is None:
        raise UsageError(f"unknown language {lang!r}", f"one of: {', '.join(sorted(set(EXTENSIONS.values())))}")
    return ext


def fix_text(
    text: str, lang: str | None, req: FixRequest, load: Callable[[], Engine], note: Callable[[str], None], home: Path
) -> FixResult:
    """Filter mode (`coder fix -`): repair TEXT in LANG in a temporary folder; REQ.path is ignored."""
    import tempfile

    ext = filter_extension(lang)
    if not text.strip():
        raise UsageError("nothing to fix: standard input was empty")
    with tempfile.TemporaryDirectory(prefix="coder-filter-") as tmp:
        path = Path(tmp) / f"input{ext}"
        path.write_text(text, encoding="utf-8")
        req = FixRequest(path, req.test_cmd, req.rounds, req.samples, lang, req.timeout, req.use_map, path.parent)
        return run_fix(req, load, note, home)


def _run(check: Check, scratch: Scratch, rel: str, warm: WarmPytest | None = None) -> CheckResult | None:
    """CHECK on the scratch copy, its command run by WARM when given (None: the warm run failed)."""
    res = check.run(scratch.root, rel, warm.run if warm else None)
    if res is None:
        return None
    # Paths in the output should name the real repository, not the scratch copy.
    out = res.output.replace(str(scratch.root) + "/", "").replace(str(scratch.root), ".")
    return CheckResult(res.passed, out, res.seconds, res.timed_out, res.returncode)


MAX_LINE_CHECKS = 30  # candidates the line round may run the check on
# ... when the check runs warm (0.15 s a run, against 1.7 s): the ranked candidates past the first 30
# are already scored by then, so trying them costs little more than their checks.
MAX_WARM_LINE_CHECKS = 60
MAX_LINE_TIMEOUTS = 2  # candidates of the line round whose check may time out before it gives way


class _Search:
    """The candidates of one repair: each is checked once in the scratch copy."""

    def __init__(self, ctx, check: Check, scratch: Scratch, result: FixResult, note, warm: WarmPytest | None = None):
        self.ctx, self.check, self.scratch, self.result, self.note = ctx, check, scratch, result, note
        self.seen_code: set[str] = set()
        self.timeouts = 0  # checks of candidates that ran out of time
        self.warm = warm  # the check run warm (warm_check), once it agreed with the command on the file
        self._calibrated = False

    def _stop_warm(self, why: str) -> None:
        if self.warm is not None:
            self.warm.close()
            self.warm = None
            self.note(f"checks: {why}; running the command itself")

    def _calibrate(self) -> None:
        """Run the unchanged file warm once: the warm check is used only if it fails as the command did."""
        self._calibrated = True
        if self.warm is None:
            return
        res = self._warm_run()
        if res is None or not agrees(res, self.result.before):
            self._stop_warm("a warm pytest does not report what the command did")

    def _warm_run(self) -> CheckResult | None:
        assert self.warm is not None
        return _run(self.check, self.scratch, self.ctx.rel, self.warm)

    def _check(self) -> CheckResult:
        """The check on the scratch copy as it is: warm where it can be, and a warm pass confirmed by
        the command itself (a pass is what gets written)."""
        if self.warm is not None:
            res = self._warm_run()
            if res is None:
                self._stop_warm("the warm pytest stopped")
            elif not res.passed:
                return res
            else:
                real = _run(self.check, self.scratch, self.ctx.rel)
                if not real.passed:
                    self._stop_warm("the command failed where a warm pytest passed")
                return CheckResult(real.passed, real.output, res.seconds + real.seconds, real.timed_out, real.returncode)
        return _run(self.check, self.scratch, self.ctx.rel)

    def attempt(self, round_no: int, how: str, outcome: str, summary: str, t0: float) -> None:
        self.result.attempts.append(Attempt(round_no, how, outcome, summary, time.perf_counter() - t0))
        self.note(f"round {round_no} ({how}): {outcome}" + (f" ({summary})" if summary else ""))

    def run(self, candidate: str, round_no: int, how: str, t0: float) -> failures.Failure | None:
        """Check CANDIDATE and record the attempt. Returns its failure; None when it passed (the result
        is set) or was checked before."""
        if candidate in self.seen_code:
            self.attempt(round_no, how, "rejected: same as an earlier candidate", "", t0)
            return None
        self.seen_code.add(candidate)
        try:
            data = self.ctx.original.encode(candidate)
        except UnicodeEncodeError as exc:  # the file could never hold it: not a fix for it
            bad = exc.object[exc.start : exc.end]
            self.attempt(round_no, how, f"rejected: {bad!r} cannot be written in {self.ctx.original.encoding}", "", t0)
            return None
        if not self._calibrated:
            self._calibrate()
        self.scratch.write(self.ctx.rel, data)
        try:
            res = self._check()
        finally:
            self.scratch.write(self.ctx.rel, self.ctx.original.raw)
        self.timeouts += res.timed_out
        if res.passed:
            self.attempt(round_no, how, "passed", "", t0)
            self.result.fixed, self.result.after = candidate, res
            return None
        failure = failures.parse(res.output)
        self.attempt(round_no, how, "failed", failure.summary, t0)
        return failure


def round_plan(rounds: int, failure, has_fim: bool) -> list[str]:
    """What each round does: "rewrite" (the unit, with feedback from the last round) or "lines"
    (one line at a time through FIM). A failure that names something missing, or a file that does
    not parse, is a rewrite's job first; wrong values are usually one wrong line."""
    if not has_fim or rounds < 2:
        return ["rewrite"] * rounds
    rewrite_first = bool(_REWRITE_FIRST.search(failure.summary))
    plan = ["rewrite", "lines"] if rewrite_first else ["lines", "rewrite"]
    return plan + ["rewrite"] * (rounds - 2)


_REWRITE_FIRST = re.compile(
    r"\b(NameError|ImportError|ModuleNotFoundError|SyntaxError|IndentationError|TabError|syntax error"
    r"|cannot find|undefined|not defined|unresolved|TypeError: \w+\(\) (missing|takes|got))",
    re.I,
)


def _loop(req, engine: Engine, ctx, unit, failure, search: _Search) -> None:
    check, result = search.check, search.result
    rewrite = _Rewrite(req, engine, ctx, unit, failure, check, search)
    for round_no, kind in enumerate(round_plan(req.rounds, failure, engine.fim_tokens() is not None), 1):
        if kind == "lines":
            _lines_round(round_no, engine, ctx, unit, failure, search)
        else:
            rewrite.round(round_no)
        if result.fixed is not None:
            return


def _lines_round(round_no: int, engine: Engine, ctx, unit, failure, search: _Search) -> None:
    lines = ctx.lines()
    first, last = units.focus(ctx, unit, failure)
    failing = [loc.line - 1 for loc in reversed(failure.in_file(ctx.rel, "."))]
    order = fix_lines.holes(lines, first, last, ctx.lang, failing)
    if (first, last) != (unit.first, unit.last):
        rest = fix_lines.holes(lines, unit.first, unit.last, ctx.lang, [])
        order += [i for i in rest if i not in order]
    checks = 0
    timeouts_before = search.timeouts
    t0 = time.perf_counter()
    names = line_edits.scope_names(ctx.original.text, ctx.lang)
    for cand in fix_lines.candidates(engine, lines, order[: fix_lines.MAX_HOLES], ctx.lang, names):
        if cand.how != "insertion" and cand.text is not None and cand.text.strip() == lines[cand.line].strip():
            continue
        new = cand.apply(lines)
        try:
            units.verify(ctx, new)
        except units.Rejected:
            continue
        if new in search.seen_code:
            continue
        search.run(new, round_no, cand.describe(), t0)
        if search.result.fixed is not None:
            return
        checks += 1
        t0 = time.perf_counter()
        if checks >= (MAX_WARM_LINE_CHECKS if search.warm is not None else MAX_LINE_CHECKS):
            break
        if search.timeouts - timeouts_before >= MAX_LINE_TIMEOUTS:
            # Each such candidate costs the whole --timeout: a loop the one-line edits do not mend.
            search.note(f"round {round_no}: {MAX_LINE_TIMEOUTS} candidates timed out; on to the next round")
            break


class _Rewrite:
    """Rounds that ask for the whole unit rewritten, in one conversation: the failure of each
    round's first candidate is fed back; a round that makes no progress samples the next."""

    def __init__(self, req, engine: Engine, ctx, unit, failure, check: Check, search: _Search) -> None:
        self.req, self.engine, self.ctx, self.unit, self.search = req, engine, ctx, unit, search
        self.failure, self.check = failure, check
        self.messages: list[dict] | None = None  # built on the first rewrite: a line round may fix it first
        self.what = f"{ctx.rel}" if unit.kind == "file" else f"{unit.kind} `{unit.name}`"
        self.seen_failures = {failure.summary}
        self.last_summary = failure.summary
        self.stuck = False

    def _first_messages(self) -> list[dict]:
        """The first request: the failure, the failing test, related definitions and a small map."""
        ctx, unit, failure, count = self.ctx, self.unit, self.failure, self.engine.count_tokens
        first = fix_request(
            check=self.check.description.split(" (in ")[0],
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
            repo_map=units.small_map(ctx, MAP_BUDGET) if self.req.use_map else None,
        )
        return [{"role": "system", "content": FIX_SYSTEM}, {"role": "user", "content": first}]

    def round(self, round_no: int) -> None:
        if self.messages is None:
            self.messages = self._first_messages()
        search, ctx, unit, what = self.search, self.ctx, self.unit, self.what
        count = self.engine.count_tokens
        if self.stuck:
            temps = [(SAMPLE_TEMPERATURE, seed + 100 * round_no) for seed in range(1, self.req.samples + 1)]
        else:
            temps = [(0.0, 0)]
        feedback: tuple[str, str] | None = None  # (reply, what to say about it): the first candidate's
        progressed = False
        for temperature, seed in temps:
            how = "rewrite" if temperature == 0 else f"rewrite, sampled at {temperature:g}"
            t0 = time.perf_counter()
            params = GenParams(max_tokens=REPLY_TOKENS, temperature=temperature, seed=seed, top_p=0.95, top_k=50)
            reply = _first_block(self.engine, self.messages, params)
            try:
                candidate = units.apply(ctx, unit, reply)
            except units.Unchanged:
                search.attempt(round_no, how, "rejected: it changes nothing", "", t0)
                feedback = feedback or (reply, fix_unchanged(self.last_summary, what))
                continue
            except (NoCodeBlock, units.Rejected) as exc:
                search.attempt(round_no, how, f"rejected: {exc}", "", t0)
                feedback = feedback or (reply, fix_unusable(str(exc), what))
                continue
            new_failure = search.run(candidate, round_no, how, t0)
            if search.result.fixed is not None:
                return
            if new_failure is None:
                continue
            fresh = new_failure.summary not in self.seen_failures
            self.seen_failures.add(new_failure.summary)
            progressed = progressed or fresh
            if feedback is None:
                self.last_summary = new_failure.summary
                retry = fix_retry(failures.trim(new_failure.output, FAILURE_BUDGET, count), not fresh, what)
                feedback = (reply, retry)
        # Greedy decoding that repeats itself, or a failure that does not move: sample next round.
        self.stuck = not progressed
        if feedback is not None:
            self.messages += [{"role": "assistant", "content": feedback[0]}, {"role": "user", "content": feedback[1]}]
            _fit(self.engine, self.messages)


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


def _fit(engine: Engine, messages: list[dict]) -> None:
    """Drop the oldest retry exchanges while the conversation leaves too little room for a reply."""
    while len(messages) > 4 and len(engine.chat_prompt(messages)) + REPLY_TOKENS > engine.n_ctx:
        del messages[2:4]
