"""Cancel jobs (cooperative first, then terminate) and recover jobs whose worker process is gone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, NotFoundError
from app.core.identity import current_actor
from app.core.jobs import Job, JobState
from app.core.timeutil import utcnow
from app.store.orm import SqlJob
from app.store.workspace import Workspace
from app.workers.launch import exit_description, output_path, pid_alive, reap_children, terminate
from app.workers.records import HOST, aware_or_none, get_job, running_rows, transition

__all__ = ["cancel_job", "scan_jobs", "ScanFinding", "CANCEL_GRACE_SECONDS", "STALE_HEARTBEAT_SECONDS"]

CANCEL_GRACE_SECONDS = 3.0  # time a running job gets to stop by itself before it is terminated
STALE_HEARTBEAT_SECONDS = 15.0  # heartbeats come every 2 s; this many seconds of silence means it is gone
START_TIMEOUT_SECONDS = 60.0  # claimed, but no worker ever reported in (the starter died before spawning)


@dataclass(frozen=True, slots=True)
class ScanFinding:
    job_id: int
    state: JobState
    reason: str


def cancel_job(ws: Workspace, job_id: int, *, actor: str | None = None, grace: float = CANCEL_GRACE_SECONDS,
               wait: bool = True) -> Job:
    """Cancel a job: a queued one at once; a running one is asked to stop and, if it has not within
    `grace` seconds, terminated (SIGTERM, then SIGKILL) and marked cancelled.

    With `wait=False` the request is only recorded and a later `scan_jobs` enforces the grace period.
    Raises ConflictError for a job that already finished.
    """
    actor = actor or current_actor()

    def request(session: Session) -> str:
        row = session.get(SqlJob, job_id)
        if row is None:
            raise NotFoundError(f"No job #{job_id}.", hint="See `steward jobs list`.")
        if row.state == JobState.QUEUED.value:
            transition(session, job_id, JobState.CANCELLED, action="job.cancelled", actor=actor,
                       from_states=(JobState.QUEUED,), details={"how": "cancelled before it started"},
                       message="Cancelled before it started", cancel_requested=True, cancel_requested_by=actor,
                       cancel_requested_at=utcnow())
            return "done"
        if row.state != JobState.RUNNING.value:
            raise ConflictError(f"Job #{job_id} already {row.state}; there is nothing to cancel.")
        if not row.cancel_requested:
            session.execute(update(SqlJob).where(SqlJob.id == job_id).values(
                cancel_requested=True, cancel_requested_at=utcnow(), cancel_requested_by=actor,
                message="Cancel requested"))
            from app.audit.append import append_event

            append_event(session, "job.cancel_requested", f"job:{job_id}", actor=actor,
                         model=_model_of(session, row), details={"job": job_id, "grace_seconds": grace})
        return "requested"

    if ws.db.write(request) == "done" or not wait:
        return get_job(ws, job_id)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if get_job(ws, job_id, with_log=False).state.finished:
            return get_job(ws, job_id)
        time.sleep(0.05)
    _force_cancel(ws, job_id, f"it did not stop within {grace:g} s")
    return get_job(ws, job_id)


def _model_of(session: Session, row: SqlJob) -> str | None:
    from app.store.orm import SqlModel

    return session.get(SqlModel, row.model_id).name if row.model_id is not None else None


def _force_cancel(ws: Workspace, job_id: int, why: str) -> None:
    """Terminate the worker if it runs here, then mark the job cancelled (if nothing settled it first)."""
    job = get_job(ws, job_id, with_log=False)
    if job.state.finished:
        return
    how = "marked cancelled (no worker process had reported in)"
    if job.pid and job.host == HOST:
        stopped = terminate(job.pid)
        how = "worker process already gone" if stopped == "already gone" else f"worker process stopped with {stopped}"
    elif job.pid:
        how = f"marked cancelled; the worker on {job.host} stops at its next heartbeat"
    reason = f"{how}: {why}"
    extra = _collect_output(ws, job_id)
    ws.db.write(lambda s: _settle_with_log(s, job_id, JobState.CANCELLED, "job.cancelled",
                                           job.cancel_requested_by or current_actor(), {"how": reason},
                                           f"Cancelled ({reason})", extra, "Cancelled"))


def _settle_with_log(session: Session, job_id: int, to: JobState, action: str, actor: str, details: dict,
                     note: str, extra: str, message: str, error: str | None = None) -> bool:
    row = session.get(SqlJob, job_id)
    text = (row.log or "") + (extra or "") + f"{utcnow().strftime('%H:%M:%S')} {note}\n"
    return transition(session, job_id, to, action=action, actor=actor, details=details, log=text,
                      message=message, error=error if error is not None else row.error)


def _collect_output(ws: Workspace, job_id: int) -> str:
    """The worker's raw output file (a crash's last words), removed once it is in the job's log."""
    path: Path = output_path(ws.root, job_id)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        path.unlink()
    except OSError:
        return ""
    text = text.strip()
    return f"--- worker output ---\n{text[-20_000:]}\n--- end of worker output ---\n" if text else ""


def scan_jobs(ws: Workspace, *, stale_after: float = STALE_HEARTBEAT_SECONDS, grace: float = CANCEL_GRACE_SECONDS,
              start_timeout: float = START_TIMEOUT_SECONDS) -> list[ScanFinding]:
    """Settle running jobs that cannot finish by themselves: a cancel past its grace period is
    enforced; a job whose process is gone (pid not alive here, or heartbeat older than
    `stale_after` seconds) is marked interrupted with the reason. Returns what it settled."""
    reap_children()
    now = utcnow()
    found: list[ScanFinding] = []
    for row in running_rows(ws):
        local = row.host in (None, HOST)
        heartbeat = aware_or_none(row.heartbeat_at)
        requested = aware_or_none(row.cancel_requested_at)
        if row.cancel_requested and requested and (now - requested).total_seconds() > grace:
            _force_cancel(ws, row.id, f"cancel requested {int((now - requested).total_seconds())} s ago")
            found.append(ScanFinding(row.id, JobState.CANCELLED, "cancel enforced after the grace period"))
            continue
        reason = None
        if local and row.pid and not pid_alive(row.pid):
            reason = f"the worker process {row.pid} is gone{exit_description(row.pid)}"
        elif heartbeat is not None and (now - heartbeat).total_seconds() > stale_after:
            reason = f"no heartbeat for {int((now - heartbeat).total_seconds())} s"
        elif heartbeat is None and (now - aware_or_none(row.started_at)).total_seconds() > start_timeout:
            reason = f"no worker process reported in within {start_timeout:g} s of the start"
        if reason is None:
            continue
        if local and row.pid and pid_alive(row.pid):
            reason += f"; the silent process {row.pid} was stopped with {terminate(row.pid)}"
        extra = _collect_output(ws, row.id)
        if ws.db.write(lambda s, r=row, why=reason, out=extra: _settle_with_log(
                s, r.id, JobState.INTERRUPTED, "job.interrupted", current_actor(),
                {"reason": why, "pid": r.pid, "host": r.host,
                 "last_heartbeat": heartbeat.isoformat() if heartbeat else None},
                f"Interrupted: {why}", out, "Interrupted", error=f"Interrupted: {why}")):
            found.append(ScanFinding(row.id, JobState.INTERRUPTED, reason))
    return found
