"""Ground truth arriving after a batch: performance on live data, and an alert when it drops."""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy.orm import Session

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.monitoring import AlertKind, Batch
from app.core.timeutil import utcnow
from app.services.alerts import open_alert
from app.services.audit import append_event
from app.services.monitoring_convert import batch_entity
from app.services.profiles import read_dataset_frame
from app.services.settings import effective_settings
from app.store.orm import SqlArtifact, SqlBatch, SqlVersion
from app.store.workspace import Workspace

__all__ = ["attach_labels", "performance_drop"]

LOWER_IS_BETTER = {"mae", "rmse"}


def performance_drop(live: dict[str, float], validation: dict[str, float], tolerance: dict,
                     errors: dict[str, float] | None = None, validation_errors: dict[str, float] | None = None,
                     ) -> dict[str, dict]:
    """Metrics that got worse beyond tolerance: higher-is-better by an absolute drop, errors by a
    relative rise; and by more than twice the combined standard error of the two estimates, so
    that sampling noise on a small labelled batch or a small test set does not raise an alert."""
    errors, validation_errors = errors or {}, validation_errors or {}
    worse = {}
    for name, value in live.items():
        base = validation.get(name)
        if base is None:
            continue
        loss = value - base if name in LOWER_IS_BETTER else base - value
        limit = abs(base) * tolerance["max_error_increase"] if name in LOWER_IS_BETTER else tolerance["max_drop"]
        noise = 2 * math.hypot(errors.get(name, 0.0), validation_errors.get(name, 0.0))
        if loss > limit and loss > noise:
            worse[name] = {"validation": base, "live": value, "change": value - base, "limit": limit,
                           "standard_error": errors.get(name)}
    return worse


def _is_class(value, classes) -> bool:
    """Whether a label is one of the version's classes (stored as text; 1.0 read from a CSV is class '1')."""
    if str(value) in classes:
        return True
    return isinstance(value, float) and value.is_integer() and str(int(value)) in classes


def _batch_predictions(ws: Workspace, batch: SqlBatch, version: SqlVersion, frame):
    """(predictions, class scores or None) for the batch's rows, in the batch's row order."""
    import numpy as np

    if batch.output_sha256:
        out = read_dataset_frame(ws, batch.output_sha256)
        proba_cols = [f"proba_{c}" for c in (version.classes or [])]
        scores = out[proba_cols].to_numpy() if proba_cols and all(c in out for c in proba_cols) else None
        return out["prediction"].to_numpy(), scores
    if batch.prediction_column and batch.prediction_column in frame.columns:
        return frame[batch.prediction_column].to_numpy(), None
    from app.ml.estimator import load_estimator

    estimator = load_estimator(ws.artifacts.read_verified(version.artifact_sha256), source="model")
    names = [f["name"] for f in version.features]
    return np.asarray(estimator.predict(frame[names])), None


