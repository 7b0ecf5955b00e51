"""`coder complete` logic with the scripted engine: markers, positions, writes, errors, the JSON protocol,
the prompt's layout and context (the real model is tested in test_complete_real)."""

import json
from pathlib import Path

import pytest

from coder_cli.actions.complete import Completer, FillCache, FillRequest
from coder_cli.actions.complete_json import answer_line, answer_one
from coder_cli.engine.scripted import ScriptedEngine
from tests.conftest import git_project, run_inprocess

APP = "from shapes import colors\nfrom shapes.geometry import area\n\n\ndef main():\n    print(area(2, 3))\n"
CALC = "def add(a, b):\n<FILL>\n\n\ndef sub(a, b):\n<FILL>\n"


def _proj(tmp_path: Path, files: dict[str, str]) -> Path:
    return git_project(tmp_path, files, "proj")


def test_markers_are_filled_top_to_bottom_and_printed(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"calc.py": CALC})
    model, calls = scripted("    return a + b\n", "    return a - b\n", fim=True)
    r = run_inprocess(["complete", "calc.py", "-m", model], home, proj, stdin="")
    assert r.code == 0, r.stderr
    assert r.stdout == "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    assert (proj / "calc.py").read_text() == CALC  # printed, not written
    assert len(calls()) == 2


def test_write_yes_writes_and_undo_restores(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"calc.py": CALC})
    model, _ = scripted("    return a + b\n", "    return a - b\n", fim=True)
    r = run_inprocess(["complete", "calc.py", "--write", "--yes", "-m", model], home, proj, stdin="")
    assert r.code == 0, r.stderr
    assert "<FILL>" not in (proj / "calc.py").read_text()
    assert run_inprocess(["undo"], home, proj).code == 0
    assert (proj / "calc.py").read_text() == CALC


def test_write_without_a_terminal_prints_the_patch_and_writes_nothing(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"calc.py": CALC})
    model, _ = scripted("    return a + b\n", "    return a - b\n", fim=True)
    r = run_inprocess(["complete", "calc.py", "--write", "-m", model], home, proj, stdin="")
    assert r.code == 1
    assert "+    return a + b" in r.stdout and "pass --yes" in r.stderr
    assert (proj / "calc.py").read_text() == CALC


def test_write_refuses_a_fill_that_breaks_the_parse(tmp_path, home, scripted):
    text = "def f(x):\n    y = x + 1\n    return y\n"
    proj = _proj(tmp_path, {"f.py": text})
    model, calls = scripted("(((", fim=True)
    r = run_inprocess(["complete", "f.py:2", "--write", "--yes", "-m", model], home, proj, stdin="")
    assert r.code == 1 and "syntax error" in r.stderr
    assert "keeps the file parseable" in r.stderr  # every candidate was tried and said so
    assert len(calls()) == 3
    assert (proj / "f.py").read_text() == text


def test_position_prints_only_the_fill(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"f.py": "def f(items):\n    result = [\n    return result\n"})
    model, calls = scripted("i * 2 for i in items]\n    return result", fim=True)
    r = run_inprocess(["complete", "f.py:2", "-m", model], home, proj, stdin="")
    assert r.code == 0, r.stderr
    assert r.stdout == "i * 2 for i in items]"
    assert calls()[0]["params"]["temperature"] == 0.0


def test_json_reports_mode_timing_and_tokens(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"f.py": "def f(x):\n    return\n"})
    model, _ = scripted(" x + 1\n", fim=True)
    r = run_inprocess(["complete", "f.py:2", "--json", "-m", model], home, proj, stdin="")
    data = json.loads(r.stdout)
    assert data["completion"] == " x + 1" and data["line"] == 2
    fill = data["fills"][0]
    assert fill["mode"] == "line" and fill["tokens"]["prompt"] > 0 and fill["timing_ms"] >= 0


@pytest.mark.parametrize(
    ("files", "target", "message"),
    [
        ({"f.py": "x = 1\n"}, "f.py:5", "line 5 is past the end of the file (1 line)"),
        ({"f.py": "x = 1\n"}, "f.py:1:9", "column 9 is past the end of line 1"),
        ({"f.py": ""}, "f.py:1", "f.py is empty"),
        ({"f.py": "x = 1\n"}, "f.py", "has no <FILL> marker"),
        ({}, "missing.py:3", "file not found"),
    ],
)
def test_bad_targets_say_what_is_wrong(tmp_path, home, scripted, files, target, message):
    proj = _proj(tmp_path, files)
    model, calls = scripted("x", fim=True)
    r = run_inprocess(["complete", target, "-m", model], home, proj, stdin="")
    assert r.code == 2 and message in r.stderr, r.stderr
    assert calls() == []


def test_a_binary_file_is_refused(tmp_path, home, scripted):
    proj = _proj(tmp_path, {})
    (proj / "blob.py").write_bytes(b"\x00\x01\x02" * 100)
    model, _ = scripted("x", fim=True)
    r = run_inprocess(["complete", "blob.py:1", "-m", model], home, proj, stdin="")
    assert r.code == 2 and "binary" in r.stderr


