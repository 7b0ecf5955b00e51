"""Properties of the pure parsers of model output and of git/diff text, shared by the suite and the long run.

`tests/test_fuzz_parsers.py` runs every property a few hundred times in each test run;
`scripts/fuzz.py` runs the same ones for minutes before a release. The property is always the
same: any text (lone surrogates, NULs, CRLF, U+2028, huge numbers in hunk headers) gives a value
or the function's documented exception, never an IndexError or a UnicodeError. The strategies mix
random text with pieces of the real thing (diffs, fenced code blocks, tracebacks) and mutate
well-formed samples, so the fuzz reaches the code behind the first `if`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Characters that have broken text handling before: surrogates, NUL, CR, form feed, NEL, line and
# paragraph separators, a BOM, a combining mark, and non-ASCII letters.
TRICKY = ["\ud800", "\udfff", "\udcc3", "\x00", "\r", "\r\n", "\x0c", "\x85", "\u2028", "\u2029", "\ufeff", "\u0301"]
TRICKY += ["é", "€", "\t"]
HUGE = ["0", "1", "-1", "99999999999999999999999", str(2**63), "007"]

# Any code point, surrogates included (hypothesis leaves them out by default).
any_char = st.characters(exclude_categories=())
noise = st.text(any_char, max_size=12)


def pieces_text(vocabulary: list[str], max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Text made of VOCABULARY's pieces, tricky characters, huge numbers and random noise, in any order."""
    piece = st.one_of(st.sampled_from(vocabulary), st.sampled_from(TRICKY), st.sampled_from(HUGE), noise)
    return st.lists(piece, max_size=max_pieces).map("".join)


@st.composite
def mutated(draw, samples: list[str], vocabulary: list[str]) -> str:
    """A well-formed sample with a few edits: lines dropped, duplicated or swapped, pieces inserted, text cut."""
    lines = draw(st.sampled_from(samples)).split("\n")
    for _ in range(draw(st.integers(0, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "dup", "swap", "insert", "replace", "cut"]))
        if how == "drop":
            del lines[at]
        elif how == "dup":
            lines.insert(at, lines[at])
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif how == "insert":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(pieces_text(vocabulary, 3)) + lines[at][cut:]
        elif how == "replace":
            lines[at] = draw(pieces_text(vocabulary, 6))
        else:
            lines = lines[:at] + [lines[at][: draw(st.integers(0, len(lines[at])))]]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines)


