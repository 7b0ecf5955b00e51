"""Diff parsing, excluded files and packing within a budget: pure functions of core.patch and core.diffview."""

from __future__ import annotations

import re

from coder_cli.core.diff_packing import PIECE_LINES, pack, pieces, render_hunk
from coder_cli.core.patch import classify, exclusion, parse_diff, unquote, whole_file


def words(text: str) -> int:
    """A predictable token count: whitespace-separated words."""
    return len(text.split())


MODIFIED = """\
diff --git a/stats.py b/stats.py
index 1111111..2222222 100644
--- a/stats.py
+++ b/stats.py
@@ -1,6 +1,9 @@ def mean(values):
 def mean(values):
     \"\"\"The average of VALUES.\"\"\"
-    return sum(values) / len(values) if values else 0.0
+    total = 0
+    for v in values:
+        total += v
+    return total / 0
\x20
\x20
 def is_adult(age):
@@ -20,2 +23,2 @@ def is_adult(age):
-    return age >= 18
+    return age <= 18
 # end
"""


def test_modified_file_has_old_and_new_line_numbers():
    (f,) = parse_diff(MODIFIED)
    assert (f.path, f.status, f.added, f.removed) == ("stats.py", "modified", 5, 2)
    first, second = f.hunks
    assert first.section == "def mean(values):"
    assert [(ln.kind, ln.old, ln.new) for ln in first.lines[:4]] == [(" ", 1, 1), (" ", 2, 2), ("-", 3, None), ("+", None, 3)]
    assert [ln.new for ln in first.lines if ln.kind == "+"] == [3, 4, 5, 6]
    assert [(ln.kind, ln.old, ln.new) for ln in second.lines] == [("-", 20, None), ("+", None, 23), (" ", 21, 24)]


def test_added_deleted_renamed_binary_and_mode_changes():
    text = """\
diff --git a/new.py b/new.py
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 4444444..0000000
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-z = 3
diff --git a/old name.py b/new name.py
similarity index 90%
rename from old name.py
rename to new name.py
index 5555555..6666666 100644
--- a/old name.py\t
+++ b/new name.py\t
@@ -1 +1 @@
-a = 1
+a = 2
diff --git a/logo.png b/logo.png
index 7777777..8888888 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
"""
    new, gone, renamed, logo, run = parse_diff(text)
    assert (new.path, new.status, new.added, new.old_path) == ("new.py", "added", 2, None)
    assert (gone.path, gone.status, gone.removed) == ("gone.py", "deleted", 1)
    assert (renamed.path, renamed.old_path, renamed.status) == ("new name.py", "old name.py", "renamed")
    assert logo.binary and logo.path == "logo.png" and not logo.hunks
    assert run.mode_change == "100644 -> 100755" and not run.hunks


def test_removed_lines_that_look_like_headers_stay_in_the_hunk():
    text = "diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,1 @@\n"
    text += "--- a comment\n select 1;\n\\ No newline at end of file\n"
    (f,) = parse_diff(text)
    assert [(ln.kind, ln.text) for ln in f.hunks[0].lines] == [("-", "-- a comment"), (" ", "select 1;")]


def test_only_newlines_end_lines():
    """A form feed, U+2028 or a lone CR inside a line stays there; every new-side number after it stays right."""
    text = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,6 @@\n"
    text += " import os\n+\x0c\n+s = 'a\u2028b'  # \x1c\x85\u2029\rnot a line\r\n+x = 1\n def f():\n-    pass\n+    return 1\n"
    (f,) = parse_diff(text)
    lines = [(ln.kind, ln.text, ln.new) for ln in f.hunks[0].lines]
    assert lines == [
        (" ", "import os", 1),
        ("+", "\x0c", 2),
        ("+", "s = 'a\u2028b'  # \x1c\x85\u2029\rnot a line", 3),  # a CRLF line's CR is not part of it
        ("+", "x = 1", 4),
        (" ", "def f():", 5),
        ("-", "    pass", None),
        ("+", "    return 1", 6),
    ]
    whole = whole_file("m.py", "a = 1\x0c\nb = '\u2028'\r\nc = 3")
    assert [(ln.text, ln.new) for ln in whole.hunks[0].lines] == [("a = 1\x0c", 1), ("b = '\u2028'", 2), ("c = 3", 3)]


