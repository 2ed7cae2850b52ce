"""Content-addressed artifact files: written atomically under their SHA-256, verified on every read."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from app.core.errors import IntegrityError, InvalidInputError, NotFoundError
from app.core.files import open_input

__all__ = ["ArtifactStore", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """Hash a file in chunks; returns (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class ArtifactStore:
    """Files named by their content hash under `root/sha256/`; nothing is ever overwritten in place."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root / "sha256"
        self.tmp = tmp

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
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
            final = self.root / sha
            if final.exists():
                os.unlink(tmp_name)  # same content already stored
            else:
                os.replace(tmp_name, final)
                _fsync_dir(self.root)
            return sha, size
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def export(self, sha256: str, dest: Path) -> None:
        """Copy a verified artifact out of the workspace."""
        data = self.read_verified(sha256)
        dest.write_bytes(data)

    def remove_tmp_leftovers(self) -> list[Path]:
        """Delete half-written temp files whose writing process is gone; returns what was removed."""
        removed: list[Path] = []
        if self.tmp.is_dir():
            for leftover in self.tmp.glob("artifact-*.part"):
                if _pid_alive(leftover.name.split("-")[1]):
                    continue  # another process is writing it right now
                try:
                    leftover.unlink()
                    removed.append(leftover)
                except OSError:
                    pass
        return removed


def _pid_alive(text: str) -> bool:
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
    return True


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

