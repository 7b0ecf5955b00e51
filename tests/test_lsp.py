"""`coder lsp` end to end: pytest-lsp's client starts `coder lsp` as an editor would (JSON-RPC over
pipes) and drives it with the real default model: completions and inline completions from an
unsaved buffer, progress while the model loads, a stale request given up, a model that fails to
load answered with a message instead of a dead server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Union

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from tests.conftest import clean_environ, git_project

SAVED = "def mul(a, b):\n    return a * b\n"
# What the editor shows, not saved: the model must see this, not the file on disk.
BUFFER = 'def add_numbers(a, b):\n    """Return the sum of a and b."""\n    return '


def _run(body, home: Path, cwd: Path, *args: str, **env: str):
    """Start `coder lsp` in CWD, initialize a session as VS Code would, run BODY(client), shut down."""

    async def main():
        client = make_test_lsp_client()
        await client.start_io(
            sys.executable, "-m", "coder_cli", "lsp", *args, env=clean_environ(home, CODER_SERVER="off", **env), cwd=str(cwd)
        )
        try:
            await client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"), root_uri=cwd.as_uri(), workspace_folders=None
                )
            )
            return await asyncio.wait_for(body(client), timeout=600)
        finally:
            await client.shutdown_session()
            await client.stop()

    return asyncio.run(main())


def _open(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    return uri


def _end(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


def test_completion_from_an_unsaved_buffer(tmp_path, model_home):
    proj = git_project(tmp_path, {"calc.py": SAVED})

    async def body(client: LanguageClient):
        uri = _open(client, proj / "calc.py", BUFFER)
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_end(BUFFER))
        )
        inline = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=_end(BUFFER),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            )
        )
        stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="coder.stats"))
        return result, inline, stats, client.progress_reports

    result, inline, stats, progress = _run(body, model_home, proj)
    assert result.is_incomplete is True  # typing asks again
    assert len(result.items) == 1
    item = result.items[0]
    # The fill continues the buffer's `return `, which only the unsaved text has (disk: `mul`).
    assert "a + b" in item.text_edit.new_text, item
    assert item.text_edit.range.start == item.text_edit.range.end == _end(BUFFER)  # no word before the cursor
    assert item.insert_text == item.text_edit.new_text
    # The same fill as ghost text, from the fill cache (the model answered once).
    assert [i.insert_text for i in inline.items] == [item.filter_text]  # (plain text; the item's is a snippet)
    assert item.insert_text_format == types.InsertTextFormat.Snippet  # VS Code takes snippets: whole, escaped
    assert stats["answered"] == 1 and stats["cache_hits"] == 1, stats
    # The model's load was reported as progress: a begin and an end.
    kinds = [type(v).__name__ for reports in progress.values() for v in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd", kinds


def test_a_word_before_the_cursor_is_replaced_whole(tmp_path, model_home):
    """Mid-word (`retu|`), the edit covers the word, so the client's filtering matches what was typed."""
    proj = git_project(tmp_path, {"calc.py": SAVED})
    text = 'def add_numbers(a, b):\n    """Return the sum of a and b."""\n    retu'

    async def body(client: LanguageClient):
        uri = _open(client, proj / "calc.py", text)
        return await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_end(text))
        )

    result = _run(body, model_home, proj)
    (item,) = result.items
    assert item.text_edit.range.start == types.Position(line=2, character=4)
    assert item.text_edit.range.end == _end(text)
    # The word typed so far, then the model's fill (whose words are the model's: the 0.5B writes
    # `n a + b` after `retu` here, a mid-token cursor it does not heal).
    assert item.text_edit.new_text.startswith("retu") and len(item.text_edit.new_text) > 4, item.text_edit.new_text
    assert item.filter_text == item.text_edit.new_text


def test_a_newer_request_supersedes_the_older(tmp_path, model_home):
    """Two requests at once (a keystroke between them): the older is given up, not queued behind;
    the newer is answered. `$/cancelRequest` from the client ends the older just the same."""
    body_text = "".join(f"def helper_{i}(x):\n    return x * {i}\n\n" for i in range(60))
    proj = git_project(tmp_path, {"big.py": body_text})

    async def body(client: LanguageClient):
        text = body_text + "def total(values):\n    "
        uri = _open(client, proj / "big.py", text)
        await client.text_document_completion_async(  # the model loads; the next two start warm
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=4)
            )
        )
        first = client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_end(text))
        )
        await asyncio.sleep(0.05)
        text2 = text + "s"
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text2)],
            )
        )
        second = client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_end(text2))
        )
        older, newer = await asyncio.gather(first, second)
        stats = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="coder.stats"))
        return older, newer, stats

    older, newer, stats = _run(body, model_home, proj)
    assert list(older.items) == []  # given up
    assert len(newer.items) == 1 and len(newer.items[0].text_edit.new_text) > 1
    assert stats["cancelled"] == 1 and stats["answered"] == 2, stats


