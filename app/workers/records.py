"""Job rows: submit, read, claim, and move a job forward, each change audited in its transaction."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.append import append_event
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.jobs import Job, JobState
from app.core.timeutil import utcnow
from app.store.orm import SqlJob, SqlModel
from app.store.workspace import Workspace

__all__ = ["HOST", "submit_job", "insert_job", "get_job", "list_jobs", "claim_queued", "set_pid", "transition",
           "job_entity", "aware_or_none", "running_rows"]

HOST = socket.gethostname()


def aware_or_none(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def job_entity(row: SqlJob, model_name: str | None, *, with_log: bool = False) -> Job:
    return Job(
        id=row.id, kind=row.kind, model_name=model_name, state=JobState(row.state), params=dict(row.params or {}),
        progress=float(row.progress or 0.0), message=row.message or "", created_at=aware_or_none(row.created_at),
        created_by=row.created_by, started_at=aware_or_none(row.started_at),
        finished_at=aware_or_none(row.finished_at), heartbeat_at=aware_or_none(row.heartbeat_at), pid=row.pid,
        host=row.host, cancel_requested=bool(row.cancel_requested), cancel_requested_by=row.cancel_requested_by,
        result=dict(row.result) if row.result is not None else None, error=row.error,
        log=(row.log or "") if with_log else "",
    )


def _model_name(session: Session, model_id: int | None) -> str | None:
    return session.get(SqlModel, model_id).name if model_id is not None else None


def submit_job(ws: Workspace, kind: str, params: dict[str, Any], *, model: str | None = None,
               actor: str | None = None) -> int:
    """Insert a queued job (audited as job.submitted); returns its id. Nothing starts it yet."""
    actor = actor or current_actor()
    return ws.db.write(lambda session: insert_job(session, kind, params, model=model, actor=actor))


def insert_job(session: Session, kind: str, params: dict[str, Any], *, model: str | None, actor: str) -> int:
    """Add a queued job inside the caller's transaction (so it commits with what asked for it)."""
    from app.workers.kinds import JOB_KINDS

    if kind not in JOB_KINDS:
        raise InvalidInputError(f"Unknown job kind '{kind}'.", hint=f"Known kinds: {', '.join(sorted(JOB_KINDS))}.")
    model_id = None
    if model is not None:
        row = session.scalars(select(SqlModel).where(SqlModel.name == model)).first()
        if row is None:
            raise NotFoundError(f"No model named '{model}'.", hint="See `steward model list`.")
        model_id = row.id
    job = SqlJob(kind=kind, model_id=model_id, state=JobState.QUEUED.value, params=params, progress=0.0,
                 message="Queued", created_at=utcnow(), created_by=actor, cancel_requested=False, log="")
    session.add(job)
    session.flush()
    append_event(session, "job.submitted", f"job:{job.id}", model=model, actor=actor,
                 details={"job": job.id, "kind": kind, "params": params})
    return job.id


def get_job(ws: Workspace, job_id: int, *, with_log: bool = True) -> Job:
    with ws.db.read() as session:
        row = session.get(SqlJob, job_id)
        if row is None:
            raise NotFoundError(f"No job #{job_id}.", hint="See `steward jobs list`.")
        return job_entity(row, _model_name(session, row.model_id), with_log=with_log)


def list_jobs(ws: Workspace, *, model: str | None = None, state: str | None = None, limit: int | None = 100) -> list[Job]:
    """Jobs newest first (without their logs), optionally of one model and/or in one state."""
    query = select(SqlJob, SqlModel.name).outerjoin(SqlModel, SqlModel.id == SqlJob.model_id)
    if model:
        query = query.where(SqlModel.name == model)
    if state:
        if state not in {s.value for s in JobState}:
            raise InvalidInputError(f"'{state}' is not a job state.",
                                    hint=f"Use one of: {', '.join(s.value for s in JobState)}.")
        query = query.where(SqlJob.state == state)
    query = query.order_by(SqlJob.id.desc())
    if limit:
        query = query.limit(limit)
    with ws.db.read() as session:
        return [job_entity(row, name) for row, name in session.execute(query).all()]


