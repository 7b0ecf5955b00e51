"""What `coder fix` asks the model to rewrite, what it shows with it, and how a reply becomes a candidate."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from coder_cli.core.edits import IMPORT_LINE, add_imports, pick_block, replace_lines, unit_first_line
from coder_cli.core.failure import Failure
from coder_cli.fs.text_file import TextFile

WHOLE_FILE_LINES = 60  # files up to this size are rewritten whole (imports included)
SMALL_FILE_LINES = 150  # the whole file is the fallback up to this size
UNIT_KINDS = {"function", "method", "class"}


class Rejected(ValueError):
    """A candidate that must not be checked: unparseable, drops definitions, changes nothing."""


class Unchanged(Rejected):
    """The candidate is the original code (small models often echo the bug back)."""


@dataclass(frozen=True)
class Unit:
    kind: str  # "function", "method", "class" or "file"
    name: str
    first: int  # 0-based first line
    last: int  # 0-based last line, inclusive
    text: str

    def describe(self) -> str:
        return "the whole file" if self.kind == "file" else f"{self.kind} {self.name} (lines {self.first + 1}-{self.last + 1})"


@dataclass
class Context:
    target: Path
    root: Path
    rel: str
    original: TextFile
    lang: str
    home: Path
    count_tokens: Callable[[str], int]
    tokenizer_id: str
    use_map: bool = True

    def lines(self) -> list[str]:
        return self.original.text.split("\n")

    @cached_property
    def original_tags(self):
        """Tags of the file as it is on disk (parsed once; every candidate is compared with them)."""
        return _tags(self.original.text, self.lang)

    @cached_property
    def index(self):
        """The repository index, opened and scanned once for the definitions and the map."""
        from coder_cli.context.repomap import RepoIndex

        index = RepoIndex(self.root, self.home, time_budget=10)
        index.scan()
        return index

    def close(self) -> None:
        if "index" in self.__dict__:
            self.index.close()


def _tags(text: str, lang: str):
    from coder_cli.context.tags import extract

    # surrogatepass: a reply may hold a lone surrogate (a remote server's JSON can carry one); its
    # bytes keep every line where it was, and `verify` refuses what Python cannot compile.
    return extract(text.encode("utf-8", errors="surrogatepass"), lang)


def _whole(ctx: Context) -> Unit:
    n = len(ctx.original.text.rstrip("\n").split("\n"))
    return Unit("file", ctx.rel, 0, n - 1, ctx.original.text)


def _unit_from_def(ctx: Context, d) -> Unit:
    lines = ctx.lines()
    first = unit_first_line(lines, d.start_line)
    text = "\n".join(lines[first : d.end_line + 1]) + "\n"
    kind = d.kind if d.kind in UNIT_KINDS else "function"
    return Unit(kind, d.name, first, d.end_line, text)


def choose(ctx: Context, failure: Failure) -> Unit:
    """The smallest unit to rewrite: the whole file when it is small, else the function or class
    around the innermost failing line of the target, else the one the failure names."""
    n_lines = len(ctx.lines())
    if n_lines <= WHOLE_FILE_LINES or ctx.lang not in _known():
        return _whole(ctx)
    tags = ctx.original_tags
    if tags.has_error and n_lines <= SMALL_FILE_LINES:
        return _whole(ctx)
    defs = [d for d in tags.defs if d.kind in UNIT_KINDS or d.kind in {"interface", "enum"}]
    failing = _failing_def(ctx, failure, defs)
    if failing:
        return _unit_from_def(ctx, failing)
    if n_lines <= SMALL_FILE_LINES:
        return _whole(ctx)
    top = [d for d in defs if d.scope == -1]
    if not top:
        return _whole(ctx)
    return _unit_from_def(ctx, top[0])


def focus(ctx: Context, unit: Unit, failure: Failure) -> tuple[int, int]:
    """The lines of UNIT to look at first: for a whole file, the function around the innermost failing
    line, else the one the failure names; for a function or class, the unit itself."""
    if unit.kind != "file" or ctx.lang not in _known():
        return unit.first, unit.last
    funcs = [d for d in ctx.original_tags.defs if d.kind in UNIT_KINDS and d.kind != "class"]
    failing = _failing_def(ctx, failure, funcs)
    return (failing.start_line, failing.end_line) if failing else (unit.first, unit.last)


def _failing_def(ctx: Context, failure: Failure, defs):
    """Of DEFS, the innermost one around the innermost failing line of the target (a function before
    the class around it), else the one the failure names most; None when neither."""
    for loc in reversed(failure.in_file(ctx.rel, ".")):
        row = loc.line - 1
        inside = [d for d in defs if d.start_line <= row <= d.end_line]
        if inside:
            funcs = [d for d in inside if d.kind != "class"]
            return max(funcs or inside, key=lambda d: d.start_byte)
    return _tested(defs, failure.failed_tests) or _mentioned(defs, _without_runner_hints(failure.output))


# Lines a test runner adds about its own output ("Use -v to get more diff"): their words are not
# names of the code, and a function called `get` or `show` must not be chosen for them.
_RUNNER_HINT = re.compile(
    r"^(E\s+)?\s*(Use -v+ to get (more|the full) diff|Omitting \d+ identical items.*|Full diff:"
    r"|Differing items:|Right contains \d+ more items?.*|Left contains \d+ more items?.*"
    r"|\.\.\.Full output truncated.*|use '-vv' to show)\s*$",
    re.MULTILINE,
)


def _without_runner_hints(output: str) -> str:
    return _RUNNER_HINT.sub("", output)


def _tested(defs, failed_tests: list[str]):
    """The one def a failing test is named for (`test_frequencies` -> `frequencies`), else None."""
    names = set()
    for node in failed_tests:
        name = node.split("::")[-1].split("[")[0]
        for prefix in ("test_", "Test", "test"):
            if name.startswith(prefix) and len(name) > len(prefix):
                names.add(name[len(prefix) :].lstrip("_"))
                break
    found = [d for d in defs if d.name in names]
    return found[0] if len({d.name for d in found}) == 1 and len(found) == 1 else None


def _known() -> frozenset[str]:
    from coder_cli.core.languages import SUPPORTED

    return SUPPORTED


def _mentioned(defs, text: str):
    best, best_n = None, 0
    for d in defs:
        n = len(re.findall(rf"\b{re.escape(d.name)}\b", text))
        if n > best_n or (n == best_n and best is not None and n and d.scope == -1 and best.scope != -1):
            best, best_n = d, n
    return best if best_n else None


def failing_test_source(ctx: Context, failure: Failure, budget: int) -> str | None:
    """The source of the failing test (a pytest node id, or the innermost frame outside the target)."""
    from coder_cli.context.lookups import enclosing_scope

    candidates: list[tuple[Path, int | None, str | None]] = []
    for node in failure.failed_tests:
        path, _, name = node.partition("::")
        candidates.append((ctx.root / path, None, name.split("::")[-1].split("[")[0] or None))
    for loc in reversed(failure.locations):
        path = Path(loc.path) if Path(loc.path).is_absolute() else ctx.root / loc.path
        if path.resolve() != ctx.target:
            candidates.append((path, loc.line, None))
    for path, line, name in candidates:
        try:
            resolved = path.resolve()
            if not resolved.is_file() or not resolved.is_relative_to(ctx.root):
                continue
            text = resolved.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if name:
            tags = _tags(text, ctx.lang)
            hit = next((d for d in tags.defs if d.name == name), None)
            if hit is None:
                continue
            source = "\n".join(text.split("\n")[hit.start_line : hit.end_line + 1])
        elif line is not None:
            scope = enclosing_scope(resolved, line - 1)
            lines = text.split("\n")
            if scope is not None and scope.end_line - scope.start_line < 80:
                source = "\n".join(lines[scope.start_line : scope.end_line + 1])
            else:
                source = "\n".join(lines[max(0, line - 8) : line + 3])
        else:
            continue
        return _cap(source, budget, ctx.count_tokens)
    return None


def _cap(text: str, budget: int, count: Callable[[str], int]) -> str:
    if count(text) <= budget:
        return text
    lines = text.split("\n")
    while lines and count("\n".join(lines)) > budget:
        lines = lines[: max(1, len(lines) * 3 // 4)]
        if len(lines) == 1:
            break
    return "\n".join(lines) + "\n…"


def related_definitions(ctx: Context, unit: Unit, budget: int) -> list[tuple[str, str]]:
    """Definitions from other files of the identifiers the unit calls, within BUDGET tokens."""
    if unit.kind == "file" and len(ctx.lines()) > SMALL_FILE_LINES:
        return []
    from coder_cli.context import lookups

    called = set(_tags(unit.text, ctx.lang).refs) if ctx.lang in _known() else set()
    own = {d.name for d in ctx.original_tags.defs} if ctx.lang in _known() else set()
    wanted = called - own
    if not wanted:
        return []
    defs = [d for d in lookups.definitions(ctx.index, wanted) if d.path != ctx.rel]
    out, used = [], 0
    for d in sorted(defs, key=lambda d: (d.end_line - d.start_line, d.path)):
        n = ctx.count_tokens(d.source)
        if used + n > budget:
            continue
        used += n
        out.append((f"`{d.name}` as defined in {d.path}", d.source))
    return out


def small_map(ctx: Context, budget: int) -> str | None:
    from coder_cli.context.repomap import build_map

    if len(ctx.index.list().files) < 3:
        return None
    m = build_map(
        ctx.index,
        budget=budget,
        count_tokens=ctx.count_tokens,
        tokenizer_id=ctx.tokenizer_id,
        focus=[ctx.rel],
        exclude=[ctx.rel],
    )
    return m.text or None


MARK = "<-- fails here:"
_TOP_DEF = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.M)
_COMMENT = {"python": "#", "ruby": "#", "bash": "#", "lua": "--"}
_MARK_RE = re.compile(r"[ \t]*(#|//|--)[ \t]*" + re.escape(MARK) + r".*$", re.M)


def marked(unit: Unit, failure: Failure, ctx: Context) -> str:
    """The unit's text with the innermost failing line marked by a comment (small models look there)."""
    here = failure.in_file(ctx.rel, ".")
    if not here:
        return unit.text
    row = here[-1].line - 1 - unit.first
    lines = unit.text.split("\n")
    if not 0 <= row < len(lines) or not lines[row].strip():
        return unit.text
    comment = _COMMENT.get(ctx.lang, "//")
    lines[row] = f"{lines[row]}  {comment} {MARK} {failure.summary[:120]}"
    return "\n".join(lines)