def test_a_type_change_is_one_file_shown_once():
    """git prints a symlink that became a file as a deletion and an addition of the same path."""
    text = (
        "diff --git a/link b/link\ndeleted file mode 120000\nindex 1de5659..0000000\n--- a/link\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-target\n\\ No newline at end of file\n"
        "diff --git a/link b/link\nnew file mode 100644\nindex 0000000..1062290\n--- /dev/null\n+++ b/link\n"
        "@@ -0,0 +1 @@\n+real content\n"
        "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n"
    )
    link, gone = classify(parse_diff(text))
    assert (link.path, link.status, link.mode_change, link.added, link.removed) == ("link", "modified", "120000 -> 100644", 1, 1)
    assert (gone.status, gone.excluded, gone.mode_change) == ("deleted", "deleted", None)
    view = pack([link, gone], 1000, words)
    assert view.text.count("File link") == 1 and view.text.count("+real content") == 1
    assert "File link (modified, +1 -1, mode 120000 -> 100644):" in view.text
    assert view.text.startswith("2 files changed (+1 -2).")


def test_quoted_paths_are_unquoted():
    assert unquote('"t\\303\\251st\\tx.py"') == "tést\tx.py"
    text = 'diff --git "a/t\\303\\251.py" "b/t\\303\\251.py"\nnew file mode 100644\n'
    text += '--- /dev/null\n+++ "b/t\\303\\251.py"\n@@ -0,0 +1 @@\n+1\n'
    assert parse_diff(text)[0].path == "té.py"


def test_lockfiles_minified_generated_and_binary_files_are_excluded():
    assert exclusion("web/package-lock.json") == "lockfile"
    assert exclusion("uv.lock") == exclusion("go.sum") == exclusion("Cargo.lock") == "lockfile"
    assert exclusion("static/app.min.js") == exclusion("app.js.map") == "minified"
    assert exclusion("api_pb2.py", "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n") == "generated"
    assert exclusion("z.go", "// Code generated by stringer; DO NOT EDIT.\n") == "generated"
    assert exclusion("a.py", "import os\n" * 6 + "# do not edit\n") is None  # only the first lines count
    assert exclusion("x.bin", binary=True) == "binary"
    assert exclusion("src/app.py", "import os\n") is None


def test_classify_reads_the_head_from_the_diff_or_from_heads():
    text = "diff --git a/gen.go b/gen.go\n--- a/gen.go\n+++ b/gen.go\n@@ -10,1 +10,1 @@\n-a\n+b\n"
    (f,) = classify(parse_diff(text), {"gen.go": "// Code generated by x. DO NOT EDIT.\n"})
    assert f.excluded == "generated"
    (g,) = classify(parse_diff(text))
    assert g.excluded is None


def test_render_puts_new_line_numbers_in_a_gutter():
    (f,) = parse_diff(MODIFIED)
    text = render_hunk(f.hunks[1])
    assert text.splitlines() == [
        "@@ -20,2 +23,2 @@ def is_adult(age):",
        "   -    return age >= 18",
        "23 +    return age <= 18",
        "24  # end",
    ]


def test_pack_names_every_file_and_shows_what_fits():
    diff = MODIFIED + (
        "diff --git a/package-lock.json b/package-lock.json\n--- a/package-lock.json\n+++ b/package-lock.json\n"
        '@@ -1 +1 @@\n-{"lockfileVersion": 2}\n+{"lockfileVersion": 3}\n'
    )
    view = pack(classify(parse_diff(diff)), 1000, words)
    assert "package-lock.json (modified, +1 -1; lockfile)" in view.text
    assert "lockfileVersion" not in view.text
    assert view.hunks == 2 and view.omitted == 0 and view.tokens == words(view.text) <= 1000
    assert "File stats.py (modified, +5 -2):" in view.text
    assert view.lines("stats.py")[6] == "    return total / 0"
    assert 23 in view.lines("stats.py") and 2 in view.lines("stats.py")


