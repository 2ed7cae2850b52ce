"""Retraining schedules: a cron expression (UTC) and/or an alert trigger per model, and running what is due."""

# run_due is what `steward run-due` does from cron, a systemd timer or Task Scheduler, and several
# callers may run it at the same moment (two machines on one share, a timer and a person). Each
# schedule fires inside one write transaction (BEGIN IMMEDIATE on SQLite) whose conditional UPDATE
# of the schedule row is the claim: only the caller whose UPDATE matched the values it read submits
# the job, links the alerts and writes the audit event; the others' transactions change nothing.
# A run missed while no one called run_due (machine off) fires once, then the schedule moves to the
# next cron time after now: no burst of catch-up retrains.

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.automation import DueRun, Schedule
from app.core.cron import next_due, parse_cron
from app.core.errors import InvalidInputError, NotFoundError, StewardError
from app.core.identity import current_actor
from app.core.jobs import JobState
from app.core.monitoring import AlertStatus, Severity
from app.core.timeutil import to_iso, utcnow
from app.services.audit import append_event
from app.services.convert import aware
from app.store.orm import SqlAlert, SqlJob, SqlModel, SqlSchedule, SqlVersion
from app.store.workspace import Workspace

__all__ = ["SEVERITIES", "UNSET", "set_schedule", "get_schedule", "list_schedules", "run_due", "run_due_report"]

SEVERITIES = ("low", "medium", "high")
UNSET: Any = object()  # "leave as it is"; None clears


def _maybe(moment: datetime | None) -> datetime | None:
    return aware(moment) if moment is not None else None


def _iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def _entity(row: SqlSchedule, name: str) -> Schedule:
    return Schedule(model_name=name, cron=row.cron, on_alert_severity=row.on_alert_severity,
                    enabled=bool(row.enabled), next_due_at=_maybe(row.next_due_at),
                    last_run_at=_maybe(row.last_run_at), last_job_id=row.last_job_id,
                    updated_at=aware(row.updated_at), updated_by=row.updated_by)


def _model(session: Session, name: str) -> SqlModel:
    row = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if row is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
    return row


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clean_cron(cron: Any) -> str | None:
    if cron is None or not str(cron).strip() or str(cron).strip().lower() in ("none", "off"):
        return None
    return parse_cron(str(cron)).expression


def _clean_severity(value: Any) -> str | None:
    if value is None or not str(value).strip() or str(value).strip().lower() in ("none", "off"):
        return None
    text = str(value).strip().lower()
    if text not in SEVERITIES:
        raise InvalidInputError(f"'{value}' is not an alert severity.", hint=f"Use one of: {', '.join(SEVERITIES)}.")
    return text


def set_schedule(ws: Workspace, name: str, *, cron: Any = UNSET, on_alert: Any = UNSET, enabled: bool | None = None,
                 actor: str | None = None, now: datetime | None = None) -> Schedule:
    """Create or change a model's schedule. `cron`: a 5-field expression evaluated in UTC (None
    clears it); `on_alert`: retrain when an alert at least this severe opens (None clears it);
    `enabled`: None keeps the current state (a new schedule is enabled). Audited as
    schedule.created / schedule.changed with every changed field's old and new value."""
    actor = actor or current_actor()
    moment = _as_utc(now)
    new_cron = UNSET if cron is UNSET else _clean_cron(cron)
    new_alert = UNSET if on_alert is UNSET else _clean_severity(on_alert)
    if new_cron not in (UNSET, None):
        next_due(new_cron, moment)  # an expression that never matches (30 February) is refused now

    def work(session: Session) -> Schedule:
        model = _model(session, name)
        row = session.get(SqlSchedule, model.id)
        before = _fields(row) if row is not None else None
        cron_value = (row.cron if row else None) if new_cron is UNSET else new_cron
        alert_value = (row.on_alert_severity if row else None) if new_alert is UNSET else new_alert
        enabled_value = (bool(row.enabled) if row else True) if enabled is None else bool(enabled)
        if not cron_value and not alert_value:
            raise InvalidInputError(f"A schedule for '{name}' needs a cron expression and/or an alert trigger.",
                                    hint="Give --cron \"0 6 * * 1\" and/or --on-alert medium; "
                                    "to stop a schedule, use --disable.")
        unchanged_timing = row is not None and row.cron == cron_value and bool(row.enabled) and row.next_due_at
        if not (cron_value and enabled_value):
            next_at = None
        elif unchanged_timing:
            next_at = aware(row.next_due_at)  # same cron, still enabled: the pending run stays as it was
        else:
            next_at = next_due(cron_value, moment)
        if row is None:
            row = SqlSchedule(model_id=model.id, last_run_at=None, last_job_id=None)
            session.add(row)
        row.cron, row.on_alert_severity, row.enabled, row.next_due_at = cron_value, alert_value, enabled_value, next_at
        after = _fields(row)
        changes = {k: {"from": (before or {}).get(k), "to": v} for k, v in after.items()
                   if before is None or before[k] != v}
        if before is not None and not changes:
            return _entity(row, name)  # nothing changed: no event
        row.updated_at, row.updated_by = utcnow(), actor
        session.flush()
        append_event(session, "schedule.created" if before is None else "schedule.changed", f"schedule:{name}",
                     model=name, actor=actor, details={"changes": changes, "timezone": "UTC"} | after)
        return _entity(row, name)

    return ws.db.write(work)


