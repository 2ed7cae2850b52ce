"""Append audit events inside a caller's transaction; list, filter and verify the log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from app.audit.append import append_event
from app.audit.chain import verify_rows
from app.core.entities import AuditEvent, VerifyResult
from app.core.timeutil import to_iso
from app.store.orm import SqlAuditEvent
from app.store.workspace import Workspace

__all__ = [
    "AuditFilter",
    "append_event",
    "list_events",
    "count_events",
    "distinct_values",
    "event_position",
    "verify_log",
]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    model: str | None = None
    action: str | None = None  # exact action, or a prefix ending in "." (e.g. "version.")
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # substring of object or details

    def apply(self, query):
        t = SqlAuditEvent
        if self.model:
            query = query.where(t.model == self.model)
        if self.action:
            if self.action.endswith("."):  # a range, not LIKE: LIKE ignores case and so skips the index
                query = query.where(t.action >= self.action, t.action < self.action[:-1] + "/")
            else:
                query = query.where(t.action == self.action)
        if self.actor:
            query = query.where(t.actor == self.actor)
        if self.since:
            query = query.where(t.at >= to_iso(self.since))
        if self.until:
            query = query.where(t.at <= to_iso(self.until))
        if self.text and len(self.text) >= 3:
            # The trigram index (migration 0006) finds substrings of 3+ characters, ignoring case as
            # LIKE does, without reading every event.
            phrase = '"' + self.text.replace('"', '""') + '"'
            query = query.where(t.seq.in_(sql_text("SELECT rowid FROM audit_fts WHERE audit_fts MATCH :phrase")
                                          .bindparams(phrase=phrase)))
        elif self.text:
            # autoescape: a "%" or "_" typed by a person is searched for, not a wildcard
            query = query.where(
                t.object.contains(self.text, autoescape=True) | t.details.contains(self.text, autoescape=True)
            )
        return query


def _to_entity(row: SqlAuditEvent) -> AuditEvent:
    return AuditEvent(
        seq=row.seq, at=row.at, actor=row.actor, action=row.action, object=row.object,
        model=row.model, details=json.loads(row.details), payload_sha256=row.payload_sha256,
        prev_hash=row.prev_hash, hash=row.hash,
    )


def list_events(
    ws: Workspace,
    filt: AuditFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = True,
) -> list[AuditEvent]:
    """Events matching `filt`, newest first by default; `limit`/`offset` page through big logs."""
    filt = filt or AuditFilter()
    query = filt.apply(select(SqlAuditEvent))
    query = query.order_by(SqlAuditEvent.seq.desc() if newest_first else SqlAuditEvent.seq)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with ws.db.read() as session:
        if filt.since or filt.until:
            # Ordered by seq but filtered by time, SQLite either walks the whole table or sorts every
            # event in the period (1.8 s for a wide period of a 1M log). The seq range of the period,
            # read from the `at` index, lets it walk just that stretch of the primary key instead.
            # The range holds every event of the period whatever order the clocks wrote them in.
            period = AuditFilter(since=filt.since, until=filt.until)
            low, high = session.execute(
                period.apply(select(func.min(SqlAuditEvent.seq), func.max(SqlAuditEvent.seq)))
            ).one()
            if low is None:
                return []
            query = query.where(SqlAuditEvent.seq.between(low, high))
        return [_to_entity(r) for r in session.scalars(query)]


def count_events(ws: Workspace, filt: AuditFilter | None = None) -> int:
    query = (filt or AuditFilter()).apply(select(func.count()).select_from(SqlAuditEvent))
    with ws.db.read() as session:
        return session.execute(query).scalar_one()


def event_position(ws: Workspace, seq: int, filt: AuditFilter | None = None) -> int:
    """Row at which event `seq` is (or would be) in the newest-first listing of `filt`:
    the number of matching events newer than it. Lets a viewer jump to an event in a huge log."""
    query = (filt or AuditFilter()).apply(select(func.count()).select_from(SqlAuditEvent))
    with ws.db.read() as session:
        return session.execute(query.where(SqlAuditEvent.seq > seq)).scalar_one()


def distinct_values(ws: Workspace, column: str) -> list[str]:
    """Distinct actors, actions or models, for filter choosers."""
    col = {"actor": SqlAuditEvent.actor, "action": SqlAuditEvent.action, "model": SqlAuditEvent.model}[column]
    with ws.db.read() as session:
        return sorted(v for v in session.scalars(select(col).distinct()) if v)


# Below this many events one process is quicker than starting others (each costs ~0.2 s to spawn).
PARALLEL_VERIFY_MIN_EVENTS = 400_000


def verify_log(ws: Workspace, *, processes: int | None = None) -> VerifyResult:
    """Recompute the whole chain from the stored rows (raw DBAPI cursor: ORM objects cost 10×).

    A big SQLite log is split into seq ranges checked in parallel processes (hashing and row
    decoding hold the GIL, so threads would not help); the verdict is the same as one pass.
    """
    import os

    processes = processes or os.cpu_count() or 1
    if processes > 1 and ws.db.url.startswith("sqlite:///"):
        with ws.db.read() as session:
            last = session.execute(select(func.max(SqlAuditEvent.seq))).scalar() or 0
        if last >= PARALLEL_VERIFY_MIN_EVENTS:
            try:
                return _verify_parallel(ws.db.url.removeprefix("sqlite:///"), last, processes)
            except Exception:  # no child processes here (e.g. an embedded interpreter): one pass instead
                pass
    return _verify_serial(ws)


def _verify_parallel(db_path: str, last: int, processes: int) -> VerifyResult:
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    from app.audit.parallel import merge_results, split_ranges, verify_range

    start = time.perf_counter()
    ranges = split_ranges(1, last, processes)
    with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(verify_range, db_path, lo, hi, i == len(ranges) - 1)
                   for i, (lo, hi) in enumerate(ranges)]
        results = [f.result() for f in futures]
    return merge_results(results, time.perf_counter() - start)


def _verify_serial(ws: Workspace) -> VerifyResult:
    raw = ws.db.engine.raw_connection()
    dbapi = raw.driver_connection
    # sqlite3 can hand back text as the stored UTF-8 bytes: no decode + re-encode of ten fields per
    # event (about 1.4× faster at 1M events), and undecodable text is reported instead of raised.
    text_factory = getattr(dbapi, "text_factory", None)
    try:
        if text_factory is not None:
            dbapi.text_factory = bytes
        cur = dbapi.cursor()
        cur.execute(
            "SELECT seq, at, actor, action, object, model, details, payload_sha256, prev_hash, hash "
            "FROM audit_events ORDER BY seq"
        )
        # Iterating the cursor itself streams rows without building batch lists (faster than fetchmany).
        return verify_rows(cur, utf8_bytes=text_factory is not None)
    finally:
        if text_factory is not None:
            dbapi.text_factory = text_factory  # the pooled connection goes back as SQLAlchemy expects it
        raw.close()
