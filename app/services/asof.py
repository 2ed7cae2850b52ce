"""As-of questions: what was in production at a moment, on what data, validated how, approved by whom,
and which batches it scored until it was replaced — answered from the append-only stage history."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.core.errors import InvalidInputError
from app.core.timeutil import parse_user_date, to_iso, utcnow
from app.services.convert import aware
from app.services.queries import model_row
from app.store.orm import SqlApproval, SqlAuditEvent, SqlBatch, SqlDataset, SqlStageChange, SqlVersion
from app.store.workspace import Workspace

__all__ = ["AsOf", "as_of", "parse_moment"]


def parse_moment(text: str | datetime) -> datetime:
    """'2026-10-01' (end of that day, UTC) or an ISO time '2026-10-01T12:00' / '...Z' / '...+02:00'."""
    if isinstance(text, datetime):
        return aware(text)
    return parse_user_date(text or "", end_of_day=True)


@dataclass(frozen=True, slots=True)
class AsOf:
    model: str
    at: str
    version: int | None
    message: str
    entered_at: str | None = None
    entered_by: str | None = None
    entry_reason: str | None = None
    clearance: dict[str, Any] = field(default_factory=dict)  # gate passed / overridden / rollback, override text
    approval: dict[str, Any] | None = None
    left_at: str | None = None
    left_by: str | None = None
    replaced_by: int | None = None
    artifact_sha256: str | None = None
    estimator: str | None = None
    registered_at: str | None = None
    registered_by: str | None = None
    train_dataset: dict[str, Any] | None = None
    test_dataset: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    batches: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dataset(row: SqlDataset | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"sha256": row.sha256, "name": row.name, "rows": row.rows, "format": row.format,
            "description": row.description, "source": row.source}


def as_of(ws: Workspace, name: str, when: str | datetime) -> AsOf:
    """The Production version of `name` at `when` and everything a reviewer asks about it."""
    moment, now = parse_moment(when), utcnow()
    if moment > now and moment.date() == now.date():
        moment = now  # "today" means up to now
    if moment > now:
        raise InvalidInputError(f"{moment.date().isoformat()} is in the future.", hint="Ask about a past moment.")
    at = to_iso(moment)
    with ws.db.read() as session:
        model = model_row(session, name)
        naive = moment.replace(tzinfo=None)
        changes = list(session.scalars(select(SqlStageChange).where(SqlStageChange.model_id == model.id)
                                       .order_by(SqlStageChange.at, SqlStageChange.id)))
        live: dict[int, SqlStageChange] = {}
        for change in changes:
            if change.at > naive:
                break
            if change.to_stage == "production":
                live[change.version_id] = change
            elif change.from_stage == "production":
                live.pop(change.version_id, None)
        if not live:
            first = next((c for c in changes if c.to_stage == "production"), None)
            if aware(model.created_at) > moment:
                why = f"'{name}' was not registered yet (registered {aware(model.created_at).date().isoformat()})."
            elif first is None:
                why = f"No version of '{name}' has ever been in production."
            elif first.at > naive:
                why = f"No version of '{name}' was in production yet; the first went live {aware(first.at):%Y-%m-%d %H:%M} UTC."
            else:
                why = f"No version of '{name}' was in production then (it had been taken out of production)."
            return AsOf(model=name, at=at, version=None, message=why)
        entry = max(live.values(), key=lambda c: (c.at, c.id))
        version = session.get(SqlVersion, entry.version_id)
        leaving = next((c for c in changes if c.at > naive and c.version_id == version.id
                        and c.from_stage == "production"), None)
        replaced_by = None
        if leaving is not None:
            successor = next((c for c in changes if c.at >= leaving.at and c.to_stage == "production"
                              and c.version_id != version.id), None)
            replaced_by = session.get(SqlVersion, successor.version_id).number if successor else None
        details = json.loads(session.get(SqlAuditEvent, entry.audit_seq).details or "{}")
        clearance = {k: details[k] for k in ("gate", "gate_summary", "override", "failed_criteria", "policy")
                     if k in details}
        approval_row = session.scalars(select(SqlApproval).where(
            SqlApproval.version_id == version.id, SqlApproval.status == "approved",
            SqlApproval.decided_at <= entry.at).order_by(SqlApproval.decided_at.desc())).first()
        approval = None if approval_row is None else {
            "id": approval_row.id, "requested_by": approval_row.requested_by,
            "requested_at": to_iso(aware(approval_row.requested_at)), "reason": approval_row.reason,
            "approved_by": approval_row.decided_by, "approved_at": to_iso(aware(approval_row.decided_at)),
            "rationale": approval_row.rationale}
        end = leaving.at if leaving is not None else None
        query = select(SqlBatch.id, SqlBatch.created_at, SqlBatch.kind, SqlBatch.label, SqlBatch.rows,
                       SqlBatch.input_sha256, SqlBatch.output_sha256, SqlBatch.drift_share,
                       SqlBatch.created_by).where(SqlBatch.version_id == version.id, SqlBatch.created_at >= entry.at)
        if end is not None:
            query = query.where(SqlBatch.created_at <= end)
        batches = [{"id": b.id, "at": to_iso(aware(b.created_at)), "kind": b.kind, "label": b.label, "rows": b.rows,
                    "input_sha256": b.input_sha256, "output_sha256": b.output_sha256,
                    "drift_share": b.drift_share, "by": b.created_by}
                   for b in session.execute(query.order_by(SqlBatch.created_at, SqlBatch.id))]
        evaluation = dict(version.evaluation or {})
        until = f"until {aware(leaving.at):%Y-%m-%d %H:%M} UTC" if leaving else "and still is"
        return AsOf(
            model=name, at=at, version=version.number,
            message=f"Version {version.number} was in production: from {aware(entry.at):%Y-%m-%d %H:%M} UTC {until}.",
            entered_at=to_iso(aware(entry.at)), entered_by=entry.actor, entry_reason=entry.reason,
            clearance=clearance, approval=approval,
            left_at=to_iso(aware(leaving.at)) if leaving else None, left_by=leaving.actor if leaving else None,
            replaced_by=replaced_by, artifact_sha256=version.artifact_sha256, estimator=version.estimator_class,
            registered_at=to_iso(aware(version.created_at)), registered_by=version.created_by,
            train_dataset=_dataset(version.train_dataset), test_dataset=_dataset(version.test_dataset),
            metrics=dict(version.metrics or {}),
            gate=evaluation.get("gate") or (version.provenance or {}).get("gate"),
            batches=batches,
        )
