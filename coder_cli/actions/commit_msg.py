"""`coder commit-msg`: a commit message for the staged changes (or all changes against HEAD)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coder_cli.actions.git_changes import Target, Timing, build_view, fit_budget, generate, read_changes, timed_load
from coder_cli.core.change_prompts import commit_instructions, task_messages
from coder_cli.core.commit_msg import CommitMessage, fallback_subject, make_message
from coder_cli.core.diff_packing import DEFAULT_BUDGET, DiffView
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.errors import UsageError
from coder_cli.vcs import Git

DEFAULT_MAX_TOKENS = 96  # a subject and a sentence or two; ~3 s of generation on a 2-core CPU (0.5B)


@dataclass
class CommitMsgRequest:
    target: Target
    conventional: bool = False
    budget: int = DEFAULT_BUDGET
    max_tokens: int = DEFAULT_MAX_TOKENS


@dataclass
class CommitMsgResult:
    message: CommitMessage
    reply: str
    view: DiffView
    stats: GenStats
    model: str
    timing: Timing
    fallback: bool = False  # the model wrote nothing usable: the subject names the files
    notes: list[str] = field(default_factory=list)


def run_commit_msg(req: CommitMsgRequest, git: Git, load: Callable[[], Engine]) -> CommitMsgResult:
    """Read the changes, ask the model, clean its reply up. UsageError when there is nothing to describe."""
    t0 = time.perf_counter()
    files = read_changes(git, req.target)
    if not files:
        if req.target.kind == "staged":
            raise UsageError("nothing staged to commit", "stage changes first: git add FILE… (or pass --all)")
        raise UsageError("no changes against HEAD", "edit some files first")
    timing = Timing()
    engine = timed_load(load, timing)
    budget, notes = fit_budget(engine, req.budget, req.max_tokens)
    view = build_view(files, engine, budget)
    if view.omitted:
        notes.append(f"{view.omitted} of {view.hunks} hunks not shown to the model: over the {budget:,}-token budget (--budget)")
    # Plainly decoded: a subject and a sentence copy little of the diff (5% of drafts accepted,
    # 0.90x the token rate with drafts; benchmarks/speculate.py).
    params = GenParams(max_tokens=req.max_tokens, temperature=0.0, speculate=False)
    reply, stats = generate(engine, view, commit_instructions(req.conventional), params)
    paths = [f.path for f in files]
    message = make_message(reply, paths, req.conventional, truncated=stats.finish_reason == "length")
    fallback = message is None
    if message is None:
        notes.append("the model wrote no usable commit message; the subject names the changed files")
        subject = fallback_subject(paths)
        message = make_message(subject, paths, req.conventional) or CommitMessage(subject)
    timing.total_s = time.perf_counter() - t0
    return CommitMsgResult(message, reply, view, stats, engine.info.model, timing, fallback, notes)


def prewarm_commit_msg(req: CommitMsgRequest, git: Git, engine: Engine) -> int:
    """Read the prompt `coder commit-msg` will send for the changes into ENGINE's cache (a running
    `coder serve`), so that the message, asked for later, reads only what is new. Returns the tokens
    read (0 with nothing staged, or when the cache already held them)."""
    files = read_changes(git, req.target)
    if not files:
        return 0
    budget, _ = fit_budget(engine, req.budget, req.max_tokens)
    view = build_view(files, engine, budget)
    return engine.prefill(engine.chat_prompt(task_messages(view.text, commit_instructions(req.conventional))))
