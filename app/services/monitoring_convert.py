"""Monitoring ORM rows to plain records."""

from __future__ import annotations

from app.core.monitoring import Alert, AlertKind, AlertStatus, Batch, Decision, Severity
from app.services.convert import aware
from app.store.orm import SqlAlert, SqlBatch

__all__ = ["batch_entity", "alert_entity"]


def batch_entity(row: SqlBatch, model_name: str, number: int, alerts: tuple[int, ...] = ()) -> Batch:
    return Batch(
        id=row.id, model_name=model_name, version=number, kind=row.kind, label=row.label,
        input_name=row.input_name, input_sha256=row.input_sha256, output_sha256=row.output_sha256,
        rows=row.rows, drift_share=row.drift_share, dataset_drift=bool(row.dataset_drift),
        drift=dict(row.drift or {}), performance=dict(row.performance) if row.performance else None,
        labels_sha256=row.labels_sha256, created_at=aware(row.created_at), created_by=row.created_by,
        alerts=alerts,
    )


def _maybe(moment):
    return aware(moment) if moment is not None else None


def alert_entity(row: SqlAlert, model_name: str | None = None, number: int | None = None,
                 linked: int | None = None) -> Alert:
    from app.store.orm import SqlModel, SqlVersion
    from sqlalchemy.orm import object_session

    session = object_session(row)
    if model_name is None and session is not None:
        model_name = session.get(SqlModel, row.model_id).name
    if number is None and session is not None:
        number = session.get(SqlVersion, row.version_id).number
    if linked is None and row.linked_version_id and session is not None:
        linked = session.get(SqlVersion, row.linked_version_id).number
    return Alert(
        id=row.id, model_name=model_name or "", version=number or 0, batch_id=row.batch_id,
        kind=AlertKind(row.kind), severity=Severity(row.severity), status=AlertStatus(row.status),
        title=row.title, details=dict(row.details or {}), opened_at=aware(row.opened_at),
        acknowledged_at=_maybe(row.acknowledged_at), acknowledged_by=row.acknowledged_by, ack_note=row.ack_note,
        resolved_at=_maybe(row.resolved_at), resolved_by=row.resolved_by,
        decision=Decision(row.decision) if row.decision else None, rationale=row.rationale,
        expires_at=_maybe(row.expires_at), linked_version=linked, linked_job=row.linked_job_id,
    )