def _many(n_files: int, hunks: int, lines: int) -> str:
    out = []
    for i in range(n_files):
        out.append(f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n")
        for h in range(hunks):
            start = 1 + h * 100
            out.append(f"@@ -{start},{lines} +{start},{lines} @@\n")
            out.extend(f"-old_{i}_{h}_{k} = {k}\n+new_{i}_{h}_{k} = {k} + 1\n" for k in range(lines // 2))
            out.extend(f" same_{k} = {k}\n" for k in range(lines - lines // 2))
    return "".join(out)


def test_pack_stays_within_the_budget_round_robin_and_counts_what_it_left_out():
    files = classify(parse_diff(_many(4, 5, 6)))
    view = pack(files, 300, words)
    assert view.tokens <= 300
    assert view.hunks == 20 and 0 < view.omitted < 20
    # Round-robin: every file got its turn before any file got a second hunk.
    counts = [len(view.shown.get(f"f{i}.py", [])) for i in range(4)]
    assert max(counts) - min(counts) <= 1, counts
    assert f"({5 - counts[0]} more hunks of this file not shown)" in view.text or counts[0] == 5
    assert pack(files, 300, words).text == view.text  # deterministic


def test_smaller_hunks_go_first_and_shown_hunks_keep_their_order():
    text = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n"
    text += "@@ -1,8 +1,8 @@\n" + "".join(f"-big_{k}\n+big_{k}_changed\n" for k in range(8))
    text += "@@ -50,1 +50,1 @@\n-small\n+small_changed\n"
    view = pack(classify(parse_diff(text)), 40, words)
    assert [h.new_start for h in view.shown["a.py"]] == [50]
    assert view.omitted == 1
    full = pack(classify(parse_diff(text)), 1000, words)
    assert [h.new_start for h in full.shown["a.py"]] == [1, 50]


def test_files_with_nothing_shown_are_listed_with_a_reason():
    files = classify(parse_diff(_many(3, 1, 40)))
    view = pack(files, 200, words)
    assert view.tokens <= 200
    left = view.omitted_files
    assert left and all(f"- {p} (modified, +20 -20; over the budget)" in view.text for p in left)


def test_a_long_hunk_is_cut_into_pieces_with_their_own_headers():
    f = whole_file("big.py", "".join(f"line_{k} = {k}\n" for k in range(100)))
    parts = pieces(f.hunks[0])
    assert len(parts) == 3 and [len(p.lines) for p in parts] == [PIECE_LINES, PIECE_LINES, 20]
    assert (parts[1].new_start, parts[1].new_len) == (41, 40)
    view = pack([f], 300, words)
    assert view.shown["big.py"][0].new_start == 1  # the file's beginning first, not its tail
    assert re.search(r"^@@ -0,0 \+1,40 @@", view.text, re.MULTILINE)


def test_whole_file_is_one_hunk_of_added_lines():
    f = whole_file("n.py", "a = 1\nb = 2\n")
    assert f.status == "added" and f.added == 2 and [ln.new for ln in f.hunks[0].lines] == [1, 2]
    assert whole_file("empty.py", "").hunks == []


def test_many_files_share_the_budget_and_stay_in_file_order():
    big = _many(1, 1, 80)  # one long new-looking hunk first, then many small files
    small = _many(30, 1, 2).replace("f0.py", "g0.py")
    view = pack(classify(parse_diff(big + small)), 400, words)
    assert view.tokens <= 400
    assert len(view.shown) >= 5  # the long hunk does not starve the small files
    paths = [f.path for f in view.files]
    assert list(view.shown) == sorted(view.shown, key=paths.index)
    assert "- and " in view.text and "more files" in view.text  # the list of the rest is cut short
