"""Verify one stretch of a SQLite audit log in its own process, so big logs use every core."""

from __future__ import annotations

import sqlite3

from app.audit.chain import GENESIS, verify_rows
from app.core.entities import VerifyResult

__all__ = ["verify_range", "split_ranges", "merge_results"]

_COLUMNS = "seq, at, actor, action, object, model, details, payload_sha256, prev_hash, hash"


def split_ranges(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous seq ranges covering first..last."""
    size = -(-(last - first + 1) // parts)
    return [(lo, min(lo + size - 1, last)) for lo in range(first, last + 1, size)]


def verify_range(db_path: str, lo: int, hi: int, is_last: bool) -> VerifyResult:
    """Check events lo..hi; the link into `lo` is taken from the stored hash of event lo-1, whose own
    correctness the range before this one checks."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.text_factory = bytes
        conn.execute("PRAGMA busy_timeout = 15000")
        prev = GENESIS
        if lo > 1:
            row = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (lo - 1,)).fetchone()
            prev = row[0].decode("ascii", "replace") if row and isinstance(row[0], bytes) else "?" * 64
        where = "seq >= ?" if is_last else "seq BETWEEN ? AND ?"
        args = (lo,) if is_last else (lo, hi)
        cur = conn.execute(f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq", args)
        return verify_rows(cur, utf8_bytes=True, first_seq=lo, prev_hash=prev)
    finally:
        conn.close()


def merge_results(results: list[VerifyResult], seconds: float) -> VerifyResult:
    """Ranges in order: the first broken one names the first bad event; otherwise all events passed."""
    total = 0
    for result in results:
        if not result.ok:
            return VerifyResult(ok=False, events=total + result.events, first_bad_seq=result.first_bad_seq,
                                problem=result.problem, seconds=seconds)
        total += result.events
    return VerifyResult(ok=True, events=total, head_hash=results[-1].head_hash if results else GENESIS,
                        seconds=seconds)
