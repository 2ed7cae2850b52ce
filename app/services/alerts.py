"""Alerts: opened by breaches, acknowledged, then resolved with a recorded decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.monitoring import Alert, AlertKind, AlertStatus, Decision, Severity
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import aware
from app.store.orm import SqlAlert, SqlBatch, SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["open_alerts_for_batch", "open_alert", "list_alerts", "get_alert", "acknowledge_alert",
           "resolve_alert", "quality_breaches", "link_job_alerts"]


def _max_severity(levels) -> str:
    ranked = sorted((Severity(s) for s in levels), key=lambda s: s.rank)
    return ranked[-1].value if ranked else Severity.NONE.value


def quality_breaches(report: dict, limits: dict) -> list[dict]:
    """Features whose data quality crossed a limit: missing rate rise, out-of-range, unseen, unparsable."""
    found = []
    for f in report.get("features", []):
        reasons = []
        rise = (f.get("missing_rate") or 0.0) - (f.get("ref_missing_rate") or 0.0)
        if rise > limits["missing_increase"]:
            reasons.append(f"missing values up {rise:.0%}")
        if (f.get("out_of_range_share") or 0.0) > limits["out_of_range"]:
            reasons.append(f"{f['out_of_range_share']:.1%} outside the training range")
        if (f.get("unseen_share") or 0.0) > limits["unseen"]:
            reasons.append(f"{f['unseen_share']:.1%} unseen categories")
        if (f.get("unparsable") or 0) > limits["unparsable"]:
            reasons.append(f"{f['unparsable']} unparsable value(s)")
        if reasons:
            found.append({"feature": f["name"], "reasons": reasons})
    return found


def open_alert(session: Session, batch: SqlBatch | None, version: SqlVersion, kind: AlertKind, severity: str,
               title: str, details: dict[str, Any], actor: str) -> SqlAlert | None:
    """Open an alert, unless an accepted risk covers it or an unresolved one of that kind already exists."""
    now = utcnow()
    model_name = version.model.name
    accepted = session.scalars(select(SqlAlert).where(
        SqlAlert.model_id == version.model_id, SqlAlert.kind == kind.value,
        SqlAlert.decision == Decision.ACCEPT_RISK.value, SqlAlert.expires_at > now)).first()
    if accepted is not None:
        append_event(session, "alert.suppressed", f"alert:{accepted.id}", model=model_name, actor=actor,
                     details={"batch": batch.id if batch else None, "kind": kind.value,
                              "accepted_until": aware(accepted.expires_at).isoformat()})
        return None
    existing = session.scalars(select(SqlAlert).where(
        SqlAlert.model_id == version.model_id, SqlAlert.kind == kind.value,
        SqlAlert.status != AlertStatus.RESOLVED.value)).first()
    if existing is not None:
        repeats = list(existing.details.get("repeated_in_batches", []))
        if batch is not None:
            repeats.append(batch.id)
        existing.details = existing.details | {"repeated_in_batches": repeats}
        existing.severity = _max_severity([existing.severity, severity])
        append_event(session, "alert.repeated", f"alert:{existing.id}", model=model_name, actor=actor,
                     details={"batch": batch.id if batch else None, "severity": existing.severity})
        return existing
    alert = SqlAlert(model_id=version.model_id, version_id=version.id, batch_id=batch.id if batch else None,
                     kind=kind.value, severity=severity, status=AlertStatus.OPEN.value, title=title,
                     details=details, opened_at=now)
    session.add(alert)
    session.flush()
    append_event(session, "alert.opened", f"alert:{alert.id}", model=model_name, actor=actor, details={
        "alert": alert.id, "kind": kind.value, "severity": severity, "title": title,
        "batch": batch.id if batch else None, "version": version.number})
    return alert


def open_alerts_for_batch(session: Session, batch: SqlBatch, version: SqlVersion, report: dict, actor: str,
                          quality_limits: dict) -> list[SqlAlert]:
    opened = []
    drifted = [f for f in report.get("features", []) if f.get("drifted")]
    if drifted:
        severity = _max_severity(f.get("severity", "low") for f in drifted)
        if report.get("dataset_drift"):
            severity = Severity.HIGH.value
        names = ", ".join(f["name"] for f in drifted[:5]) + (" …" if len(drifted) > 5 else "")
        title = f"Drift in {len(drifted)} feature(s) of batch {batch.id}: {names}"
        alert = open_alert(session, batch, version, AlertKind.DRIFT, severity, title, {
            "features": [{k: f.get(k) for k in ("name", "psi", "js_distance", "wasserstein_norm", "severity")}
                         for f in drifted], "drift_share": report.get("drift_share")}, actor)
        if alert is not None:
            opened.append(alert)
    breaches = quality_breaches(report, quality_limits)
    if breaches:
        severe = any("unparsable" in r or "missing" in r for b in breaches for r in b["reasons"])
        title = f"Data quality problems in batch {batch.id}: " + ", ".join(b["feature"] for b in breaches[:5])
        alert = open_alert(session, batch, version, AlertKind.QUALITY, "high" if severe else "medium", title,
                           {"breaches": breaches}, actor)
        if alert is not None:
            opened.append(alert)
    return opened


def _alert_row(session: Session, alert_id: int) -> SqlAlert:
    row = session.get(SqlAlert, alert_id)
    if row is None:
        raise NotFoundError(f"No alert #{alert_id}.", hint="See `steward alerts list`.")
    return row


def list_alerts(ws: Workspace, model: str | None = None, status: str | None = None) -> list[Alert]:
    """Alerts newest first; `status` 'open' means not yet resolved (open or acknowledged)."""
    from app.services.monitoring_convert import alert_entity

    with ws.db.read() as session:
        query = select(SqlAlert, SqlModel.name, SqlVersion.number).join(SqlModel, SqlModel.id == SqlAlert.model_id) \
            .join(SqlVersion, SqlVersion.id == SqlAlert.version_id).order_by(SqlAlert.id.desc())
        if model:
            query = query.where(SqlModel.name == model)
        if status == "open":
            query = query.where(SqlAlert.status != AlertStatus.RESOLVED.value)
        elif status:
            query = query.where(SqlAlert.status == AlertStatus(status).value)
        return [alert_entity(row, name, number) for row, name, number in session.execute(query).all()]


def get_alert(ws: Workspace, alert_id: int) -> Alert:
    from app.services.monitoring_convert import alert_entity

    with ws.db.read() as session:
        return alert_entity(_alert_row(session, alert_id))


def acknowledge_alert(ws: Workspace, alert_id: int, note: str = "", *, actor: str | None = None) -> Alert:
    from app.services.monitoring_convert import alert_entity

    actor = actor or current_actor()

    def work(session: Session) -> Alert:
        row = _alert_row(session, alert_id)
        if row.status != AlertStatus.OPEN.value:
            raise ConflictError(f"Alert #{alert_id} is already {row.status}.")
        row.status, row.acknowledged_at, row.acknowledged_by, row.ack_note = "acknowledged", utcnow(), actor, note
        append_event(session, "alert.acknowledged", f"alert:{row.id}", model=session.get(SqlModel, row.model_id).name,
                     actor=actor, details={"alert": row.id, "note": note})
        return alert_entity(row)

    return ws.db.write(work)


def resolve_alert(ws: Workspace, alert_id: int, decision: str, rationale: str, *,
                  expires: datetime | None = None, linked_version: int | None = None, retrain: bool = False,
                  actor: str | None = None) -> Alert:
    """Close an alert with a decision: retrain (linked to a version, or with `retrain=True` to a
    retrain job submitted in the same transaction, whose version is linked when the job records
    it), accept the risk (rationale and expiry date), or retire the model (Production is archived).

    A submitted job is only queued: the caller starts it (app.services.jobs.start_queued)."""
    from app.services.monitoring_convert import alert_entity

    try:
        choice = Decision(decision)
    except ValueError:
        raise InvalidInputError(f"'{decision}' is not a decision.", hint="Use retrain, accept_risk or retire.") from None
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInputError("Write a rationale for the decision; it is kept in the audit log.")
    if choice is Decision.ACCEPT_RISK and expires is None:
        raise InvalidInputError("Accepting a risk needs an expiry date.", hint="e.g. --expires 2027-03-31")
    if expires is not None and expires <= utcnow():
        raise InvalidInputError("The expiry date must be in the future.")
    if retrain and choice is not Decision.RETRAIN:
        raise InvalidInputError(f"Only a retrain decision starts a retrain, not {choice.value}.")
    if retrain and linked_version is not None:
        raise InvalidInputError("Link the alert either to an existing version or to a new retrain job, not both.")
    actor = actor or current_actor()
    if retrain:
        from app.services.recipes import get_recipe

        with ws.db.read() as session:
            model_name = session.get(SqlModel, _alert_row(session, alert_id).model_id).name
        get_recipe(ws, model_name, actor=actor)  # made on first use: its problems show before anything is written

    def work(session: Session) -> Alert:
        row = _alert_row(session, alert_id)
        if row.status == AlertStatus.RESOLVED.value:
            raise ConflictError(f"Alert #{alert_id} is already resolved ({row.decision}).")
        model = session.get(SqlModel, row.model_id)
        linked_id = None
        if linked_version is not None:
            linked = session.scalars(select(SqlVersion).where(
                SqlVersion.model_id == model.id, SqlVersion.number == linked_version)).first()
            if linked is None:
                raise NotFoundError(f"Model '{model.name}' has no version {linked_version}.")
            linked_id = linked.id
        now = utcnow()
        if row.status == AlertStatus.OPEN.value:
            row.acknowledged_at, row.acknowledged_by = now, actor
        row.status, row.resolved_at, row.resolved_by = AlertStatus.RESOLVED.value, now, actor
        row.decision, row.rationale, row.expires_at, row.linked_version_id = choice.value, rationale, expires, linked_id
        if retrain:
            from app.workers.records import insert_job

            row.linked_job_id = insert_job(session, "retrain", {"model": model.name, "data": None,
                                                                "alert": row.id}, model=model.name, actor=actor)
        append_event(session, "alert.resolved", f"alert:{row.id}", model=model.name, actor=actor, details={
            "alert": row.id, "decision": choice.value, "rationale": rationale,
            "expires": expires.isoformat() if expires else None, "linked_version": linked_version}
            | ({"linked_job": row.linked_job_id} if retrain else {}))
        if choice is Decision.RETIRE:
            from app.core.entities import Stage
            from app.services.stages import move_in_session

            for version in session.scalars(select(SqlVersion).where(
                    SqlVersion.model_id == model.id, SqlVersion.stage == "production")).all():
                move_in_session(session, model, version, Stage.ARCHIVED,
                                f"model retired on alert #{row.id}: {rationale}", actor)
        return alert_entity(row, model.name)

    return ws.db.write(work)


def link_job_alerts(session: Session, job_id: int, model: SqlModel, version: SqlVersion, actor: str) -> list[int]:
    """Alerts resolved by starting job `job_id` get the version it recorded (in the job's final transaction)."""
    rows = session.scalars(select(SqlAlert).where(SqlAlert.linked_job_id == job_id,
                                                  SqlAlert.linked_version_id.is_(None))).all()
    for row in rows:
        row.linked_version_id = version.id
        append_event(session, "alert.linked", f"alert:{row.id}", model=model.name, actor=actor,
                     details={"alert": row.id, "job": job_id, "version": version.number})
    return [row.id for row in rows]
