"""The model store: get the exact model bytes, verify them, never use bad ones.

Getting a model: already in the store -> offline mirror packages if installed
-> Hugging Face download at the pinned revision. Every path ends in a sha256
check and an atomic rename; a user's own GGUF path is used in place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from coder_cli import gguf
from coder_cli import manifest as manifests
from coder_cli.environment import pid_alive
from coder_cli.errors import ModelError
from coder_cli.manifest import Manifest

CHUNK = 8 << 20
TMP_PREFIX = ".tmp-"


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class ResolvedModel:
    path: Path
    manifest: Manifest | None  # None for a user's own file
    source: str  # "store", "mirror", "huggingface", "path"

    @property
    def name(self) -> str:
        return self.manifest.id if self.manifest else self.path.name


@dataclass(frozen=True)
class ModelStatus:
    manifest: Manifest
    installed: bool
    verified: bool | None  # None: never hashed, or changed since
    size: int
    mirror_installed: bool

    @property
    def source(self) -> str:
        if self.manifest.mirror is None:
            return "huggingface"
        extra = self.manifest.mirror.extra
        return f"mirror ({'installed' if self.mirror_installed else f'pip extra [{extra}]'})"


def looks_like_path(name: str) -> bool:
    """Whether the model NAME is a file: a .gguf name, a name with a folder in it, or an existing file
    that is not a model's id or alias (a file named `default` in a cloned repository is not the model)."""
    if name.endswith(".gguf") or os.sep in name or "/" in name:
        return True
    return manifests.find(name) is None and Path(name).is_file()


