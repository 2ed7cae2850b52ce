"""Promotion policies: separation of duties (workspace) and auto-promotion (per model), kept compatible."""

# Both live in the settings table under the group "policy", so they are set, shown and audited
# like every other setting. They contradict each other (auto-promotion moves a version with no
# second person), so turning one on while the other is on is refused, inside the transaction
# that would store it.

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError
from app.store.orm import SqlModel, SqlSetting
from app.store.workspace import Workspace

__all__ = ["POLICY", "SEPARATION", "AUTO_PROMOTE", "POLICY_DEFAULTS", "validate_policy_values",
           "check_policy_change", "separation_required", "auto_promote_enabled", "separation_of_duties"]

POLICY = "policy"
SEPARATION = "separation_of_duties"
AUTO_PROMOTE = "auto_promote"
POLICY_DEFAULTS: dict[str, int] = {SEPARATION: 0, AUTO_PROMOTE: 0}
# Separation of duties binds everyone in the workspace; auto-promotion is chosen model by model.
_SCOPE = {SEPARATION: "workspace", AUTO_PROMOTE: "model"}


def validate_policy_values(values: dict[str, Any], model: str | None) -> None:
    """Policies are switches (0 or 1), each settable at its own scope only."""
    for name, value in values.items():
        if value not in (0, 1):
            raise InvalidInputError(f"{POLICY}.{name} is a switch: use 0 (off) or 1 (on), not {value!r}.")
        wanted = _SCOPE[name]
        if wanted == "workspace" and model is not None:
            raise InvalidInputError(f"{POLICY}.{name} applies to the whole workspace, not to one model.",
                                    hint="Set it without --model.")
        if wanted == "model" and model is None:
            raise InvalidInputError(f"{POLICY}.{name} is chosen per model.",
                                    hint=f"e.g. steward settings set {POLICY}.{name}=1 --model NAME")


def _value(session: Session, scope: str, name: str) -> int:
    row = session.get(SqlSetting, (scope, POLICY))
    return int((row.value or {}).get(name, POLICY_DEFAULTS[name])) if row else POLICY_DEFAULTS[name]


def separation_required(session: Session) -> bool:
    """Whether a move to Production needs a second person's approval."""
    return _value(session, "workspace", SEPARATION) == 1


def auto_promote_enabled(session: Session, model_id: int) -> bool:
    return _value(session, f"model:{model_id}", AUTO_PROMOTE) == 1


def separation_of_duties(ws: Workspace) -> bool:
    with ws.db.read() as session:
        return separation_required(session)


def _auto_promoting_models(session: Session) -> list[str]:
    rows = session.scalars(select(SqlSetting).where(SqlSetting.key == POLICY,
                                                    SqlSetting.scope.startswith("model:"))).all()
    ids = [int(r.scope.split(":", 1)[1]) for r in rows if int((r.value or {}).get(AUTO_PROMOTE, 0)) == 1]
    if not ids:
        return []
    return sorted(session.scalars(select(SqlModel.name).where(SqlModel.id.in_(ids))).all())


def check_policy_change(session: Session, scope: str, new: dict[str, Any]) -> None:
    """Refuse a policy that contradicts one already in force (called inside the settings write)."""
    if scope == "workspace" and int(new.get(SEPARATION, 0)) == 1:
        models = _auto_promoting_models(session)
        if models:
            raise InvalidInputError(
                "Separation of duties cannot be turned on while models promote themselves: "
                f"{', '.join(models)} ha{'s' if len(models) == 1 else 've'} {POLICY}.{AUTO_PROMOTE}=1, which moves "
                "a retrained version to Production with no second person.",
                hint=f"Turn auto-promotion off first: steward settings set {POLICY}.{AUTO_PROMOTE}=0 --model NAME")
    if scope.startswith("model:") and int(new.get(AUTO_PROMOTE, 0)) == 1 and separation_required(session):
        raise InvalidInputError(
            "Auto-promotion is incompatible with separation of duties, which is on in this workspace: "
            "every move to Production needs a second person's approval.",
            hint=f"Either keep approvals (leave {POLICY}.{AUTO_PROMOTE} off) or turn "
                 f"{POLICY}.{SEPARATION} off first.")