def test_a_model_that_fails_to_load_is_a_message_not_a_dead_server(tmp_path, home):
    proj = git_project(tmp_path, {"calc.py": SAVED})
    missing = tmp_path / "no-such-model.gguf"

    async def body(client: LanguageClient):
        uri = _open(client, proj / "calc.py", BUFFER)
        params = types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_end(BUFFER))
        first = await client.text_document_completion_async(params)
        second = await client.text_document_completion_async(params)  # still answering
        return first, second, list(client.messages)

    first, second, messages = _run(body, home, proj, "--model", str(missing))
    assert list(first.items) == [] and list(second.items) == []
    errors = [m.message for m in messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "did not load" in errors[0] and "no-such-model.gguf" in errors[0], errors


def _apply(text: str, edits) -> str:
    """TEXT with EDITS (whole-line ranges, as coder sends them) applied, last first."""
    lines = text.splitlines(keepends=True)
    for e in sorted(edits, key=lambda e: e.range.start.line, reverse=True):
        lines[e.range.start.line : e.range.end.line] = [e.new_text]
    return "".join(lines)


def test_fix_with_coder_is_a_code_action_whose_edit_the_editor_applies(tmp_path, model_home):
    broken = "def add(a, b):\n    return a - b\n"
    test = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    proj = git_project(tmp_path, {"calc.py": broken, "test_calc.py": test})
    applied = []

    async def body(client: LanguageClient):
        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams):
            applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        # lsprotocol 2025.0.0 reads any object with a "command" key as a Command, and a CodeAction
        # that carries its command (the spec's form, what coder sends) is one: read them right here.
        def command_or_action(obj, _):
            kind = types.CodeAction if isinstance(obj.get("command"), dict) or "kind" in obj else types.Command
            return client.protocol._converter.structure(obj, kind)

        client.protocol._converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_action)  # noqa: UP007 (the typing.Union lsprotocol registers)
        uri = _open(client, proj / "calc.py", broken)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        fix = next(a for a in actions if a.title == "Fix with coder")
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=fix.command.command, arguments=fix.command.arguments)
        )
        return answer, list(client.messages)

    answer, messages = _run(body, model_home, proj)
    assert answer["fixed"] is True and answer["applied"] is True, (answer, messages)
    (params,) = applied
    assert params.label == "coder fix"
    (edits,) = params.edit.changes.values()
    assert _apply(broken, edits) == "def add(a, b):\n    return a + b\n"
    assert (proj / "calc.py").read_text() == broken  # the editor writes, not the server


def test_line_edits_replace_only_the_lines_that_differ():
    from coder_cli.actions.lsp import line_edits

    old = "a\nb\nc\nd"
    new = "a\nB\nc\nd\ne\n"
    edits = line_edits(old, new)
    assert [(e.range.start.line, e.range.end.line, e.new_text) for e in edits] == [(1, 2, "B\n"), (3, 4, "d\ne\n")]
    assert _apply(old, edits) == new
    assert line_edits(old, old) == []


def test_review_code_action_publishes_findings_and_a_save_clears_them(tmp_path, model_home):
    proj = git_project(tmp_path, {"calc.py": "def ratio(a, b):\n    return a / b\n"})
    subprocess.run(["git", "-C", str(proj), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(proj), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True)
    changed = "def ratio(a, b):\n    return a / 0\n\n\ndef run(cmd):\n    return eval(input(cmd))\n"
    (proj / "calc.py").write_text(changed)

    async def body(client: LanguageClient):
        uri = _open(client, proj / "calc.py", changed)
        answer = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="coder.review", arguments=[uri]))
        await asyncio.sleep(0.5)  # the diagnostics notification follows the answer
        published = list(client.diagnostics.get(uri, []))
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        await asyncio.sleep(0.5)
        return answer, published, list(client.diagnostics.get(uri, []))

    answer, published, after_save = _run(body, model_home, proj)
    assert answer["ok"] is True and answer["findings"] == len(published) > 0, (answer, published)
    for d in published:
        assert d.source == "coder review" and 0 <= d.range.start.line < len(changed.splitlines()), d
    assert after_save == []  # the findings were about the text before the save
