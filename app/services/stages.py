"""Move versions between stages through the promotion gate; every move is kept as history and audited."""

# The gate: a version whose recorded gate result (written by retrain) FAILED enters Production
# only with a written override rationale, audited as version.gate_overridden in the transaction of
# the move. A version with no gate result (registered by hand) is promoted as before: its reason is
# its justification. A version that was in Production before (rollback) needs no gate. With the
# workspace's separation-of-duties policy on, a move to Production becomes a pending approval
# request instead (app.services.approvals), after the same gate check.

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.approvals import Promotion
from app.core.entities import Stage, StageChange
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import stage_change_entity
from app.services.policy import separation_required
from app.store.orm import SqlModel, SqlStageChange, SqlVersion
from app.store.workspace import Workspace

__all__ = ["promote", "promote_version", "parse_stage", "move_in_session", "enter_production", "gate_clearance",
           "locate_version", "recorded_gate", "clean_override", "clean_reason"]


def parse_stage(text: str | Stage) -> Stage:
    try:
        stage = Stage(str(text).strip().lower())
    except ValueError:
        raise InvalidInputError(f"'{text}' is not a stage.", hint="Use staging, production or archived.") from None
    if stage is Stage.NONE:
        raise InvalidInputError("A version cannot be moved back to no stage.",
                                hint="Use staging, production or archived.")
    return stage


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("Give a reason for the stage change; it is kept in the history.")
    return reason


def clean_override(override: str | None, target: Stage) -> str | None:
    """None, or the stripped override rationale (which must say something, and only a move to Production has a gate)."""
    if override is None:
        return None
    text = override.strip()
    if not text:
        raise InvalidInputError("An override of the promotion gate needs a written rationale; it is kept in the "
                                "audit log.")
    if target is not Stage.PRODUCTION:
        raise InvalidInputError(f"Only a move to Production passes the gate; a move to {target.label} has nothing "
                                "to override.")
    return text


def locate_version(session: Session, name: str, number: int) -> tuple[SqlModel, SqlVersion]:
    model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if model is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
    version = session.scalars(
        select(SqlVersion).where(SqlVersion.model_id == model.id, SqlVersion.number == number)
    ).first()
    if version is None:
        raise NotFoundError(f"Model '{name}' has no version {number}.")
    return model, version


def recorded_gate(version: SqlVersion) -> dict[str, Any] | None:
    """The gate result a retrain recorded with the version (None for a version registered by hand)."""
    gate = (version.evaluation or {}).get("gate") or (version.provenance or {}).get("gate")
    return gate if isinstance(gate, dict) and "passed" in gate else None


def _failed_criteria(gate: dict[str, Any]) -> list[str]:
    return [c.get("reason") or f"{c.get('criterion')} {c.get('metric')}" for c in gate.get("criteria", [])
            if not c.get("passed")] or [str(gate.get("summary") or "failed")]


def _was_in_production(session: Session, version: SqlVersion) -> bool:
    return session.scalars(select(SqlStageChange.id).where(
        SqlStageChange.version_id == version.id, SqlStageChange.to_stage == Stage.PRODUCTION.value).limit(1)
    ).first() is not None


def gate_clearance(session: Session, model: SqlModel, version: SqlVersion, override: str | None) -> dict[str, Any]:
    """Why `version` may enter Production, as details for its stage-change event ({} when it has no gate
    result). Raises ConflictError for a failed gate without an override rationale, InvalidInputError
    for an override where nothing needs overriding."""
    gate = recorded_gate(version)
    label = f"Version {version.number} of '{model.name}'"
    if gate is None:
        clearance: dict[str, Any] = {}
        needless = "has no gate result (registered by hand)"
    elif gate.get("passed"):
        clearance, needless = {"gate": "passed", "gate_summary": gate.get("summary")}, "passed its gate"
    elif _was_in_production(session, version):
        clearance = {"gate": "rollback", "gate_summary": gate.get("summary")}
        needless = "was in Production before; a rollback needs no gate"
    elif override:
        return {"gate": "overridden", "gate_summary": gate.get("summary"), "failed_criteria": _failed_criteria(gate),
                "override": override}
    else:
        failed = _failed_criteria(gate)
        raise ConflictError(
            f"{label} failed its promotion gate ({len(failed)} criteri{'on' if len(failed) == 1 else 'a'}): "
            + "; ".join(failed) + ". Production needs a passed gate, or an override with a written rationale.",
            hint='To promote it anyway, add --override "why it may go to Production despite this" '
                 "(the rationale is audited as a gate override).")
    if override:
        raise InvalidInputError(f"{label} {needless}: there is nothing to override.", hint="Leave out --override.")
    return clearance