def _fields(row: SqlSchedule) -> dict[str, Any]:
    return {"cron": row.cron, "on_alert_severity": row.on_alert_severity, "enabled": bool(row.enabled),
            "next_due_at": _iso(_maybe(row.next_due_at))}


def get_schedule(ws: Workspace, name: str) -> Schedule:
    with ws.db.read() as session:
        model = _model(session, name)
        row = session.get(SqlSchedule, model.id)
        if row is None:
            raise NotFoundError(f"Model '{name}' has no schedule.",
                                hint=f"Create one with `steward schedule set {name} --cron \"0 6 * * 1\"`.")
        return _entity(row, name)


def list_schedules(ws: Workspace) -> list[Schedule]:
    """Every schedule, by model name."""
    with ws.db.read() as session:
        rows = session.execute(select(SqlSchedule, SqlModel.name).join(SqlModel, SqlModel.id == SqlSchedule.model_id)
                               .order_by(SqlModel.name)).all()
        return [_entity(row, name) for row, name in rows]


def _pending_alerts(session: Session, row: SqlSchedule) -> list[SqlAlert]:
    """Unresolved alerts at least as severe as the trigger, opened since the last run (or since the
    schedule was last changed, before its first run) and not yet answered by a job."""
    allowed = [s.value for s in Severity if s.rank >= Severity(row.on_alert_severity).rank]
    since = row.last_run_at or row.updated_at
    return list(session.scalars(select(SqlAlert).where(
        SqlAlert.model_id == row.model_id, SqlAlert.severity.in_(allowed), SqlAlert.linked_job_id.is_(None),
        SqlAlert.status != AlertStatus.RESOLVED.value, SqlAlert.opened_at > since).order_by(SqlAlert.id)).all())


def _due(row: SqlSchedule, now: datetime) -> bool:
    return bool(row.enabled and row.cron and row.next_due_at is not None and aware(row.next_due_at) <= now)


def _preflight(ws: Workspace, name: str, actor: str) -> str | None:
    """Why a retrain of `name` cannot be submitted now, or None (the recipe is made here on first use)."""
    from app.services.recipes import get_recipe

    with ws.db.read() as session:
        model = _model(session, name)
        production = session.scalars(select(SqlVersion.id).where(
            SqlVersion.model_id == model.id, SqlVersion.stage == "production")).first()
    if production is None:
        return f"Model '{name}' has no Production version to retrain; the scheduled retrain was skipped."
    try:
        get_recipe(ws, name, actor=actor)
    except StewardError as exc:
        return str(exc)
    return None