def unmark(code: str) -> str:
    return _MARK_RE.sub("", code)


def apply(ctx: Context, unit: Unit, reply: str) -> str:
    """The file's new text with the reply's code in place of the unit; raises Rejected or NoCodeBlock."""
    # For a whole file, prefer the block that defines the file's first top-level name (a reply often
    # adds a block of usage or tests after the fix).
    wanted = unit.name if unit.kind != "file" else next(iter(_TOP_DEF.findall(ctx.original.text)), None)
    code = unmark(pick_block(reply, ctx.lang, wanted))
    if ctx.lang == "python":
        code = _drop_self_imports(code, ctx.target.stem)
    text = ctx.original.text
    if unit.kind == "file":
        new = code if code.endswith("\n") or not text.endswith("\n") else code + "\n"
    else:
        body, imports = _only_unit(code, unit, ctx.lang)
        new = replace_lines(text, unit.first, unit.last, body)
        new = add_imports(new, imports)
    verify(ctx, new)
    return new


def _drop_self_imports(code: str, module: str) -> str:
    """Lines importing the file being fixed from itself (copied from the test shown to the model)."""
    pattern = re.compile(rf"^\s*(from\s+{re.escape(module)}\s+import\s.*|import\s+{re.escape(module)}\s*)$")
    return "\n".join(ln for ln in code.split("\n") if not pattern.match(ln))