def test_a_model_without_fim_tokens_is_a_model_error(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"f.py": "x = 1\n"})
    model, _ = scripted("x", fim=False)
    r = run_inprocess(["complete", "f.py:1", "-m", model], home, proj, stdin="")
    assert r.code == 3 and "fill-in-the-middle" in r.stderr


def test_stdin_json_answers_each_line_and_keeps_going_after_a_bad_one(tmp_path, home, scripted):
    proj = _proj(tmp_path, {"f.py": "def f(x):\n    return\n"})
    model, calls = scripted(" x + 1\n", fim=True)
    requests = [
        {"id": 1, "path": "f.py", "prefix": "def f(x):\n    return", "suffix": "\n"},
        "not json",
        {"id": 3, "path": "f.py", "line": 2},
        {"id": 4, "path": "f.py", "line": 9},
        {"id": 5, "path": "f.py", "prefix": "def f(x):\n    return x", "suffix": "\n"},  # typed through the fill
    ]
    stdin = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n"
    r = run_inprocess(["complete", "--stdin-json", "-m", model], home, proj, stdin=stdin)
    assert r.code == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(answers) == 5
    assert answers[0]["completion"] == " x + 1" and answers[0]["id"] == 1
    assert answers[1]["code"] == 2 and "not JSON" in answers[1]["error"]
    assert answers[2]["completion"] == " x + 1" and answers[2]["cached"]  # the same position, from the cache
    assert answers[3]["code"] == 2 and "past the end" in answers[3]["error"]
    assert answers[4] == answers[4] | {"completion": " + 1", "cached": True, "id": 5}
    assert len(calls()) == 1


def test_fill_cache_serves_typing_through_but_not_past_the_fill():
    cache = FillCache()
    req = FillRequest(Path("/p/f.py"), "x = ", "\n", "auto")
    from coder_cli.actions.complete import Fill

    cache.put(req, Fill("foo(1)", "line"))
    assert cache.get(FillRequest(Path("/p/f.py"), "x = fo", "\n", "auto")).completion == "o(1)"
    assert cache.get(FillRequest(Path("/p/f.py"), "x = foo(1)", "\n", "auto")) is None  # typed all: ask again
    assert cache.get(FillRequest(Path("/p/f.py"), "x = bar", "\n", "auto")) is None
    assert cache.get(FillRequest(Path("/p/f.py"), "x = fo", "\n\n", "auto")) is None  # the suffix changed


def _layout(engine: ScriptedEngine, tokens: list[int]) -> str:
    names = {1: "<P>", 2: "<S>", 3: "<M>", 4: "<R>", 5: "<F>"}
    return "".join(names.get(t) or engine.detokenize([t]) for t in tokens)


def test_prompt_has_the_repository_layout_with_cross_file_context(tmp_path):
    proj = _proj(
        tmp_path,
        {
            "shapes/geometry.py": "def area(w, h):\n    return w * h\n\n\ndef unused():\n    pass\n",
            "shapes/colors.py": "RED = 1\n\n\ndef blend(a, b):\n    return a | b\n",
            "shapes/app.py": APP,
            "notes.txt": "nothing\n",
        },
    )
    engine = ScriptedEngine(["x"], fim=True)
    completer = Completer(engine, tmp_path / "home")
    text = (proj / "shapes/app.py").read_text()
    at = text.index("print")
    tokens, files = completer.prompt(FillRequest(proj / "shapes/app.py", text[:at], text[at:]))
    layout = _layout(engine, tokens)
    assert files == ["shapes/colors.py", "shapes/geometry.py"]  # by path, whatever their priority
    assert layout.startswith("<R>proj\n<F>shapes/colors.py\nRED = 1\ndef blend(a, b):\n")  # an imported module's outline
    assert "<F>shapes/geometry.py\ndef area(w, h):\n    return w * h\n<F>" in layout  # a used definition, whole
    assert "def unused" not in layout
    assert "<F>shapes/app.py\n<P>from shapes import colors" in layout
    assert layout.endswith("<S>print(area(2, 3))\n<M>")
    # A nearby cursor gets the same head: the context and the prefix start do not move.
    tokens2, _ = completer.prompt(FillRequest(proj / "shapes/app.py", text[: at + 6], text[at + 6 :]))
    head = tokens.index(2)  # up to the <|fim_suffix|>
    assert tokens2[: head - 1] == tokens[: head - 1]
    completer.close()


def test_no_context_without_budget_and_outside_a_language(tmp_path):
    proj = _proj(tmp_path, {"a.py": "def helper():\n    return 1\n", "b.py": "x = helper()\n"})
    engine = ScriptedEngine(["x"], fim=True)
    assert Completer(engine, tmp_path / "home", budget=0).prompt(FillRequest(proj / "b.py", "x = ", "helper()\n"))[1] == []
    assert Completer(engine, tmp_path / "home").prompt(FillRequest(proj / "b.py", "x = ", "helper()\n"))[1] == ["a.py"]
    assert Completer(engine, tmp_path / "home").prompt(FillRequest(proj / "notes.txt", "helper ", "\n"))[1] == []


