"""Git through its command line, in the environment a hook runs in (GIT_DIR, GIT_INDEX_FILE are honoured).

Every failure is a GitError (exit 5) with a hint. Diffs come back as text in the shape `core.patch`
parses: a/ and b/ prefixes and no colour whatever the user's config says, renames detected,
no external diff drivers or text conversion.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from coder_cli.errors import GitError

# Options that make `git diff` print the same shape whatever the user's configuration.
DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--no-relative",
    "--submodule=short",
)
HEAD_BYTES = 2048  # what is read of a file to look for a generated-file marker


class Git:
    """One work tree, seen from CWD with ENVIRON (so a hook's GIT_DIR and GIT_INDEX_FILE apply)."""

    def __init__(self, cwd: Path, environ: Mapping[str, str], timeout: float = 60) -> None:
        self.cwd = cwd
        self.environ = dict(environ)
        self.timeout = timeout
        self._root: Path | None = None

    def run(self, *args: str, ok: Sequence[int] = (0,), stdin: bytes | None = None) -> bytes:
        """Run `git ARGS`; its stdout, or a GitError naming git's own complaint."""
        cmd = ["git", "-c", "core.quotepath=off", *args]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.cwd,
                env=self.environ,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)", "install git: https://git-scm.com/downloads") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"`git {' '.join(args)}` took longer than {self.timeout:g} s") from None
        if proc.returncode not in ok:
            said = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise GitError(f"`git {' '.join(args)}` failed: {said[-1] if said else f'exit {proc.returncode}'}")
        return proc.stdout

    def text(self, *args: str, ok: Sequence[int] = (0,)) -> str:
        return self.run(*args, ok=ok).decode("utf-8", errors="replace")

    @property
    def root(self) -> Path:
        """The work tree's top folder; GitError when CWD is not inside one."""
        if self._root is None:
            try:
                out = self.text("rev-parse", "--show-toplevel").strip()
            except GitError as exc:
                if "not a git repository" in exc.message.lower():
                    raise GitError(
                        f"not a git repository: {self.cwd}", "run this inside a git work tree (or `git init` one)"
                    ) from None
                raise
            if not out:
                raise GitError("not inside a work tree (a bare repository?)", "run this inside a git work tree")
            self._root = Path(out)
        return self._root

    def has_head(self) -> bool:
        self.root  # noqa: B018 - the not-a-repository check comes first
        return bool(self.run("rev-parse", "--verify", "--quiet", "HEAD", ok=(0, 1)).strip())

    def is_revision(self, rev: str) -> bool:
        if rev.startswith("-"):
            return False
        return bool(self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1)).strip())

    def _empty_tree(self) -> str:
        """The empty tree's id (SHA-1 or SHA-256, as the repository uses), to diff against before a first commit."""
        return self.run("hash-object", "-t", "tree", "--stdin", stdin=b"").decode().strip()

    def diff_staged(self) -> str:
        """What `git commit` would record: the index against HEAD (everything staged before a first commit)."""
        self.root  # noqa: B018
        return self.text("diff", "--cached", *DIFF_OPTIONS)

    def diff_all(self) -> str:
        """Staged and unstaged changes of tracked files against HEAD."""
        base = "HEAD" if self.has_head() else self._empty_tree()
        return self.text("diff", base, *DIFF_OPTIONS)

    def diff_range(self, spec: str) -> str:
        """The changes of a revision range A..B or A...B (or of one commit REV)."""
        self.root  # noqa: B018
        if ".." not in spec:
            parent = f"{spec}^" if self.is_revision(f"{spec}^") else self._empty_tree()
            spec = f"{parent}..{spec}"
        left, _, right = spec.replace("...", "..").partition("..")
        for rev in (left or "HEAD", right or "HEAD"):
            if not self.is_revision(rev) and rev != self._empty_tree():
                raise GitError(f"unknown revision {rev!r} in {spec!r}", "name commits, branches or tags: coder review main..HEAD")
        return self.text("diff", *DIFF_OPTIONS, spec, "--")

    def diff_paths(self, paths: Sequence[str]) -> str:
        """The working-tree changes of PATHS (relative to the root; "" is all of it) against HEAD."""
        base = "HEAD" if self.has_head() else self._empty_tree()
        return self.text("diff", base, *DIFF_OPTIONS, "--", *_pathspecs(paths))

    def tracked(self, paths: Sequence[str]) -> set[str]:
        """Which files under PATHS (relative to the root) git tracks."""
        return self._ls("--cached", paths)

    def untracked(self, paths: Sequence[str]) -> list[str]:
        """Files under PATHS (relative to the root) that git does not track and does not ignore, sorted."""
        return sorted(self._ls("--others", paths, "--exclude-standard"))

    def _ls(self, which: str, paths: Sequence[str], *extra: str) -> set[str]:
        out = self.run("ls-files", "-z", which, *extra, "--full-name", "--", *_pathspecs(paths))
        return {p for p in out.decode("utf-8", errors="replace").split("\0") if p}

    def heads(self, paths: Sequence[str], where: str) -> dict[str, str]:
        """The first bytes of each of PATHS as text: from the index (WHERE ":"), a commit ("REV:") or the work tree ("")."""
        return {p: data.decode("utf-8", errors="replace") for p, data in self._read(paths, where, HEAD_BYTES, True).items()}

    def contents(self, paths: Sequence[str], where: str, max_bytes: int) -> dict[str, bytes]:
        """The whole bytes of each of PATHS, from WHERE as for `heads`; a file over MAX_BYTES (or missing) is left out."""
        return self._read(paths, where, max_bytes, False)

    def _read(self, paths: Sequence[str], where: str, limit: int, cut: bool) -> dict[str, bytes]:
        """PATHS' bytes from WHERE: the first LIMIT of each when CUT, else only the files of at most LIMIT bytes."""
        if not paths:
            return {}
        if not where:
            out = {}
            for p in paths:
                try:
                    with (self.root / p).open("rb") as fh:
                        data = fh.read(limit + 1)
                except OSError:
                    continue
                if cut or len(data) <= limit:
                    out[p] = data[:limit]
            return out
        specs = "".join(f"{where}{p}\n" for p in paths).encode()
        data = self.run("cat-file", "--batch", stdin=specs)
        return _parse_batch(data, list(paths), limit, cut)


def _pathspecs(paths: Sequence[str]) -> list[str]:
    """Root-relative paths as pathspecs that mean the same from any folder of the work tree."""
    return [f":(top,literal){p}" if p else ":(top)" for p in paths]


def _parse_batch(data: bytes, paths: list[str], limit: int, cut: bool) -> dict[str, bytes]:
    """`git cat-file --batch` output: per object "<oid> <type> <size>\\n<bytes>\\n", or "<spec> missing\\n".

    Each object's first LIMIT bytes when CUT, else only the objects of at most LIMIT bytes."""
    out: dict[str, bytes] = {}
    pos = 0
    for path in paths:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # missing or ambiguous
        size = int(header[2])
        if cut or size <= limit:
            out[path] = data[pos : pos + min(size, limit)]
        pos += size + 1
    return out
