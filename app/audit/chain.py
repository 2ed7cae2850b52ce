"""Hash chain over audit events: how one event is hashed, and how a whole log is verified."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from hashlib import sha256
from typing import Any

from app.core.entities import VerifyResult

__all__ = [
    "GENESIS",
    "canonical_details",
    "clean_field",
    "event_hash",
    "payload_hash",
    "verify_rows",
]

GENESIS = "0" * 64
_DOMAIN = "model-steward/audit/v1"
_SEP = "\x1f"  # unit separator: removed from every text field, so joining is unambiguous
_DOMAIN_B, _SEP_B = _DOMAIN.encode(), _SEP.encode()


def clean_field(value: str | None) -> str:
    """Text fields may not carry control characters (they would make the encoding ambiguous)."""
    if value is None:
        return ""
    return "".join(ch if ch >= " " else " " for ch in value)


def canonical_details(details: dict[str, Any]) -> str:
    """Details as canonical JSON: sorted keys, no spaces, UTF-8 kept; this exact text is stored."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def payload_hash(details_text: str) -> str:
    return sha256(details_text.encode("utf-8")).hexdigest()


def event_hash(
    seq: int, at: str, actor: str, action: str, obj: str, model: str | None, payload: str, prev: str
) -> str:
    """SHA-256 over the event's fields and the previous event's hash."""
    text = _SEP.join((_DOMAIN, str(seq), at, actor, action, obj, model or "", payload, prev))
    return sha256(text.encode("utf-8")).hexdigest()


def verify_rows(
    rows: Iterable[tuple], *, utf8_bytes: bool = False, first_seq: int = 1, prev_hash: str = GENESIS
) -> VerifyResult:
    """Check rows `(seq, at, actor, action, object, model, details, payload_sha256, prev_hash, hash)`
    given in ascending seq order. Names the first event that does not fit the chain.

    `first_seq` / `prev_hash` start the check part-way along the chain (after a checkpoint, or
    for one segment of a log verified in pieces); `events` then counts the rows checked here.

    `utf8_bytes=True` says every text field already comes as UTF-8 bytes (a SQLite cursor with
    text_factory=bytes): that skips decoding and re-encoding each field, the hot path of a large
    verify. A field holding something else (NULL, a number, bytes that are not the hashed text)
    is reported as a broken event, never raised.
    """
    start = time.perf_counter()
    if not utf8_bytes:
        rows = map(_as_bytes, rows)
    expected_seq = first_seq
    prev = prev_hash.encode("ascii")
    _sha = sha256
    _join = _SEP_B.join
    domain = _DOMAIN_B
    problem: str | None = None
    where = 0
    try:
        for seq, at, actor, action, obj, model, details, payload, link, stored in rows:
            if seq != expected_seq:
                where = expected_seq
                if isinstance(seq, int) and seq > expected_seq:
                    gap = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}–#{seq - 1}"
                    problem = f"event {gap} is missing (deleted from the log)."
                else:
                    problem = f"sequence number {seq} appears out of order (expected {expected_seq})."
                break
            where = seq
            if link != prev:
                problem = ("its previous-hash link does not match the event before it "
                           "(an event was inserted, removed or reordered here).")
                break
            if _sha(details).hexdigest().encode() != payload:
                problem = "its details were modified after it was written."
                break
            if _sha(_join((domain, b"%d" % seq, at, actor, action, obj, model or b"", payload, prev))
                    ).hexdigest().encode() != stored:
                problem = "its time, actor, action or object was modified after it was written."
                break
            prev = stored
            expected_seq += 1
    except TypeError:  # a NULL or non-text value where text was hashed
        problem = "one of its fields holds a value of the wrong type (it was modified after it was written)."
    seconds = time.perf_counter() - start
    if problem is not None:
        return VerifyResult(ok=False, events=expected_seq - first_seq, first_bad_seq=where,
                            problem=problem, seconds=seconds)
    return VerifyResult(ok=True, events=expected_seq - first_seq, head_hash=prev.decode("ascii"), seconds=seconds)


def _as_bytes(row: tuple) -> tuple:
    """A row of str fields as the UTF-8 bytes the hashes were computed over (ints and None kept)."""
    return tuple(v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v for v in row)
