"""Issue 16's data-safety findings: a candidate never reaches the real file before a yes, the journal
keeps private files private and restores their mode, a write keeps the file's owner, and a reply the
file's encoding cannot hold is a refusal, not a crash. (The kill tests are in test_write_kills.py.)"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from coder_cli.actions.scratch import Scratch
from coder_cli.fs.atomic_write import atomic_write
from coder_cli.fs.undo_journal import UndoJournal
from tests.conftest import run_cli, run_inprocess

LIB = "def area(width, height):\n    return width + height\n"
GOOD = "```python\ndef area(width, height):\n    return width * height\n```\n"
TEST_LIB = "from vendor.lib import area\n\n\ndef test_area():\n    assert area(3, 4) == 12\n"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider test_lib.py"


def _vendored(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    (proj / "vendor").mkdir(parents=True)
    (proj / "vendor" / "__init__.py").write_text("")
    (proj / "vendor" / "lib.py").write_text(LIB)
    (proj / "test_lib.py").write_text(TEST_LIB)
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    return proj


# -- 1. the scratch copy never writes into the repository ------------------------------------------


def test_a_candidate_for_a_file_in_a_linked_folder_stays_in_the_scratch_copy(tmp_path):
    proj = _vendored(tmp_path)
    (proj / "node_modules" / "pkg").mkdir(parents=True)
    (proj / "node_modules" / "pkg" / "index.js").write_text("module.exports = 1\n")
    with Scratch(proj, keep="vendor/lib.py") as scratch:
        scratch.write("vendor/lib.py", b"candidate\n")
        assert (scratch.root / "vendor" / "lib.py").read_bytes() == b"candidate\n"
        assert (scratch.root / "node_modules").is_symlink()  # the other linked folders stay linked
        with pytest.raises(OSError, match="leads out of the scratch copy"):
            scratch.write("node_modules/pkg/index.js", b"candidate\n")
    with Scratch(proj, keep="node_modules/pkg/index.js") as scratch:
        scratch.write("node_modules/pkg/index.js", b"candidate\n")
        assert (scratch.root / "node_modules" / "pkg" / "index.js").read_bytes() == b"candidate\n"
    assert (proj / "vendor" / "lib.py").read_text() == LIB
    assert (proj / "node_modules" / "pkg" / "index.js").read_text() == "module.exports = 1\n"


def test_absolute_links_inside_the_repository_point_into_the_scratch_copy(tmp_path):
    proj = _vendored(tmp_path)
    (proj / "data").mkdir()
    (proj / "data" / "seed.txt").write_text("seed\n")
    os.symlink(proj / "data", proj / "data_link")  # absolute, to a folder inside the repository
    os.symlink(proj / "data" / "seed.txt", proj / "seed_link.txt")  # absolute, to a file inside it
    os.symlink("/etc/hostname", proj / "outside_link")  # outside: kept as it is
    with Scratch(proj) as scratch:
        (scratch.root / "data_link" / "new.txt").write_text("written by a check\n")
        (scratch.root / "seed_link.txt").write_text("changed by a check\n")
        assert os.readlink(scratch.root / "outside_link") == "/etc/hostname"
        assert (scratch.root / "data" / "new.txt").exists()  # the link still works, in the copy
    assert not (proj / "data" / "new.txt").exists()
    assert (proj / "data" / "seed.txt").read_text() == "seed\n"


def test_linked_folders_inside_the_repository_are_kept_as_links(tmp_path):
    """A folder symlink (os.walk does not descend into it) is not dropped from the copy."""
    proj = _vendored(tmp_path)
    (proj / "src").mkdir()
    (proj / "src" / "m.py").write_text("x = 1\n")
    os.symlink("src", proj / "alias")
    with Scratch(proj) as scratch:
        assert (scratch.root / "alias" / "m.py").read_text() == "x = 1\n"
        (scratch.root / "alias" / "m.py").write_text("x = 2\n")
    assert (proj / "src" / "m.py").read_text() == "x = 1\n"


def test_a_write_through_a_link_out_of_the_scratch_copy_is_refused(tmp_path):
    proj = _vendored(tmp_path)
    with Scratch(proj) as scratch:
        os.symlink(proj / "vendor", scratch.root / "escape")
        with pytest.raises(OSError):
            scratch.write("escape/lib.py", b"candidate\n")
    assert (proj / "vendor" / "lib.py").read_text() == LIB


@pytest.mark.slow
def test_fix_of_a_vendored_file_checks_in_the_copy_and_writes_only_the_approved_result(tmp_path, home, scripted):
    proj = _vendored(tmp_path)
    real = proj / "vendor" / "lib.py"
    seen = tmp_path / "seen.txt"
    # The check records what the REAL file holds while the candidate is being checked.
    check = f"cat {real} >> {seen}; {PYTEST}"
    model, _ = scripted(GOOD)
    r = run_inprocess(["fix", "vendor/lib.py", f"--test={check}", "--yes", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    # before the repair, with the stand-in for the file (is the check about it?), with the candidate
    assert seen.read_text() == LIB * 3
    assert "width * height" in real.read_text()


@pytest.mark.slow
def test_a_killed_check_leaves_a_vendored_file_as_it_was(tmp_path, home, scripted):
    proj = _vendored(tmp_path)
    real = proj / "vendor" / "lib.py"
    model, _ = scripted(GOOD)
    # The first check (the original) fails; the candidate's check kills coder, as an OOM kill would.
    check = "grep -q 'width \\* height' vendor/lib.py && kill -9 $PPID; exit 1"
    r = run_cli(["fix", "vendor/lib.py", f"--test={check}", "--yes", "-m", model], home, proj, timeout=60)
    assert r.code in (-9, 137), (r.code, r.stderr)
    assert real.read_text() == LIB
    assert not (home / "undo" / "journal.jsonl").exists()


# -- 2. the journal is private and keeps the mode --------------------------------------------------


def test_the_journal_is_private_and_restores_the_mode_of_a_deleted_file(tmp_path):
    f = tmp_path / "secret.py"
    f.write_text("token = 'x'\n")
    os.chmod(f, 0o640)
    journal = UndoJournal(tmp_path / "home")
    entry = journal.write(f, f.read_bytes(), b"token = 'y'\n", "coder fix")
    blob = journal.dir / f"{entry.id}.before"
    assert stat.S_IMODE(journal.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.index.stat().st_mode) == 0o600
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    f.unlink()
    journal.undo(force=True)
    assert f.read_text() == "token = 'x'\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


def test_an_existing_world_readable_undo_folder_is_made_private(tmp_path):
    home = tmp_path / "home"
    (home / "undo").mkdir(parents=True)
    os.chmod(home / "undo", 0o755)
    f = tmp_path / "a.py"
    f.write_text("a = 1\n")
    UndoJournal(home).write(f, f.read_bytes(), b"a = 2\n", "coder fix")
    assert stat.S_IMODE((home / "undo").stat().st_mode) == 0o700


_RACE = """
import sys
from pathlib import Path
from coder_cli.fs.undo_journal import UndoJournal
home, folder, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
j = UndoJournal(home)
for i in range(40):
    f = folder / f"{tag}{i}.txt"
    f.write_text("before")
    e = j.record(f, b"before", b"after", "race")
    if i % 2:
        j.drop(e)  # every other entry is forgotten: the rest must all survive the other process
