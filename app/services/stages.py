"""Move versions between stages; every move is kept as history and audited in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.entities import Stage, StageChange
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import stage_change_entity
from app.store.orm import SqlModel, SqlStageChange, SqlVersion
from app.store.workspace import Workspace

__all__ = ["promote_version", "parse_stage", "move_in_session"]


def parse_stage(text: str | Stage) -> Stage:
    try:
        stage = Stage(str(text).strip().lower())
    except ValueError:
        raise InvalidInputError(f"'{text}' is not a stage.", hint="Use staging, production or archived.") from None
    if stage is Stage.NONE:
        raise InvalidInputError("A version cannot be moved back to no stage.",
                                hint="Use staging, production or archived.")
    return stage


def promote_version(
    ws: Workspace, name: str, number: int, stage: str | Stage, reason: str, *, actor: str | None = None
) -> list[StageChange]:
    """Move version `number` of `name` to `stage`; a new Production version archives the old one.

    Rollback is promoting an earlier version to Production. Returns the moves made, newest last.
    """
    target = parse_stage(stage)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("Give a reason for the stage change; it is kept in the history.")
    actor = actor or current_actor()

    def work(session: Session) -> list[StageChange]:
        model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
        if model is None:
            raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
        version = session.scalars(
            select(SqlVersion).where(SqlVersion.model_id == model.id, SqlVersion.number == number)
        ).first()
        if version is None:
            raise NotFoundError(f"Model '{name}' has no version {number}.")
        if version.stage == target.value:
            raise ConflictError(f"Version {number} of '{name}' is already in {target.label}.")
        moves: list[StageChange] = []
        if target is Stage.PRODUCTION:
            current = session.scalars(
                select(SqlVersion).where(SqlVersion.model_id == model.id, SqlVersion.stage == "production")
            ).all()
            for old in current:
                moves.append(move_in_session(session, model, old, Stage.ARCHIVED,
                                   f"replaced in production by version {number}", actor))
        moves.append(move_in_session(session, model, version, target, reason, actor))
        model.updated_at, model.updated_by = utcnow(), actor
        return moves

    return ws.db.write(work)


def move_in_session(session: Session, model: SqlModel, version: SqlVersion, to: Stage, reason: str, actor: str) -> StageChange:
    now = utcnow()
    from_stage = version.stage
    seq = append_event(
        session, "version.stage_changed", f"version:{model.name}/{version.number}", model=model.name,
        actor=actor, at=now,
        details={"version": version.number, "from": from_stage, "to": to.value, "reason": reason},
    )
    version.stage = to.value
    row = SqlStageChange(model_id=model.id, version_id=version.id, from_stage=from_stage, to_stage=to.value,
                         reason=reason, actor=actor, at=now, audit_seq=seq)
    session.add(row)
    session.flush()
    return stage_change_entity(row, model.name, version.number)