def promote(ws: Workspace, name: str, number: int, stage: str | Stage, reason: str, *, actor: str | None = None,
            override: str | None = None) -> Promotion:
    """Move version `number` of `name` to `stage`, or, for Production under separation of duties, open
    an approval request instead (Promotion.approval, no moves). A new Production version archives the
    old one in the same transaction; rollback is promoting an earlier version to Production.

    Raises InvalidInputError (empty reason or override, bad stage, needless override), NotFoundError,
    ConflictError (already in that stage, failed gate without override, request already pending).
    """
    target = parse_stage(stage)
    reason = clean_reason(reason)
    override = clean_override(override, target)
    actor = actor or current_actor()

    def work(session: Session) -> Promotion:
        model, version = locate_version(session, name, number)
        if version.stage == target.value:
            raise ConflictError(f"Version {number} of '{name}' is already in {target.label}.")
        if target is not Stage.PRODUCTION:
            moves = [move_in_session(session, model, version, target, reason, actor)]
            model.updated_at, model.updated_by = utcnow(), actor
            return Promotion(moves=moves)
        clearance = gate_clearance(session, model, version, override)
        if separation_required(session):
            from app.services.approvals import open_request

            return Promotion(approval=open_request(session, model, version, reason, override, actor))
        return Promotion(moves=enter_production(session, model, version, reason, actor, clearance))

    return ws.db.write(work)


def promote_version(ws: Workspace, name: str, number: int, stage: str | Stage, reason: str, *,
                    actor: str | None = None, override: str | None = None) -> list[StageChange]:
    """`promote`, returning the moves made (newest last). Under separation of duties a move to
    Production only opens an approval request and this returns an empty list; call `promote` to
    get the request itself."""
    return promote(ws, name, number, stage, reason, actor=actor, override=override).moves


def enter_production(session: Session, model: SqlModel, version: SqlVersion, reason: str, actor: str,
                     clearance: dict[str, Any], extra: dict[str, Any] | None = None) -> list[StageChange]:
    """Archive the current Production version(s), record a gate override if there is one, and move
    `version` to Production; `clearance` and `extra` go into the move's audit details."""
    moves: list[StageChange] = []
    current = session.scalars(select(SqlVersion).where(
        SqlVersion.model_id == model.id, SqlVersion.stage == Stage.PRODUCTION.value, SqlVersion.id != version.id)).all()
    for old in current:
        moves.append(move_in_session(session, model, old, Stage.ARCHIVED,
                                     f"replaced in production by version {version.number}", actor))
    if clearance.get("gate") == "overridden":
        append_event(session, "version.gate_overridden", f"version:{model.name}/{version.number}", model=model.name,
                     actor=actor, details={"version": version.number, "rationale": clearance["override"],
                                           "failed_criteria": clearance["failed_criteria"],
                                           "gate_summary": clearance["gate_summary"], "reason": reason}
                     | (extra or {}))
    moves.append(move_in_session(session, model, version, Stage.PRODUCTION, reason, actor,
                                 details=clearance | (extra or {})))
    model.updated_at, model.updated_by = utcnow(), actor
    return moves


def move_in_session(session: Session, model: SqlModel, version: SqlVersion, to: Stage, reason: str, actor: str,
                    *, details: dict[str, Any] | None = None) -> StageChange:
    """One stage move with its history row and audit event; a pending approval request for the version
    is withdrawn (its basis changed), in the same transaction."""
    now = utcnow()
    from_stage = version.stage
    seq = append_event(
        session, "version.stage_changed", f"version:{model.name}/{version.number}", model=model.name,
        actor=actor, at=now,
        details={"version": version.number, "from": from_stage, "to": to.value, "reason": reason} | (details or {}),
    )
    version.stage = to.value
    row = SqlStageChange(model_id=model.id, version_id=version.id, from_stage=from_stage, to_stage=to.value,
                         reason=reason, actor=actor, at=now, audit_seq=seq)
    session.add(row)
    session.flush()
    from app.services.approvals import withdraw_pending_for  # approvals builds on this module

    withdraw_pending_for(session, model, version, f"the version was moved from {from_stage} to {to.value} "
                         f"by {actor} ({reason})", actor)
    return stage_change_entity(row, model.name, version.number)
