"""`coder chat` logic with the scripted engine: edits, commands, sessions, context accounting.

The model's behaviour is tested in test_chat_real.py; here the replies are fixed so that
the logic around them (matching blocks to files, undo, pipes, budgets) is checked exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coder_cli.actions.chat_edits import propose
from tests.conftest import git_project, run_inprocess

GREET = 'def greet(name):\n    return "Hello " + name\n'
BIG = (
    "import os\n\n\n"
    "def keep():\n    return os.getcwd()\n\n\n"
    "class Shop:\n    def total(self, items):\n        return sum(items)\n\n"
    "    def count(self, items):\n        return len(items)\n\n\n"
    "def other():\n    return 2\n"
)


def fenced(code: str, lead: str = "") -> str:
    return f"{lead}\n```python\n{code}```\n" if lead else f"```python\n{code}```\n"


# -- matching reply blocks to files ---------------------------------------------------------


def test_a_block_after_the_path_rewrites_the_whole_file():
    reply = "Here you go.\n\n" + fenced('def greet(name):\n    return "Hi " + name\n', "greet.py")
    p = propose(reply, {"greet.py": GREET, "other.py": "x = 1\n"})
    assert [(e.rel, e.after) for e in p.edits] == [("greet.py", 'def greet(name):\n    return "Hi " + name\n')]
    assert p.edits[0].summary == "rewrite the whole file"


def test_one_function_replaces_only_that_function_and_a_method_keeps_its_indentation():
    reply = fenced("def other():\n    return 3\n") + "\nand\n" + fenced("def total(self, items):\n    return sum(items) * 2\n")
    p = propose(reply, {"shop.py": BIG})
    (edit,) = p.edits
    assert "def other():\n    return 3\n" in edit.after
    assert "    def total(self, items):\n        return sum(items) * 2\n" in edit.after
    assert "def keep():\n    return os.getcwd()" in edit.after  # untouched
    assert "def count(self, items):" in edit.after
    assert edit.summary == "replace function other, replace function total"
    compile(edit.after, "shop.py", "exec")


def test_a_new_function_is_added_at_the_end_with_its_imports():
    reply = fenced("import math\n\n\ndef area(r):\n    return math.pi * r * r\n", "Add this to shop.py:")
    (edit,) = propose(reply, {"shop.py": BIG}).edits
    assert edit.after.startswith("import os\nimport math\n")
    assert edit.after.endswith("def other():\n    return 2\n\n\ndef area(r):\n    return math.pi * r * r\n")
    assert edit.summary == "add function area"


def test_elided_code_and_loose_snippets_are_not_applied():
    elided = fenced("def total(self, items):\n    ...  # rest unchanged\n")
    p = propose(elided, {"shop.py": BIG})
    assert not p.edits and "elides" in p.notes[0]
    snippet = fenced("print(greet('x'))\n")
    assert propose(snippet, {"greet.py": GREET, "b.py": "def b():\n    pass\n"}).edits == []


def test_an_echo_of_the_file_is_no_edit_and_an_unknown_block_is_not_guessed():
    assert propose(fenced(GREET), {"greet.py": GREET}).edits == []
    p = propose(fenced("def unrelated():\n    return 1\n"), {"a.py": "def a():\n    pass\n", "b.py": "def b():\n    pass\n"})
    assert not p.edits and "not matched" in p.notes[0]


def test_a_reply_with_only_the_functions_keeps_imports_constants_and_the_main_guard():
    text = (
        'import sys\n\nGREETING = "Hello"\n\n\ndef greet(name):\n    return GREETING + name\n\n\n'
        'if __name__ == "__main__":\n    print(greet(sys.argv[1]))\n'
    )
    (edit,) = propose(fenced('def greet(name):\n    return "Hi " + name\n', "app.py"), {"app.py": text}).edits
    assert edit.summary == "replace function greet"
    assert edit.after.startswith('import sys\n\nGREETING = "Hello"') and "print(greet(sys.argv[1]))" in edit.after


def test_a_partial_class_replaces_only_the_methods_it_holds():
    reply = fenced(
        "class Shop:\n    def total(self, items):\n        return sum(items) + 1\n\n    def empty(self):\n        return []\n"
    )
    (edit,) = propose(reply, {"shop.py": BIG}).edits
    assert "return sum(items) + 1" in edit.after and "def count(self, items):" in edit.after
    assert "    def empty(self):\n        return []" in edit.after
    assert edit.summary == "replace method Shop.total, add method Shop.empty"
    compile(edit.after, "shop.py", "exec")


def test_blocks_for_other_files_or_in_another_language_are_not_applied():
    util = "def add(a, b):\n    return a + b\n"
    p = propose(
        fenced("from util import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n", "Create test_util.py:"),
        {"util.py": util},
    )
    assert not p.edits and "test_util.py, which is not in the chat" in p.notes[0]
    p = propose("In your config.yml:\n```text\nerror: key not found\n```\n", {"config.yml": "key: 1\n"})
    assert not p.edits
    p = propose("README.md\n```markdown\n# Title\n```\n", {"README.md": "# T\n\n```sh\nmake\n```\n"})
    assert not p.edits and "code fences of its own" in p.notes[0]


def test_placeholders_count_even_when_the_file_has_a_stub_and_twin_methods_are_not_guessed():
    text = "def stub():\n    ...\n\n\ndef real(x):\n    y = x + 1\n    return y\n"
    p = propose(fenced("def real(x):\n    # ... existing code ...\n    return y * 2\n"), {"m.py": text})
    assert not p.edits and "elides" in p.notes[0]
    twins = "class A:\n    def total(self):\n        return 1\n\n\nclass B:\n    def total(self):\n        return 2\n"
    p = propose(fenced("def total(self):\n    return 3\n"), {"t.py": twins})
    assert not p.edits and "defined 2 times" in p.notes[0]


# -- the command, through pipes ------------------------------------------------------------


def test_piped_chat_answers_one_line_at_a_time_in_plain_text(home, tmp_path, scripted):
    model, calls = scripted("first answer", "second answer")
    proj = git_project(tmp_path, {"greet.py": GREET})
    r = run_inprocess(["chat", "--model", model], home, proj, stdin="q1\n\nq2\n")
    assert r.code == 0, r.stderr
    assert r.stdout == "first answer\nsecond answer\n"
    chats = [c for c in calls() if c["kind"] == "chat"]
    assert [m["content"] for m in chats[1]["messages"][1:]] == ["q1", "first answer", "q2"]  # history kept in order


def test_a_change_is_shown_not_applied_without_yes_and_applied_then_undone_with_it(home, tmp_path, scripted):
    reply = fenced('def greet(name):\n    return "Hi " + name\n', "greet.py")
    model, _ = scripted(reply)
    proj = git_project(tmp_path, {"greet.py": GREET})
    (proj / "greet.py").write_bytes(GREET.replace("\n", "\r\n").encode())  # CRLF survives the round trip
    before = (proj / "greet.py").read_bytes()
    r = run_inprocess(["chat", "--model", model, "greet.py"], home, proj, stdin="make it Hi\n")
    assert r.code == 0, r.stderr
    assert '+    return "Hi " + name' in r.stdout and "not applied" in r.stderr
    assert (proj / "greet.py").read_bytes() == before
    r = run_inprocess(["chat", "--model", model, "--yes", "greet.py"], home, proj, stdin="make it Hi\n/diff\n")
    assert "applied to greet.py" in r.stderr, r.stderr
    assert (proj / "greet.py").read_bytes() == before.replace(b"Hello", b"Hi")
    assert r.stdout.count('+    return "Hi " + name') == 2  # offered, then /diff
    r = run_inprocess(["chat", "--model", model, "--continue"], home, proj, stdin="/undo\n/undo\n")
    assert (proj / "greet.py").read_bytes() == before
    assert "nothing to undo in this session" in r.stderr


def test_add_refuses_missing_binary_huge_and_outside_files_with_reasons(home, tmp_path, scripted):
    model, _ = scripted("ok", n_ctx=2048)
    proj = git_project(tmp_path, {"greet.py": GREET, "big.py": "x = 1\n" * 2000})
    (proj / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "outside.py").write_text("x = 1\n")
    r = run_inprocess(
        ["chat", "--model", model],
        home,
        proj,
        stdin="/add nope.py\n/add logo.png\n/add big.py\n/add ../outside.py\n/add greet.py\n",
    )
    assert r.code == 0
    err = r.stderr
    assert "file not found: nope.py" in err
    assert "logo.png is a binary file" in err
    assert "big.py is 6,001 tokens; the context has room for" in err and "1,024 kept for the reply" in err
    assert "outside the repository" in err
    assert "added greet.py" in err


def test_a_typo_suggests_the_command_and_help_lists_them(home, tmp_path, scripted):
    model, calls = scripted("ok")
    proj = git_project(tmp_path, {"greet.py": GREET})
    r = run_inprocess(["chat", "--model", model], home, proj, stdin="/tokns\n/ad greet.py\n/help\n")
    assert "unknown command /tokns" in r.stderr and "did you mean /tokens?" in r.stderr
    assert "did you mean /add?" in r.stderr
    assert "/undo" in r.stdout and "/sessions" in r.stdout
    assert not [c for c in calls() if c["kind"] == "chat"]  # no command reached the model


def test_continue_restores_the_conversation_and_files(home, tmp_path, scripted):
    model, calls = scripted("the answer is 42", "again")
    proj = git_project(tmp_path, {"greet.py": GREET})
    run_inprocess(["chat", "--model", model, "greet.py"], home, proj, stdin="what is the answer?\n")
    r = run_inprocess(["chat", "--model", model, "--continue"], home, proj, stdin="/files\nand now?\n")
    assert r.code == 0, r.stderr
    assert "1 turn(s), files: greet.py" in r.stderr
    assert "greet.py" in r.stdout
    last = [c for c in calls() if c["kind"] == "chat"][-1]["messages"]
    assert [m["content"] for m in last[1:]] == ["what is the answer?", "the answer is 42", "and now?"]
    assert "def greet" in last[0]["content"]
    r = run_inprocess(["chat", "--model", model, "--session", "work"], home, proj, stdin="/sessions\n/add greet.py\n/sessions\n")
    first, second = r.stdout.split("\n", 1)
    assert "work" not in first and "* work" in second  # an empty session is not saved
    assert second.count("turn(s)") == 2


def test_continue_without_a_session_is_a_clear_error(home, tmp_path, scripted):
    model, _ = scripted("x")
    proj = git_project(tmp_path, {"greet.py": GREET})
    r = run_inprocess(["chat", "--model", model, "--continue"], home, proj, stdin="")
    assert r.code == 2 and "no earlier chat session" in r.stderr


def test_run_output_joins_the_next_message(home, tmp_path, scripted):
    model, calls = scripted("seen")
    proj = git_project(tmp_path, {"greet.py": GREET})
    r = run_inprocess(["chat", "--model", model, "--yes"], home, proj, stdin="/run echo out-$((40+2))\nwhat did it print?\n")
    assert r.code == 0 and "out-42" in r.stdout
    r2 = run_inprocess(["chat", "--model", model], home, proj, stdin="/run echo never\n")
    assert "not run" in r2.stderr and "never" not in r2.stdout  # no terminal to ask, no --yes
    question = [c for c in calls() if c["kind"] == "chat"][-1]["messages"][-1]["content"]
    assert "I ran `echo out-$((40+2))` (exit code 0)" in question and "out-42" in question
    assert question.endswith("what did it print?")


# -- the session: prompt order, pre-warm, a full context -------------------------------------


def _session(tmp_path: Path, replies: list[str], n_ctx: int = 4096, reply_tokens: int = 256):
    from coder_cli.actions.chat import ChatSession
    from coder_cli.actions.chat_sessions import SessionData
    from coder_cli.engine.scripted import ScriptedEngine

    proj = git_project(tmp_path, {"greet.py": GREET})
    engine = ScriptedEngine(replies, n_ctx=n_ctx)
    s = ChatSession(proj, tmp_path / "home", lambda model: engine, reply_tokens=reply_tokens, map_budget=0, data=SessionData("t"))
    return s, engine, proj


def test_prewarm_reads_the_known_prefix_and_the_turn_reuses_it(tmp_path):
    s, engine, proj = _session(tmp_path, ["one two three"])
    s.add("greet.py", proj)
    known = s.known_tokens()
    s.start_prewarm()
    s.prewarm.wait()
    assert engine.calls[-1] == {"kind": "prefill", "tokens": len(known), "evaluated": len(known)}
    result = s.ask("a question", lambda piece: None)
    assert result.stats.cached_tokens == len(known)  # only the question was left to read
    assert result.stats.prompt_tokens > len(known)
    assert engine.chat_prompt(s.messages("next"))[: len(s.known_tokens())] == s.known_tokens()
    s.start_prewarm()
    s.prewarm.wait()
    grown = engine.calls[-1]
    assert grown["kind"] == "prefill" and grown["evaluated"] < grown["tokens"] // 2  # the earlier turn was cached


def test_a_full_context_drops_the_oldest_turns_with_a_note(tmp_path):
    words = " ".join(f"w{i}" for i in range(120))
    s, engine, _ = _session(tmp_path, [words], n_ctx=700, reply_tokens=200)
    notes = []
    for i in range(6):
        notes += s.ask(f"question {i}", lambda piece: None).notes
    dropped = [n for n in notes if n.startswith("context full: dropped the oldest turn")]
    assert dropped and "question 0" in dropped[0]
    prompts = [len(engine.chat_prompt(c["messages"])) for c in engine.calls if c["kind"] == "chat"]
    assert all(n + 200 <= 700 for n in prompts), prompts  # every turn left the reply its room
    assert s.data.turns[-1][0] == "question 5"


@pytest.mark.slow
def test_a_failing_test_offers_the_fix_loop_and_applies_its_fix(home, tmp_path, scripted):
    calc = "def add(a, b):\n    return a - b\n"
    test = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    model, calls = scripted("```python\ndef add(a, b):\n    return a + b\n```\n")
    proj = git_project(tmp_path, {"calc.py": calc, "test_calc.py": test})
    check = "python -m pytest -q -p no:cacheprovider test_calc.py"
    r = run_inprocess(["chat", "--model", model, "--yes", "calc.py"], home, proj, stdin=f"/test {check}\n/test {check}\n")
    assert r.code == 0, r.stderr
    assert "1 failed" in r.stdout and "applied to calc.py" in r.stderr
    assert (proj / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "the check passes" in r.stderr  # the second /test


# -- one-shot turns from scripts: --message, --message-file, --test --------------------------


def test_messages_are_one_turn_each_and_a_message_file_keeps_its_newlines(home, tmp_path, scripted):
    model, calls = scripted("one", "two", "three")
    proj = git_project(tmp_path, {"greet.py": GREET})
    task = "Rename greet to welcome.\n\nKeep the message:\n    Hello NAME\n"
    (proj / "task.md").write_text(task)
    args = ["chat", "--model", model, "--message", "first", "--message", "second", "--message-file", "task.md"]
    r = run_inprocess(args, home, proj, stdin="never read\n")
    assert r.code == 0, r.stderr
    assert r.stdout == "one\ntwo\nthree\n"
    last = [c for c in calls() if c["kind"] == "chat"][-1]["messages"]
    assert [m["content"] for m in last[1:]] == ["first", "one", "second", "two", task.rstrip("\n")]


def test_a_dash_sends_all_of_stdin_as_one_message(home, tmp_path, scripted):
    model, calls = scripted("done")
    proj = git_project(tmp_path, {"greet.py": GREET})
    trace = 'Traceback (most recent call last):\n  File "greet.py", line 2\nNameError: x\n'
    r = run_inprocess(["chat", "--model", model, "--message-file", "-"], home, proj, stdin=trace)
    assert r.code == 0, r.stderr
    assert [c for c in calls() if c["kind"] == "chat"][0]["messages"][-1]["content"] == trace.rstrip("\n")
    r = run_inprocess(["chat", "--model", model, "--message", "-", "--message-file", "-"], home, proj, stdin="x\n")
    assert r.code == 2 and "stdin holds one message" in r.stderr


def test_bad_one_shot_arguments_fail_before_the_model_loads(home, tmp_path, scripted):
    model, calls = scripted("never")
    proj = git_project(tmp_path, {"greet.py": GREET})
    (proj / "blank.md").write_text("\n  \n")
    for args, words in [
        (["--message-file", "missing.md"], "file not found"),
        (["--message-file", "blank.md"], "message 1 is empty"),
        (["--message", "hi", "--test", " "], "--test needs a command"),
    ]:
        r = run_inprocess(["chat", "--model", model, *args], home, proj)
        assert r.code == 2 and words in r.stderr, (args, r.stderr)
    r = run_inprocess(["chat", "--model", model, "--message", "-"], home, proj)  # stdin is a terminal
    assert r.code == 2 and "which is a terminal" in r.stderr
    assert not calls()


def test_one_shot_exit_codes_say_applied_not_applied_and_no_change(home, tmp_path, scripted):
    reply = fenced('def greet(name):\n    return "Hi " + name\n', "greet.py")
    model, _ = scripted(reply)
    proj = git_project(tmp_path, {"greet.py": GREET})
    r = run_inprocess(["chat", "--model", model, "greet.py", "--message", "make it Hi"], home, proj, stdin="")
    assert r.code == 1 and "not applied" in r.stderr, r.stderr  # a pipe, no --yes: shown, not applied
    assert (proj / "greet.py").read_text() == GREET
    r = run_inprocess(["chat", "--model", model, "greet.py", "--message", "make it Hi", "--yes"], home, proj)
    assert r.code == 0 and "applied to greet.py" in r.stderr, r.stderr
    assert "Hi " in (proj / "greet.py").read_text()
    model, _ = scripted("It greets.")
    r = run_inprocess(["chat", "--model", model, "greet.py", "--message", "what does it do?", "--yes"], home, proj)
    assert r.code == 0 and r.stdout == "It greets.\n"
    broken = fenced('def greet(name):\n    return "Hi " +\n', "greet.py")  # does not parse: refused
    model, _ = scripted(broken)
    r = run_inprocess(["chat", "--model", model, "greet.py", "--message", "break it", "--yes"], home, proj)
    assert r.code == 1, r.stderr
    assert "Hi " in (proj / "greet.py").read_text()


CALC = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider test_calc.py"


@pytest.mark.slow
def test_test_runs_after_the_change_and_a_failure_gets_one_more_turn(home, tmp_path, scripted):
    wrong = fenced("def add(a, b):\n    return a * b\n", "calc.py")
    right = fenced("def add(a, b):\n    return a + b\n", "calc.py")
    model, calls = scripted(wrong, right)
    proj = git_project(tmp_path, {"calc.py": CALC, "test_calc.py": CALC_TEST})
    args = ["chat", "--model", model, "calc.py", "--message", "fix add", "--test", CHECK, "--yes"]
    r = run_inprocess(args, home, proj)
    assert r.code == 0, r.stderr
    assert "fails (exit code 1)" in r.stderr and "one more turn" in r.stderr and "passes" in r.stderr
    assert (proj / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    second = [c for c in calls() if c["kind"] == "chat"][1]["messages"][-1]["content"]
    assert "I ran `" in second and "assert 6 == 5" in second and "so that it passes" in second  # the output went in


@pytest.mark.slow
def test_a_check_still_failing_after_the_retry_is_exit_4_and_runs_even_without_a_change(home, tmp_path, scripted):
    wrong = fenced("def add(a, b):\n    return a * b\n", "calc.py")
    model, calls = scripted(wrong, wrong)
    proj = git_project(tmp_path, {"calc.py": CALC, "test_calc.py": CALC_TEST})
    args = ["chat", "--model", model, "calc.py", "--message", "fix add", "--test", CHECK, "--yes"]
    r = run_inprocess(args, home, proj)
    assert r.code == 4 and "still fails" in r.stderr, r.stderr
    assert len([c for c in calls() if c["kind"] == "chat"]) == 2  # one retry, not more
    model, calls = scripted("I would not change anything.", right := fenced("def add(a, b):\n    return a + b\n"))
    (proj / "calc.py").write_text(CALC)
    r = run_inprocess(["chat", "--model", model, "calc.py", "--message", "look", "--test", CHECK, "--yes"], home, proj)
    assert r.code == 0, r.stderr  # no change in the turn: the check ran at the end, failed, one more turn fixed it
    assert (proj / "calc.py").read_text() == right.split("```python\n")[1].split("```")[0]


# -- the echo: a reply that only says the question back -------------------------------------


def test_an_echo_is_not_shown_and_the_question_is_asked_again_without_the_earlier_turns(tmp_path):
    replies = ["A stack is a list you push onto and pop from.", "Explain how the stack works.", "Last in, first out."]
    s, engine, _ = _session(tmp_path, replies)
    s.ask("Write a stack class.", lambda piece: None)
    shown: list[str] = []
    result = s.ask("Explain how the stack works", shown.append)
    assert "".join(shown) == result.reply == "Last in, first out."
    assert any("repeated the question back; asked again without the 1 earlier turn" in n for n in result.notes)
    retry = [c for c in engine.calls if c["kind"] == "chat"][-1]
    assert [m["role"] for m in retry["messages"]] == ["system", "user"]
    # The earlier turn stays in the conversation; the answer joins it.
    assert [t[1] for t in s.data.turns] == [replies[0], "Last in, first out."]
    assert result.stats.completion_tokens == len(engine.tokenize(replies[1])) + len(engine.tokenize(replies[2]))


def test_a_second_echo_keeps_nothing_and_suggests_the_larger_model(tmp_path):
    s, engine, _ = _session(tmp_path, ["An answer.", "**Explain how the stack works?**", "Explain how the stack works."])
    s.ask("Write a stack class.", lambda piece: None)
    shown: list[str] = []
    result = s.ask("Explain how the stack works", shown.append)
    assert shown == [] and result.reply == ""
    assert any("larger model" in n and "/model 1.5b" in n for n in result.notes)
    assert len(s.data.turns) == 1


def test_an_answer_that_starts_like_the_question_is_streamed_whole(tmp_path):
    answer = "Explain how the stack works: each push puts an item on top, and pop takes the top item off again."
    s, engine, _ = _session(tmp_path, [answer])
    shown: list[str] = []
    result = s.ask("Explain how the stack works", shown.append)
    assert "".join(shown) == answer == result.reply
    assert len(shown) > 1  # held only until it was clearly more than the question, then streamed
    assert not any("repeated" in n for n in result.notes)
    assert len([c for c in engine.calls if c["kind"] == "chat"]) == 1


def test_an_echo_in_the_first_turn_is_reported_without_a_retry(tmp_path):
    s, engine, _ = _session(tmp_path, ["Explain recursion.", "Recursion is a function calling itself."])
    result = s.ask("Explain recursion", lambda piece: None)
    assert result.reply == "" and any("larger model" in n for n in result.notes)
    assert len([c for c in engine.calls if c["kind"] == "chat"]) == 1  # nothing to drop: no retry
