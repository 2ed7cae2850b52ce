"""Write the events matching an AuditFilter to a CSV file (runs in a worker thread; no Qt)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.services.audit import AuditFilter, count_events, list_events
from app.ui.audit_model import local_time, summarize

if TYPE_CHECKING:
    from app.store.workspace import Workspace

__all__ = ["CSV_HEADER", "write_events_csv"]

CSV_HEADER = ("seq", "time_utc", "time_local", "actor", "action", "object", "model", "summary",
              "details_json", "payload_sha256", "prev_hash", "hash")
_CHUNK = 5_000


def write_events_csv(
    ws: Workspace, filt: AuditFilter, path: Path, progress: Callable[[float, str], None] | None = None
) -> int:
    """Write matching events oldest first (so events appended meanwhile cannot shift the pages);
    the canonical time, details and hashes are kept so that a reader can re-check the chain.
    The file appears only when complete. Returns the number of events written."""
    path = Path(path)
    total = max(count_events(ws, filt), 1)
    part = path.with_name(path.name + ".part")
    written = 0
    try:
        with part.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(CSV_HEADER)
            while chunk := list_events(ws, filt, limit=_CHUNK, offset=written, newest_first=False):
                out.writerows(
                    (e.seq, e.at, local_time(e.at), e.actor, e.action, e.object, e.model or "",
                     summarize(e.action, e.details),
                     json.dumps(e.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                     e.payload_sha256, e.prev_hash, e.hash)
                    for e in chunk
                )
                written += len(chunk)
                if progress:
                    progress(min(written / total, 1.0), f"Exported {written:,} events")
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return written
