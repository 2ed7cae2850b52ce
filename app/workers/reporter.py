"""What a job function sees of its worker: throttled progress, cancel checks, log, heartbeat, outcome."""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from typing import Any

__all__ = ["JobReporter", "HEARTBEAT_SECONDS"]

HEARTBEAT_SECONDS = 2.0
PROGRESS_MIN_INTERVAL = 0.2  # at most five progress writes a second
CANCEL_CHECK_INTERVAL = 0.25
DISOWNED_EXIT_SECONDS = 10.0  # a job taken away from us (cancelled, marked interrupted) must not run on
LOG_LIMIT = 200_000  # characters of log kept on the row; older lines are dropped first

log = logging.getLogger("steward.job")


class _Handler(logging.Handler):
    def __init__(self, reporter: JobReporter) -> None:
        super().__init__(logging.INFO)
        self.reporter = reporter
        self.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.reporter.append_log(self.format(record))
        except Exception:
            self.handleError(record)


class JobReporter:
    """Wraps a job function: throttled progress, a heartbeat thread, cancel checks, the log, the outcome."""

    def __init__(self, ws, job_id: int) -> None:
        self.ws, self.job_id = ws, job_id
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: tuple[float, str] | None = None
        self._last_progress_write = 0.0
        self._last_message = ""
        self._lines: list[str] = []
        self._log_size = 0
        self._log_dirty = False
        self._dropped = False
        self._started_at = None
        self._cancel = False
        self._cancel_checked = 0.0
        self._stop = threading.Event()
        self.disowned = threading.Event()
        self.finalized = False
        self.kind = ""
        self.params: dict[str, Any] = {}
        self.owner = ""

    # ----- start -----------------------------------------------------------------------------
    def attach(self) -> bool:
        """Take the claimed row: record our pid and first heartbeat. False if it is no longer ours to run."""
        from sqlalchemy import update

        from app.core.timeutil import utcnow
        from app.store.orm import SqlJob
        from app.workers.records import HOST

        def work(session) -> bool:
            done = session.execute(update(SqlJob).where(SqlJob.id == self.job_id, SqlJob.state == "running")
                                   .values(pid=self.pid, host=HOST, heartbeat_at=utcnow(),
                                           message="Worker process started"))
            if done.rowcount != 1:
                return False
            row = session.get(SqlJob, self.job_id)
            self.kind, self.params, self.owner = row.kind, dict(row.params or {}), row.created_by
            self._started_at = row.started_at
            return True

        return self.ws.db.write(work)

    # ----- what the job function sees -------------------------------------------------------------
    def progress(self, fraction: float, message: str) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        if message and message != self._last_message:
            self._last_message = message
            log.info("%3d%% %s", int(fraction * 100), message)
        with self._lock:
            self._pending = (fraction, message)
        if time.monotonic() - self._last_progress_write >= PROGRESS_MIN_INTERVAL:
            self.flush()

    def is_cancelled(self) -> bool:
        if self.disowned.is_set():
            return True
        now = time.monotonic()
        if not self._cancel and now - self._cancel_checked >= CANCEL_CHECK_INTERVAL:
            self._cancel_checked = now
            self._read_cancel()
        return self._cancel

    def append_log(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            self._log_size += len(line) + 1
            while self._log_size > LOG_LIMIT and len(self._lines) > 1:
                self._log_size -= len(self._lines.pop(0)) + 1
                self._dropped = True
            self._log_dirty = True

    def _text(self) -> str:  # caller holds self._lock
        head = "[earlier lines dropped]\n" if self._dropped else ""
        return head + "".join(f"{line}\n" for line in self._lines)

    def log_text(self) -> str:
        with self._lock:
            return self._text()

    # ----- writes to the row --------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        with self._lock:
            values: dict[str, Any] = {}
            if self._pending is not None:
                values["progress"], values["message"] = self._pending
                self._pending = None
            if self._log_dirty:
                values["log"] = self._text()
                self._log_dirty = False
            return values

    def flush(self, *, heartbeat: bool = False) -> None:
        from sqlalchemy import update

        from app.core.errors import WorkspaceBusyError
        from app.core.timeutil import utcnow
        from app.store.orm import SqlJob

        self._last_progress_write = time.monotonic()
        values = self._values()
        if heartbeat:
            values["heartbeat_at"] = utcnow()
        if not values:
            return
        stmt = update(SqlJob).where(SqlJob.id == self.job_id, SqlJob.state == "running", SqlJob.pid == self.pid)
        try:
            done = self.ws.db.write(lambda s: s.execute(stmt.values(**values)).rowcount)
        except WorkspaceBusyError:
            return  # progress is best effort; the next write carries the latest values
        if done == 0:
            self.disowned.set()

    def _read_cancel(self) -> None:
        from app.store.orm import SqlJob

        with self.ws.db.read() as session:
            row = session.get(SqlJob, self.job_id)
            if row is None or row.state != "running" or row.pid != self.pid:
                self.disowned.set()
            elif row.cancel_requested:
                self._cancel = True

    def _heartbeat_loop(self) -> None:
        disowned_since = None
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.flush(heartbeat=True)
                if not self._cancel:
                    self._read_cancel()
            except Exception as exc:  # a heartbeat that fails once must not end the job; the next one retries
                log.warning("heartbeat failed: %s", exc)
            if self.disowned.is_set():
                disowned_since = disowned_since or time.monotonic()
                if time.monotonic() - disowned_since > DISOWNED_EXIT_SECONDS:
                    os._exit(75)  # someone else already settled this job; stop using the CPU for nothing

    # ----- the outcome ------------------------------------------------------------------------
    def finalize(self, session, result: dict) -> None:
        """Called by the job inside its final write transaction: success commits with its records."""
        from app.core.jobs import JobCancelled, JobState
        from app.store.orm import SqlJob
        from app.workers.records import transition

        row = session.get(SqlJob, self.job_id)
        if row is None or row.state != "running" or row.pid != self.pid:
            self.disowned.set()
            raise JobCancelled("The job was settled by another process; nothing was recorded.")
        if row.cancel_requested:
            raise JobCancelled("Cancelled before the result was recorded; nothing was recorded.")
        log.info("%3d%% %s", 100, result.get("summary") or "Done")
        if not transition(session, self.job_id, JobState.SUCCEEDED, action="job.succeeded", actor=self.owner,
                          details={"result": result}, result=result, progress=1.0,
                          message=str(result.get("summary") or "Done"), log=self.log_text(), error=None):
            raise JobCancelled("The job was settled by another process; nothing was recorded.")
        self.finalized = True

    def _settle(self, to, action: str, details: dict, **fields: Any) -> None:
        from app.core.jobs import JobState
        from app.workers.records import transition

        actor = self.owner
        if to is JobState.CANCELLED:
            actor = self._cancel_requester() or self.owner
        self.ws.db.write(lambda s: transition(s, self.job_id, to, action=action, actor=actor, details=details,
                                              log=self.log_text(), **fields))

    def _cancel_requester(self) -> str | None:
        from app.store.orm import SqlJob

        with self.ws.db.read() as session:
            row = session.get(SqlJob, self.job_id)
            return row.cancel_requested_by if row is not None else None

    def run(self) -> None:
        from app.core.errors import StewardError
        from app.core.jobs import JobCancelled, JobState
        from app.workers.kinds import resolve

        handler = _Handler(self)
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.captureWarnings(True)  # sklearn's ConvergenceWarning and friends belong in the job log
        started = self._started_at
        log.info("Worker process %d on %s%s", self.pid, _host(),
                 f", {_since(started):.2f} s after the job was claimed" if started else "")
        beat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        beat.start()
        try:
            function = resolve(self.kind)
            log.info("Job function %s loaded (%.2f s after the claim)", self.kind, _since(started) if started else 0)
            result = function(self.ws, self.params | {"job_id": self.job_id, "actor": self.owner},
                              self.progress, self.is_cancelled, finalize=self.finalize)
            if not self.finalized:  # a kind that records nothing calls no finalize; settle it here
                self._settle(JobState.SUCCEEDED, "job.succeeded", {"result": result}, result=result,
                             progress=1.0, message="Done", error=None)
        except JobCancelled as exc:
            log.info("Stopped: %s", exc.message)
            if not self.disowned.is_set():
                self._settle(JobState.CANCELLED, "job.cancelled", {"how": "stopped by the job at a checkpoint"},
                             message="Cancelled", error=exc.message)
        except StewardError as exc:
            log.error("Failed: %s", exc)
            self._settle(JobState.FAILED, "job.failed", {"error": str(exc)}, message="Failed", error=str(exc))
        except BaseException as exc:  # noqa: BLE001 - every end of a job must be recorded
            log.error("Unexpected error:\n%s", traceback.format_exc().rstrip())
            error = f"unexpected {type(exc).__name__}: {exc}"
            self._settle(JobState.FAILED, "job.failed", {"error": error}, message="Failed", error=error)
        finally:
            self._stop.set()
            root.removeHandler(handler)


def _host() -> str:
    from app.workers.records import HOST

    return HOST


def _since(moment) -> float:
    from app.core.timeutil import utcnow
    from app.workers.records import aware_or_none

    return (utcnow() - aware_or_none(moment)).total_seconds()
