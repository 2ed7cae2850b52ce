"""Content-addressed artifact files: written atomically under their SHA-256, verified on every read."""

# Crash safety. A file is copied to tmp/artifact-<pid>-*.part, fsynced, then renamed to
# sha256/<hash>; the database row that refers to it is committed afterwards by the caller. A process
# killed in between leaves either a .part file (removed at the next start-up when its pid is dead)
# or a complete file that no row names. To tell the second kind from a file a live process is about
# to record, every writer first appends the hash to its claims file, claims/<host>.<pid>: a file
# claimed by a dead process on this host and still unrecorded is an orphan at once; a file nobody
# claims (older releases, another host) is swept only once it is older than ORPHAN_GRACE_SECONDS.

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import IntegrityError, InvalidInputError, NotFoundError
from app.core.files import open_input

__all__ = ["ArtifactStore", "SweepResult", "sha256_file", "pid_alive", "ORPHAN_GRACE_SECONDS",
           "CLAIMS_EXPIRE_SECONDS"]

_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")
_HOST = socket.gethostname().replace(os.sep, "_")
# An unclaimed, unrecorded file younger than this may belong to a writer we cannot see (another
# host on a shared folder, an older release without claims files); ten minutes is far longer than
# any put-then-commit takes, short enough that a crash's leftovers go at the next day's start-up.
ORPHAN_GRACE_SECONDS = 600.0
# A claims file untouched this long is settled whatever its pid says (pids are reused, and on Windows
# they cannot be probed): nobody keeps a file a day between storing and recording it.
CLAIMS_EXPIRE_SECONDS = 86_400.0


