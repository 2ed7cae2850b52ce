"""Take signed checkpoints of the audit log and check later logs against earlier checkpoints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from app.audit.checkpoint import Checkpoint, WorkspaceKey, load_key, load_or_create_key, make_checkpoint, signature_ok
from app.audit.merkle import consistency_proof, root_of_leaves
from app.core.errors import InvalidInputError
from app.core.files import read_json_file
from app.core.timeutil import to_iso, utcnow
from app.store.workspace import Workspace

__all__ = ["Leaves", "read_leaves", "workspace_key", "take_checkpoint", "CheckpointCheck", "check_checkpoint",
           "load_checkpoint_file", "previous_report_checkpoint", "proof_between"]


@dataclass(slots=True)
class Leaves:
    hashes: list[bytes]  # the events' chain hashes, in seq order
    head_hash: str
    log_id: str
    _leaf_hashes: list[bytes] | None = None

    @property
    def leaf_hashes(self) -> list[bytes]:
        """RFC 6962 leaf hashes, computed once however many roots and proofs are asked of them."""
        if self._leaf_hashes is None:
            from app.audit.merkle import leaf_hash

            self._leaf_hashes = [leaf_hash(h) for h in self.hashes]
        return self._leaf_hashes


def read_leaves(ws: Workspace, upto: int | None = None) -> Leaves:
    """The chain hashes of the first `upto` events (all of them by default), read in one snapshot."""
    raw = ws.db.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        sql = "SELECT hash FROM audit_events ORDER BY seq"
        rows = cur.execute(sql + " LIMIT ?", (upto,)).fetchall() if upto is not None else cur.execute(sql).fetchall()
    finally:
        raw.close()
    hashes = [bytes.fromhex(h) for (h,) in rows]
    return Leaves(hashes, rows[-1][0] if rows else "", rows[0][0] if rows else "")


def workspace_key(ws: Workspace) -> WorkspaceKey:
    return load_or_create_key(ws.paths.keys)


def take_checkpoint(ws: Workspace, leaves: Leaves | None = None, key: WorkspaceKey | None = None) -> Checkpoint:
    """Sign (count, Merkle root) of the log as it is now."""
    leaves = leaves or read_leaves(ws)
    return make_checkpoint(key or workspace_key(ws), len(leaves.hashes), root_of_leaves(leaves.leaf_hashes),
                           leaves.head_hash, leaves.log_id, to_iso(utcnow()))


def proof_between(old_size: int, leaves: Leaves) -> list[str]:
    """RFC 6962 consistency proof from the log's first `old_size` events to all of `leaves`."""
    return [p.hex() for p in consistency_proof(leaves.leaf_hashes, old_size)]


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    ok: bool
    status: str  # extends | same | truncated | rewritten | other_log | bad_signature
    message: str
    checkpoint_events: int
    log_events: int
    same_key: bool  # signed by this workspace's key

    def to_dict(self) -> dict:
        return asdict(self)


def check_checkpoint(ws: Workspace, cp: Checkpoint, leaves: Leaves | None = None) -> CheckpointCheck:
    """Does today's log still begin with exactly the events `cp` vouched for?"""
    leaves = leaves or read_leaves(ws)
    n = len(leaves.hashes)
    key = load_key(ws.paths.keys)  # a check must not make a key a workspace never had
    same_key = key is not None and cp.key_fingerprint == key.fingerprint

    def result(ok: bool, status: str, message: str) -> CheckpointCheck:
        return CheckpointCheck(ok, status, message, cp.events, n, same_key)

    if not signature_ok(cp):
        return result(False, "bad_signature", "The checkpoint's signature does not match its contents: it was "
                      "altered after signing, or was never signed by the key it names.")
    if cp.events and leaves.log_id and cp.log_id != leaves.log_id:
        return result(False, "other_log", "The checkpoint belongs to a different log (its first event differs): "
                      "this workspace's log was rebuilt from the start, or the checkpoint is from another workspace.")
    if cp.events > n:
        return result(False, "truncated", f"The checkpoint vouches for {cp.events:,} events but the log now holds "
                      f"{n:,}: the newest {cp.events - n:,} event(s) were deleted.")
    root = root_of_leaves(leaves.leaf_hashes[:cp.events])
    if root.hex() != cp.root:
        return result(False, "rewritten", f"The log's first {cp.events:,} events no longer have the checkpoint's "
                      "Merkle root: events the checkpoint covered were changed, removed or reordered.")
    signer = "this workspace's key" if same_key else f"another key ({cp.key_fingerprint[:19]}…)"
    if cp.events == n:
        return result(True, "same", f"The log is exactly the {n:,} events of the checkpoint (signed by {signer}).")
    return result(True, "extends", f"The log extends the checkpoint: its first {cp.events:,} events are unchanged "
                  f"and {n - cp.events:,} event(s) were added since (signed by {signer}).")


_TEXT_FIELDS = ("root", "head_hash", "log_id", "at", "key_fingerprint", "public_key", "signature")


def load_checkpoint_file(path: Path) -> Checkpoint:
    """A checkpoint from a file: a checkpoint JSON, or a report JSON (its own checkpoint is used)."""
    path = Path(path)
    data = read_json_file(path, what="a JSON checkpoint", hint="Give a report's .json file, or a checkpoint copied from a report.")
    if isinstance(data, dict) and isinstance(data.get("integrity"), dict):
        data = data["integrity"].get("checkpoint")
    elif isinstance(data, dict) and isinstance(data.get("checkpoint"), dict):
        data = data["checkpoint"]
    try:
        if not isinstance(data, dict):
            raise ValueError("no checkpoint object in it")
        checkpoint = Checkpoint.from_dict(data)
        wrong = [f for f in _TEXT_FIELDS if not isinstance(data[f], str)]
        if wrong:  # signature checks would fail on these with a TypeError
            raise ValueError(f"{', '.join(wrong)} must be text")
        return checkpoint
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"'{path.name}' holds no usable checkpoint: {exc}.",
                                hint="Give a report's .json file, or a checkpoint copied from a report.") from None


def previous_report_checkpoint(ws: Workspace) -> tuple[str | None, Checkpoint | None]:
    """The checkpoint carried by the last report exported from this workspace (and that report's id)."""
    raw = ws.db.engine.raw_connection()
    try:
        row = raw.driver_connection.cursor().execute(
            "SELECT details FROM audit_events WHERE action = 'report.exported' ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        raw.close()
    if row is None:
        return None, None
    details = json.loads(row[0])
    try:
        return details.get("report_id"), Checkpoint.from_dict(details["checkpoint"])
    except (KeyError, ValueError, TypeError):
        return details.get("report_id"), None
