"""Training recipes: created from a version on first use, changed by people, every change audited."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.chain import canonical_details
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.jobs import Recipe
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import aware
from app.services.versions import ensure_artifact
from app.store.orm import SqlModel, SqlRecipe, SqlVersion
from app.store.workspace import Workspace

__all__ = ["get_recipe", "set_recipe", "recipe_hash", "UNSET"]

UNSET: Any = object()  # "leave as it is" for set_recipe arguments where None means "clear"
DEFAULT_MAX_REGRESSION = 0.01


def recipe_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_details(spec).encode("utf-8")).hexdigest()


def _entity(row: SqlRecipe, name: str) -> Recipe:
    s = row.spec
    return Recipe(
        model_name=name, revision=row.revision, sha256=row.sha256, estimator_sha256=s["estimator_sha256"],
        estimator_class=s["estimator_class"], source_version=s["source_version"], features=tuple(s["features"]),
        target=s["target"], task=s["task"], holdout=float(s["split"]["holdout"]), seed=int(s["split"]["seed"]),
        time_column=s["split"].get("time_column"), metrics=tuple(s["metrics"]),
        gate_min=dict(s["gate"].get("min") or {}), max_regression=dict(s["gate"].get("max_regression") or {}),
        params=dict(s.get("params") or {}), updated_at=aware(row.updated_at), updated_by=row.updated_by,
    )


def _model(session: Session, name: str) -> SqlModel:
    row = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if row is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
    return row


def _source_version(session: Session, model: SqlModel, number: int | None) -> SqlVersion:
    query = select(SqlVersion).where(SqlVersion.model_id == model.id)
    if number is not None:
        row = session.scalars(query.where(SqlVersion.number == number)).first()
        if row is None:
            raise NotFoundError(f"Model '{model.name}' has no version {number}.")
        return row
    row = session.scalars(query.order_by((SqlVersion.stage == "production").desc(),
                                         SqlVersion.number.desc()).limit(1)).first()
    if row is None:
        raise NotFoundError(f"Model '{model.name}' has no versions to build a recipe from.")
    return row


def _spec_from_version(ws: Workspace, name: str, number: int | None) -> tuple[dict, bytes]:
    """A default spec (and the unfitted estimator's bytes) from version `number` or the champion."""
    from app.ml.estimator import load_estimator
    from app.ml.metrics import HOLDOUT_FRACTION, SEED
    from app.ml.pickle_scan import scan_bytes
    from app.ml.training import task_metrics, unfitted_clone_bytes

    with ws.db.read() as session:
        v = _source_version(session, _model(session, name), number)
        number, artifact, task, target = v.number, v.artifact_sha256, v.task, v.target
        features = [f["name"] for f in v.features]
    estimator = load_estimator(ws.artifacts.read_verified(artifact), source=f"{name} v{number}")
    data, cls = unfitted_clone_bytes(estimator)
    scan = scan_bytes(data)
    if not scan.safe:
        raise InvalidInputError(
            f"Version {number} of '{name}' uses code outside the pickle allowlist ({', '.join(scan.disallowed)}); "
            "a retraining recipe holds scikit-learn estimators only.",
            hint="Register a version built from scikit-learn parts, then `steward recipe set NAME --from-version N`.")
    metrics = list(task_metrics(task))
    spec = {"estimator_sha256": "", "estimator_class": cls, "source_version": number, "features": features,
            "target": target, "task": task, "split": {"holdout": HOLDOUT_FRACTION, "seed": SEED, "time_column": None},
            "metrics": metrics, "gate": {"min": {}, "max_regression": {m: DEFAULT_MAX_REGRESSION for m in metrics}},
            "params": {}}
    return spec, data


def get_recipe(ws: Workspace, name: str, *, actor: str | None = None) -> Recipe:
    """The model's recipe; on first use one is built from its Production (else latest) version."""
    with ws.db.read() as session:
        model = _model(session, name)
        row = session.get(SqlRecipe, model.id)
        if row is not None:
            return _entity(row, name)
    actor = actor or current_actor()
    spec, data = _spec_from_version(ws, name, None)
    sha, size = ws.artifacts.put_bytes(data)  # content-addressed: harmless if the transaction loses a race
    spec["estimator_sha256"] = sha

    def work(session: Session) -> Recipe:
        model = _model(session, name)
        existing = session.get(SqlRecipe, model.id)
        if existing is not None:  # another process made it meanwhile
            return _entity(existing, name)
        ensure_artifact(session, sha, size, "recipe-estimator")
        now = utcnow()
        row = SqlRecipe(model_id=model.id, revision=1, sha256=recipe_hash(spec), estimator_sha256=sha, spec=spec,
                        created_at=now, created_by=actor, updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
        append_event(session, "recipe.created", f"recipe:{name}", model=name, actor=actor,
                     details={"revision": 1, "recipe_sha256": row.sha256, "spec": spec,
                              "from_version": spec["source_version"]})
        return _entity(row, name)

    return ws.db.write(work)


def _metric_map(values: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for metric, value in values.items():
        if metric not in allowed:
            raise InvalidInputError(f"'{metric}' is not a metric of this model ({what}).",
                                    hint=f"Use one of: {', '.join(allowed)}.")
        if value is None:
            out[metric] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{what} for {metric} must be a number, not {value!r}.") from None
        if number < 0:
            raise InvalidInputError(f"{what} for {metric} must not be negative.")
        out[metric] = number
    return out


def _merge(target: dict, updates: dict) -> dict:
    """Apply `updates` to `target` in place; a value of None removes the key."""
    for key, value in updates.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return target


def set_recipe(ws: Workspace, name: str, *, gate_min: dict[str, Any] | None = None,
               max_regression: float | dict[str, Any] | None = None, holdout: float | None = None,
               seed: int | None = None, time_column: Any = UNSET, metrics: list[str] | None = None,
               params: dict[str, Any] | None = None, from_version: int | None = None,
               actor: str | None = None) -> Recipe:
    """Change parts of a recipe; a value of None in `gate_min` / `max_regression` / `params` removes
    that entry; `time_column=None` goes back to the seeded random split. `from_version` rebuilds the
    estimator, columns and task from that version (keeping split and gate where they still apply).
    Audited as recipe.changed with every changed field's old and new value."""
    from app.ml.training import apply_params, load_unfitted, task_metrics

    actor = actor or current_actor()
    current = get_recipe(ws, name, actor=actor)
    spec = current.spec()
    new_bytes: tuple[str, int] | None = None
    if from_version is not None:
        rebuilt, data = _spec_from_version(ws, name, from_version)
        new_bytes = ws.artifacts.put_bytes(data)
        keep = {k: spec[k] for k in ("split", "gate")}
        spec = rebuilt | {"estimator_sha256": new_bytes[0]} | keep
        if rebuilt["task"] != current.task:
            spec["gate"] = rebuilt["gate"]
        spec["metrics"] = rebuilt["metrics"]
    allowed = task_metrics(spec["task"])
    if metrics is not None:
        _metric_map({m: 0 for m in metrics}, allowed, "metrics")
        spec["metrics"] = [m for m in allowed if m in metrics]
    gate = {"min": dict(spec["gate"]["min"]), "max_regression": dict(spec["gate"]["max_regression"])}
    if gate_min:
        _merge(gate["min"], _metric_map(gate_min, allowed, "gate minimum"))
    if max_regression is not None:
        values = max_regression if isinstance(max_regression, dict) else dict.fromkeys(spec["metrics"], max_regression)
        _merge(gate["max_regression"], _metric_map(values, allowed, "max regression"))
    spec["gate"] = gate
    spec["metrics"] = [m for m in allowed if m in set(spec["metrics"]) | set(gate["min"]) | set(gate["max_regression"])]
    split = dict(spec["split"])
    if holdout is not None:
        if not 0 < float(holdout) < 1:
            raise InvalidInputError(f"The hold-out fraction must be between 0 and 1, not {holdout}.")
        split["holdout"] = float(holdout)
    if seed is not None:
        if int(seed) < 0:
            raise InvalidInputError("The seed must be a non-negative whole number.")
        split["seed"] = int(seed)
    if time_column is not UNSET:
        split["time_column"] = (time_column or "").strip() or None
    spec["split"] = split
    if params:
        merged = _merge(dict(spec.get("params") or {}), params)
        spec["params"] = merged
        apply_params(load_unfitted(ws.artifacts.read_verified(spec["estimator_sha256"]),
                                   source="recipe estimator"), merged)  # validate now, not in a worker later
    sha = recipe_hash(spec)

    def work(session: Session) -> Recipe:
        model = _model(session, name)
        row = session.get(SqlRecipe, model.id)
        if row.sha256 == sha:
            return _entity(row, name)  # nothing changed: no new revision, no event
        old, previous = dict(row.spec), row.sha256
        changes = {k: {"from": old.get(k), "to": spec[k]} for k in spec if old.get(k) != spec[k]}
        if new_bytes is not None:
            ensure_artifact(session, new_bytes[0], new_bytes[1], "recipe-estimator")
        row.spec, row.sha256, row.estimator_sha256 = spec, sha, spec["estimator_sha256"]
        row.revision += 1
        row.updated_at, row.updated_by = utcnow(), actor
        append_event(session, "recipe.changed", f"recipe:{name}", model=name, actor=actor,
                     details={"revision": row.revision, "recipe_sha256": sha, "previous_sha256": previous,
                              "changes": changes})
        session.flush()
        return _entity(row, name)

    return ws.db.write(work)
