"""Settings (thresholds, workers, promotion policies): workspace defaults, per-model overrides, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.policy import POLICY, POLICY_DEFAULTS, check_policy_change, validate_policy_values
from app.store.orm import SqlModel, SqlSetting
from app.store.workspace import Workspace

__all__ = ["DEFAULTS", "get_settings", "set_settings", "effective_settings"]

# Workspace defaults. Drift thresholds are effect sizes (see app.drift.engine.DriftThresholds);
# quality limits are shares of the batch; performance tolerance is the largest acceptable drop of a
# metric against the version's validation value (absolute, in the metric's own units for errors:
# relative 10 % for MAE/RMSE).
DEFAULTS: dict[str, dict[str, Any]] = {
    "drift": {"psi": 0.2, "js_distance": 0.1, "wasserstein_norm": 0.1, "alpha": 0.01, "drift_share": 0.5,
              "medium_ratio": 2.0, "high_ratio": 4.0, "min_rows": 20},
    "quality": {"missing_increase": 0.1, "out_of_range": 0.05, "unseen": 0.05, "unparsable": 0.0},
    "performance": {"max_drop": 0.05, "max_error_increase": 0.10},
    # Background jobs running at once in this workspace; 0 means cores − 1 (at least 1).
    "workers": {"max_jobs": 0},
    # Promotion policies (switches, 0/1): separation_of_duties for the workspace, auto_promote per
    # model; see app.services.policy (they cannot both be on).
    POLICY: dict(POLICY_DEFAULTS),
}


def _scope(session: Session, model: str | None) -> str:
    if model is None:
        return "workspace"
    row = session.scalars(select(SqlModel).where(SqlModel.name == model)).first()
    if row is None:
        raise NotFoundError(f"No model named '{model}'.")
    return f"model:{row.id}"


def get_settings(ws: Workspace, key: str, model: str | None = None) -> dict[str, Any]:
    """The stored values at one scope only (empty when nothing was set there)."""
    with ws.db.read() as session:
        row = session.get(SqlSetting, (_scope(session, model), key))
        return dict(row.value) if row else {}


def effective_settings(ws: Workspace, key: str, model: str | None = None, session: Session | None = None) -> dict:
    """Defaults, then workspace values, then the model's overrides."""
    def read(s: Session) -> dict:
        merged = dict(DEFAULTS.get(key, {}))
        for scope in ("workspace", _scope(s, model) if model else None):
            if scope:
                row = s.get(SqlSetting, (scope, key))
                if row:
                    merged.update(row.value)
        return merged

    if session is not None:
        return read(session)
    with ws.db.read() as s:
        return read(s)


def set_settings(ws: Workspace, key: str, values: dict[str, Any], model: str | None = None,
                 *, actor: str | None = None) -> dict[str, Any]:
    """Set some values of `key` at workspace scope (model=None) or for one model; returns the stored dict."""
    if key not in DEFAULTS:
        raise InvalidInputError(f"Unknown setting group '{key}'.", hint=f"Use one of: {', '.join(DEFAULTS)}.")
    unknown = sorted(set(values) - set(DEFAULTS[key]))
    if unknown:
        raise InvalidInputError(f"Unknown {key} setting(s): {', '.join(unknown)}.",
                                hint=f"Known: {', '.join(DEFAULTS[key])}.")
    for name, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InvalidInputError(f"{key}.{name} must be a non-negative number, not {value!r}.")
    if key == POLICY:
        validate_policy_values(values, model)
    actor = actor or current_actor()

    def work(session: Session) -> dict[str, Any]:
        scope = _scope(session, model)
        row = session.get(SqlSetting, (scope, key))
        old = dict(row.value) if row else {}
        # Counts stay whole numbers (min_rows); everything else is a float.
        new = old | {k: int(v) if isinstance(DEFAULTS[key][k], int) else float(v) for k, v in values.items()}
        if key == POLICY:
            check_policy_change(session, scope, new)
        if row is None:
            session.add(SqlSetting(scope=scope, key=key, value=new, updated_at=utcnow(), updated_by=actor))
        else:
            row.value, row.updated_at, row.updated_by = new, utcnow(), actor
        append_event(session, "settings.changed", f"settings:{scope}/{key}", model=model, actor=actor,
                     details={"scope": scope, "key": key, "from": old, "to": new})
        return new

    return ws.db.write(work)
