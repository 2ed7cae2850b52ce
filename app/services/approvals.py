"""Promotion requests under separation of duties: request, approve (moves the version), reject, withdraw."""

# A request is checked against the gate when it is made (a failed gate needs the override rationale
# then) and again when it is approved, inside the transaction that moves the version. The
# approver must not be the requester. A request whose version moves in any other way meanwhile is
# withdrawn automatically by that move (see stages.move_in_session): the approver would otherwise
# decide on a state that no longer exists. The override rationale is kept in the request's audit
# event (the approvals table has no column for it), which is also where a report reads it from.

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.approvals import Approval, ApprovalStatus, Promotion
from app.core.entities import Stage
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import aware
from app.services.stages import (clean_override, clean_reason, enter_production, gate_clearance, locate_version,
                                 recorded_gate)
from app.store.orm import SqlApproval, SqlAuditEvent, SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["request_promotion", "list_approvals", "get_approval", "approve", "reject", "withdraw", "open_request",
           "withdraw_pending_for"]

POLICY_NAME = "separation of duties (policy.separation_of_duties)"


def _override_texts(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(SqlAuditEvent.object, SqlAuditEvent.details).where(
        SqlAuditEvent.action == "approval.requested",
        SqlAuditEvent.object.in_([f"approval:{i}" for i in ids]))).all()
    found = {int(obj.split(":", 1)[1]): json.loads(details).get("override") for obj, details in rows}
    return {k: v for k, v in found.items() if v}


def _entity(session: Session, row: SqlApproval, override: str | None = None) -> Approval:
    version = session.get(SqlVersion, row.version_id)
    if row.override and override is None:
        override = _override_texts(session, [row.id]).get(row.id)
    return Approval(
        id=row.id, model_name=session.get(SqlModel, row.model_id).name, version=version.number,
        version_stage=Stage(version.stage), status=ApprovalStatus(row.status), reason=row.reason,
        override=override if row.override else None, requested_by=row.requested_by,
        requested_at=aware(row.requested_at), decided_by=row.decided_by,
        decided_at=aware(row.decided_at) if row.decided_at else None, rationale=row.rationale,
        gate=recorded_gate(version),
    )


def _row(session: Session, approval_id: int) -> SqlApproval:
    row = session.get(SqlApproval, approval_id)
    if row is None:
        raise NotFoundError(f"No approval request #{approval_id}.", hint="See `steward approvals list --status all`.")
    return row


def _pending(row: SqlApproval) -> None:
    if row.status != ApprovalStatus.PENDING.value:
        who = f" by {row.decided_by}" if row.decided_by else ""
        raise ConflictError(f"Approval request #{row.id} is already {row.status}{who}; only a pending request "
                            "can be decided.")


