"""`coder review`: findings on a diff, each pointing at a line the model was shown."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coder_cli.actions.git_changes import Target, Timing, build_view, fit_budget, generate, new_sources, read_changes, timed_load
from coder_cli.core.change_prompts import review_instructions
from coder_cli.core.diff_packing import DEFAULT_BUDGET, DiffView
from coder_cli.core.review_corrections import PYTHON, syntax_error_line
from coder_cli.core.review_findings import Finding, parse_review
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.vcs import Git

DEFAULT_MAX_TOKENS = 256  # room for a handful of findings; a reply that repeats a line stops early


@dataclass
class ReviewRequest:
    target: Target
    budget: int = DEFAULT_BUDGET
    max_tokens: int = DEFAULT_MAX_TOKENS


@dataclass
class ReviewResult:
    findings: list[Finding]
    dropped: int  # findings the model gave that point at no line it was shown
    view: DiffView | None  # None when there was nothing to review
    stats: GenStats
    model: str | None
    timing: Timing
    reply: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def run_review(req: ReviewRequest, git: Git, load: Callable[[], Engine]) -> ReviewResult:
    """Read the changes and ask for findings; with no changes, an empty result and no model loaded."""
    t0 = time.perf_counter()
    files = read_changes(git, req.target)
    timing = Timing()
    if not files:
        timing.total_s = time.perf_counter() - t0
        return ReviewResult([], 0, None, GenStats(), None, timing)
    engine = timed_load(load, timing)
    budget, notes = fit_budget(engine, req.budget, req.max_tokens)
    view = build_view(files, engine, budget)
    params = GenParams(max_tokens=req.max_tokens, temperature=0.0)
    reply, stats = generate(engine, view, review_instructions(), params, stop_on_repeat=True)
    parsed = parse_review(reply, view, _broken(git, req.target, view))
    timing.total_s = time.perf_counter() - t0
    return ReviewResult(parsed.findings, parsed.dropped, view, stats, engine.info.model, timing, reply, notes)


def _broken(git: Git, target: Target, view: DiffView) -> dict[str, int]:
    """For each Python file shown whose whole new side does not compile, the line the compiler blames."""
    sources = new_sources(git, target, [path for path in view.shown if path.endswith(PYTHON)])
    lines = {path: syntax_error_line(source) for path, source in sources.items()}
    return {path: line for path, line in lines.items() if line is not None}
