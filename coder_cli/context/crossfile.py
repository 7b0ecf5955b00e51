"""Cross-file context for fill-in-the-middle: what the code near the cursor uses from other files.

Three kinds of snippets, in this order of priority:

1. definitions (from other files of the repository) of the identifiers the current
   file references, nearest to the cursor first; a long one as its outline
   (signature lines of it and its members);
2. outlines of the repository modules the file imports;
3. outlines of the files changed in the work tree (``git diff HEAD``).

Snippets are taken by priority until the token budget is spent, then rendered in a
stable order (by path, then line), one block per file. Nearness is measured in
blocks of lines, so cursors in the same block get the same context, and with it the
same prompt head, which the engine reuses instead of reading it again.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BLOCK_LINES = 64  # nearness is counted in blocks of this many lines
DEF_TOKENS = 256  # a definition longer than this is shown as its outline
FILE_HEADER_TOKENS = 8  # about what `<|file_sep|>path\n` costs
GIT_TIMEOUT = 5.0

# Names every program uses; their definitions elsewhere in a repository are noise.
COMMON = frozenset(
    "print len range str int float bool list dict set tuple object type super isinstance open "
    "self cls this None True False Exception ValueError TypeError KeyError enumerate zip map "
    "filter sorted min max sum abs any all repr hash id iter next getattr setattr hasattr "
    "console log require module exports string number boolean".split()
)


@dataclass(frozen=True)
class Snippet:
    path: str
    line: int  # 0-based first line, for the rendering order
    text: str
    priority: tuple  # smaller first


def select(
    index,
    rel: str,
    text: str,
    lang: str | None,
    cursor_line: int,
    budget: int,
    count: Callable[[str], int],
    changed: list[str] | None = None,
) -> list[tuple[str, str]]:
    """(path, text) file blocks for the context of REL (current text TEXT) within BUDGET tokens.

    INDEX is a scanned ``RepoIndex``; CHANGED the work tree's changed files (None: ask git).
    """
    if budget <= 0 or lang is None:
        return []
    from coder_cli.core.languages import SUPPORTED

    if lang not in SUPPORTED:
        return []
    snippets = _definitions(index, rel, text, lang, cursor_line, count)
    seen = {s.path for s in snippets}
    for path in _imported(index, rel, text, lang):
        if path not in seen:
            snippets.append(_outline_snippet(index, path, (1, 0, path)))
            seen.add(path)
    for path in changed if changed is not None else changed_files(index.root):
        if path != rel and path in index.tags and path not in seen:
            snippets.append(_outline_snippet(index, path, (2, 0, path)))
            seen.add(path)
    return _fit([s for s in snippets if s.text.strip()], budget, count)


def _definitions(index, rel: str, text: str, lang: str, cursor_line: int, count) -> list[Snippet]:
    from coder_cli.context.lookups import reference_rows
    from coder_cli.context.tags import extract

    source = text.encode("utf-8")
    own = {d.name for d in extract(source, lang).defs}
    rows = {n: r for n, r in reference_rows(source, lang).items() if n not in own and n not in COMMON}
    if not rows:
        return []
    here = cursor_line // BLOCK_LINES
    out: list[Snippet] = []
    for path in sorted(index.tags):
        if path == rel:
            continue
        defs = index.tags[path][1]
        hits = [i for i, d in enumerate(defs) if d[0] in rows]
        if not hits:
            continue
        try:
            data = (index.root / path).read_bytes()
        except OSError:
            continue
        for i in hits:
            d = defs[i]
            if _inside_another(defs, i, hits):
                continue  # a member of a definition that is itself shown
            nearest = min(abs(r // BLOCK_LINES - here) for r in rows[d[0]])
            line_start = data.rfind(b"\n", 0, d[5]) + 1  # from the line start: keep its indentation
            body = data[line_start : d[6]].decode("utf-8", "replace")
            if count(body) > DEF_TOKENS:
                body = _outline(defs, [i])
            out.append(Snippet(path, d[3], body, (0, nearest, -len(rows[d[0]]), path, d[3])))
    return out


def _inside_another(defs, i: int, hits: list[int]) -> bool:
    scope = defs[i][7]
    while scope >= 0:
        if scope in hits:
            return True
        scope = defs[scope][7]
    return False


def _outline(defs, roots: list[int]) -> str:
    """Signature lines of the definitions ROOTS and of everything inside them, in line order."""
    wanted = set(roots)
    changed = True
    while changed:
        changed = False
        for j, d in enumerate(defs):
            if j not in wanted and d[7] in wanted:
                wanted.add(j)
                changed = True
    lines = {defs[j][2]: defs[j][8] for j in wanted}
    return "\n".join(lines[k] for k in sorted(lines)) + "\n"


def _outline_snippet(index, path: str, priority: tuple) -> Snippet:
    defs = index.tags[path][1]
    tops = [j for j, d in enumerate(defs) if d[7] == -1]
    return Snippet(path, 0, _outline(defs, tops) if tops else "", priority)


_PY_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([\w., \t]+)|import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*))", re.M
)
_JS_IMPORT = re.compile(r"""(?:\bfrom\s+|\brequire\(\s*|\bimport\s+)['"](\.{1,2}/[^'"]+)['"]""")
_JS_EXT = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", "/index.ts", "/index.js")


def _imported(index, rel: str, text: str, lang: str) -> list[str]:
    """Repository files REL imports (Python modules, relative JavaScript/TypeScript imports)."""
    here = PurePosixPath(rel).parent
    found: list[str] = []
    if lang == "python":
        for m in _PY_IMPORT.finditer(text):
            if m.group(1) is not None:  # from X import a, b: X, or its submodules a and b
                names = [n.split(" as ")[0].strip() for n in m.group(2).split(",")]
                base = m.group(1)
                sep = "" if base.endswith(".") else "."
                subs = [hit for n in names if n for hit in _python_module(index, here, base + sep + n)]
                found += subs or _python_module(index, here, base)
            else:
                for name in m.group(3).split(","):
                    found += _python_module(index, here, name.strip())
    elif lang in {"javascript", "typescript", "tsx", "jsx"}:
        for m in _JS_IMPORT.finditer(text):
            base = _normalise(here / m.group(1))
            for ext in _JS_EXT:
                if base + ext in index.tags:
                    found.append(base + ext)
                    break
    return list(dict.fromkeys(found))


def _python_module(index, here: PurePosixPath, name: str) -> list[str]:
    if not name:
        return []
    dots = len(name) - len(name.lstrip("."))
    parts = name.lstrip(".").split(".") if name.lstrip(".") else []
    if dots:
        base = here
        for _ in range(dots - 1):
            base = base.parent
        roots = [base]
    else:
        roots = [PurePosixPath("."), PurePosixPath("src")]
    for root in roots:
        stem = _normalise(root.joinpath(*parts)) if parts else _normalise(root)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in index.tags:
                return [candidate]
    return []


def _normalise(p: PurePosixPath) -> str:
    out: list[str] = []
    for part in p.parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in (".", ""):
            out.append(part)
    return "/".join(out)


def changed_files(root: Path) -> list[str]:
    """Paths (relative to ROOT) changed in the work tree or the index against HEAD; [] outside git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "diff", "--name-only", "--relative", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [ln for ln in out.stdout.splitlines() if ln] if out.returncode == 0 else []


def _fit(snippets: list[Snippet], budget: int, count) -> list[tuple[str, str]]:
    chosen: list[Snippet] = []
    used = 0
    paths: set[str] = set()
    for s in sorted(snippets, key=lambda s: s.priority):
        cost = count(s.text) + (0 if s.path in paths else FILE_HEADER_TOKENS + count(s.path))
        if used + cost > budget:
            continue
        used += cost
        paths.add(s.path)
        chosen.append(s)
    blocks: dict[str, list[Snippet]] = {}
    for s in sorted(chosen, key=lambda s: (s.path, s.line)):
        blocks.setdefault(s.path, []).append(s)
    out = []
    for path, items in blocks.items():
        text = "\n".join(s.text if s.text.endswith("\n") else s.text + "\n" for s in items)
        out.append((path, text))
    return out
