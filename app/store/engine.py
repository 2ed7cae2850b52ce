"""Engine creation, SQLite PRAGMAs, and the one session scope that commits, retries and maps errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import WorkspaceBusyError

__all__ = ["make_engine", "Database", "is_lock_error"]

T = TypeVar("T")

# SQLite waits this long inside one statement for another writer before it reports "locked".
BUSY_TIMEOUT_MS = 15_000
# Whole-transaction retries on top of that, for the rare cases the busy handler cannot cover.
WRITE_ATTEMPTS = 8


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (so writers can BEGIN IMMEDIATE).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _sqlite_on_begin(conn) -> None:
    # A writer takes the write lock up front: a deferred transaction that upgrades from read to
    # write gets SQLITE_BUSY at once (no busy wait), which is exactly "database is locked".
    if conn.get_execution_options().get("steward_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and immediate writers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def is_lock_error(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


class Database:
    """One workspace database: read sessions, and write units of work that retry when locked."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(steward_write=True), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (a consistent snapshot under WAL)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in one write transaction; commit whole or roll back whole.

        `work` may be called again if another process held the lock, so it must not have side
        effects outside the session (files it writes are content-addressed and idempotent).
        """
        for attempt in range(WRITE_ATTEMPTS):
            session = self._write()
            try:
                result = work(session)
                session.commit()
                return result
            except OperationalError as exc:
                session.rollback()
                if not is_lock_error(exc):
                    raise
                if attempt == WRITE_ATTEMPTS - 1:
                    raise WorkspaceBusyError(
                        "The workspace stayed locked by another process for too long.",
                        hint="Another Model Steward process is writing; try again in a moment.",
                    ) from None
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