def _only_unit(code: str, unit: Unit, lang: str) -> tuple[str, list[str]]:
    """From a reply that holds more than the unit, the unit's own lines; plus its new import lines (Python)."""
    imports = [ln for ln in code.split("\n") if lang == "python" and IMPORT_LINE.match(ln)]
    if lang not in _known():
        return code, imports
    tags = _tags(code, lang)
    same = [d for d in tags.defs if d.name == unit.name and d.kind in UNIT_KINDS]
    if not same:
        raise Rejected(f"the reply does not define {unit.name}")
    d = min(same, key=lambda d: (d.scope != -1, d.start_line))
    lines = code.split("\n")
    first = unit_first_line(lines, d.start_line)
    return "\n".join(lines[first : d.end_line + 1]) + "\n", imports


def verify(ctx: Context, new: str) -> None:
    """Refuse a candidate that changes nothing, does not parse, or drops another definition."""
    if new == ctx.original.text or _same_code(new, ctx.original.text):
        raise Unchanged("it changes nothing")
    if ctx.lang == "python":
        try:
            compile(new, ctx.rel, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise Rejected(f"it does not parse ({getattr(exc, 'msg', exc)})") from None
    if ctx.lang not in _known():
        return
    after = _tags(new, ctx.lang)
    if after.has_error and ctx.lang != "python":
        raise Rejected("it does not parse")
    before = {d.name for d in ctx.original_tags.defs if d.scope == -1}
    if ctx.lang == "python":  # tree-sitter may not see a definition whose own line is the syntax error
        before |= set(_TOP_DEF.findall(ctx.original.text))
    lost = before - {d.name for d in after.defs}
    if lost:
        raise Rejected(f"it drops {', '.join(sorted(lost))}")


def _same_code(a: str, b: str) -> bool:
    """Equal but for trailing whitespace and blank lines."""
    norm = lambda s: [ln.rstrip() for ln in s.strip().split("\n") if ln.strip()]  # noqa: E731
    return norm(a) == norm(b)