def texts(samples: list[str], vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Random text, text made of the format's pieces, and mutated samples of it."""
    return st.one_of(st.text(any_char, max_size=200), pieces_text(vocabulary), mutated(samples, vocabulary))


# --- samples and vocabularies --------------------------------------------------------------------

DIFFS = [
    "diff --git a/calc.py b/calc.py\nindex 1a2b3c4..5d6e7f8 100644\n--- a/calc.py\n+++ b/calc.py\n"
    "@@ -1,4 +1,5 @@ def ratio(a, b):\n import os\n-def ratio(a, b):\n+def ratio(a, b=1):\n+    # guard\n"
    "     return a / b\n \n@@ -10 +11,2 @@\n-x = 1\n+x = 2\n+y = 3\n\\ No newline at end of file\n",
    'diff --git "a/t\\303\\251st \\"q\\".py" "b/t\\303\\251st \\"q\\".py"\nnew file mode 100644\n--- /dev/null\n'
    '+++ "b/t\\303\\251st \\"q\\".py"\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n',
    "diff --git a/old name.py b/new name.py\nsimilarity index 90%\nrename from old name.py\nrename to new name.py\n"
    "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    "diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n",
    "diff --git a/link b/link\ndeleted file mode 120000\n--- a/link\n+++ /dev/null\n@@ -1 +0,0 @@\n-target\n"
    "diff --git a/link b/link\nnew file mode 100644\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+text\n"
    "diff --git a/package-lock.json b/package-lock.json\n--- a/package-lock.json\n+++ b/package-lock.json\n"
    "@@ -1 +1 @@\n-{}\n+{ }\n",
]
DIFF_WORDS = [
    "diff --git ",
    "diff --git a/x b/x\n",
    "a/",
    "b/",
    " b/",
    '"',
    '"a/',
    "\\",
    "\\303",
    "\\n",
    "\\777",
    "@@ -",
    "@@ -1,2 +1,3 @@",
    " @@",
    ",",
    "\n+",
    "\n-",
    "\n ",
    "\n",
    "--- ",
    "+++ ",
    "/dev/null",
    "new file mode ",
    "deleted file mode ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "old mode ",
    "new mode ",
    "Binary files ",
    "GIT binary patch",
    "\\ No newline at end of file",
]

REPLIES = [
    "Here is the fix:\n\ncalc.py\n```python\nimport math\n\ndef ratio(a, b):\n    if b == 0:\n        return math.inf\n"
    "    return a / b\n```\n\nThis avoids the division by zero.\n",
    "```python\nclass Greeter:\n    def greet(self):\n        return 'hi'\n\n    def wave(self):\n        ...\n```\n"
    "```\npython\ndef extra():\n    pass\n```\n",
    "In `calc.py`:\n~~~py\n@decorator\ndef ratio(a, b):\n    # ... rest of the code\n~~~\n```js\nfunction f() {}\n",
    "calc.py:2: error: division by zero when `b` is 0\n- calc.py:3: warning: unused import `os`\n"
    "* line 4 (info): looks good\n```python\n  2 +    return a / (b or 1)\n```\n",
    "feat(calc): add a ratio helper\n\nIt divides a by b.\n- guards zero\n```\ndiff --git a/x b/x\n```\n",
]
REPLY_WORDS = [
    "```",
    "```python\n",
    "```py\n",
    "~~~\n",
    "\n```\n",
    "````\n",
    "calc.py\n",
    "util.py:",
    "def ratio(a, b):\n",
    "def greet(self):\n",
    "class Greeter:\n",
    "    return a / b\n",
    "\tpass\n",
    "import os\n",
    "from math import inf\n",
    "@decorator\n",
    "...\n",
    "# rest of the code\n",
    ":2:",
    "line 3",
    "error:",
    "warning:",
    "`x`",
    "Here is the commit message:\n",
    "fix(scope)!: ",
    "Subject: ",
    "+",
    "-",
    "@@ -1 +1 @@",
]
FILES = {
    "calc.py": "import os\n\n\ndef ratio(a, b):\n    return a / b\n\n\nclass Greeter:\n    def greet(self):\n"
    "        return 'hi'\n",
    "util.js": "function f() {\n  return 1;\n}\n",
}

OUTPUTS = [
    'Traceback (most recent call last):\n  File "calc.py", line 5, in ratio\n    return a / b\n'
    "ZeroDivisionError: division by zero\n",
    "calc.py:12: in test_ratio\n    assert ratio(1, 0) == 0\nE   AssertionError: assert 1 == 0\n"
    "FAILED tests/test_calc.py::test_ratio - AssertionError: assert 1 == 0\n",
    "main.c:3:5: error: expected ';' before 'return'\n",
]
OUTPUT_WORDS = ['  File "', '", line ', ", in ", "calc.py", ":", "E   ", "FAILED ", " - ", "Error: ", "Exception", "\n"]


# --- the properties --------------------------------------------------------------------------------


def diff_pipeline(text: str, reply: str) -> None:
    """A diff read, classified and packed the way commit-msg and review show it, then a review reply read against it."""
    from coder_cli.core.diff_packing import pack
    from coder_cli.core.patch import classify, parse_diff
    from coder_cli.core.review_corrections import syntax_error_line
    from coder_cli.core.review_findings import parse_review

    files = classify(parse_diff(text))
    view = pack(files, 400, len)
    assert isinstance(view.text, str)
    broken = {}
    for path in view.shown:
        line = syntax_error_line("\n".join(view.lines(path).values()).encode("utf-8", "surrogatepass"))
        if line is not None:
            broken[path] = line
    parse_review(reply, view, broken)


def unquote_path(text: str) -> None:
    from coder_cli.core.patch import unquote

    out = unquote(text)
    assert isinstance(out, str)
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        out.encode("utf-8")  # a quoted path is decoded from bytes: always valid text


def unified_round_trip(old: str, new: str) -> None:
    """A patch made by `unified` reads back as one file whose lines are NEW's."""
    from coder_cli.core.patch import parse_diff, unified

    patch = unified("f.py", old, new)
    if old == new:
        assert patch == ""
        return
    files = parse_diff("diff --git a/f.py b/f.py\n" + patch)
    assert [f.path for f in files] == ["f.py"]


def chat_reply(reply: str) -> None:
    from coder_cli.actions.chat_edits import propose

    proposal = propose(reply, FILES)
    for edit in proposal.edits:
        assert edit.rel in FILES and edit.before == FILES[edit.rel]


def code_block_picking(reply: str) -> None:
    from coder_cli.core.edits import NoCodeBlock, code_blocks, first_complete_block, pick_block

    code_blocks(reply)
    first_complete_block(reply)
    for lang, name in (("python", "ratio"), ("javascript", None), ("", "a(")):
        try:
            assert isinstance(pick_block(reply, lang, name), str)
        except NoCodeBlock:
            pass


def unit_replacement(reply: str, first: int, last: int) -> None:
    """The code of a reply put in place of lines FIRST..LAST of a file (any numbers), imports added."""
    from coder_cli.core.edits import IMPORT_LINE, add_imports, replace_lines

    text = FILES["calc.py"]
    new = replace_lines(text, first, last, reply)
    add_imports(new, [ln for ln in reply.split("\n") if IMPORT_LINE.match(ln)])


def streamed_code(reply: str, cuts: list[int]) -> None:
    """The code extractor fed REPLY in pieces gives the same code as fed it whole."""
    from coder_cli.core.extract import CodeExtractor, extract_code

    ex = CodeExtractor()
    out, at = [], 0
    for cut in sorted(c % (len(reply) + 1) for c in cuts):
        out.append(ex.feed(reply[at:cut]))
        at = cut
    out.append(ex.feed(reply[at:]))
    out.append(ex.finish())
    assert "".join(out) == extract_code(reply)


def commit_message(reply: str, conventional: bool, truncated: bool) -> None:
    from coder_cli.core.commit_msg import make_message

    msg = make_message(reply, ["calc.py", "docs/x.md"], conventional, truncated)
    if msg is not None:
        assert "\n" not in msg.subject
        assert msg.text


def fim_fill(prefix: str, suffix: str, raw: str) -> None:
    from coder_cli.core.fim_post import MODES, choose_mode, cursor, done, finish

    cur = cursor(prefix, suffix)
    for mode in MODES:
        chosen = choose_mode(cur, mode)
        assert isinstance(finish(raw, cur, chosen), str)
        done(raw, cur, chosen)


def check_failure(output: str, budget: int) -> None:
    from coder_cli.core.failure import digest, parse, trim

    failure = parse(output)
    assert "\n" not in failure.summary  # one line, whatever the output
    digest(failure, "calc.py", FILES["calc.py"].split("\n"))
    trim(output, budget, len)


def review_corrections(reply: str, diff: str) -> None:
    from coder_cli.core.diff_packing import pack
    from coder_cli.core.patch import classify, parse_diff
    from coder_cli.core.review_corrections import code_of, suggestions

    view = pack(classify(parse_diff(diff)), 10_000, len)
    code_of(reply)
    suggestions(reply, view, {path: 1 for path in view.shown})


def hook_text(text: str) -> None:
    """Hook files and commit message files as git leaves them: any bytes, decoded with replacement."""
    from coder_cli.core.hooks import has_message, own_name_use, parse_settings, recorded_python, with_message

    parse_settings(text)
    recorded_python(text)
    own_name_use(text)
    for comments in ("#", ";", "#;@!$%^&|:"):
        has_message(text, comments)
    with_message(text, text)


def fix_candidate(reply: str, whole: bool) -> None:
    """`coder fix`'s reading of a reply: the new file text, or Rejected / NoCodeBlock."""
    from coder_cli.actions.fix_units import Context, Rejected, Unit, apply
    from coder_cli.core.edits import NoCodeBlock
    from coder_cli.fs.text_file import TextFile

    text = FILES["calc.py"]
    original = TextFile(Path("/r/calc.py"), text, "utf-8", "\n", False, text.encode())
    ctx = Context(Path("/r/calc.py"), Path("/r"), "calc.py", original, "python", Path("/h"), len, "fuzz")
    unit = (
        Unit("file", "calc.py", 0, 9, text) if whole else Unit("function", "ratio", 3, 4, "def ratio(a, b):\n    return a / b\n")
    )
    try:
        assert isinstance(apply(ctx, unit, reply), str)
    except (Rejected, NoCodeBlock):
        pass


@dataclass(frozen=True)
class Property:
    name: str
    check: Callable[..., None]
    strategies: tuple[st.SearchStrategy, ...]

    def test(self, max_examples: int, derandomize: bool = False) -> Callable[[], None]:
        """The property as a hypothesis test running MAX_EXAMPLES examples (raises on the first failure)."""
        return settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=derandomize,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(given(*self.strategies)(self.check))


diff_text = texts(DIFFS, DIFF_WORDS)
reply_text = texts(REPLIES, REPLY_WORDS)
code_text = texts([*FILES.values(), *REPLIES], REPLY_WORDS)
quoted = '"{}"'.format
big_int = st.one_of(st.integers(-3, 20), st.integers(-(2**70), 2**70))

PROPERTIES = {
    p.name: p
    for p in [
        Property("diff_pipeline", diff_pipeline, (diff_text, reply_text)),
        Property(
            "unquote",
            unquote_path,
            (st.one_of(diff_text, noise.map(quoted), pieces_text(DIFF_WORDS).map(quoted)),),
        ),
        Property("unified", unified_round_trip, (code_text, code_text)),
        Property("chat_propose", chat_reply, (reply_text,)),
        Property("fix_apply", fix_candidate, (reply_text, st.booleans())),
        Property("pick_block", code_block_picking, (reply_text,)),
        Property("replace_lines", unit_replacement, (code_text, big_int, big_int)),
        Property("extract_code", streamed_code, (reply_text, st.lists(st.integers(0, 10_000), max_size=8))),
        Property("commit_message", commit_message, (reply_text, st.booleans(), st.booleans())),
        Property("fim_post", fim_fill, (code_text, code_text, code_text)),
        Property("failure", check_failure, (texts(OUTPUTS, OUTPUT_WORDS), st.integers(0, 400))),
        Property("review_corrections", review_corrections, (reply_text, diff_text)),
        Property("hook_text", hook_text, (texts(REPLIES, ["# coder-hook:", "# coder-settings: ", "{}", '{"timeout": ', "$0"]),)),
    ]
}
