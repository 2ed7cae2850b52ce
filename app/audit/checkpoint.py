"""Signed checkpoints of the audit log: (event count, Merkle root) signed with the workspace's Ed25519 key.

The key lives in the workspace's `keys/` folder, never in the database, so a log rebuilt inside
the database cannot produce a checkpoint that matches one already handed out in a report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "WorkspaceKey", "load_or_create_key", "fingerprint_of", "make_checkpoint",
           "signature_ok", "canonical_json", "verify_bytes", "CHECKPOINT_FORMAT", "load_key"]

CHECKPOINT_FORMAT = "model-steward/checkpoint/1"
KEY_FILE = "checkpoint-ed25519.pem"


def canonical_json(value: Any) -> bytes:
    """The one byte form that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def fingerprint_of(public_raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, hex, in groups of four for reading aloud."""
    digest = hashlib.sha256(public_raw).hexdigest()
    return ":".join(digest[i:i + 4] for i in range(0, 64, 4))


@dataclass(frozen=True, slots=True)
class WorkspaceKey:
    private: Any  # cryptography Ed25519PrivateKey
    public_raw: bytes
    path: Path

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def load_key(keys_dir: Path) -> WorkspaceKey | None:
    """The workspace's signing key, or None if none was made yet (checking never makes one)."""
    from cryptography.hazmat.primitives import serialization

    path = Path(keys_dir) / KEY_FILE
    if not path.exists():
        return None
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return WorkspaceKey(private, public_raw, path)


def load_or_create_key(keys_dir: Path) -> WorkspaceKey:
    """The workspace's signing key; made on first use (PKCS#8 PEM, readable by its owner only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(keys_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # first writer wins; a racing process then loads the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return load_key(keys_dir)


def verify_bytes(public_b64: str, signature_b64: str, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        public.verify(base64.b64decode(signature_b64, validate=True), data)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The log's first `events` events summarised by their Merkle root, and who vouches for it."""

    events: int
    root: str  # hex RFC 6962 tree hash over the events' chain hashes
    head_hash: str  # chain hash of event `events` ("" for an empty log)
    log_id: str  # chain hash of event 1: names the log a checkpoint belongs to
    at: str  # ISO-8601 UTC
    key_fingerprint: str
    public_key: str  # base64 raw Ed25519 public key
    signature: str  # base64 Ed25519 signature over statement()
    format: str = CHECKPOINT_FORMAT

    def statement(self) -> bytes:
        return canonical_json({"format": self.format, "events": self.events, "root": self.root,
                               "head_hash": self.head_hash, "log_id": self.log_id, "at": self.at})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        fields = ("events", "root", "head_hash", "log_id", "at", "key_fingerprint", "public_key", "signature")
        missing = [f for f in fields if f not in data]
        if missing:
            raise ValueError(f"not a checkpoint: missing {', '.join(missing)}")
        if not isinstance(data["events"], int) or data["events"] < 0:
            raise ValueError("not a checkpoint: 'events' must be a whole number")
        return cls(**{f: data[f] for f in fields}, format=data.get("format", CHECKPOINT_FORMAT))


def make_checkpoint(key: WorkspaceKey, events: int, root: bytes, head_hash: str, log_id: str, at: str) -> Checkpoint:
    unsigned = Checkpoint(events=events, root=root.hex(), head_hash=head_hash, log_id=log_id, at=at,
                          key_fingerprint=key.fingerprint, public_key=key.public_b64, signature="")
    return Checkpoint(**{**unsigned.to_dict(), "signature": key.sign(unsigned.statement())})


def signature_ok(cp: Checkpoint) -> bool:
    """The signature is valid for the key it names, and the fingerprint is that key's."""
    try:
        raw = base64.b64decode(cp.public_key, validate=True)
    except ValueError:
        return False
    return fingerprint_of(raw) == cp.key_fingerprint and verify_bytes(cp.public_key, cp.signature, cp.statement())
