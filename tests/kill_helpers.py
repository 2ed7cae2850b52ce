"""Helpers for tests/test_kill_harness.py: the fork server client, workspace facts, the after-crash checks."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

CHILD = Path(__file__).with_name("_kill_child.py")
ROOT = CHILD.parent.parent

__all__ = ["CHILD", "ROOT", "Outcome", "ForkServer", "GuiChild", "Facts", "facts", "check_recovered", "read_lines"]


@dataclass
class Outcome:
    pid: int
    code: int | None = None  # exit code; -9 = killed
    done: bool = False  # the operation returned before the process died
    seconds: float | None = None  # its duration, when done


def read_lines(stream, sink: queue.Queue) -> threading.Thread:
    def pump() -> None:
        for line in stream:
            sink.put(line.rstrip("\n"))
        sink.put(None)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


class ForkServer:
    """Client of `_kill_child.py serve`: run a spec in a forked child, SIGKILL it after a delay."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT, env=env)
        self.lines: queue.Queue = queue.Queue()
        read_lines(self.proc.stdout, self.lines)
        self.warm = False  # it imports while the caller builds its workspaces; the first run waits


    def _next(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"the fork server exited ({self.proc.wait()})")
        return line

    def run(self, spec: dict, kill_after: float | None = None, timeout: float = 60) -> Outcome:
        if not self.warm:
            assert self._next(120) == "warm"
            self.warm = True
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        outcome: Outcome | None = None
        deadline = time.monotonic() + timeout
        while True:
            # "forked PID" (from the server) and "started PID" (from the child) may come in either order.
            word, _, rest = self._next(max(0.1, deadline - time.monotonic())).partition(" ")
            pid_text, _, value = rest.partition(" ")
            outcome = outcome or Outcome(int(pid_text))
            assert int(pid_text) == outcome.pid
            if word == "started" and kill_after is not None:
                time.sleep(kill_after)
                try:
                    os.kill(outcome.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # finished first
            elif word == "done":
                outcome.done, outcome.seconds = True, float(value)
            elif word == "error":
                raise AssertionError(f"{spec['op']} failed in the child:\n{json.loads(value)}")
            elif word == "exit":
                outcome.code = int(value)
                return outcome

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# --- what the database says ------------------------------------------------------------------------
@dataclass
class Facts:
    revision: str | None
    counts: dict[str, int]
    events: dict[str, int]
    stages: dict[int, str]  # version number of 'clf' -> stage
    schema: frozenset = field(default_factory=frozenset)


def facts(db: Path) -> Facts:
    """Read a workspace database with plain sqlite3, as the crash left it (a hot WAL is replayed)."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        revision = (conn.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0]
        events = dict(conn.execute("SELECT action, count(*) FROM audit_events GROUP BY action"))
        stages = dict(conn.execute(
            "SELECT v.number, v.stage FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'clf'"))
        schema = frozenset(conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    return Facts(revision, counts, events, stages, schema)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_recovered(ws, before: Facts) -> Facts:
    """Everything the issue asks of a workspace after kill -9 and a start-up; returns the facts."""
    from app.services.audit import verify_log
    from app.store.artifacts import pid_alive

    db = ws.paths.db
    after = facts(db)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        # No half-registered version: each has its profile and its registration event.
        assert q("SELECT count(*) FROM versions v WHERE NOT EXISTS "
                 "(SELECT 1 FROM reference_profiles p WHERE p.version_id = v.id)") == 0
        # No half-recorded batch: each has its per-feature drift and its event.
        assert q("SELECT count(*) FROM batches b WHERE NOT EXISTS "
                 "(SELECT 1 FROM feature_drift f WHERE f.batch_id = b.id)") == 0
        # Each version is in the stage its last recorded move put it in.
        assert q("SELECT count(*) FROM versions v WHERE v.stage != coalesce((SELECT s.to_stage FROM stage_changes s "
                 "WHERE s.version_id = v.id ORDER BY s.id DESC LIMIT 1), 'none')") == 0
        rows = dict(conn.execute("SELECT sha256, size_bytes FROM artifacts"))
    ev = after.events
    assert after.counts["versions"] == ev.get("version.registered", 0)
    assert after.counts["batches"] == ev.get("batch.scored", 0) + ev.get("batch.recorded", 0)
    assert after.counts["stage_changes"] == ev.get("version.stage_changed", 0)
    assert after.counts["shadow_scores"] == ev.get("shadow.scored", 0)
    result = verify_log(ws)
    assert result.ok, result.summary
    # Every recorded artifact has its file with its hash, and every file is recorded.
    files = {p.name: p for p in ws.artifacts.root.iterdir()}
    assert set(files) == set(rows), (set(files) ^ set(rows))
    for sha, size in rows.items():
        assert _sha256(files[sha]) == sha and files[sha].stat().st_size == size
    assert ws.problems == []
    # Nothing half-written is left once start-up has run.
    assert sorted(p.name for p in ws.paths.tmp.iterdir()) == []
    for folder in (ws.paths.reports, ws.paths.keys, ws.paths.backups):
        if folder.is_dir():
            assert [p.name for p in folder.iterdir() if p.name.endswith((".part", ".tmp"))] == []
    claims = ws.artifacts.claims
    if claims.is_dir():  # only live writers' claims stay (this test process's own, if any)
        assert [p.name for p in claims.iterdir() if not pid_alive(p.name.rpartition(".")[2])] == []
    return after


class GuiChild:
    """`_kill_child.py gui SPEC`: a fresh window-like process, started ahead so its imports overlap."""

    def __init__(self, spec: dict, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "gui", json.dumps(spec)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT, env=env)
        self.lines: queue.Queue = queue.Queue()
        read_lines(self.proc.stdout, self.lines)

    def run(self, kill_after: float | None = None, timeout: float = 120) -> Outcome:
        outcome = Outcome(self.proc.pid)
        deadline = time.monotonic() + timeout
        line = self.lines.get(timeout=timeout)
        assert line == "warm", line
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        while (line := self.lines.get(timeout=max(0.1, deadline - time.monotonic()))) is not None:
            word, _, rest = line.partition(" ")
            value = rest.partition(" ")[2]
            if word == "started" and kill_after is not None:
                time.sleep(kill_after)
                self.proc.send_signal(signal.SIGKILL)
            elif word == "done":
                outcome.done, outcome.seconds = True, float(value)
            elif word == "error":
                raise AssertionError(f"the window-like child failed:\n{json.loads(value)}")
        outcome.code = self.proc.wait(timeout=30)  # waited for: a zombie would still look alive
        return outcome
