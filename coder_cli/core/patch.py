"""Unified diffs: made from two texts (`unified`), and read as data (files and hunks with old and new
line numbers), and which files to leave out.

Pure: `unified` writes a patch `git apply` accepts, in the file's own newline style; `parse_diff`
reads the text `git diff` prints (with a/ and b/ prefixes); `exclusion` says why a file's content is
not worth a model's tokens (lockfiles, minified or generated files, binaries).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}

LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "poetry.lock",
        "uv.lock",
        "pdm.lock",
        "Pipfile.lock",
        "Cargo.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "packages.lock.json",
        "flake.lock",
    }
)
_MINIFIED = (".min.js", ".min.css", ".map")
# A marker in a file's first lines that a tool wrote it (Go's "Code generated … DO NOT EDIT.", "@generated", …).
_GENERATED = re.compile(
    r"do not edit|@generated|\bauto-?generated\b|\bgenerated (?:by|from|with)\b|\bthis file (?:is|was) generated\b",
    re.IGNORECASE,
)
HEAD_LINES = 5  # how many first lines are searched for a generated-file marker


@dataclass
class Line:
    kind: str  # " " context, "+" added, "-" removed
    text: str
    old: int | None  # line number on the old side (None for an added line)
    new: int | None  # line number on the new side (None for a removed line)


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str  # what git prints after the second @@ (the enclosing function, often)
    lines: list[Line] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for ln in self.lines if ln.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for ln in self.lines if ln.kind == "-")


@dataclass
class FileDiff:
    path: str  # the new path (the old one for a deleted file)
    old_path: str | None = None  # set for renames and copies
    status: str = "modified"  # added, deleted, modified, renamed, copied
    binary: bool = False
    mode_change: str | None = None  # e.g. "100644 -> 100755"
    mode: str | None = None  # the mode on a "new file mode" or "deleted file mode" line
    hunks: list[Hunk] = field(default_factory=list)
    excluded: str | None = None  # why the content is not shown: lockfile, minified, generated, binary, deleted

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    def head(self) -> str | None:
        """The file's first lines, when a hunk starting at line 1 shows them (else None)."""
        for h in self.hunks:
            if h.new_start <= 1 and h.new_len:
                return "\n".join(ln.text for ln in h.lines if ln.kind != "-")
        return None


def unquote(path: str) -> str:
    """A path as git prints it, C-quoted ("a/t\\303\\251") when it holds unusual bytes."""
    if not (len(path) >= 2 and path[0] == '"' and path[-1] == '"'):
        return path
    out = bytearray()
    body, i = path[1:-1], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.extend(_utf8(_ESCAPES.get(nxt, nxt)))
            i += 2
            continue
        out.extend(_utf8(c))
        i += 1
    return out.decode("utf-8", errors="replace")


def _utf8(c: str) -> bytes:
    """The character C's UTF-8 bytes; a lone surrogate (never in git's output, which is decoded with
    replacement, but possible in text from elsewhere) is U+FFFD, as an undecodable byte would be."""
    try:
        return c.encode("utf-8")
    except UnicodeEncodeError:
        return "\ufffd".encode()


def _strip_prefix(path: str) -> str | None:
    path = unquote(path.rstrip("\t"))
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _git_line_paths(rest: str) -> tuple[str, str]:
    """Old and new path from `diff --git a/X b/Y` (ambiguous with spaces: assume X == Y then)."""
    if rest.startswith('"') or rest.endswith('"'):
        m = re.match(r'^("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|\S+)$', rest)
        if m:
            return _strip_prefix(m.group(1)) or "", _strip_prefix(m.group(2)) or ""
    half = (len(rest) - 1) // 2
    if half > 0 and rest[half] == " " and rest[2:half] == rest[half + 3 :]:
        return rest[2:half], rest[half + 3 :]
    a, _, b = rest.partition(" b/")
    return _strip_prefix(a) or "", b


