"""The tag cache: SQLite in WAL mode under $CODER_HOME, one database per repository.

Rows are keyed by (relative path, mtime_ns, size): only changed files are
re-parsed. Several processes may read and write at once (WAL, busy timeout).
A corrupt database is moved aside and rebuilt with a warning, never fatal.
Rendered maps are cached too, keyed by a digest of the file set (paths, mtimes,
sizes), the focus, the budget and the tokenizer: never by the words of a prompt.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from coder_cli.fs.private import private_dir

SCHEMA_VERSION = "2"
KEEP_MAPS = 32
KEEP_TOKENS = 20000


def db_path(home: Path, root: Path) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return home / "context" / f"{root.name or 'root'}-{digest}.sqlite"


class TagCache:
    def __init__(self, path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.warn = warn or (lambda msg: None)
        self.conn = self._open()

    def _open(self) -> sqlite3.Connection:
        private_dir(self.path.parent)  # names and lines of private code
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            self.warn(f"the repository cache {self.path} was unreadable ({exc}); rebuilding it")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.replace(f"{self.path}{suffix}", f"{self.path}{suffix}.corrupt")
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is not None and version[0] != SCHEMA_VERSION:
            conn.execute("DROP TABLE IF EXISTS files")
            conn.execute("DROP TABLE IF EXISTS maps")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, lang TEXT, data BLOB)"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS maps (key TEXT PRIMARY KEY, used REAL, data BLOB)")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tokens (tokenizer TEXT, hash TEXT, count INTEGER, used REAL,"
            " PRIMARY KEY (tokenizer, hash))"
        )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("PRAGMA quick_check(1)").fetchone()
        return conn

    def _retry(self, fn):
        """Run FN; on a corrupt database, rebuild once and run it again."""
        try:
            return fn()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            self.warn(f"the repository cache {self.path} is damaged ({exc}); rebuilding it")
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.replace(f"{self.path}{suffix}", f"{self.path}{suffix}.corrupt")
            self.conn = self._connect()
            return fn()

    # -- file rows ----------------------------------------------------------------------
    def load(self) -> dict[str, tuple[int, int, str, bytes]]:
        """path -> (mtime_ns, size, lang, data)."""

        def run():
            rows = self.conn.execute("SELECT path, mtime_ns, size, lang, data FROM files").fetchall()
            return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

        return self._retry(run)

    def put(self, rows: Iterable[tuple[str, int, int, str, tuple]]) -> None:
        """Store (path, mtime_ns, size, lang, tags) rows in one transaction."""
        packed = [(p, m, s, lang, marshal.dumps(data)) for p, m, s, lang, data in rows]
        if not packed:
            return

        def run():
            with self._transaction():
                self.conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", packed)

        self._retry(run)

    def delete(self, paths: Iterable[str]) -> None:
        gone = [(p,) for p in paths]
        if not gone:
            return

        def run():
            with self._transaction():
                self.conn.executemany("DELETE FROM files WHERE path = ?", gone)

        self._retry(run)

    @staticmethod
    def unpack(data: bytes) -> tuple:
        return marshal.loads(data)

    # -- rendered maps ----------------------------------------------------------------
    def get_map(self, key: str) -> bytes | None:
        def run():
            row = self.conn.execute("SELECT data FROM maps WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

        return self._retry(run)

    def put_map(self, key: str, data: bytes) -> None:
        def run():
            with self._transaction():
                self.conn.execute("INSERT OR REPLACE INTO maps VALUES (?, ?, ?)", (key, time.time(), data))
                self.conn.execute(
                    "DELETE FROM maps WHERE key NOT IN (SELECT key FROM maps ORDER BY used DESC LIMIT ?)", (KEEP_MAPS,)
                )

        self._retry(run)

    # -- token counts of rendered blocks ----------------------------------------------
    def token_counts(self, tokenizer: str) -> dict[str, int]:
        def run():
            rows = self.conn.execute("SELECT hash, count FROM tokens WHERE tokenizer = ?", (tokenizer,)).fetchall()
            return dict(rows)

        return self._retry(run)

    def put_token_counts(self, tokenizer: str, counts: dict[str, int]) -> None:
        if not counts:
            return
        now = time.time()

        def run():
            with self._transaction():
                self.conn.executemany(
                    "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)", [(tokenizer, h, c, now) for h, c in counts.items()]
                )
                self.conn.execute(
                    "DELETE FROM tokens WHERE rowid NOT IN (SELECT rowid FROM tokens ORDER BY used DESC LIMIT ?)", (KEEP_TOKENS,)
                )

        self._retry(run)

    @contextlib.contextmanager
    def _transaction(self):
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
