"""Helpers shared by the store, audit, registry and bad-input tests (no fixtures, plain functions)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Snapshot",
    "snapshot",
    "table_counts",
    "raw_connect",
    "drop_append_only_triggers",
    "audit_rows",
    "ws_paths",
]


def raw_connect(db: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, as a user with a database browser would have: no foreign keys, autocommit."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def table_counts(db: Path) -> dict[str, int]:
    """Row count of every table in the database file, by name."""
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


@dataclass(frozen=True)
class Snapshot:
    """What a failed operation must leave exactly as it found it."""

    tables: dict[str, int]
    artifact_files: tuple[str, ...]
    tmp_files: tuple[str, ...]
    audit_head: tuple | None


def snapshot(ws) -> Snapshot:
    """Row counts of every table, every file under artifacts/ and tmp/, and the audit chain head."""
    db = ws.paths.db

    def files(folder: Path) -> tuple[str, ...]:
        if not folder.exists():
            return ()
        return tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*")))

    with sqlite3.connect(db) as conn:
        head = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return Snapshot(table_counts(db), files(ws.paths.artifacts), files(ws.paths.tmp), head)


def drop_append_only_triggers(db: Path) -> None:
    """What a determined user can do: remove the triggers that make the log append-only."""
    conn = raw_connect(db)
    try:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
    finally:
        conn.close()


def audit_rows(db: Path) -> list[tuple]:
    """All audit rows in seq order, in the column order verify_rows takes."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, at, actor, action, object, model, details, payload_sha256, prev_hash, hash "
            "FROM audit_events ORDER BY seq").fetchall()


def ws_paths(root: Path):
    from app.core.settings import WorkspacePaths

    return WorkspacePaths(root)
