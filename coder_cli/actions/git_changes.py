"""What `coder commit-msg` and `coder review` share: which changes, read from git, shown within a budget.

Both build the same DiffView for the same changes and budget, and both prompts start with it, so a
warm engine reuses the diff's tokens from one command to the next.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coder_cli.core.change_prompts import task_messages
from coder_cli.core.diff_packing import DiffView, pack
from coder_cli.core.languages import is_binary
from coder_cli.core.patch import FileDiff, classify, parse_diff, whole_file
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.errors import ContextOverflow, UsageError
from coder_cli.vcs import Git

PROMPT_OVERHEAD = 256  # tokens kept for the system prompt, the instructions and the chat template
MAX_FILE_BYTES = 1_000_000  # a whole untracked file bigger than this is named, not read
MAX_UNTRACKED = 200  # untracked files read under one folder argument
REPEATS = 3  # a reply that says one line (numbers aside) this many times is stuck in a loop: stop it
LOOP_MIN_CHARS = 16  # shorter lines ("return True", "}") repeat in real code


@dataclass(frozen=True)
class Target:
    """Which changes: staged (the index against HEAD), all (work tree against HEAD), a range, or files."""

    kind: str
    spec: str = ""
    paths: tuple[str, ...] = ()

    def describe(self) -> str:
        return {
            "staged": "staged changes",
            "all": "changes against HEAD",
            "range": self.spec,
            "files": ", ".join(self.paths),
        }[self.kind]


@dataclass
class Timing:
    load_s: float = 0.0
    total_s: float = 0.0


def resolve_target(args: list[str], staged: bool, all_changes: bool, git: Git, cwd: Path) -> Target:
    """Review's arguments: nothing or --staged, --all, one REV..REV (or one commit), or FILE…"""
    if sum([bool(args), staged, all_changes]) > 1:
        raise UsageError("give one of --staged, --all, a revision range or files", "coder review --staged")
    if all_changes:
        return Target("all")
    if not args:
        return Target("staged")
    root = git.root
    if len(args) == 1 and not (cwd / args[0]).exists():
        arg = args[0]
        if ".." in arg or git.is_revision(arg):
            return Target("range", spec=arg)
    rels = []
    for arg in args:
        path = (cwd / arg).resolve()
        try:
            rel = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"{arg} is outside the repository at {root}") from None
        rels.append(rel if rel != "." else "")
    missing = [a for a, r in zip(args, rels, strict=True) if not (root / r).exists() and not git.tracked([r])]
    if missing:
        raise UsageError(f"no such file or revision: {', '.join(missing)}", "name files, or a range such as main..HEAD")
    return Target("files", paths=tuple(rels))


def new_side(target: Target) -> str:
    """Where the target's new side is, as `Git.heads` and `Git.contents` take it: the index (":"),
    a commit ("REV:") or the work tree ("")."""
    if target.kind == "staged":
        return ":"
    if target.kind == "range":
        right = target.spec.replace("...", "..").partition("..")[2] if ".." in target.spec else target.spec
        return f"{right or 'HEAD'}:"
    return ""


def read_changes(git: Git, target: Target) -> list[FileDiff]:
    """The target's files and hunks, each marked with why its content is left out (if it is)."""
    if target.kind == "staged":
        files = parse_diff(git.diff_staged())
    elif target.kind == "all":
        files = parse_diff(git.diff_all())
    elif target.kind == "range":
        files = parse_diff(git.diff_range(target.spec))
    else:
        files = _file_changes(git, list(target.paths))
    wanted = [f.path for f in files if f.head() is None and not f.binary and f.status != "deleted"]
    return classify(files, git.heads(wanted, new_side(target)))


def new_sources(git: Git, target: Target, paths: list[str]) -> dict[str, bytes]:
    """The whole new-side bytes of PATHS (a file over MAX_FILE_BYTES, or gone, is left out)."""
    return git.contents(paths, new_side(target), MAX_FILE_BYTES)


def _file_changes(git: Git, rels: list[str]) -> list[FileDiff]:
    """Working-tree changes of RELS against HEAD; an untracked or unchanged file as wholly added."""
    files = parse_diff(git.diff_paths(rels))
    seen = {f.path for f in files}
    extra: list[str] = []
    for rel in rels:
        path = git.root / rel
        if path.is_dir():
            extra.extend(git.untracked([rel])[:MAX_UNTRACKED])
        elif rel not in seen and path.is_file():
            extra.append(rel)
    for rel in dict.fromkeys(extra):
        if rel not in seen:
            files.append(_whole(git.root / rel, rel))
    return files