def split_lines(text: str) -> list[str]:
    """TEXT's lines, split at "\n" only: a form feed, U+2028 or a lone "\r" stays inside its line
    (str.splitlines breaks there, and every line number after it would be off). A CRLF's "\r" is dropped."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_diff(text: str) -> list[FileDiff]:
    """The files of a `git diff` (a/ b/ prefixes, any number of context lines), in order.

    A type change (a symlink that became a file, or back), which git prints as a deletion and an
    addition of the same path, is one modified file whose mode_change says so.
    """
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    hunk: Hunk | None = None
    old_no = new_no = left_old = left_new = 0
    for raw in split_lines(text):
        if raw.startswith("diff --git "):
            old, new = _git_line_paths(raw[len("diff --git ") :])
            cur = FileDiff(path=new or old, old_path=old)
            files.append(cur)
            hunk = None
            continue
        if cur is None:
            continue
        if hunk is not None and (left_old > 0 or left_new > 0) and raw[:1] in (" ", "+", "-", ""):
            kind = raw[:1] or " "
            hunk.lines.append(Line(kind, raw[1:], None if kind == "+" else old_no, None if kind == "-" else new_no))
            if kind != "+":
                old_no, left_old = old_no + 1, left_old - 1
            if kind != "-":
                new_no, left_new = new_no + 1, left_new - 1
            continue
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        m = _HUNK.match(raw)
        if m:
            o, ol, n, nl, section = m.groups()
            hunk = Hunk(int(o), int(ol) if ol is not None else 1, int(n), int(nl) if nl is not None else 1, section)
            cur.hunks.append(hunk)
            old_no, new_no, left_old, left_new = hunk.old_start, hunk.new_start, hunk.old_len, hunk.new_len
            continue
        hunk = None
        _header_line(cur, raw)
    for f in files:
        if f.status not in ("renamed", "copied"):
            f.old_path = None
    return _join_type_changes(files)


def _join_type_changes(files: list[FileDiff]) -> list[FileDiff]:
    """FILES with each deletion directly followed by an addition of the same path made one modified file."""
    out: list[FileDiff] = []
    for f in files:
        prev = out[-1] if out else None
        if prev is not None and prev.path == f.path and {prev.status, f.status} == {"deleted", "added"}:
            gone, new = (prev, f) if prev.status == "deleted" else (f, prev)
            out[-1] = FileDiff(
                path=f.path,
                binary=gone.binary or new.binary,
                mode_change=f"{gone.mode} -> {new.mode}" if gone.mode and new.mode else None,
                hunks=[*gone.hunks, *new.hunks],
            )
            continue
        out.append(f)
    return out


def _header_line(cur: FileDiff, raw: str) -> None:
    if raw.startswith("new file mode "):
        cur.status, cur.mode = "added", raw[len("new file mode ") :]
    elif raw.startswith("deleted file mode "):
        cur.status, cur.mode = "deleted", raw[len("deleted file mode ") :]
    elif raw.startswith("rename from "):
        cur.status, cur.old_path = "renamed", unquote(raw[len("rename from ") :])
    elif raw.startswith("rename to "):
        cur.path = unquote(raw[len("rename to ") :])
    elif raw.startswith("copy from "):
        cur.status, cur.old_path = "copied", unquote(raw[len("copy from ") :])
    elif raw.startswith("copy to "):
        cur.path = unquote(raw[len("copy to ") :])
    elif raw.startswith("old mode "):
        cur.mode_change = raw[len("old mode ") :]
    elif raw.startswith("new mode ") and cur.mode_change:
        cur.mode_change += " -> " + raw[len("new mode ") :]
    elif raw.startswith("Binary files ") or raw.startswith("GIT binary patch"):
        cur.binary = True
    elif raw.startswith("--- "):
        old = _strip_prefix(raw[4:])
        if old is not None and cur.status != "added":
            cur.old_path = old
    elif raw.startswith("+++ "):
        new = _strip_prefix(raw[4:])
        if new is not None:
            cur.path = new
        elif cur.old_path:
            cur.path = cur.old_path


def whole_file(path: str, text: str) -> FileDiff:
    """An untracked (or unchanged) file shown as one hunk of added lines."""
    lines = split_lines(text)
    hunk = Hunk(0, 0, 1, len(lines), "", [Line("+", t, None, i) for i, t in enumerate(lines, 1)])
    return FileDiff(path=path, status="added", hunks=[hunk] if lines else [])


def exclusion(path: str, head: str | None = None, binary: bool = False) -> str | None:
    """Why PATH's content should be listed by name only (None: show it). HEAD: its first lines, if known."""
    name = PurePosixPath(path).name
    if binary:
        return "binary"
    if name in LOCKFILES:
        return "lockfile"
    if name.endswith(_MINIFIED):
        return "minified"
    if head is not None and _GENERATED.search("\n".join(split_lines(head)[:HEAD_LINES])):
        return "generated"
    return None


def classify(files: list[FileDiff], heads: dict[str, str] | None = None) -> list[FileDiff]:
    """Set each file's ``excluded`` reason (HEADS: first lines of files whose diff does not show them)."""
    heads = heads or {}
    for f in files:
        head = f.head() if f.head() is not None else heads.get(f.path)
        f.excluded = exclusion(f.path, head, f.binary)
        if f.excluded is None and f.status == "deleted":
            f.excluded = "deleted"
    return files


def unified(rel: str, old: str, new: str, newline: str = "\n") -> str:
    """The patch from OLD to NEW (texts with "\\n" newlines) for the file REL."""
    a = old.replace("\n", newline).splitlines(keepends=True)
    b = new.replace("\n", newline).splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
