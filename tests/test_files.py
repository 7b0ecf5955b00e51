"""Exact round trips, atomic writes, and the undo journal."""

import stat

import pytest

from coder_cli.errors import UsageError
from coder_cli.fs.atomic_write import WriteRefused, atomic_write, check_inside
from coder_cli.fs.text_file import read_text
from coder_cli.fs.undo_journal import UndoJournal


def test_crlf_and_bom_round_trip(tmp_path):
    p = tmp_path / "a.py"
    raw = b"\xef\xbb\xbfa = 1\r\nb = 2\r\n"
    p.write_bytes(raw)
    tf = read_text(p)
    assert tf.text == "a = 1\nb = 2\n" and tf.newline == "\r\n" and tf.bom
    assert tf.encode(tf.text) == raw
    assert tf.encode("a = 3\nb = 2\n") == b"\xef\xbb\xbfa = 3\r\nb = 2\r\n"


def test_declared_latin1_round_trips_and_undeclared_is_refused(tmp_path):
    p = tmp_path / "l.py"
    raw = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    p.write_bytes(raw)
    tf = read_text(p)
    assert tf.encoding == "latin-1" and tf.encode(tf.text) == raw
    q = tmp_path / "q.py"
    q.write_bytes("name = 'café'\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        read_text(q)


def test_atomic_write_refuses_a_file_changed_since_read(tmp_path):
    p = tmp_path / "a.py"
    p.write_bytes(b"x = 1\n")
    with pytest.raises(WriteRefused, match="changed since"):
        atomic_write(p, b"x = 2\n", b"x = 0\n")
    assert p.read_bytes() == b"x = 1\n"


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path):
    p = tmp_path / "run.sh"
    p.write_bytes(b"echo 1\n")
    p.chmod(0o755)
    atomic_write(p, b"echo 2\n", b"echo 1\n")
    assert p.read_bytes() == b"echo 2\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o755
    assert [x.name for x in tmp_path.iterdir()] == ["run.sh"]


def test_read_only_file_is_refused(tmp_path):
    p = tmp_path / "ro.py"
    p.write_bytes(b"x = 1\n")
    p.chmod(0o444)
    with pytest.raises(WriteRefused, match="read-only"):
        atomic_write(p, b"x = 2\n", b"x = 1\n")


def test_outside_the_repository_is_refused(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "other.py").write_text("x")
    (root / "link.py").symlink_to(tmp_path / "other.py")
    with pytest.raises(WriteRefused, match="outside"):
        check_inside(root / "link.py", root)
    with pytest.raises(WriteRefused, match="outside"):
        check_inside(root / ".." / "other.py", root)


def test_undo_restores_byte_for_byte_and_refuses_after_a_change(tmp_path):
    journal = UndoJournal(tmp_path / "home")
    p = tmp_path / "a.py"
    before = b"x = 1\r\n"
    p.write_bytes(before)
    journal.write(p, before, b"x = 2\r\n", "coder fix")
    assert p.read_bytes() == b"x = 2\r\n"
    journal.undo()
    assert p.read_bytes() == before
    assert journal.entries() == []
    journal.write(p, before, b"x = 3\n", "coder fix")
    p.write_bytes(b"edited by hand\n")
    with pytest.raises(WriteRefused, match="changed since"):
        journal.undo()
    journal.undo(force=True)
    assert p.read_bytes() == before


def test_failed_write_leaves_no_journal_entry(tmp_path):
    journal = UndoJournal(tmp_path / "home")
    p = tmp_path / "a.py"
    p.write_bytes(b"x = 1\n")
    with pytest.raises(WriteRefused):
        journal.write(p, b"x = 0\n", b"x = 2\n", "coder fix")
    assert journal.entries() == []