def _rationale(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInputError(f"Write a rationale for the {what}; it is kept in the audit log.",
                                hint="e.g. --rationale \"validation pack reviewed, metrics hold on the hold-out\"")
    return text


def open_request(session: Session, model: SqlModel, version: SqlVersion, reason: str, override: str | None,
                 actor: str) -> Approval:
    """Add a pending request inside the caller's transaction (the gate was checked by the caller)."""
    existing = session.scalars(select(SqlApproval).where(
        SqlApproval.version_id == version.id, SqlApproval.status == ApprovalStatus.PENDING.value)).first()
    if existing is not None:
        raise ConflictError(
            f"Approval request #{existing.id} to move version {version.number} of '{model.name}' to Production "
            f"is already pending (requested by {existing.requested_by}).",
            hint=f"Another person approves or rejects it; the requester can withdraw it "
                 f"(`steward approvals withdraw {existing.id}`).")
    row = SqlApproval(model_id=model.id, version_id=version.id, status=ApprovalStatus.PENDING.value, reason=reason,
                      override=override is not None, requested_by=actor, requested_at=utcnow())
    session.add(row)
    session.flush()
    gate = recorded_gate(version)
    append_event(session, "approval.requested", f"approval:{row.id}", model=model.name, actor=actor, details={
        "approval": row.id, "version": version.number, "stage": version.stage, "to": Stage.PRODUCTION.value,
        "reason": reason, "override": override, "gate_passed": gate.get("passed") if gate else None,
        "gate_summary": gate.get("summary") if gate else None})
    return _entity(session, row, override)


def request_promotion(ws: Workspace, name: str, number: int, reason: str, *, actor: str | None = None,
                      override: str | None = None) -> Approval:
    """Ask another person to move version `number` of `name` to Production (whatever the policy says).

    The gate is checked now: a failed gate needs `override` (its rationale). Raises ConflictError when
    the version is in Production already or a request for it is pending.
    """
    reason = clean_reason(reason)
    override = clean_override(override, Stage.PRODUCTION)
    actor = actor or current_actor()

    def work(session: Session) -> Approval:
        model, version = locate_version(session, name, number)
        if version.stage == Stage.PRODUCTION.value:
            raise ConflictError(f"Version {number} of '{name}' is already in Production.")
        gate_clearance(session, model, version, override)
        return open_request(session, model, version, reason, override, actor)

    return ws.db.write(work)


def list_approvals(ws: Workspace, *, status: str | None = "pending", model: str | None = None) -> list[Approval]:
    """Requests newest first; `status` None or 'all' lists every request."""
    query = select(SqlApproval).order_by(SqlApproval.id.desc())
    if status and status != "all":
        try:
            query = query.where(SqlApproval.status == ApprovalStatus(status).value)
        except ValueError:
            raise InvalidInputError(f"'{status}' is not an approval status.",
                                    hint=f"Use all or one of: {', '.join(s.value for s in ApprovalStatus)}.") from None
    with ws.db.read() as session:
        if model:
            row = session.scalars(select(SqlModel).where(SqlModel.name == model)).first()
            if row is None:
                raise NotFoundError(f"No model named '{model}'.", hint="See `steward model list`.")
            query = query.where(SqlApproval.model_id == row.id)
        rows = session.scalars(query).all()
        texts = _override_texts(session, [r.id for r in rows if r.override])
        return [_entity(session, r, texts.get(r.id)) for r in rows]


def get_approval(ws: Workspace, approval_id: int) -> Approval:
    with ws.db.read() as session:
        return _entity(session, _row(session, approval_id))


def approve(ws: Workspace, approval_id: int, rationale: str, *, actor: str | None = None) -> Promotion:
    """Approve a pending request: the version moves to Production (the old one is archived) in this
    transaction, with the requester's reason and both names in the history and the audit log.

    Raises ConflictError when the approver is the requester (separation of duties), the request is no
    longer pending, or the gate no longer clears; InvalidInputError without a rationale.
    """
    rationale = _rationale(rationale, "approval")
    actor = actor or current_actor()

    def work(session: Session) -> Promotion:
        row = _row(session, approval_id)
        _pending(row)
        if actor == row.requested_by:
            raise ConflictError(
                f"{actor} requested approval #{row.id} and cannot approve it: {POLICY_NAME} requires the "
                "approver to be another person.", hint="Ask a colleague to approve it, or withdraw the request.")
        model, version = session.get(SqlModel, row.model_id), session.get(SqlVersion, row.version_id)
        if version.stage == Stage.PRODUCTION.value:  # moves withdraw requests; this guards older rows
            raise ConflictError(f"Version {version.number} of '{model.name}' is already in Production.")
        override = _override_texts(session, [row.id]).get(row.id) if row.override else None
        clearance = gate_clearance(session, model, version, override)
        # Decided before the move, so the move's own check for pending requests leaves this one alone.
        row.status, row.decided_by, row.decided_at, row.rationale = (ApprovalStatus.APPROVED.value, actor, utcnow(),
                                                                     rationale)
        append_event(session, "approval.approved", f"approval:{row.id}", model=model.name, actor=actor, details={
            "approval": row.id, "version": version.number, "requested_by": row.requested_by, "approved_by": actor,
            "reason": row.reason, "rationale": rationale, "override": override})
        reason = f"{row.reason} (requested by {row.requested_by}; approved by {actor}: {rationale})"
        moves = enter_production(session, model, version, reason, actor, clearance, extra={
            "approval": row.id, "requested_by": row.requested_by, "approved_by": actor})
        return Promotion(moves=moves, approval=_entity(session, row, override))

    return ws.db.write(work)


def _close(ws: Workspace, approval_id: int, status: ApprovalStatus, rationale: str, actor: str) -> Approval:
    def work(session: Session) -> Approval:
        row = _row(session, approval_id)
        _pending(row)
        mine = actor == row.requested_by
        if status is ApprovalStatus.REJECTED and mine:
            raise ConflictError(f"{actor} requested approval #{row.id}; a request is rejected by another person.",
                                hint=f"Withdraw your own request instead: `steward approvals withdraw {row.id}`.")
        if status is ApprovalStatus.WITHDRAWN and not mine:
            raise ConflictError(f"Only {row.requested_by}, who requested approval #{row.id}, can withdraw it.",
                                hint="Reject it with a rationale instead.")
        row.status, row.decided_by, row.decided_at, row.rationale = status.value, actor, utcnow(), rationale or None
        model, version = session.get(SqlModel, row.model_id), session.get(SqlVersion, row.version_id)
        append_event(session, f"approval.{status.value}", f"approval:{row.id}", model=model.name, actor=actor,
                     details={"approval": row.id, "version": version.number, "requested_by": row.requested_by,
                              "rationale": rationale or None, "automatic": False})
        return _entity(session, row)

    return ws.db.write(work)


def reject(ws: Workspace, approval_id: int, rationale: str, *, actor: str | None = None) -> Approval:
    """Reject a pending request with a rationale (by someone other than the requester); nothing moves."""
    return _close(ws, approval_id, ApprovalStatus.REJECTED, _rationale(rationale, "rejection"),
                  actor or current_actor())


def withdraw(ws: Workspace, approval_id: int, rationale: str = "", *, actor: str | None = None) -> Approval:
    """The requester takes back a pending request (a rationale is optional)."""
    return _close(ws, approval_id, ApprovalStatus.WITHDRAWN, (rationale or "").strip(), actor or current_actor())


def withdraw_pending_for(session: Session, model: SqlModel, version: SqlVersion, why: str, actor: str) -> None:
    """Withdraw pending requests for `version` because it moved (called by every stage move)."""
    rows = session.scalars(select(SqlApproval).where(
        SqlApproval.version_id == version.id, SqlApproval.status == ApprovalStatus.PENDING.value)).all()
    for row in rows:
        text = f"withdrawn automatically: {why}"
        row.status, row.decided_by, row.decided_at, row.rationale = (ApprovalStatus.WITHDRAWN.value, actor, utcnow(),
                                                                     text)
        append_event(session, "approval.withdrawn", f"approval:{row.id}", model=model.name, actor=actor,
                     details={"approval": row.id, "version": version.number, "requested_by": row.requested_by,
                              "rationale": text, "automatic": True})
