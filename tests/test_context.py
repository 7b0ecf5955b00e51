"""Repository context: tags per language, files, cache, map, lookups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coder_cli.context import lookups
from coder_cli.context.repomap import RepoIndex, build_map
from coder_cli.context.tags import extract
from coder_cli.core.languages import language_for
from tests.conftest import clean_environ, run_inprocess

FIXTURES = Path(__file__).parent / "fixtures" / "tags"

# file -> (language, definitions that must come out, references that must come out)
EXPECTED = {
    "sample.py": ("python", {"Shape", "area", "compute_area", "LIMIT"}, {"compute_area", "Base", "loads", "getsize"}),
    "sample.js": ("javascript", {"Shape", "area", "computeArea", "helper"}, {"computeArea", "Base", "Shape"}),
    "sample.ts": ("typescript", {"Sized", "Id", "Color", "Shape", "size", "computeArea"}, {"computeArea", "Sized"}),
    "sample.tsx": ("tsx", {"Props", "Greeting", "App"}, {"Greeting", "format", "Props"}),
    "sample.go": ("go", {"Shape", "Area", "computeArea"}, {"computeArea", "abs", "Shape"}),
    "sample.rs": ("rust", {"Shape", "Sized", "size", "compute_area"}, {"compute_area", "println", "Sized"}),
    "Sample.java": ("java", {"Shape", "area", "computeArea", "Sized", "size"}, {"computeArea", "abs", "Base"}),
    "sample.c": ("c", {"shape", "area_t", "compute_area", "main"}, {"compute_area", "abs"}),
    "sample.cpp": ("cpp", {"geo", "Shape", "area", "computeArea"}, {"computeArea", "abs", "Base"}),
    "Sample.cs": ("csharp", {"Geo", "ISized", "Shape", "Area", "ComputeArea"}, {"ComputeArea", "Abs", "Base"}),
    "sample.rb": ("ruby", {"Geo", "Shape", "area", "helper"}, {"compute_area", "abs", "Base"}),
    "sample.php": ("php", {"Sized", "Shape", "area", "computeArea"}, {"computeArea", "abs", "Base"}),
    "sample.kt": ("kotlin", {"Shape", "area", "computeArea", "Registry"}, {"computeArea", "abs", "Base"}),
    "sample.swift": ("swift", {"Sized", "Shape", "area", "computeArea"}, {"computeArea", "abs", "Base"}),
    "sample.sh": ("bash", {"build", "compile_all"}, {"compile_all", "gcc", "build"}),
    "sample.lua": ("lua", {"area", "compute_area", "size"}, {"compute_area", "abs"}),
    "sample.scala": ("scala", {"Sized", "Shape", "area", "Geo", "computeArea"}, {"computeArea", "abs", "Base"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tags_per_language(name):
    lang, defs, refs = EXPECTED[name]
    source = (FIXTURES / name).read_bytes()
    assert language_for(name, source) == lang
    tags = extract(source, lang)
    assert defs <= {d.name for d in tags.defs}
    assert refs <= set(tags.refs)
    assert not tags.has_error


def test_every_fixture_is_checked():
    assert {p.name for p in FIXTURES.iterdir()} == set(EXPECTED)


def test_language_from_shebang():
    assert language_for("tool", b"#!/usr/bin/env python3\nprint(1)\n") == "python"
    assert language_for("run", b"#!/bin/bash\necho\n") == "bash"
    assert language_for("notes", b"hello") is None


def test_syntax_errors_keep_the_valid_parts():
    source = b"def good():\n    return helper()\n\ndef bad(:\n    pass\n\nclass Later:\n    pass\n"
    tags = extract(source, "python")
    assert tags.has_error
    assert {"good", "Later"} <= {d.name for d in tags.defs}
    assert tags.refs["helper"] == 1


def _repo(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "repo"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


SMALL = {
    "app/models.py": "class User:\n    def save(self):\n        return store(self)\n\ndef store(obj):\n    return obj\n",
    "app/views.py": "from app.models import User\n\ndef show():\n    return User().save()\n",
    "app/util.py": "def helper():\n    return store(1)\n",
    "README.md": "# not code\n",
}


def _map(root: Path, home: Path, **kw):
    index = RepoIndex(root, home)
    try:
        return build_map(index, budget=kw.pop("budget", 400), count_tokens=lambda s: len(s.split()), tokenizer_id="words", **kw)
    finally:
        index.close()


def test_map_shows_definitions_ranked(tmp_path, home):
    m = _map(_repo(tmp_path, SMALL), home)
    assert m.files[0] == "app/models.py"  # referenced by both other files
    assert "class User:" in m.text and "def store(obj):" in m.text
    assert m.stats.files == 3 and m.stats.parsed == 3


def test_same_inputs_give_byte_identical_maps(tmp_path):
    root = _repo(tmp_path, SMALL)
    first = _map(root, tmp_path / "h1").text
    second = _map(root, tmp_path / "h2").text
    cached = _map(root, tmp_path / "h1")
    assert first == second == cached.text
    assert cached.stats.map_cache_hit


def test_deleted_and_renamed_files(tmp_path, home):
    root = _repo(tmp_path, SMALL)
    _map(root, home)
    (root / "app/util.py").unlink()
    (root / "app/views.py").rename(root / "app/pages.py")
    m = _map(root, home, budget=1000)
    assert "app/util.py" not in m.text and "app/views.py" not in m.text
    assert "app/pages.py" in m.files
    assert m.stats.parsed == 1 and m.stats.cache_hits == 1


def test_changed_file_is_reparsed(tmp_path, home):
    root = _repo(tmp_path, SMALL)
    _map(root, home)
    p = root / "app/util.py"
    p.write_text("def renamed_helper():\n    return store(2)\n")
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    m = _map(root, home, budget=1000)
    assert "renamed_helper" in m.text and "def helper" not in m.text
    assert m.stats.parsed == 1


def test_binary_and_huge_files_are_skipped_with_a_note(tmp_path, home):
    root = _repo(tmp_path, {**SMALL, "blob.py": b"\x00\x01binary", "big.py": "x = 1\n" * 200_000})
    r = run_inprocess(["map", str(root), "--stats", "--model", "scripted:none"], home, tmp_path)
    assert r.code == 0, r.stderr
    assert "skipped    1 binary: blob.py" in r.stderr
    assert "skipped    1 over 1 MB: big.py" in r.stderr


def test_no_supported_files_is_an_empty_map_and_a_message(tmp_path, home):
    root = _repo(tmp_path, {"notes.txt": "hello", "data.csv": "a,b\n"})
    r = run_inprocess(["map", str(root)], home, tmp_path)
    assert r.code == 0
    assert r.stdout == ""
    assert "no supported source files" in r.stderr


def test_git_repository_lists_tracked_and_untracked_but_not_ignored(tmp_path, home):
    root = _repo(
        tmp_path,
        {
            **SMALL,
            ".gitignore": "ignored.py\nbuild/\n",
            "ignored.py": "def secret(): pass\n",
            "build/gen.py": "def generated(): pass\n",
            "node_modules/lib/x.js": "function vendored() {}\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "app/models.py"], check=True)
    m = _map(root, home, budget=2000)
    assert set(m.files) >= {"app/models.py", "app/views.py", "app/util.py"}
    for hidden in ("secret", "generated", "vendored"):
        assert hidden not in m.text


def test_walk_outside_git_honours_gitignore(tmp_path, home):
    root = _repo(
        tmp_path,
        {
            **SMALL,
            ".gitignore": "*.gen.py\n",
            "a.gen.py": "def generated(): pass\n",
            "sub/.gitignore": "local.py\n",
            "sub/local.py": "def local(): pass\n",
            "sub/kept.py": "def kept(): pass\n",
            ".venv/lib/x.py": "def venv(): pass\n",
        },
    )
    m = _map(root, home, budget=2000)
    assert "def kept" in m.text
    for hidden in ("generated", "def local", "venv"):
        assert hidden not in m.text


def test_corrupt_cache_is_rebuilt_with_a_warning(tmp_path, home):
    root = _repo(tmp_path, SMALL)
    index = RepoIndex(root, home)
    path = index.cache.path
    index.close()
    path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    warnings: list[str] = []
    index = RepoIndex(root, home, warn=warnings.append)
    m = build_map(index, budget=400, count_tokens=len, tokenizer_id="chars")
    index.close()
    assert "class User" in m.text
    assert warnings and "rebuilding" in warnings[0]


@pytest.mark.slow
def test_two_processes_share_the_cache(tmp_path, home):
    root = _repo(tmp_path, {f"pkg/mod{i}.py": f"def f{i}():\n    return f{(i + 1) % 60}()\n" for i in range(60)})
    cmd = [sys.executable, "-m", "coder_cli", "map", str(root), "--json", "--model", "scripted:none"]
    procs = [
        subprocess.Popen(cmd, env=clean_environ(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    maps = [json.loads(o)["map"] for o, _ in outs]
    assert maps[0] == maps[1] and "def f0():" in maps[0]
    again = json.loads(subprocess.run(cmd, env=clean_environ(home), capture_output=True, text=True, check=True).stdout)
    assert again["stats"]["map_cache_hit"] and again["map"] == maps[0]


def test_time_budget_returns_partial_results(tmp_path, home):
    root = _repo(tmp_path, {f"m{i}.py": f"def g{i}(): pass\n" for i in range(200)})
    index = RepoIndex(root, home, time_budget=0.0)
    st = index.scan()
    index.close()
    assert st.partial and st.unindexed > 0


def test_focus_on_a_file_and_a_symbol(tmp_path, home):
    root = _repo(tmp_path, SMALL)
    m = _map(root, home, focus=["app/util.py"])
    assert m.files[0] in {"app/util.py", "app/models.py"}
    m = _map(root, home, focus=["helper"])
    assert m.files[0] == "app/util.py"


def test_lookups(tmp_path, home):
    root = _repo(tmp_path, SMALL)
    scope = lookups.enclosing_scope(root / "app/models.py", 2)
    assert (scope.kind, scope.name, scope.start_line, scope.end_line) == ("function", "save", 1, 2)
    text = (root / "app/models.py").read_bytes()
    assert text[scope.start_byte : scope.end_byte].startswith(b"def save")
    assert lookups.enclosing_scope(root / "app/models.py", 3) is None
    index = RepoIndex(root, home)
    index.scan()
    defs = lookups.definitions(index, ["store", "User"])
    assert {(d.path, d.name) for d in defs} == {("app/models.py", "store"), ("app/models.py", "User")}
    assert next(d for d in defs if d.name == "store").source.startswith("def store(obj):")
    refs = lookups.references(index, "store")
    assert [(r.path, r.line) for r in refs] == [("app/models.py", 2), ("app/util.py", 1)]
    index.close()
    bad = root / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    issues = lookups.syntax_errors(bad)
    assert issues and issues[0].line == 0
    assert lookups.syntax_errors(root / "app/models.py") == []