class Store:
    def __init__(self, home: Path, disk_usage=shutil.disk_usage, environ=None) -> None:
        self.home = home
        self.environ = os.environ if environ is None else environ
        self.dir = home / "models"
        self._disk_usage = disk_usage

    # -- paths ---------------------------------------------------------------------------
    def path_of(self, m: Manifest) -> Path:
        return self.dir / m.file

    def _marker(self, m: Manifest) -> Path:
        return self.dir / f".{m.file}.verified.json"

    @contextlib.contextmanager
    def _lock(self, m: Manifest) -> Iterator[None]:
        """An exclusive lock per model file, so concurrent pulls do the work once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / f".{m.file}.lock", "a+b") as fh:
            try:
                import fcntl
            except ImportError:  # Windows: no cross-process lock, temp names still differ
                yield
                return
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, name: str) -> Manifest:
        m = manifests.find(name)
        if m is None:
            close = manifests.close_matches(name)
            hint = f"did you mean {', '.join(close)}?" if close else "see `coder models list`"
            raise ModelError(f"unknown model {name!r}", hint + " (or pass a path to a .gguf file)")
        return m

    def verified(self, m: Manifest) -> bool | None:
        """True when the store file matches its sha256 record (size and mtime unchanged)."""
        path = self.path_of(m)
        try:
            st = path.stat()
            record = json.loads(self._marker(m).read_text())
        except (OSError, ValueError):
            return None
        if record.get("sha256") != m.sha256:
            return False
        if record.get("size") != st.st_size or record.get("mtime_ns") != st.st_mtime_ns:
            return None
        return True

    def _write_marker(self, m: Manifest, source: str) -> None:
        st = self.path_of(m).stat()
        record = {
            "sha256": m.sha256,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "source": source,
            "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = self._marker(m).with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._marker(m))

    def mirror_parts(self, m: Manifest) -> list[Path] | None:
        """The installed mirror part files in order, or None when the mirror is absent."""
        if m.mirror is None:
            return None
        paths = []
        for part in m.mirror.parts:
            module = part.path.split("/", 1)[0]
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError):
                return None
            if spec is None or not spec.submodule_search_locations:
                return None
            base = Path(next(iter(spec.submodule_search_locations))).parent
            path = base / part.path
            if not path.is_file():
                return None
            paths.append(path)
        return paths

    def status(self, m: Manifest) -> ModelStatus:
        path = self.path_of(m)
        installed = path.is_file()
        return ModelStatus(
            manifest=m,
            installed=installed,
            verified=self.verified(m) if installed else None,
            size=path.stat().st_size if installed else m.bytes,
            mirror_installed=self.mirror_parts(m) is not None,
        )

    # -- resolve -------------------------------------------------------------------------
    def resolve(self, name: str, progress: Progress | None = None, auto_pull: bool = True) -> ResolvedModel:
        """A usable model file for NAME (id, alias or path); installs from the mirror if needed."""
        if looks_like_path(name):
            path = Path(name).expanduser()
            gguf.read_info(path)  # full header check: not GGUF, truncated, ...
            return ResolvedModel(path.resolve(), None, "path")
        m = self.lookup(name)
        path = self.path_of(m)
        state = self.verified(m) if path.is_file() else None
        if state is True:
            gguf.quick_check(path)
            return ResolvedModel(path, m, "store")
        if path.is_file():
            # Present but never verified here (or changed since): hash it once.
            if self.verify(m, progress) is True:
                return ResolvedModel(path, m, "store")
            raise ModelError(
                f"{path} does not match the sha256 of {m.id}",
                f"remove it and fetch it again: coder models rm {m.id} && coder models pull {m.id}",
            )
        if not auto_pull or self.mirror_parts(m) is None:
            raise self._not_installed(m)
        source = self.pull(m, progress)
        return ResolvedModel(path, m, source)

    def _not_installed(self, m: Manifest) -> ModelError:
        if m.mirror is not None:
            hint = (
                f"install its offline mirror with `pip install 'coder-cli[{m.mirror.extra}]'`, "
                f"or download it with `coder models pull {m.id}`"
            )
        else:
            hint = f"download it with `coder models pull {m.id}` ({human_size(m.bytes)})"
        return ModelError(f"model {m.id} is not installed", hint)

    # -- pull ------------------------------------------------------------------------------
    def pull(self, m: Manifest, progress: Progress | None = None, force: bool = False) -> str:
        """Install M into the store; returns where it came from ("store" if already there)."""
        progress = progress or NoProgress()
        with self._lock(m):
            path = self.path_of(m)
            if path.is_file() and not force:
                if self.verified(m) is True or self.verify(m, progress) is True:
                    return "store"
                raise ModelError(
                    f"{path} does not match the sha256 of {m.id}",
                    f"run `coder models pull --force {m.id}` to replace it",
                )
            self._clean_stale()
            parts = self.mirror_parts(m)
            if parts is not None:
                self._assemble(m, parts, progress)
                source = "mirror"
            else:
                self._download(m, progress)
                source = "huggingface"
            self._write_marker(m, source)
            return source

    def _clean_stale(self) -> None:
        """Remove temp files left by killed pulls whose process is gone."""
        for tmp in self.dir.glob(f"{TMP_PREFIX}*"):
            pid = tmp.name.rsplit(".", 2)[-2] if tmp.name.count(".") >= 2 else ""
            if pid.isdigit() and pid_alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _check_space(self, need: int) -> None:
        free = self._disk_usage(self.dir).free
        if free < need + (64 << 20):
            raise ModelError(
                f"not enough disk space in {self.dir}: {human_size(need)} needed, {human_size(free)} free",
                "free some space, or set CODER_HOME to a folder on a larger disk",
            )

    def _assemble(self, m: Manifest, parts: list[Path], progress: Progress) -> None:
        """Concatenate the mirror's parts into the store, hashing as it streams."""
        assert m.mirror is not None
        for part in m.mirror.parts:
            try:
                got = importlib.metadata.version(part.package)
            except importlib.metadata.PackageNotFoundError:
                got = None
            if got is not None and got != m.mirror.version:
                raise ModelError(
                    f"mirror package {part.package} is version {got}, {m.id} needs {m.mirror.version}",
                    f"pip install 'coder-cli[{m.mirror.extra}]' to install the right parts",
                )
        total = sum(p.stat().st_size for p in parts)
        if m.bytes_exact and total != m.bytes:
            raise ModelError(
                f"the mirror parts of {m.id} add up to {total:,} bytes, not {m.bytes:,}",
                f"reinstall them: pip install --force-reinstall 'coder-cli[{m.mirror.extra}]'",
            )
        self._check_space(total)
        tmp = self.dir / f"{TMP_PREFIX}{m.file}.{os.getpid()}.part"
        digest = hashlib.sha256()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        progress.start(f"assembling {m.file} from the offline mirror", total)
        try:
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(part, "rb", buffering=0) as src:
                        while n := src.readinto(buf):
                            digest.update(view[:n])
                            out.write(view[:n])
                            progress.advance(n)
                out.flush()
                os.fsync(out.fileno())
            progress.finish()
            self._finish(m, tmp, digest.hexdigest(), "mirror")
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.errno == errno.ENOSPC:
                raise ModelError(f"disk full while writing {m.file}", "free some space or set CODER_HOME") from None
            raise ModelError(f"cannot write {tmp}: {exc.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _finish(self, m: Manifest, tmp: Path, sha: str, source: str) -> None:
        if sha != m.sha256:
            tmp.unlink()
            raise ModelError(
                f"sha256 mismatch for {m.file} from the {source}: got {sha[:16]}…, expected {m.sha256[:16]}…",
                "the file was not installed; reinstall the source packages or try again",
            )
        os.replace(tmp, self.path_of(m))
        _fsync_dir(self.dir)

    def _download(self, m: Manifest, progress: Progress) -> None:
        """Download from Hugging Face at the pinned revision (resumable)."""
        self._check_space(m.bytes)
        reason = self._offline_reason()
        if reason:
            raise ModelError(f"cannot download {m.file}: {reason}", self._no_network_hint(m))
        try:
            import huggingface_hub
            from huggingface_hub import errors as hf_errors
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelError(f"huggingface_hub is not importable: {exc}") from None
        staging = self.dir / ".download"
        no_network = (OSError, hf_errors.LocalEntryNotFoundError, hf_errors.HfHubHTTPError)
        try:
            got = huggingface_hub.hf_hub_download(repo_id=m.hf_repo, filename=m.file, revision=m.hf_revision, local_dir=staging)
        except no_network as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"cannot download {m.file} from Hugging Face ({m.hf_repo}): {first}", self._no_network_hint(m)
            ) from None
        got_path = Path(got)
        tmp = self.dir / f"{TMP_PREFIX}{m.file}.{os.getpid()}.part"
        os.replace(got_path, tmp)
        sha = hash_file(tmp, progress, f"verifying {m.file}")
        self._finish(m, tmp, sha, "download")

    def _offline_reason(self) -> str | None:
        """Why a download cannot work right now, found in milliseconds rather than after retries."""
        if self.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
            return "HF_HUB_OFFLINE is set"
        import socket
        from urllib.parse import urlparse

        host = urlparse(self.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError:
            return f"no network ({host} cannot be resolved)"
        return None

    @staticmethod
    def _no_network_hint(m: Manifest) -> str:
        if m.mirror is not None:
            return f"install the offline mirror, then pull again: pip install 'coder-cli[{m.mirror.extra}]'"
        return (
            f"connect to the internet and run `coder models pull {m.id}`, "
            "or copy the GGUF file here and pass it with --model path/to/file.gguf"
        )

    # -- verify / rm -------------------------------------------------------------------
    def verify(self, m: Manifest, progress: Progress | None = None) -> bool | None:
        """Re-hash the store file. None when not installed."""
        path = self.path_of(m)
        if not path.is_file():
            return None
        ok = hash_file(path, progress or NoProgress(), f"verifying {m.file}") == m.sha256
        if ok:
            self._write_marker(m, "verify")
        else:
            with contextlib.suppress(OSError):
                self._marker(m).unlink()
        return ok

    def rm(self, m: Manifest) -> bool:
        """Delete the store copy of M (never anything outside the store)."""
        removed = False
        for path in (self.path_of(m), self._marker(m)):
            if path.is_file() and path.parent.resolve() == self.dir.resolve():
                path.unlink()
                removed = removed or path.suffix == ".gguf"
        return removed


def hash_file(path: Path, progress: Progress, label: str) -> str:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    progress.start(label, path.stat().st_size)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
            progress.advance(n)
    progress.finish()
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
