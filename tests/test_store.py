"""Store: workspace layout, SQLite settings, migrations and backups, content-addressed artifacts."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from app.core.errors import IntegrityError, InvalidInputError, NotFoundError, StewardError
from app.store.engine import BUSY_TIMEOUT_MS
from app.store.migrate import SCHEMA_HEAD, alembic_config
from app.store.orm import Base
from app.store.workspace import open_workspace
from _store_helpers import table_counts, ws_paths

# The audit log's trigram index: an FTS5 table and its shadow tables (migration 0006).
FTS_TABLES = {"audit_fts", "audit_fts_data", "audit_fts_idx", "audit_fts_docsize", "audit_fts_config"}
TABLES = {"alembic_version", *Base.metadata.tables, *FTS_TABLES}


# --- workspace and SQLite settings -------------------------------------------------------------


def test_new_workspace_creates_layout_and_database(tmp_path):
    root = tmp_path / "fresh" / "nested"
    ws = open_workspace(ws_paths(root))
    try:
        assert ws.paths.db == root / "steward.db" and ws.paths.db.is_file()
        assert ws.paths.artifacts.is_dir() and ws.paths.tmp.is_dir()
        assert set(table_counts(ws.paths.db)) == TABLES
        assert ws.backup is None  # nothing to back up in a new file
        assert not ws.paths.backups.exists()
    finally:
        ws.close()


def test_connections_use_wal_foreign_keys_and_busy_timeout(workspace):
    with workspace.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
        assert BUSY_TIMEOUT_MS >= 1000
    # WAL is a property of the file: a plain connection that sets nothing sees it too.
    with sqlite3.connect(workspace.paths.db) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced_through_the_engine(workspace):
    with pytest.raises(SqlIntegrityError, match="FOREIGN KEY"):
        with workspace.db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO datasets (sha256, name, format, rows, columns, schema, size_bytes, source_path, "
                "created_at, created_by) VALUES (:h, 'x', 'csv', 1, '[]', '{}', 1, '', '2026-01-01', 'alice')"
            ), {"h": "ab" * 32})
    assert table_counts(workspace.paths.db)["datasets"] == 0


def test_workspace_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "not-a-folder"
    target.write_text("hello")
    with pytest.raises(InvalidInputError, match="is a file, not a folder"):
        open_workspace(ws_paths(target))
    assert target.read_text() == "hello"


# --- migrations --------------------------------------------------------------------------------


def test_migrated_empty_database_has_exactly_the_orm_schema(workspace):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.store.orm import Base

    with workspace.db.engine.connect() as conn:
        # The audit log's full-text index (an FTS5 virtual table and its shadow tables) lives outside
        # the ORM: it is written by a trigger and read by one raw subquery.
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": lambda name, kind, _p:
                                                     not (kind == "table" and name.startswith("audit_fts"))})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_schema_head_constant_is_alembics_head(workspace):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [SCHEMA_HEAD]  # one head, and it is the constant
    with sqlite3.connect(workspace.paths.db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(SCHEMA_HEAD,)]


def test_append_only_triggers_are_installed(workspace):
    with sqlite3.connect(workspace.paths.db) as conn:
        triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert triggers == {"audit_events_no_update", "audit_events_no_delete",
                        "stage_changes_no_update", "stage_changes_no_delete", "audit_fts_insert"}


def test_reopening_a_current_database_neither_migrates_nor_backs_up(tmp_path):
    paths = ws_paths(tmp_path / "ws")
    open_workspace(paths).close()
    before = table_counts(paths.db)
    ws = open_workspace(paths)
    ws.close()
    assert ws.backup is None
    assert not paths.backups.exists()
    assert table_counts(paths.db) == before


def _downgrade(paths, revision: str) -> None:
    """Bring a workspace database back to an older revision, as a file written by an older release."""
    from alembic import command

    from app.store.engine import Database

    db = Database(paths.url)
    try:
        with db.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        db.dispose()


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    return [s.revision for s in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


@pytest.mark.skipif(len(_revisions()) < 2, reason="only one migration exists: no older stamped state yet")
def test_upgrade_from_the_previous_revision_backs_up_and_keeps_the_data(tmp_path, classifier_files):
    """A workspace written by the previous release: stamped one revision back, holding real history."""
    from app.services.audit import verify_log
    from app.services.register import register_model
    from app.services.stages import promote_version

    previous = _revisions()[-2]
    paths = ws_paths(tmp_path / "ws")
    ws = open_workspace(paths)
    register_model(ws, "clf", classifier_files.model, classifier_files.train, "target")
    promote_version(ws, "clf", 1, "production", "live")
    ws.close()
    _downgrade(paths, previous)
    counts_before = table_counts(paths.db)
    with sqlite3.connect(paths.db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(previous,)]

    ws = open_workspace(paths)
    try:
        assert ws.backup is not None and ws.backup.parent == paths.backups
        assert previous in ws.backup.name
        assert table_counts(ws.backup) == counts_before  # the copy is the file as it was
        with sqlite3.connect(f"file:{ws.backup}?mode=ro", uri=True) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(previous,)]
        assert set(table_counts(paths.db)) == TABLES
        for table, n in counts_before.items():
            assert table_counts(paths.db)[table] == n, table  # nothing lost in the upgrade
        assert verify_log(ws).ok and verify_log(ws).events == counts_before["audit_events"]
        with sqlite3.connect(paths.db) as conn:  # the triggers survived the upgrade
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute("DELETE FROM audit_events")
    finally:
        ws.close()


def test_upgrade_from_base_backs_the_file_up_first(tmp_path):
    paths = ws_paths(tmp_path / "ws")
    open_workspace(paths).close()
    _downgrade(paths, "base")
    with sqlite3.connect(paths.db) as conn:  # data that only the old file holds
        conn.execute("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO legacy_notes (body) VALUES ('written before the upgrade')")
    old_tables = set(table_counts(paths.db))
    assert old_tables == {"alembic_version", "legacy_notes"}

    ws = open_workspace(paths)
    try:
        assert ws.backup is not None and ws.backup.parent == paths.backups and ws.backup.is_file()
        assert sorted(paths.backups.iterdir()) == [ws.backup]
        # The backup is a complete, valid SQLite copy of the file as it was before the upgrade.
        with sqlite3.connect(f"file:{ws.backup}?mode=ro", uri=True) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("SELECT body FROM legacy_notes").fetchall() == [("written before the upgrade",)]
            assert copy.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 0
        assert set(table_counts(ws.backup)) == old_tables
        # ... and the live file is now at the head, with the old data kept.
        assert set(table_counts(paths.db)) == TABLES | {"legacy_notes"}
        with sqlite3.connect(paths.db) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(SCHEMA_HEAD,)]
    finally:
        ws.close()


def test_database_with_tables_but_no_revision_is_refused_with_a_domain_error(tmp_path):
    """A stamp-less file that already holds our tables must not surface as a raw SQLAlchemy error."""
    paths = ws_paths(tmp_path / "ws")
    open_workspace(paths).close()
    with sqlite3.connect(paths.db) as conn:
        conn.execute("DELETE FROM alembic_version")
    with pytest.raises(StewardError):
        open_workspace(paths).close()
    # Whatever happened, the tables are still there and the file was backed up before anything ran.
    assert TABLES <= set(table_counts(paths.db))
    backups = list(paths.backups.glob("*.db"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_file_that_is_not_a_database_is_refused_with_a_domain_error(tmp_path):
    paths = ws_paths(tmp_path / "ws")
    paths.root.mkdir()
    garbage = b"this is a spreadsheet, not a database\n" * 200
    paths.db.write_bytes(garbage)
    with pytest.raises(StewardError):
        open_workspace(paths).close()
    assert paths.db.read_bytes() == garbage  # never overwritten


# --- artifacts ---------------------------------------------------------------------------------


def test_put_file_stores_under_its_sha256(workspace, tmp_path):
    source = tmp_path / "blob.bin"
    content = os.urandom(3 * (1 << 20) + 17)  # spans several copy chunks
    source.write_bytes(content)
    sha, size = workspace.artifacts.put_file(source)
    assert sha == hashlib.sha256(content).hexdigest() and size == len(content)
    stored = workspace.paths.artifacts / "sha256" / sha
    assert stored.read_bytes() == content
    assert workspace.artifacts.exists(sha)
    assert list(workspace.paths.tmp.iterdir()) == []  # the temp file was renamed, not left behind


def test_put_bytes_stores_under_its_sha256_and_is_idempotent(workspace):
    data = b"model bytes \x00\x01\x02"
    sha, size = workspace.artifacts.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest() and size == len(data)
    again = workspace.artifacts.put_bytes(data)
    assert again == (sha, size)
    assert [p.name for p in (workspace.paths.artifacts / "sha256").iterdir()] == [sha]
    assert workspace.artifacts.read_verified(sha) == data
    assert list(workspace.paths.tmp.iterdir()) == []


def test_put_file_refuses_missing_file_and_folder(workspace, tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        workspace.artifacts.put_file(tmp_path / "nope.bin")
    with pytest.raises(InvalidInputError, match="folder"):
        workspace.artifacts.put_file(tmp_path)
    assert not (workspace.paths.artifacts / "sha256").exists() or not any(
        (workspace.paths.artifacts / "sha256").iterdir())


def test_read_verified_refuses_a_modified_file(workspace):
    data = bytes(range(256)) * 40
    sha, _ = workspace.artifacts.put_bytes(data)
    path = workspace.paths.artifacts / "sha256" / sha
    tampered = bytearray(path.read_bytes())
    tampered[1234] ^= 0x01  # one bit
    path.write_bytes(bytes(tampered))
    with pytest.raises(IntegrityError, match="modified on disk") as err:
        workspace.artifacts.read_verified(sha)
    assert sha[:12] in err.value.message


def test_read_verified_reports_a_missing_file(workspace):
    sha, _ = workspace.artifacts.put_bytes(b"soon gone")
    (workspace.paths.artifacts / "sha256" / sha).unlink()
    with pytest.raises(NotFoundError, match="missing"):
        workspace.artifacts.read_verified(sha)


@pytest.mark.parametrize("bad", ["", "abc", "../" + "a" * 61, "G" * 64, "A" * 64])
def test_artifact_ids_must_be_lowercase_sha256(workspace, bad):
    with pytest.raises(InvalidInputError):
        workspace.artifacts.path_for(bad)


def _register(ws, files, name="clf"):
    from app.services.register import register_model

    return register_model(ws, name, files.model, files.train, files.target)


def test_load_model_refuses_an_artifact_modified_on_disk(workspace, classifier_files):
    from app.services.queries import load_model

    version = _register(workspace, classifier_files)
    estimator = load_model(workspace, "clf", version.number)
    assert hasattr(estimator, "predict")
    path = workspace.paths.artifacts / "sha256" / version.artifact_sha256
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="refusing to load"):
        load_model(workspace, "clf", version.number)
    path.unlink()
    with pytest.raises(NotFoundError):
        load_model(workspace, "clf")


# --- leftover temp files -----------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftover_temp_files_of_dead_processes_are_removed_at_open(tmp_path):
    paths = ws_paths(tmp_path / "ws")
    open_workspace(paths).close()
    dead = paths.tmp / f"artifact-{_dead_pid()}-x1y2.part"
    dead.write_bytes(b"half written")
    unrelated = paths.tmp / "notes.txt"  # not ours: never touched
    unrelated.write_text("keep")
    live_proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        live = paths.tmp / f"artifact-{live_proc.pid}-a1b2.part"
        live.write_bytes(b"being written right now")
        ws = open_workspace(paths)
        ws.close()
        assert not dead.exists()
        assert live.read_bytes() == b"being written right now"
        assert unrelated.read_text() == "keep"
        assert ws.cleaned == [f"removed unfinished artifact file {dead.name}"]
    finally:
        live_proc.communicate(b"")
    # Once the writer is gone, the next open cleans its file too.
    ws = open_workspace(paths)
    ws.close()
    assert not live.exists()
    assert ws.cleaned == [f"removed unfinished artifact file {live.name}"]