def _whole(path: Path, rel: str) -> FileDiff:
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= MAX_FILE_BYTES else b""
    except OSError as exc:
        raise UsageError(f"cannot read {rel}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        f = FileDiff(path=rel, status="added")
        f.excluded = "too large"
        return f
    if is_binary(data):
        return FileDiff(path=rel, status="added", binary=True)
    return whole_file(rel, data.decode("utf-8", errors="replace"))


def fit_budget(engine: Engine, budget: int, max_tokens: int) -> tuple[int, list[str]]:
    """BUDGET, lowered to what the context window holds beside the reply (with a note), or ContextOverflow."""
    room = engine.n_ctx - max_tokens - PROMPT_OVERHEAD
    if room < 64:
        raise ContextOverflow(
            f"a context of {engine.n_ctx:,} tokens leaves no room for the diff beside a {max_tokens:,}-token reply",
            "raise --ctx or lower --max-tokens",
        )
    if budget > room:
        return room, [f"diff budget lowered to {room:,} tokens to fit the context window ({engine.n_ctx:,})"]
    return budget, []


def build_view(files: list[FileDiff], engine: Engine, budget: int) -> DiffView:
    return pack(files, budget, engine.count_tokens)


def generate(
    engine: Engine, view: DiffView, instructions: str, params: GenParams, stop_on_repeat: bool = False
) -> tuple[str, GenStats]:
    """The reply to INSTRUCTIONS after VIEW's diff. With STOP_ON_REPEAT it ends once a line comes back
    REPEATS times, and a line cut off (by that or by the token limit) is left out."""
    gen = engine.chat(task_messages(view.text, instructions), params)
    pieces: list[str] = []
    said: Counter[str] = Counter()
    pending = ""
    stopped = False
    try:
        for piece in gen:
            pieces.append(piece)
            if not stop_on_repeat:
                continue
            pending += piece
            *done, pending = pending.split("\n")
            said.update(_shape(ln) for ln in done if len(ln.strip()) >= LOOP_MIN_CHARS)
            if said and said.most_common(1)[0][1] >= REPEATS:
                stopped = True
                break
    finally:
        gen.close()
    text = "".join(pieces)
    if stop_on_repeat and (stopped or gen.stats.finish_reason == "length") and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # an unfinished last line reads as a wrong one
    return text, gen.stats


def _shape(line: str) -> str:
    """A line with its numbers blanked: "a.py:3: x" and "a.py:4: x" are the same line said again."""
    return re.sub(r"\d+", "#", line.strip())


def timed_load(load: Callable[[], Engine], timing: Timing) -> Engine:
    t0 = time.perf_counter()
    engine = load()
    timing.load_s = time.perf_counter() - t0
    return engine


def summary_counts(view: DiffView) -> str:
    """ "2 files, 14 hunks" (with excluded files named by reason)."""
    n = len(view.files)
    text = f"{n} file{'s' if n != 1 else ''}, {view.hunks} hunk{'s' if view.hunks != 1 else ''}"
    left = [f for f in view.files if f.excluded and f.excluded != "deleted"]
    if left:
        reasons = sorted({f.excluded for f in left if f.excluded})
        text += f" ({len(left)} not shown: {', '.join(reasons)})"
    return text


def files_json(view: DiffView) -> list[dict]:
    return [
        {
            "path": f.path,
            "old_path": f.old_path,
            "status": f.status,
            "added": f.added,
            "removed": f.removed,
            "binary": f.binary,
            "excluded": f.excluded,
            "hunks_shown": len(view.shown.get(f.path, [])),
        }
        for f in view.files
    ]


def usage_json(stats: GenStats, timing: Timing, view: DiffView | None) -> dict:
    """commit-msg's and review's usage and timing (`engine.usage`), and ``tokens``: the older shape of
    the usage, kept as an alias for one release, with the diff's size (``diff``)."""
    from coder_cli.engine.usage import usage_timing

    return {
        **usage_timing(stats, load_s=timing.load_s, total_s=timing.total_s),
        "tokens": {
            "prompt": stats.prompt_tokens,
            "cached": stats.cached_tokens,
            "completion": stats.completion_tokens,
            "diff": view.tokens if view else 0,
        },
    }


def omitted_json(view: DiffView) -> dict:
    return {
        "hunks": view.omitted,
        "files": view.omitted_files,
        "excluded": {f.path: f.excluded for f in view.files if f.excluded},
    }
