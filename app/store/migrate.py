"""Bring a workspace database to the current schema at start-up, backing the file up first."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.core.timeutil import utcnow
from app.store.engine import Database

__all__ = ["SCHEMA_HEAD", "BACKUP_PART", "current_revision", "upgrade", "alembic_config"]

# The newest migration's revision id; a test checks it equals Alembic's head.
SCHEMA_HEAD = "0006"
# A backup is copied under this name and renamed when complete, so a process killed mid-copy never
# leaves a truncated file that looks like a backup; start-up removes the part of a dead pid.
BACKUP_PART = ".{name}.{pid}.part"


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def current_revision(conn) -> str | None:
    """The revision stamped in the database, or None for a database Alembic never touched."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
        if not found:
            return None
    try:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception:
        return None
    return row[0] if row else None


def upgrade(db: Database, backup_dir: Path | None) -> tuple[str | None, Path | None]:
    """Migrate to SCHEMA_HEAD under the write lock; returns (old revision, backup path or None).

    The quick path (already current) costs one query and no Alembic import, which keeps start-up fast.
    """
    with db.engine.connect() as probe:
        if current_revision(probe) == SCHEMA_HEAD:
            probe.rollback()
            return SCHEMA_HEAD, None
        probe.rollback()

    from alembic import command

    backup: Path | None = None
    with db.engine.connect().execution_options(steward_write=True) as conn:
        with conn.begin():  # BEGIN IMMEDIATE: a second process waits here, then sees the new head
            old = current_revision(conn)
            if old == SCHEMA_HEAD:
                return old, None
            if backup_dir is not None and _has_tables(conn):
                backup = _backup_sqlite(db, backup_dir, old)
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return old, backup


def _has_tables(conn) -> bool:
    if conn.dialect.name != "sqlite":
        return True
    return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type='table'").scalar() > 0


def _backup_sqlite(db: Database, backup_dir: Path, old: str | None) -> Path | None:
    if not db.url.startswith("sqlite:///"):
        return None  # server databases are backed up by their own tooling
    source = Path(db.url.removeprefix("sqlite:///"))
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"steward-{old or 'unversioned'}-{stamp}.db"
    counter = 1
    while target.exists():  # two upgrades within one second keep both copies
        counter += 1
        target = backup_dir / f"steward-{old or 'unversioned'}-{stamp}-{counter}.db"
    part = backup_dir / BACKUP_PART.format(name=target.name, pid=os.getpid())
    # The backup API copies a consistent snapshot even while WAL frames are outstanding.
    try:
        src, dst = sqlite3.connect(source), sqlite3.connect(part)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target
