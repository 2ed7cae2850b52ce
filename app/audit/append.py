"""Append an event to the hash chain inside the caller's write transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.chain import GENESIS, canonical_details, clean_field, event_hash, payload_hash
from app.core.identity import current_actor
from app.core.timeutil import to_iso, utcnow
from app.store.orm import SqlAuditEvent

__all__ = ["append_event"]

# Lives below app.services (re-exported by app.services.audit) so that app.workers, which sits
# between services and the domain, can write job events in the same transaction as the change.


def append_event(
    session: Session,
    action: str,
    obj: str,
    *,
    model: str | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> int:
    """Add the next event to the chain in `session`'s transaction; returns its sequence number.

    The caller's transaction holds the write lock (BEGIN IMMEDIATE), so reading the head and
    appending cannot interleave with another writer.
    """
    head = session.execute(
        select(SqlAuditEvent.seq, SqlAuditEvent.hash).order_by(SqlAuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at_text = to_iso(at or utcnow())
    actor = clean_field(actor or current_actor())
    action, obj = clean_field(action), clean_field(obj)
    model = clean_field(model) if model is not None else None
    text = canonical_details(details or {})
    payload = payload_hash(text)
    session.add(
        SqlAuditEvent(
            seq=seq, at=at_text, actor=actor, action=action, object=obj, model=model,
            details=text, payload_sha256=payload, prev_hash=prev,
            hash=event_hash(seq, at_text, actor, action, obj, model, payload, prev),
        )
    )
    session.flush()
    return seq