def _fire(session: Session, model_id: int, name: str, now: datetime, error: str | None,
          actor: str) -> dict[str, Any] | None:
    """One schedule's due work inside the caller's write transaction; None if nothing was due or
    another caller claimed it first."""
    from app.workers.records import insert_job

    row = session.get(SqlSchedule, model_id)
    if row is None or not row.enabled:
        return None
    cron_due = _due(row, now)
    alerts = _pending_alerts(session, row) if row.on_alert_severity else []
    if not cron_due and not alerts:
        return None
    old_next, old_last = row.next_due_at, row.last_run_at
    new_next = next_due(row.cron, now) if cron_due else _maybe(old_next)
    claimed = session.execute(
        update(SqlSchedule).where(SqlSchedule.model_id == model_id, SqlSchedule.enabled.is_(True),
                                  SqlSchedule.next_due_at.is_not_distinct_from(old_next),
                                  SqlSchedule.last_run_at.is_not_distinct_from(old_last))
        .values(next_due_at=new_next, last_run_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    triggers = (["cron"] if cron_due else []) + (["alert"] if alerts else [])
    details: dict[str, Any] = {"trigger": triggers, "due_at": _iso(_maybe(old_next)) if cron_due else None,
                               "next_due_at": _iso(new_next), "alerts": [a.id for a in alerts], "timezone": "UTC"}
    if error is None and session.scalars(select(SqlVersion.id).where(
            SqlVersion.model_id == model_id, SqlVersion.stage == "production")).first() is None:
        error = f"Model '{name}' has no Production version to retrain; the scheduled retrain was skipped."
    if error is not None:
        append_event(session, "schedule.failed", f"schedule:{name}", model=name, actor=actor,
                     details=details | {"error": error})
        return {"outcome": "failed", "model": name, "trigger": triggers, "error": error}
    active = session.scalars(select(SqlJob.id).where(
        SqlJob.model_id == model_id, SqlJob.kind == "retrain",
        SqlJob.state.in_([JobState.QUEUED.value, JobState.RUNNING.value])).order_by(SqlJob.id)).first()
    if active is not None:  # a retrain is already on its way: answer the trigger with it, not with a second one
        job_id, outcome = active, "reused"
    else:
        job_id, outcome = insert_job(session, "retrain", {"model": name, "data": None, "trigger": "+".join(triggers)},
                                     model=name, actor=actor), "submitted"
    session.execute(update(SqlSchedule).where(SqlSchedule.model_id == model_id).values(last_job_id=job_id)
                    .execution_options(synchronize_session=False))
    linked = [a.id for a in alerts if session.execute(
        update(SqlAlert).where(SqlAlert.id == a.id, SqlAlert.linked_job_id.is_(None)).values(linked_job_id=job_id)
        .execution_options(synchronize_session=False)).rowcount == 1]
    append_event(session, "schedule.fired", f"schedule:{name}", model=name, actor=actor,
                 details=details | {"job": job_id, "reused_job": outcome == "reused", "alerts": linked})
    return {"outcome": outcome, "model": name, "job": job_id}


def run_due_report(ws: Workspace, now: datetime | None = None, *, start: bool = True,
                   actor: str | None = None) -> DueRun:
    """Fire every enabled schedule that is due at `now` (default: the current UTC time): a cron time
    that has come, or an alert of at least its trigger severity opened since its last run. Each fires
    exactly once across concurrent callers. Then (with `start`) queued jobs are started."""
    moment = _as_utc(now)
    actor = actor or current_actor()
    with ws.db.read() as session:
        rows = session.execute(select(SqlSchedule, SqlModel.name).join(SqlModel, SqlModel.id == SqlSchedule.model_id)
                               .where(SqlSchedule.enabled.is_(True)).order_by(SqlModel.name)).all()
        candidates = [(row.model_id, name) for row, name in rows
                      if _due(row, moment) or (row.on_alert_severity and _pending_alerts(session, row))]
    submitted, reused, failed = [], [], []
    for model_id, name in candidates:
        error = _preflight(ws, name, actor)
        result = ws.db.write(lambda s, m=model_id, n=name, e=error: _fire(s, m, n, moment, e, actor))
        if result is None:
            continue
        if result["outcome"] == "failed":
            failed.append({k: result[k] for k in ("model", "trigger", "error")})
        else:
            (submitted if result["outcome"] == "submitted" else reused).append(result["job"])
    started: list[int] = []
    if start:
        from app.services.jobs import start_queued

        started = start_queued(ws)
    return DueRun(submitted=tuple(submitted), started=tuple(started), reused=tuple(reused), failed=tuple(failed))


def run_due(ws: Workspace, now: datetime | None = None, *, start: bool = True) -> list[int]:
    """Submit a retrain for every schedule due at `now`; returns the new job ids (see run_due_report)."""
    return list(run_due_report(ws, now, start=start).submitted)