def sha256_file(path: Path) -> tuple[str, int]:
    """Hash a file in chunks; returns (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _is_sha(name: str) -> bool:
    return len(name) == 64 and not set(name) - _HEX


@dataclass
class SweepResult:
    """What a sweep of sha256/ found: orphans removed (hash, why) and recorded hashes with no file."""

    removed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class ArtifactStore:
    """Files named by their content hash under `root/sha256/`; nothing is ever overwritten in place."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root / "sha256"
        self.claims = root / "claims"
        self.tmp = tmp

    def path_for(self, sha256: str) -> Path:
        if not _is_sha(sha256):
            raise InvalidInputError(f"'{sha256}' is not a SHA-256 artifact id.")
        return self.root / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy `source` in (hashing while copying); returns (sha256, size)."""
        with open_input(source) as src:
            return self._write(lambda out, digest: self._copy(src, out, digest))

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        def write(out, digest) -> int:
            digest.update(data)
            out.write(data)
            return len(data)

        return self._write(write)

    def read_verified(self, sha256: str) -> bytes:
        """The artifact's bytes, after checking they still hash to `sha256`."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"Artifact {sha256[:12]}… is missing from the workspace ({path}).",
                hint="Restore the workspace's artifacts folder from a backup.",
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise IntegrityError(
                f"Artifact {sha256[:12]}… was modified on disk (its content now hashes to "
                f"{actual[:12]}…); refusing to load it.",
                hint="Restore the file from a backup or register the model again.",
            )
        return data

    def _copy(self, src, out, digest) -> int:
        size = 0
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        return size

    def _write(self, fill) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f"artifact-{os.getpid()}-", suffix=".part", dir=self.tmp)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                size = fill(out, digest)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            self._claim(sha)  # before the file can be seen under its name: see the module comment
            final = self.root / sha
            try:
                # Same content already stored: touching it tells a concurrent sweep that it is in use.
                os.utime(final)
            except FileNotFoundError:
                os.replace(tmp_name, final)
                _fsync_dir(self.root)
            except OSError:
                os.unlink(tmp_name)  # stored, but not ours to touch
            else:
                os.unlink(tmp_name)
            return sha, size
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def _claim(self, sha: str) -> None:
        self.claims.mkdir(parents=True, exist_ok=True)
        # One short O_APPEND write per line: threads of one process cannot interleave inside a line.
        fd = os.open(self.claims / f"{_HOST}.{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{sha}\n".encode("ascii"))
        finally:
            os.close(fd)

    def export(self, sha256: str, dest: Path) -> None:
        """Copy a verified artifact out of the workspace."""
        dest.write_bytes(self.read_verified(sha256))

    def remove_tmp_leftovers(self) -> list[Path]:
        """Delete half-written temp files whose writing process is gone; returns what was removed.

        artifact-<pid>-*.part are artifact copies; output-<pid>-* are scoring outputs that
        app.services.batches stages here before storing them; swept-<pid>-<hash> are files a
        start-up sweep was judging when it died, which go back to sha256/ to be judged again.
        """
        removed: list[Path] = []
        if not self.tmp.is_dir():
            return removed
        for leftover in self.tmp.iterdir():
            kind, _, rest = leftover.name.partition("-")
            pid = rest.split("-", 1)[0]
            if kind not in ("artifact", "output", "swept") or not pid.isdigit() or pid_alive(pid):
                continue  # not ours, or another process is using it right now
            sha = rest.split("-", 1)[-1]
            try:
                if kind == "swept" and _is_sha(sha) and not (self.root / sha).exists():
                    os.replace(leftover, self.root / sha)
                else:
                    leftover.unlink()
                    removed.extend([leftover] if kind != "swept" else [])
            except OSError:
                pass
        return removed

    def sweep(self, referenced: Callable[[Collection[str] | None], set[str]], *,
              grace: float = ORPHAN_GRACE_SECONDS, full: bool = True) -> SweepResult:
        """Remove artifact files no database row records (see the module comment for which).

        `referenced(None)` returns every recorded hash; `referenced(hashes)` those of `hashes`
        recorded now. A candidate is first renamed into tmp/; it goes back if a writer touched it
        meanwhile (its mtime changed) or a row for it was committed meanwhile, so a concurrent
        put-then-commit never loses its file.
        """
        live, dead, dead_files = self._read_claims()
        if not full:
            # Quick pass (most start-ups): only what dead writers claimed; no listing of every file.
            seen = {sha: mtime for sha in dead if (mtime := _mtime(self.root / sha)) is not None}
            recorded = referenced(seen) if seen else set()
            result = SweepResult(missing=[])
        else:
            # Rows first, then the folder: a row committed before this read had its file stored before
            # its commit, so it is in the listing; reading the other way round, a file stored and
            # committed between the two reads would look recorded-but-missing.
            recorded = referenced(None)
            seen = _listing(self.root)
            result = SweepResult(missing=sorted(sha for sha in recorded - seen.keys()
                                                if not (self.root / sha).exists()))
        old = time.time_ns() - int(grace * 1e9)
        held: dict[str, tuple[Path, str]] = {}
        try:
            for sha, mtime in seen.items():
                if sha in recorded or sha in live:
                    continue
                why = dead.get(sha) or (f"recorded nowhere for over {grace / 60:g} minutes" if mtime < old else "")
                if why and self._hold(sha, mtime):
                    held[sha] = (self._held_path(sha), why)
            keep = referenced(held) if held else set()
        except BaseException:
            for sha in held:
                os.replace(self._held_path(sha), self.root / sha)
            raise
        for sha, (hold, why) in held.items():
            if sha in keep:  # a row for it was committed meanwhile
                os.replace(hold, self.root / sha)
            else:
                hold.unlink(missing_ok=True)
                result.removed.append((sha, why))
        for path in dead_files:
            path.unlink(missing_ok=True)
        return result

    def _held_path(self, sha: str) -> Path:
        return self.tmp / f"swept-{os.getpid()}-{sha}"

    def _hold(self, sha: str, mtime: int) -> bool:
        """Move a candidate out of sight; False (and nothing moved) if it is gone or a writer reused it."""
        hold = self._held_path(sha)
        try:
            os.rename(self.root / sha, hold)
        except FileNotFoundError:
            return False
        if hold.stat().st_mtime_ns != mtime:  # touched by a writer that stored the same content again
            os.replace(hold, self.root / sha)
            return False
        return True

    def _read_claims(self) -> tuple[set[str], dict[str, str], list[Path]]:
        """(hashes claimed by live writers, hash -> why for dead or expired claims, their files)."""
        live: set[str] = set()
        dead: dict[str, str] = {}
        dead_files: list[Path] = []
        if not self.claims.is_dir():
            return live, dead, dead_files
        expired = time.time() - CLAIMS_EXPIRE_SECONDS
        for path in self.claims.iterdir():
            host, _, pid = path.name.rpartition(".")
            try:
                shas = path.read_text(encoding="ascii", errors="replace").split()
                stale = path.stat().st_mtime < expired
            except OSError:
                continue
            if stale or host == _HOST and pid.isdigit() and not pid_alive(pid):
                why = (f"claimed over {CLAIMS_EXPIRE_SECONDS / 3600:g} hours ago and never recorded" if stale
                       else f"written by process {pid}, which stopped before recording it")
                dead.update((s, why) for s in shas)
                dead_files.append(path)
            elif host == _HOST:
                live.update(shas)
            # Another host's claims: its pids mean nothing here, so the age rule decides.
        return live, dead, dead_files  # a hash in both is skipped: a live claim wins


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _listing(folder: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for entry in os.scandir(folder) if folder.is_dir() else ():
        if _is_sha(entry.name):
            try:
                found[entry.name] = entry.stat(follow_symlinks=False).st_mtime_ns
            except FileNotFoundError:
                pass
    return found


def pid_alive(text: str | int) -> bool:
    """Whether process `text` on this host may still be writing (unknown counts as alive)."""
    try:
        pid = int(text)
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    if os.name != "posix":
        return True  # os.kill(pid, 0) is not a probe on Windows; keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:  # a killed child its parent has not waited for yet still answers kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
