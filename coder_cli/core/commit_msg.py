"""A model's reply turned into a commit message git is happy with.

Pure: code fences, quotes and "Here is the commit message:" preambles go; the subject is one
line of at most 72 characters without a trailing period, then a blank line and a body wrapped
at 72; with ``conventional`` the subject is ``type(scope): summary`` with a known type.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import PurePosixPath

from coder_cli.core.change_prompts import CONVENTIONAL_TYPES

SUBJECT_MAX = 72
BODY_WIDTH = 72

_PREAMBLE_LINE = re.compile(
    r"^\W*(?:here(?:'s| is| are)\b.*|[^:\n]*\bcommit message\b[^:\n]*:\W*|commit(?: message)?\W*)$", re.IGNORECASE
)
_LABEL = re.compile(r"^\W*(?:commit message|subject|title|summary|header|description|body)\s*\**\s*:\s*\**\s*", re.IGNORECASE)
# Diff lines a model copied: "12 +x", "+x", "-    x" (but "- x" is a bullet), hunk and file headers.
_CODE_LINE = re.compile(r"^\s*(?:\d+ [ +-]|\+|-(?! \S)|@@ |diff --git |index [0-9a-f]+\.\.)")
_CONVENTIONAL = re.compile(r"^(?P<type>[A-Za-z]+)\s*(?:\((?P<scope>[^)]*)\))?\s*(?P<bang>!)?\s*:\s*(?P<desc>.*)$")
_TRAILING_WORDS = {"a", "an", "the", "of", "to", "and", "or", "for", "in", "on", "at", "by", "with", "from", "into", "as"}
_TYPE_SYNONYMS = {
    "feature": "feat",
    "features": "feat",
    "add": "feat",
    "new": "feat",
    "bugfix": "fix",
    "bug": "fix",
    "hotfix": "fix",
    "doc": "docs",
    "documentation": "docs",
    "tests": "test",
    "testing": "test",
    "refactoring": "refactor",
    "performance": "perf",
    "deps": "build",
    "dependencies": "build",
    "format": "style",
    "formatting": "style",
    "chores": "chore",
    "update": "chore",
}
_VERB_TYPES = [
    (re.compile(r"^(fix|correct|repair|resolve|handle|prevent|avoid)", re.I), "fix"),
    (re.compile(r"^(add|implement|introduce|support|create|allow|enable|provide)", re.I), "feat"),
    (re.compile(r"^(refactor|rename|move|simplify|extract|split|merge|clean|restructure|reorganize)", re.I), "refactor"),
    (re.compile(r"^(document|docs?\b)", re.I), "docs"),
    (re.compile(r"^(test)", re.I), "test"),
    (re.compile(r"^(speed|optimi[sz]e|cache|faster)", re.I), "perf"),
    (re.compile(r"^(format|lint|reformat)", re.I), "style"),
    (re.compile(r"^(revert)", re.I), "revert"),
    (re.compile(r"^(bump|upgrade|pin)", re.I), "build"),
]
_DOC_SUFFIXES = (".md", ".rst", ".adoc", ".txt", ".markdown")
_BUILD_NAMES = {
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
    "makefile",
    "dockerfile",
    "cargo.toml",
    "go.mod",
    "go.sum",
    "cmakelists.txt",
    "pom.xml",
    "build.gradle",
}


@dataclass(frozen=True)
class CommitMessage:
    subject: str
    body: str = ""

    @property
    def text(self) -> str:
        """The whole message, ending in one newline."""
        return f"{self.subject}\n\n{self.body}\n" if self.body else f"{self.subject}\n"


def category(path: str) -> str | None:
    """docs, test, ci or build when PATH clearly is one, else None."""
    p = PurePosixPath(path)
    name, parts = p.name.lower(), [x.lower() for x in p.parts]
    if parts[:2] == [".github", "workflows"] or name in {".gitlab-ci.yml", ".travis.yml", "jenkinsfile", "azure-pipelines.yml"}:
        return "ci"
    if parts[0] == ".circleci":
        return "ci"
    if name in _BUILD_NAMES or name.startswith("requirements") or name.endswith(".lock") or name == "package-lock.json":
        return "build"
    if any(x in ("test", "tests", "__tests__", "spec") for x in parts[:-1]) or re.search(
        r"(^test_.*\.py$|_test\.(py|go)$|\.(test|spec)\.[jt]sx?$)", name
    ):
        return "test"
    if name.endswith(_DOC_SUFFIXES) or parts[0] in ("docs", "doc") or name.startswith(("readme", "changelog", "license")):
        return "docs"
    return None


def strip_reply(reply: str) -> list[str]:
    """The reply's lines without code fences, preambles and labels, quotes around it removed."""
    text = reply.strip()
    fenced = re.search(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1\s*$", text, re.MULTILINE | re.DOTALL)
    if fenced and fenced.group(2).strip():
        text = fenced.group(2)
    text = "\n".join(ln for ln in text.splitlines() if not re.match(r"^\s*(`{3,}|~{3,})", ln))
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    while lines and (not lines[0].strip() or _PREAMBLE_LINE.match(lines[0])):
        lines.pop(0)
    out = []
    for ln in lines:
        if _LABEL.match(ln):
            ln = _LABEL.sub("", ln)
            if not ln.strip():
                continue
        out.append(ln)
    if out:
        out[0] = _unwrap(out[0])
        out[-1] = out[-1].rstrip("\"'`")
    return out


def _unwrap(line: str) -> str:
    """A subject without list markers, heading marks, bold and surrounding quotes."""
    s = re.sub(r"^\s*(?:#+\s*|[-*]\s+|\d+[.)]\s+)", "", line).strip()
    s = s.strip("*").strip()
    while len(s) >= 2 and s[0] in "\"'`" and s[-1] == s[0]:
        s = s[1:-1].strip()
    return s.lstrip("\"'`").strip()


def shorten(subject: str, limit: int = SUBJECT_MAX) -> str:
    """SUBJECT cut at a word boundary (or a clause) to LIMIT characters, without a dangling word."""
    subject = re.sub(r"\s+", " ", subject).strip()
    subject = re.sub(r"[.\s]+$", "", subject) if not subject.endswith("...") else subject
    if len(subject) <= limit:
        return subject
    head = subject[: limit + 1]
    for sep in ("; ", ", ", " - ", " (", " to ensure", " so that", " which", " by ", " and "):
        cut = head.rfind(sep)
        if cut >= 30:
            return _tidy(head[:cut])
    cut = head.rfind(" ")
    return _tidy(head[:cut] if cut > 0 else subject[:limit])


def _tidy(s: str) -> str:
    words = s.rstrip(" ,;:-(").split(" ")
    while len(words) > 1 and words[-1].lower() in _TRAILING_WORDS:
        words.pop()
    return " ".join(words).rstrip(" ,;:-(.")


def wrap_body(lines: list[str], width: int = BODY_WIDTH) -> str:
    """Paragraphs and bullets re-wrapped at WIDTH; blank lines between paragraphs kept (one at most)."""
    paras: list[list[str]] = [[]]
    for ln in lines:
        if not ln.strip():
            paras.extend([[], []])  # an empty paragraph stands for the blank line
        elif re.match(r"^\s*(?:[-*]|\d+[.)])\s+", ln):
            paras.append([ln.strip()])
        else:
            paras[-1].append(ln.strip())
    out: list[str] = []
    for i, para in enumerate(paras):
        if not para:
            if out and out[-1] != "" and i + 1 < len(paras) and any(paras[i + 1 :]):
                out.append("")
            continue
        text = " ".join(para)
        bullet = re.match(r"^((?:[-*]|\d+[.)])\s+)", text)
        indent = " " * len(bullet.group(1)) if bullet else ""
        out.extend(textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def _body_lines(lines: list[str], subject: str, truncated: bool) -> list[str]:
    body = [ln for ln in lines if not _CODE_LINE.match(ln)]
    body = [ln for ln in body if ln.strip().rstrip(".").lower() != subject.lower()]
    if truncated:  # the reply stopped at the token limit: drop the unfinished sentence
        while body and not body[-1].strip():
            body.pop()
        if body:
            last = body[-1]
            end = max(last.rfind(". "), last.rfind("! "), last.rfind("? "))
            if not re.search(r"[.!?)]$", last.strip()):
                body[-1:] = [last[: end + 1]] if end > 0 else []
    return body


def guess_type(subject: str, paths: list[str]) -> str:
    """A Conventional Commits type from the subject's first verb (fix when it says fix, …), else chore."""
    words = subject.split()
    first = words[0] if words else ""
    for pattern, kind in _VERB_TYPES:
        if pattern.match(first):
            return kind
    cats = {category(p) for p in paths}
    if len(cats) == 1 and None not in cats:
        return cats.pop()
    return "chore"


def conventional(subject: str, paths: list[str]) -> str:
    """SUBJECT as ``type(scope): summary``: a known type (docs-only changes are docs, test-only test, …)."""
    m = _CONVENTIONAL.match(subject)
    kind, scope, bang, desc = (None, None, "", subject)
    if m and _known(m.group("type")):
        kind, scope, bang, desc = _known(m.group("type")), m.group("scope"), m.group("bang") or "", m.group("desc")
    elif m and m.group("type").lower() == "type":  # the template's own word: "type(fix): …"
        kind, bang, desc = _known(m.group("scope") or ""), m.group("bang") or "", m.group("desc")
    elif m and m.group("type").islower():  # a type of its own ("improvement: …"): guessed below
        scope, bang, desc = m.group("scope"), m.group("bang") or "", m.group("desc")
    desc = _unwrap(desc)
    cats = {category(p) for p in paths}
    only = cats.pop() if len(cats) == 1 else None
    if only in ("docs", "test", "ci"):
        kind = only
    elif kind is None:
        kind = guess_type(desc, paths)
    scope = _scope(scope)
    desc = _lower_first(desc)
    prefix = f"{kind}({scope}){bang}: " if scope else f"{kind}{bang}: "
    return prefix + shorten(desc, SUBJECT_MAX - len(prefix))


def _known(word: str) -> str | None:
    """WORD as a Conventional Commits type (synonyms mapped: feature → feat, bugfix → fix, …), or None."""
    w = word.strip().lower()
    w = _TYPE_SYNONYMS.get(w, w)
    return w if w in CONVENTIONAL_TYPES else None


def _scope(scope: str | None) -> str | None:
    """A scope as one short lowercase word: a path becomes its file's stem; anything odd is dropped."""
    if not scope:
        return None
    s = scope.strip().strip("`'\"")
    if "/" in s or "." in s:
        s = PurePosixPath(s).stem
    s = s.lower()
    return s if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,19}", s) else None


def _lower_first(desc: str) -> str:
    first = desc.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        return first.lower() + desc[len(first) :]
    return desc


def _upper_first(subject: str) -> str:
    first = subject.split(" ", 1)[0]
    if first[:1].islower() and first.isalpha():
        return first[:1].upper() + subject[1:]
    return subject


def fallback_subject(paths: list[str]) -> str:
    """A plain subject when the model wrote nothing usable."""
    if len(paths) == 1:
        return shorten(f"Update {paths[0]}")
    return f"Update {len(paths)} files"


def make_message(reply: str, paths: list[str], conventional_style: bool = False, truncated: bool = False) -> CommitMessage | None:
    """The commit message in REPLY, or None when it holds none (an empty or code-only reply).

    PATHS: the changed files (for conventional types); TRUNCATED: the reply hit its token limit.
    """
    lines = strip_reply(reply)
    while lines and (not lines[0].strip() or _CODE_LINE.match(lines[0])):
        lines.pop(0)
    if not lines:
        return None
    subject = _unwrap(lines[0])
    if not re.search(r"[A-Za-z]{2}", subject):
        return None
    body = _body_lines(lines[1:], subject, truncated)
    if conventional_style:  # more "type: …" lines are alternatives the model offered, not a body
        body = [ln for ln in body if not ((m := _CONVENTIONAL.match(ln.strip())) and _known(m.group("type")))]
        subject = conventional(subject, paths)
    else:
        subject = _upper_first(shorten(subject))
    return CommitMessage(subject, wrap_body(body))