def attach_labels(ws: Workspace, batch_id: int, labels_path: str | Path, *, id_column: str | None = None,
                  target_column: str | None = None, actor: str | None = None) -> Batch:
    """Score the batch's predictions against labels (matched by row order, or by `id_column`)."""
    import pandas as pd

    from app.ml.data import read_table
    from app.ml.metrics import score_predictions, standard_errors

    actor = actor or current_actor()
    labels_path = Path(labels_path)
    with ws.db.read() as session:
        batch = session.get(SqlBatch, batch_id)
        if batch is None:
            raise NotFoundError(f"No batch #{batch_id}.", hint="See `steward batches list MODEL`.")
        if batch.labels_sha256:
            raise ConflictError(f"Batch #{batch_id} already has labels attached.")
        version = session.get(SqlVersion, batch.version_id)
        target = target_column or version.target
        model_name, number, task = version.model.name, version.number, version.task
        metrics_before = dict(version.metrics)
        validation_errors = dict((version.evaluation or {}).get("standard_errors", {}))
        frame = read_dataset_frame(ws, batch.input_sha256)
        pred, scores = _batch_predictions(ws, batch, version, frame)
        classes = version.classes
    labels = read_table(labels_path, what="labels file")
    if target not in labels.columns:
        raise InvalidInputError(f"The labels file has no column '{target}'.",
                                hint="Name the label column with --target-column.")
    if id_column:
        for what, table in (("batch", frame), ("labels file", labels)):
            if id_column not in table.columns:
                raise InvalidInputError(f"The {what} has no id column '{id_column}'.")
        if labels[id_column].duplicated().any():
            raise InvalidInputError(f"The labels file repeats ids in '{id_column}'.")
        if frame[id_column].duplicated().any():
            raise InvalidInputError(f"The batch repeats ids in '{id_column}'; labels cannot be matched.")
        position = pd.Series(range(len(frame)), index=frame[id_column].astype(str))
        keys = labels[id_column].astype(str)
        unknown = keys[~keys.isin(position.index)]
        if len(unknown):
            raise InvalidInputError(f"{len(unknown)} label id(s) are not in batch #{batch_id}, "
                                    f"e.g. {', '.join(unknown.head(3))}.")
        rows = position.loc[keys].to_numpy()
        y = labels[target].to_numpy()
    else:
        if len(labels) != len(frame):
            raise InvalidInputError(f"The labels file has {len(labels)} rows but batch #{batch_id} has "
                                    f"{len(frame)}.", hint="Match rows by an id column with --id-column.")
        rows = slice(None)
        y = labels[target].to_numpy()
    known = pd.notna(y)
    if not known.any():
        raise InvalidInputError(f"The label column '{target}' is empty.")
    if task == "classification" and classes and not any(_is_class(v, classes) for v in y[known]):
        seen = ", ".join(repr(str(v)) for v in pd.unique(y[known])[:5])
        raise InvalidInputError(f"None of the labels in '{target}' is one of the model's classes: the file has "
                                f"{seen}; the model predicts {', '.join(map(str, classes))}.",
                                hint="Choose the column with the true outcomes, coded as the model's classes.")
    pred_rows = pred[rows][known]
    score_rows = scores[rows][known] if scores is not None else None
    live = score_predictions(y[known], pred_rows, task, scores=score_rows,
                             classes=list(classes) if classes else None)
    live_rows = int(known.sum())
    errors = standard_errors(y[known], pred_rows, task, scores=score_rows, classes=list(classes) if classes else None)
    labels_sha, labels_size = ws.artifacts.put_file(labels_path)
    tolerance = effective_settings(ws, "performance", model_name)
    worse = performance_drop(live, metrics_before, tolerance, errors, validation_errors)

    def work(session: Session) -> Batch:
        row = session.get(SqlBatch, batch_id)
        if row.labels_sha256:
            raise ConflictError(f"Batch #{batch_id} already has labels attached.")
        if session.get(SqlArtifact, labels_sha) is None:
            session.add(SqlArtifact(sha256=labels_sha, size_bytes=labels_size, kind="labels", created_at=utcnow()))
        row.labels_sha256 = labels_sha
        row.performance = live | {"labelled_rows": live_rows}
        append_event(session, "labels.attached", f"batch:{batch_id}", model=model_name, actor=actor, details={
            "batch": batch_id, "labels_sha256": labels_sha, "rows": live_rows, "metrics": live,
            "standard_errors": errors, "validation_metrics": metrics_before,
            "matched_by": id_column or "row order"})
        alerts = ()
        if worse:
            version_row = session.get(SqlVersion, row.version_id)
            severe = any(abs(w["change"]) > 2 * w["limit"] for w in worse.values())
            alert = open_alert(session, row, version_row, AlertKind.PERFORMANCE, "high" if severe else "medium",
                               f"Performance drop on batch {batch_id}: " + ", ".join(worse), {"metrics": worse},
                               actor)
            alerts = (alert.id,) if alert is not None else ()
        return batch_entity(row, model_name, number, alerts)

    labelled = ws.db.write(work)
    from app.services.shadow import shadow_after_labels  # shadow versions' metrics on the same rows; never raises

    shadow_after_labels(ws, batch_id, rows=rows, known=known, y=y, actor=actor)
    return labelled