"""


def test_two_processes_recording_and_dropping_at_once_lose_no_entry(tmp_path):
    home = tmp_path / "home"
    folder = tmp_path / "files"
    folder.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(home), str(folder), tag]) for tag in "ab"]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    kept = sorted(Path(e.path).name for e in UndoJournal(home).entries())
    assert kept == sorted(f"{tag}{i}.txt" for tag in "ab" for i in range(0, 40, 2))


def test_a_torn_last_line_does_not_swallow_the_next_entry(tmp_path):
    journal = UndoJournal(tmp_path / "home")
    f = tmp_path / "a.py"
    f.write_text("a = 1\n")
    journal.write(f, b"a = 1\n", b"a = 2\n", "coder fix")
    with journal.index.open("a") as fh:
        fh.write('{"id": "torn", "time"')  # a kill in the middle of an append
    entry = journal.write(f, b"a = 2\n", b"a = 3\n", "coder fix")
    assert [e.id for e in journal.entries()][-1] == entry.id
    assert len(journal.entries()) == 2


_KILLED_WRITER = """
import sys
from pathlib import Path
from coder_cli.fs.undo_journal import UndoJournal
UndoJournal(Path(sys.argv[1])).record(Path(sys.argv[2]), b"a = 2\\n", b"a = 3\\n", "coder fix")
"""


def test_undo_of_a_write_that_never_happened_says_so_and_goes_on(tmp_path):
    """A coder killed between its journal line and its rename leaves an entry never marked written,
    whose file still holds the pre-image: the next undo forgets it and undoes the change before."""
    home = tmp_path / "home"
    journal = UndoJournal(home)
    f = tmp_path / "a.py"
    f.write_text("a = 1\n")
    journal.write(f, b"a = 1\n", b"a = 2\n", "coder fix")
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(home), str(f)], check=True)  # gone, unmarked
    entry = journal.undo()
    assert [e.path for e in journal.skipped] == [str(f)]
    assert f.read_text() == "a = 1\n" and entry.after_sha != entry.before_sha
    assert journal.entries() == []


def test_an_entry_whose_coder_still_runs_is_not_taken_for_a_killed_write(tmp_path):
    """Another coder between its journal line and its rename: undo must not drop its entry."""
    journal = UndoJournal(tmp_path / "home")
    f = tmp_path / "a.py"
    f.write_text("a = 1\n")
    live = journal.record(f, b"a = 1\n", b"a = 2\n", "coder fix")  # this process: alive, not yet renamed
    entry = journal.undo()  # the file holds the pre-image: nothing to write, and nothing skipped
    assert journal.skipped == [] and entry.id == live.id and journal.already


def test_undo_after_a_change_was_put_back_by_hand_stops_there(tmp_path, home):
    """`git checkout n.py` after `coder fix n.py`: the next `coder undo` says n.py is already as it
    was and forgets that entry; it does not go on to undo an older change of another file."""
    m, n = tmp_path / "m.py", tmp_path / "n.py"
    m.write_text("m = 1\n")
    n.write_text("n = 1\n")
    journal = UndoJournal(home)
    journal.write(m, b"m = 1\n", b"m = 2\n", "coder fix")
    journal.write(n, b"n = 1\n", b"n = 2\n", "coder fix")
    n.write_text("n = 1\n")  # put back by hand
    r = run_inprocess(["undo"], home, tmp_path)
    assert r.code == 0 and "already holds what it held before" in r.stderr, r.stderr
    assert m.read_text() == "m = 2\n"  # the older change stays
    assert [Path(e.path).name for e in journal.entries()] == ["m.py"]


# -- 3. a write keeps the file's owner -------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")


@needs_root
def test_a_write_as_root_keeps_another_users_file_theirs(tmp_path):
    f = tmp_path / "theirs.py"
    f.write_text("a = 1\n")
    os.chown(f, 1234, 2345)
    os.chmod(f, 0o640)
    UndoJournal(tmp_path / "home").write(f, b"a = 1\n", b"a = 2\n", "coder fix")
    st = f.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 2345, 0o640)
    assert f.read_text() == "a = 2\n"


_AS_NOBODY = """
import os, sys
from pathlib import Path
from coder_cli.fs.atomic_write import WriteRefused, atomic_write
os.setgid(65534); os.setuid(65534)
try:
    atomic_write(Path(sys.argv[1]), b"a = 2\\n", b"a = 1\\n")
