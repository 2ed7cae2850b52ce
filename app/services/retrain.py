"""Retrain from the recipe: fit a challenger, gate it against the champion, register it (Staging, or Production)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.entities import Stage
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.jobs import JobCancelled
from app.services.alerts import link_job_alerts
from app.services.recipes import get_recipe
from app.services.policy import auto_promote_enabled, separation_required
from app.services.stages import enter_production, gate_clearance, move_in_session
from app.services.training_data import Champion, assemble_training_data
from app.services.versions import PreparedVersion, record_version
from app.store.orm import SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["retrain", "find_champion"]

Finalize = Callable[[Session, dict], None]


def find_champion(ws: Workspace, name: str) -> Champion:
    """The current Production version, or the newest one if none is in Production."""
    with ws.db.read() as session:
        model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
        if model is None:
            raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
        v = session.scalars(select(SqlVersion).where(SqlVersion.model_id == model.id)
                            .order_by((SqlVersion.stage == "production").desc(), SqlVersion.number.desc())
                            .limit(1)).first()
        if v is None:
            raise NotFoundError(f"Model '{name}' has no versions to retrain.")
        return Champion(id=v.id, model_id=model.id, number=v.number, stage=v.stage,
                        artifact_sha256=v.artifact_sha256, features=[f["name"] for f in v.features],
                        target=v.target, task=v.task, train_dataset_sha256=v.train_dataset.sha256,
                        created_at=v.created_at, provenance=dict(v.provenance or {}))


def _checkpoint(is_cancelled: Callable[[], bool], where: str) -> None:
    if is_cancelled():
        raise JobCancelled(f"Cancelled while {where}; nothing was recorded.")


def _short(cls: str) -> str:
    return cls.rsplit(".", 1)[-1]


def _auto_promote(session: Session, model: SqlModel, version: SqlVersion, gate: dict, job_id: int | None,
                  actor: str) -> list[int] | None:
    """Under the model's auto-promote policy, a challenger that passed the gate goes on to Production in
    the transaction that registers it; returns the version numbers it archived (None: not promoted)."""
    if not gate["passed"] or not auto_promote_enabled(session, model.id):
        return None
    if separation_required(session):  # settings refuse the pair; a second person decides all the same
        return None
    by_job = f" (job #{job_id})" if job_id else ""
    reason = f"auto-promoted by the model's policy after retraining{by_job}; gate {gate.get('summary', 'passed')}"
    moves = enter_production(session, model, version, reason, actor, gate_clearance(session, model, version, None),
                             extra={"policy": "auto_promote", "job": job_id, "gate_result": gate})
    return [m.version for m in moves if m.to_stage is Stage.ARCHIVED]


def retrain(ws: Workspace, params: dict[str, Any], progress: Callable[[float, str], None],
            is_cancelled: Callable[[], bool], finalize: Finalize | None = None) -> dict[str, Any]:
    """Job kind "retrain". params: model (name), data (file path or None: the champion's training
    data plus labelled batches since), job_id and actor (set by the worker). Returns the result JSON.

    Raises JobCancelled at checkpoints between steps; nothing is written to the database before
    the final transaction (artifact files before it are content-addressed).
    """
    import joblib

    from app.ml.data import dtype_kind
    from app.ml.estimator import describe_estimator, library_versions, load_estimator
    from app.ml.gate import evaluate_gate
    from app.ml.metrics import evaluate
    from app.ml.pickle_scan import scan_bytes
    from app.ml.training import apply_params, load_unfitted, split_frame
    from app.services.profiles import build_version_profile

    name, job_id = params["model"], params.get("job_id")
    actor = params.get("actor") or current_actor()
    progress(0.01, "Reading the recipe")
    recipe = get_recipe(ws, name, actor=actor)
    champion = find_champion(ws, name)
    features, target, task = list(recipe.features), recipe.target, recipe.task
    _checkpoint(is_cancelled, "reading the recipe")

    progress(0.04, "Assembling training data")
    data = assemble_training_data(ws, name, champion, recipe, params.get("data"), is_cancelled)
    _checkpoint(is_cancelled, "assembling training data")
    frame = data.frame[data.frame[target].notna()]
    train, held = split_frame(frame, target, task, holdout=recipe.holdout, seed=recipe.seed,
                              time_column=recipe.time_column)
    estimator = apply_params(load_unfitted(ws.artifacts.read_verified(recipe.estimator_sha256),
                                           source="recipe estimator"), recipe.params)
    progress(0.15, f"Fitting {_short(recipe.estimator_class)} on {len(train):,} rows")
    try:
        estimator.fit(train[features], train[target])
    except Exception as exc:
        raise InvalidInputError(f"The challenger could not be fitted: {type(exc).__name__}: {exc}",
                                hint="Check the training data's columns and values, or the recipe's parameters.") \
            from None
    _checkpoint(is_cancelled, "fitting")

    progress(0.7, f"Evaluating challenger and champion v{champion.number} on {len(held):,} held-out rows")
    metrics, errors = evaluate(estimator, held[features], held[target], task, with_errors=True)
    metrics = {m: v for m, v in metrics.items() if m in recipe.metrics}
    champion_est = load_estimator(ws.artifacts.read_verified(champion.artifact_sha256),
                                  source=f"{name} v{champion.number}")
    champion_metrics, champion_error = None, None
    try:
        champion_metrics = evaluate(champion_est, held[champion.features], held[target], task)
        champion_metrics = {m: v for m, v in champion_metrics.items() if m in recipe.metrics}
    except Exception as exc:  # e.g. the data lacks a column the champion needs: recorded, not compared
        champion_error = f"{type(exc).__name__}: {exc}"
    # Rows of the champion's own training file come first in assembled data: any of them in the
    # hold-out flatter the champion (it was fitted on them), so the gate says how many there are.
    base_rows = data.lineage.get("base_rows") if data.lineage.get("source") == "version+batches" else None
    seen = int((held.index < base_rows).sum()) if base_rows is not None else None
    caution = (f"the champion was trained on {seen:,} of the {len(held):,} held-out rows; its figures are "
               "optimistic (a time column in the recipe holds out the newest rows instead)") if seen else None
    gate = evaluate_gate(recipe.spec()["gate"], metrics, champion_metrics, caution=caution)
    _checkpoint(is_cancelled, "evaluating")

    progress(0.8, "Building the drift reference profile")
    described = describe_estimator(estimator)
    feature_records = [{"name": f, "dtype": str(frame[f].dtype), "kind": dtype_kind(frame[f].dtype)}
                       for f in features]
    profile_blob, profile_rows = build_version_profile(estimator, frame, feature_records, task)
    progress(0.9, "Storing artifacts")
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    model_bytes = buffer.getvalue()
    scan = scan_bytes(model_bytes)
    _checkpoint(is_cancelled, "building the profile")
    # Artifact files only now, after the last step a cancel can stop cheaply (they are
    # content-addressed: a failure before the commit leaves unreferenced files, never bad rows).
    dataset = data.store(ws)
    model_sha, model_size = ws.artifacts.put_bytes(model_bytes)
    profile_sha, profile_size = ws.artifacts.put_bytes(profile_blob)
    split = {"holdout": recipe.holdout, "seed": recipe.seed, "time_column": recipe.time_column}
    evaluation = {
        "method": (f"newest {recipe.holdout:.0%} by '{recipe.time_column}'" if recipe.time_column
                   else "seeded hold-out split of the retraining data"),
        "fraction": recipe.holdout, "seed": recipe.seed, "time_column": recipe.time_column,
        "rows": int(len(held)), "train_rows": int(len(train)), "standard_errors": errors,
        "champion": {"version": champion.number, "metrics": champion_metrics, "error": champion_error,
                     "trained_on_held_out_rows": seen},
        "gate": gate,
    }
    provenance = {
        "source": "retrain", "job": job_id, "recipe_sha256": recipe.sha256, "recipe_revision": recipe.revision,
        "recipe": recipe.spec(), "training_data": data.lineage, "split": split,
        "champion": {"version": champion.number, "stage": champion.stage, "artifact_sha256": champion.artifact_sha256},
        "gate": gate, "scan_format": scan.format, "globals": list(scan.globals),
        "disallowed": list(scan.disallowed), "trusted": False, "source_file": "",
    }
    prepared = PreparedVersion(
        model_bytes_sha=model_sha, model_size=model_size, description=described, features=feature_records,
        metrics=metrics, evaluation=evaluation, environment=library_versions(), provenance=provenance,
        datasets=[dataset], profile_sha=profile_sha, profile_size=profile_size, profile_rows=profile_rows)
    verdict = "passed" if gate["passed"] else "failed"
    note = f"Retrained from v{champion.number}" + (f" by job #{job_id}" if job_id else "") + f"; gate {verdict}."
    _checkpoint(is_cancelled, "storing artifacts")
    progress(0.95, "Recording the version")

    def work(session: Session) -> dict[str, Any]:
        model = session.get(SqlModel, champion.model_id)
        parent = session.get(SqlVersion, champion.id)
        version = record_version(session, model, prepared, target=target, note=note, actor=actor, parent=parent,
                                 audit_extra={"gate": gate, "job": job_id, "recipe_sha256": recipe.sha256,
                                              "champion_metrics": champion_metrics,
                                              "training_data": data.lineage})
        move_in_session(session, model, version, Stage.STAGING,
                        f"retrained challenger{f' (job #{job_id})' if job_id else ''}; gate {verdict}", actor)
        archived = _auto_promote(session, model, version, gate, job_id, actor)
        if job_id:
            link_job_alerts(session, job_id, model, version, actor)
        stage = Stage.PRODUCTION if archived is not None else Stage.STAGING
        summary = (f"Registered {name} v{version.number} and promoted it to Production by the model's "
                   f"auto-promote policy; gate {verdict}" if archived is not None
                   else f"Registered {name} v{version.number} in Staging; gate {verdict}")
        result = {
            "model": name, "version": version.number, "stage": stage.value,
            "parent_version": champion.number, "metrics": metrics, "champion_metrics": champion_metrics,
            "gate": gate, "dataset_sha256": dataset["sha256"], "dataset_rows": dataset["rows"],
            "train_rows": int(len(train)), "held_out_rows": int(len(held)), "recipe_sha256": recipe.sha256,
            "artifact_sha256": model_sha, "auto_promoted": archived is not None, "archived_versions": archived or [],
            "summary": summary,
        }
        if finalize is not None:
            finalize(session, result)
        return result

    result = ws.db.write(work)
    progress(1.0, result["summary"])
    return result