def test_a_fill_at_the_wrong_depth_is_reindented_not_regenerated(tmp_path):
    engine = ScriptedEngine(["        for x in xs:\n"], fim=True)
    completer = Completer(engine, tmp_path / "home", budget=0)
    prefix = "def f(xs):\n    total = 0\n"
    suffix = "        total += x\n    return total\n"
    fill = completer.fill(FillRequest(tmp_path / "f.py", prefix, suffix))
    assert fill.completion == "    for x in xs:\n"
    assert fill.parses and "shallower" in fill.note
    assert len(engine.calls) == 1


def test_without_context_files_the_prompt_is_the_bare_layout(tmp_path):
    proj = _proj(tmp_path, {"solo.py": "def f(x):\n    return x\n"})
    engine = ScriptedEngine(["x"], fim=True)
    tokens, files = Completer(engine, tmp_path / "home").prompt(FillRequest(proj / "solo.py", "def f(x):\n    return ", "\n"))
    assert files == []
    assert _layout(engine, tokens) == "<P>def f(x):\n    return <S>\n<M>"


def test_on_an_empty_line_the_model_picks_the_depth_and_gets_the_editors_when_it_writes_nothing(tmp_path):
    prefix = "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n"
    engine = ScriptedEngine(["    return a\n"], fim=True)
    fill = Completer(engine, tmp_path / "home", budget=0).fill(FillRequest(tmp_path / "g.py", prefix, "\n"))
    assert fill.completion == "    return a"  # out of the loop: the line above's depth would be wrong
    assert len(engine.calls) == 1 and _layout(engine, engine.calls[0]["tokens"]).startswith("<P>def gcd")
    assert _layout(engine, engine.calls[0]["tokens"]).split("<S>")[0].endswith("% b\n")  # shown column 0
    engine = ScriptedEngine(["\n", "return a\n"], fim=True)
    fill = Completer(engine, tmp_path / "home", budget=0).fill(FillRequest(tmp_path / "g.py", prefix, "\n"))
    assert len(engine.calls) == 2  # nothing at column 0: asked again at the editor's indentation
    assert _layout(engine, engine.calls[1]["tokens"]).split("<S>")[0].endswith("% b\n        ")
    assert fill.completion == "        return a"


def test_stdin_json_answers_every_request_whatever_it_holds(tmp_path, home, scripted):
    """Issue 16: a NUL in "path" (ValueError: embedded null byte) or a lone surrogate in "id"
    (UnicodeEncodeError writing the answer) ended the stream with exit 4; nothing after was answered."""
    proj = _proj(tmp_path, {"f.py": "def f(x):\n    return\n"})
    model, _ = scripted(" x + 1\n", fim=True)
    requests = [
        {"id": 1, "path": "f\x00.py", "line": 2},
        {"id": "\ud800", "path": "f.py", "line": 2},
        {"id": 3, "path": "f.py", "prefix": "x = '\udcff", "suffix": "\n"},  # unencodable text in the buffer
        {"id": ["\udfff"], "path": "\ud800.py", "line": 1},
        {"id": 5, "path": "f.py", "line": 2},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests)  # (json escapes the surrogates: valid JSON)
    r = run_inprocess(["complete", "--stdin-json", "-m", model], home, proj, stdin=stdin)
    assert r.code == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(answers) == 5
    assert [a["id"] for a in answers] == [1, "\ud800", 3, ["\udfff"], 5]  # echoed back, escaped
    assert answers[1]["completion"] == answers[4]["completion"] == " x + 1"
    assert [a.get("code") for a in answers] == [2, None, 2, 2, None], answers
    assert answer_line(answers[1]).isascii() and json.loads(answer_line(answers[1])) == answers[1]


class _BrokenCompleter:
    """A completer with a bug: any exception a request can set off."""

    def fill(self, req):
        raise KeyError("a bug")


def test_a_bug_in_one_request_is_an_internal_error_answer(tmp_path):
    answer = answer_one(
        _BrokenCompleter(), FillCache(), json.dumps({"id": 7, "path": "f.py", "prefix": "", "suffix": ""}), tmp_path
    )
    assert answer == {"error": "internal error: KeyError: 'a bug'", "code": 4, "id": 7}


def test_suffix_tokens_sets_how_much_code_below_the_model_sees(tmp_path, home, scripted):
    below = "".join(f"    step_{i}()\n" for i in range(200))
    proj = _proj(tmp_path, {"long.py": "def run():\n    start()\n" + below})
    shown = []
    for n in (8, None):
        model, calls = scripted("    begin()", fim=True)
        extra = ["--suffix-tokens", str(n)] if n else []
        r = run_inprocess(["complete", "long.py:2", "-m", model, *extra], home, proj, stdin="")
        assert r.code == 0, r.stderr
        shown.append(len(calls()[-1]["tokens"]))
    assert shown[0] < 20 and shown[1] > 100, shown  # 8 tokens: 4 lines below; the default 256: over 100 of them
    r = run_inprocess(["complete", "long.py:2", "-m", model, "--suffix-tokens", "0"], home, proj, stdin="")
    assert r.code == 2 and "--suffix-tokens must be from 1 to 8192" in r.stderr