except WriteRefused as exc:
    print("refused:", exc.message)
"""


@needs_root
def test_a_write_that_would_take_a_file_from_its_owner_is_refused():
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="coder-owner-"))  # in /tmp: pytest's own folders are root's alone
    try:
        _take_from_owner(folder)
    finally:
        shutil.rmtree(folder)


def _take_from_owner(folder: Path) -> None:
    os.chmod(folder, 0o777)
    f = folder / "theirs.py"
    f.write_text("a = 1\n")
    os.chown(f, 1234, 1234)
    os.chmod(f, 0o666)  # writable by anyone, but not anyone's to own
    r = subprocess.run([sys.executable, "-c", _AS_NOBODY, str(f)], capture_output=True, text=True, timeout=60)
    assert "refused:" in r.stdout and "owned by" in r.stdout, r.stdout + r.stderr
    assert f.read_text() == "a = 1\n" and f.stat().st_uid == 1234
    assert [p.name for p in folder.iterdir()] == ["theirs.py"]  # no temp file left behind


def test_atomic_write_still_writes_a_file_of_ones_own(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text("a = 1\n")
    atomic_write(f, b"a = 2\n", b"a = 1\n")
    assert f.read_text() == "a = 2\n"


# -- 4. a reply the file's encoding cannot hold ----------------------------------------------------

LATIN1 = "# -*- coding: latin-1 -*-\ndef price(x):\n    return x + 1  # café\n"


def _latin1_project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "m.py").write_bytes(LATIN1.encode("latin-1"))
    (proj / "test_m.py").write_text("from m import price\n\n\ndef test_price():\n    assert price(2) == 4\n")
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    return proj


@pytest.mark.slow
def test_fix_rejects_a_candidate_latin1_cannot_hold_and_goes_on(tmp_path, home, scripted):
    proj = _latin1_project(tmp_path)
    euro = "```python\ndef price(x):\n    return x * 2  # 2 €\n```\n"
    good = "```python\ndef price(x):\n    return x * 2  # café\n```\n"
    model, _ = scripted(euro, good)
    check = f"--test={sys.executable} -m pytest -q -p no:cacheprovider test_m.py"
    r = run_inprocess(["fix", "m.py", check, "--yes", "--json", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert "cannot be written in latin-1" in data["attempts"][0]["outcome"]
    assert data["written"] is True
    assert (proj / "m.py").read_bytes().decode("latin-1").endswith("return x * 2  # café\n")


def test_complete_write_refuses_a_fill_latin1_cannot_hold(tmp_path, home, scripted):
    proj = tmp_path / "proj"
    proj.mkdir()
    text = "# -*- coding: latin-1 -*-\ndef f():\n    <FILL>\n"
    (proj / "m.py").write_bytes(text.encode("latin-1"))
    model, _ = scripted("    return '€'\n", fim=True)
    r = run_inprocess(["complete", "m.py", "--write", "--yes", "-m", model], home, proj, stdin="")
    assert r.code == 1, r.stderr
    assert "cannot be written in latin-1" in r.stderr and "internal error" not in r.stderr
    assert (proj / "m.py").read_bytes() == text.encode("latin-1")


def test_the_copies_of_killed_coders_are_swept_and_the_living_ones_kept(tmp_path):
    from coder_cli.actions.scratch import OWNER_FILE, PREFIX, sweep

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name, owner in [("dead", gone.stdout.strip()), ("alive", str(os.getpid())), ("new", None)]:
        (tmp_path / f"{PREFIX}{name}").mkdir()
        if owner is not None:
            (tmp_path / f"{PREFIX}{name}" / OWNER_FILE).write_text(owner)
    assert sweep(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{PREFIX}alive", f"{PREFIX}new"]


def test_saved_chats_and_the_repository_cache_are_private(tmp_path):
    from coder_cli.actions.chat_sessions import SessionData, SessionStore
    from coder_cli.context.cache import TagCache, db_path

    home, root = tmp_path / "home", tmp_path / "repo"
    root.mkdir()
    for made_by_an_older_coder in ("sessions", "context"):
        (home / made_by_an_older_coder).mkdir(parents=True, mode=0o755)
    saved = SessionStore(home, root).save(SessionData("s", turns=[("the key is", "hunter2")]))
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "sessions").stat().st_mode) == 0o700
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    cache = TagCache(db_path(home, root))
    cache.conn.close()
    assert stat.S_IMODE((home / "context").stat().st_mode) == 0o700


def test_a_planted_owner_file_neither_hangs_nor_floods_the_sweep(tmp_path):
    """The temp folder is shared: a FIFO or a link to /dev/zero named like an owner file (in a folder
    of this user or another's) must not hang or exhaust `coder fix`."""
    import threading

    from coder_cli.actions.scratch import OWNER_FILE, PREFIX, sweep

    (tmp_path / f"{PREFIX}fifo").mkdir()
    os.mkfifo(tmp_path / f"{PREFIX}fifo" / OWNER_FILE)
    (tmp_path / f"{PREFIX}zero").mkdir()
    os.symlink("/dev/zero", tmp_path / f"{PREFIX}zero" / OWNER_FILE)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / f"{PREFIX}link")  # a link to a folder: not a copy
    done = []
    t = threading.Thread(target=lambda: done.append(sweep(tmp_path)), daemon=True)
    t.start()
    t.join(10)
    assert done == [0], "the sweep hung"
    assert (tmp_path / "elsewhere").exists()