def running_rows(ws: Workspace) -> list[SqlJob]:
    """Detached rows of every running job (few: at most the concurrency limit, plus the dead)."""
    with ws.db.read() as session:
        rows = session.scalars(select(SqlJob).where(SqlJob.state == JobState.RUNNING.value)).all()
        session.expunge_all()
        return list(rows)


def claim_queued(ws: Workspace, limit: int) -> list[int]:
    """Move up to `limit - running` queued jobs to running, oldest first; returns their ids.

    Runs under the write lock (BEGIN IMMEDIATE on SQLite), and each row is claimed by
    UPDATE ... WHERE state = 'queued', so two callers at once can never claim the same job,
    nor together exceed the limit.
    """
    starter = current_actor()
    with ws.db.read() as session:  # the common case, nothing queued, costs a read and no write lock
        if session.execute(select(SqlJob.id).where(SqlJob.state == JobState.QUEUED.value).limit(1)).first() is None:
            return []

    def work(session: Session) -> list[int]:
        running = session.execute(select(func.count()).select_from(SqlJob)
                                  .where(SqlJob.state == JobState.RUNNING.value)).scalar_one()
        free = limit - running
        if free <= 0:
            return []
        candidates = session.scalars(select(SqlJob.id).where(SqlJob.state == JobState.QUEUED.value)
                                     .order_by(SqlJob.id).limit(free)).all()
        claimed = []
        for job_id in candidates:
            now = utcnow()
            done = session.execute(
                update(SqlJob).where(SqlJob.id == job_id, SqlJob.state == JobState.QUEUED.value)
                .values(state=JobState.RUNNING.value, started_at=now, message="Starting a worker process")
            )
            if done.rowcount != 1:
                continue
            row = session.get(SqlJob, job_id)
            append_event(session, "job.started", f"job:{job_id}", model=_model_name(session, row.model_id),
                         actor=row.created_by, at=now,
                         details={"job": job_id, "kind": row.kind, "started_by": starter, "host": HOST,
                                  "starter_pid": os.getpid()})
            claimed.append(job_id)
        return claimed

    return ws.db.write(work)


def set_pid(ws: Workspace, job_id: int, pid: int) -> None:
    """Record the worker's pid as soon as the starter knows it (the worker writes it too, whichever is first)."""
    ws.db.write(lambda s: s.execute(
        update(SqlJob).where(SqlJob.id == job_id, SqlJob.state == JobState.RUNNING.value, SqlJob.pid.is_(None))
        .values(pid=pid, host=HOST)))


def transition(session: Session, job_id: int, to: JobState, *, action: str, actor: str | None = None,
               details: dict[str, Any] | None = None, from_states: tuple[JobState, ...] = (JobState.RUNNING,),
               **fields: Any) -> bool:
    """Move the job from one of `from_states` to `to`, setting `fields`, with its audit event.

    Returns False (and writes nothing) when another process moved it first: the conditional
    UPDATE is what makes a cancel racing a success, or two scans, settle on one outcome.
    """
    now = utcnow()
    values = dict(fields, state=to.value)
    if to.finished:
        values.setdefault("finished_at", now)
    done = session.execute(
        update(SqlJob).where(SqlJob.id == job_id, SqlJob.state.in_([s.value for s in from_states])).values(**values)
    )
    if done.rowcount != 1:
        return False
    row = session.get(SqlJob, job_id)
    session.refresh(row)
    append_event(session, action, f"job:{job_id}", model=_model_name(session, row.model_id),
                 actor=actor or current_actor(), at=now,
                 details={"job": job_id, "kind": row.kind, "state": to.value} | (details or {}))
    return True
