"""Findings (incidents) and sign-off reviews: the parts of a model's record a reviewer writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.compliance import Finding, FindingStatus, Review, ReviewOutcome, ReviewRole
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.cards import parse_review_date
from app.services.convert import aware
from app.services.queries import model_row
from app.store.orm import SqlAlert, SqlFinding, SqlModel, SqlReview, SqlVersion
from app.store.workspace import Workspace

__all__ = ["open_finding", "close_finding", "list_findings", "get_finding", "record_review", "list_reviews"]

_SEVERITIES = ("low", "medium", "high")


def _required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInputError(f"A finding needs {what}.")
    return text


def finding_entity(row: SqlFinding, model_name: str) -> Finding:
    return Finding(
        id=row.id, model_name=model_name, title=row.title, description=row.description, severity=row.severity,
        versions=tuple(int(v) for v in row.versions or ()), status=FindingStatus(row.status),
        root_cause=row.root_cause, corrective_action=row.corrective_action, alert_id=row.alert_id,
        due_at=aware(row.due_at) if row.due_at else None, opened_at=aware(row.opened_at), opened_by=row.opened_by,
        closed_at=aware(row.closed_at) if row.closed_at else None, closed_by=row.closed_by,
    )


def open_finding(ws: Workspace, name: str, title: str, description: str, *, severity: str = "medium",
                 versions: tuple[int, ...] = (), due: str | datetime | None = None, alert_id: int | None = None,
                 root_cause: str = "", actor: str | None = None) -> Finding:
    """Record an incident or review finding on a model (audited as finding.opened)."""
    title, description = _required(title, "a title"), _required(description, "a description")
    if severity not in _SEVERITIES:
        raise InvalidInputError(f"Severity must be low, medium or high, not '{severity}'.")
    due_at = parse_review_date(due) if due is not None else None
    actor = actor or current_actor()

    def work(session: Session) -> Finding:
        model = model_row(session, name)
        known = set(session.scalars(select(SqlVersion.number).where(SqlVersion.model_id == model.id)))
        unknown = sorted(set(versions) - known)
        if unknown:
            raise NotFoundError(f"'{name}' has no version {', '.join(map(str, unknown))}.")
        if alert_id is not None and session.get(SqlAlert, alert_id) is None:
            raise NotFoundError(f"No alert {alert_id}.")
        row = SqlFinding(model_id=model.id, title=title[:300], description=description, severity=severity,
                         versions=sorted(set(versions)), status=FindingStatus.OPEN.value, root_cause=root_cause.strip(),
                         corrective_action="", alert_id=alert_id,
                         due_at=due_at.replace(tzinfo=None) if due_at else None,
                         opened_at=utcnow(), opened_by=actor)
        session.add(row)
        session.flush()
        append_event(session, "finding.opened", f"finding:{row.id}", model=name, actor=actor,
                     details={"title": row.title, "severity": severity, "versions": row.versions,
                              "due": due_at.date().isoformat() if due_at else None, "alert": alert_id})
        return finding_entity(row, name)

    return ws.db.write(work)


def close_finding(ws: Workspace, finding_id: int, corrective_action: str, *, root_cause: str = "",
                  actor: str | None = None) -> Finding:
    """Close a finding with the corrective action taken (and the root cause, if not given before)."""
    action = (corrective_action or "").strip()
    if not action:
        raise InvalidInputError("Closing a finding needs the corrective action taken.")
    actor = actor or current_actor()

    def work(session: Session) -> Finding:
        row = session.get(SqlFinding, finding_id)
        if row is None:
            raise NotFoundError(f"No finding {finding_id}.")
        if row.status == FindingStatus.CLOSED.value:
            raise ConflictError(f"Finding {finding_id} is already closed.")
        row.status, row.corrective_action = FindingStatus.CLOSED.value, action
        if root_cause.strip():
            row.root_cause = root_cause.strip()
        row.closed_at, row.closed_by = utcnow(), actor
        name = session.get(SqlModel, row.model_id).name
        append_event(session, "finding.closed", f"finding:{row.id}", model=name, actor=actor,
                     details={"corrective_action": action, "root_cause": row.root_cause})
        return finding_entity(row, name)

    return ws.db.write(work)


def list_findings(ws: Workspace, name: str | None = None, status: str | None = None) -> list[Finding]:
    """Findings, newest first, optionally of one model and one status."""
    with ws.db.read() as session:
        query = select(SqlFinding, SqlModel.name).join(SqlModel, SqlModel.id == SqlFinding.model_id)
        if name is not None:
            query = query.where(SqlFinding.model_id == model_row(session, name).id)
        if status is not None:
            query = query.where(SqlFinding.status == FindingStatus(status).value)
        return [finding_entity(r, n) for r, n in session.execute(query.order_by(SqlFinding.id.desc()))]


def get_finding(ws: Workspace, finding_id: int) -> Finding:
    with ws.db.read() as session:
        row = session.get(SqlFinding, finding_id)
        if row is None:
            raise NotFoundError(f"No finding {finding_id}.")
        return finding_entity(row, session.get(SqlModel, row.model_id).name)


def record_review(ws: Workspace, name: str, role: str, outcome: str, note: str, *, version: int | None = None,
                  next_review: str | datetime | None = None, actor: str | None = None) -> Review:
    """A sign-off: a validator's validation or an owner's attestation; may set the next review date."""
    try:
        role_v, outcome_v = ReviewRole(role), ReviewOutcome(outcome)
    except ValueError:
        raise InvalidInputError(
            f"Unknown role '{role}' or outcome '{outcome}'.",
            hint="Role: validator or owner. Outcome: approved, approved_with_conditions or rejected.") from None
    note = (note or "").strip()
    if not note:
        raise InvalidInputError("A sign-off needs a note: what was reviewed and on what evidence.")
    next_at = parse_review_date(next_review) if next_review is not None else None
    actor = actor or current_actor()

    def work(session: Session) -> Review:
        model = model_row(session, name)
        version_row = None
        if version is not None:
            version_row = session.scalars(select(SqlVersion).where(
                SqlVersion.model_id == model.id, SqlVersion.number == version)).first()
            if version_row is None:
                raise NotFoundError(f"'{name}' has no version {version}.")
        row = SqlReview(model_id=model.id, version_id=version_row.id if version_row else None, role=role_v.value,
                        outcome=outcome_v.value, note=note, reviewer=actor, at=utcnow())
        session.add(row)
        if next_at is not None:
            model.next_review_at = next_at.replace(tzinfo=None)
        session.flush()
        append_event(session, "model.reviewed", f"model:{name}", model=name, actor=actor,
                     details={"role": role_v.value, "outcome": outcome_v.value, "version": version, "note": note,
                              "next_review": next_at.date().isoformat() if next_at else None})
        return Review(id=row.id, model_name=name, version=version, role=role_v, outcome=outcome_v, note=note,
                      reviewer=actor, at=aware(row.at))

    return ws.db.write(work)


def list_reviews(ws: Workspace, name: str | None = None) -> list[Review]:
    """Sign-offs, newest first."""
    with ws.db.read() as session:
        query = (select(SqlReview, SqlModel.name, SqlVersion.number)
                 .join(SqlModel, SqlModel.id == SqlReview.model_id)
                 .outerjoin(SqlVersion, SqlVersion.id == SqlReview.version_id))
        if name is not None:
            query = query.where(SqlReview.model_id == model_row(session, name).id)
        return [Review(id=r.id, model_name=n, version=num, role=ReviewRole(r.role), outcome=ReviewOutcome(r.outcome),
                       note=r.note, reviewer=r.reviewer, at=aware(r.at))
                for r, n, num in session.execute(query.order_by(SqlReview.at.desc(), SqlReview.id.desc()))]
