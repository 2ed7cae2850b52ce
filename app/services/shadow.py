"""Shadow evaluation: Staging versions score each Production batch beside it, recorded but never decisions."""

# A shadow score is a challenger's predictions on a batch Production decided: its own output
# artifact, its agreement with Production, and, once labels arrive, its metrics on the same labelled
# rows. It is not a batch (no decisions, no drift figures, no alerts). Shadow work runs after the
# batch's own transaction and can never fail it: a challenger that cannot score is recorded as
# shadow.failed and skipped. Agreement for classification is the share of rows with the same
# predicted class; for regression, the share whose predictions differ by at most
# REGRESSION_AGREEMENT times the spread (standard deviation) of Production's predictions.

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.automation import ShadowBatch, ShadowScore
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import aware
from app.services.profiles import read_dataset_frame
from app.store.orm import SqlArtifact, SqlBatch, SqlModel, SqlShadowScore, SqlVersion
from app.store.workspace import Workspace

__all__ = ["REGRESSION_AGREEMENT", "shadow_score", "shadow_after_batch", "shadow_labels", "shadow_after_labels",
           "shadow_comparison", "agreement_rate"]

log = logging.getLogger(__name__)
REGRESSION_AGREEMENT = 0.05


def agreement_rate(challenger, production, task: str) -> float:
    """Share of rows on which the two predictions agree (see the module notes for regression)."""
    import numpy as np

    a, b = np.asarray(challenger), np.asarray(production)
    if len(a) != len(b):
        raise InvalidInputError(f"The shadow predictions have {len(a)} rows, the batch {len(b)}.")
    if len(a) == 0:
        return 1.0
    if task == "classification":
        return float((a.astype(str) == b.astype(str)).mean())
    x, y = a.astype(float), b.astype(float)
    spread = float(np.std(y)) or 1.0
    return float((np.abs(x - y) <= REGRESSION_AGREEMENT * spread).mean())


def _record_failure(ws: Workspace, batch_id: int, model: str | None, version: int | None, exc: BaseException,
                    actor: str | None) -> None:
    error = str(exc) if getattr(exc, "message", None) else f"{type(exc).__name__}: {exc}"
    log.warning("Shadow scoring of batch %s (version %s) failed: %s", batch_id, version, error)
    try:
        ws.db.write(lambda s: append_event(s, "shadow.failed", f"batch:{batch_id}", model=model,
                                           actor=actor or current_actor(),
                                           details={"batch": batch_id, "version": version, "error": error}))
    except Exception:  # the audit write itself failed (disk full, locked for too long): the log has it
        log.exception("Could not record the shadow failure of batch %s", batch_id)


def _predict(ws: Workspace, model: str, version: dict, frame):
    """(predictions, class scores or None, classes or None) of one challenger on the batch's rows."""
    import pandas as pd

    from app.ml.estimator import load_estimator

    missing = [f["name"] for f in version["features"] if f["name"] not in frame.columns]
    if missing:
        raise InvalidInputError(f"The batch lacks column(s) v{version['number']} needs: {', '.join(missing)}.")
    X = frame[[f["name"] for f in version["features"]]].copy()
    for f in version["features"]:
        if f["kind"] == "numeric" and not pd.api.types.is_numeric_dtype(X[f["name"]]):
            X[f["name"]] = pd.to_numeric(X[f["name"]], errors="coerce")
    estimator = load_estimator(ws.artifacts.read_verified(version["artifact"]), source=f"{model} v{version['number']}")
    pred = estimator.predict(X)
    classes = getattr(estimator, "classes_", None)
    proba = estimator.predict_proba(X) if classes is not None and hasattr(estimator, "predict_proba") else None
    return pred, proba, classes


def _output_bytes(pred, proba, classes) -> bytes:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = {"prediction": pa.array(pred)}
    if proba is not None:
        columns |= {f"proba_{c}": pa.array(proba[:, i]) for i, c in enumerate(classes)}
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(columns), sink)
    return sink.getvalue().to_pybytes()


def _score_entity(row: SqlShadowScore, number: int) -> ShadowScore:
    perf = {k: v for k, v in (row.performance or {}).items() if k != "labelled_rows"} if row.performance else None
    return ShadowScore(batch_id=row.batch_id, version=number, output_sha256=row.output_sha256,
                       agreement=float(row.agreement), performance=perf, created_at=aware(row.created_at))


def shadow_score(ws: Workspace, batch_id: int, *, frame=None, production=None,
                 actor: str | None = None) -> list[ShadowScore]:
    """Score a batch that the Production version scored with every Staging version of the model.

    `frame` (the batch's rows) and `production` (Production's predictions) save re-reading them
    from the batch's artifacts. Returns the shadow scores recorded (none when there is no Staging
    version, or the batch was not scored by Production here)."""
    actor = actor or current_actor()
    with ws.db.read() as session:
        batch = session.get(SqlBatch, batch_id)
        if batch is None:
            raise NotFoundError(f"No batch #{batch_id}.")
        prod = session.get(SqlVersion, batch.version_id)
        model, task = prod.model.name, prod.task
        if batch.kind != "scored" or prod.stage != "production":
            return []
        challengers = [{"id": v.id, "number": v.number, "artifact": v.artifact_sha256, "features": list(v.features)}
                       for v in session.scalars(select(SqlVersion).where(
                           SqlVersion.model_id == prod.model_id, SqlVersion.stage == "staging",
                           SqlVersion.id != prod.id).order_by(SqlVersion.number)).all()]
        input_sha, output_sha, prod_number = batch.input_sha256, batch.output_sha256, prod.number
    if not challengers:
        return []
    if frame is None:
        frame = read_dataset_frame(ws, input_sha)
    if production is None:
        production = read_dataset_frame(ws, output_sha)["prediction"].to_numpy()
    recorded = []
    for version in challengers:
        try:
            pred, proba, classes = _predict(ws, model, version, frame)
            agreement = agreement_rate(pred, production, task)
            data = _output_bytes(pred, proba, classes)
        except Exception as exc:  # noqa: BLE001 - any challenger fault is recorded, never raised
            _record_failure(ws, batch_id, model, version["number"], exc, actor)
            continue
        sha, size = ws.artifacts.put_bytes(data)
        details = {"batch": batch_id, "version": version["number"], "production_version": prod_number,
                   "rows": int(len(pred)), "agreement": agreement, "output_sha256": sha}
        recorded.append(ws.db.write(lambda s, v=version, d=details: _record(s, batch_id, v, sha, size, model,
                                                                             actor, d)))
    return recorded


def _record(session: Session, batch_id: int, version: dict, sha: str, size: int, model: str, actor: str,
            details: dict) -> ShadowScore:
    existing = session.scalars(select(SqlShadowScore).where(SqlShadowScore.batch_id == batch_id,
                                                            SqlShadowScore.version_id == version["id"])).first()
    if existing is not None:  # scored before (a repeated call): keep the first record
        return _score_entity(existing, version["number"])
    if session.get(SqlArtifact, sha) is None:
        session.add(SqlArtifact(sha256=sha, size_bytes=size, kind="shadow-output", created_at=utcnow()))
    row = SqlShadowScore(batch_id=batch_id, version_id=version["id"], output_sha256=sha,
                         agreement=details["agreement"], performance=None, created_at=utcnow())
    session.add(row)
    session.flush()
    append_event(session, "shadow.scored", f"batch:{batch_id}", model=model, actor=actor, details=details)
    return _score_entity(row, version["number"])


def shadow_after_batch(ws: Workspace, batch_id: int, *, frame=None, production=None, actor: str | None = None) -> None:
    """shadow_score that never raises: what goes wrong is logged and audited as shadow.failed."""
    try:
        shadow_score(ws, batch_id, frame=frame, production=production, actor=actor)
    except Exception as exc:  # noqa: BLE001 - the decision batch is already recorded and must stand
        _record_failure(ws, batch_id, None, None, exc, actor)


def shadow_labels(ws: Workspace, batch_id: int, positions, y, *, actor: str | None = None) -> list[ShadowScore]:
    """Metrics of each shadow version of the batch on its labelled rows (`positions` in the batch,
    labels `y`): the same rows Production's live metrics were computed on."""
    import numpy as np

    from app.ml.metrics import score_predictions

    actor = actor or current_actor()
    with ws.db.read() as session:
        rows = session.execute(select(SqlShadowScore, SqlVersion).join(
            SqlVersion, SqlVersion.id == SqlShadowScore.version_id).where(SqlShadowScore.batch_id == batch_id)
            .order_by(SqlVersion.number)).all()
        shadows = [(s.id, v.number, v.task, list(v.classes) if v.classes else None, s.output_sha256)
                   for s, v in rows]
        model = rows[0][1].model.name if rows else None
    positions, y = np.asarray(positions), np.asarray(y)
    found: list[tuple[int, int, dict]] = []
    for shadow_id, number, task, classes, sha in shadows:
        try:
            out = read_dataset_frame(ws, sha)
            cols = [f"proba_{c}" for c in classes or []]
            scores = out[cols].to_numpy()[positions] if cols and all(c in out for c in cols) else None
            metrics = score_predictions(y, out["prediction"].to_numpy()[positions], task, scores=scores,
                                        classes=classes)
        except Exception as exc:  # noqa: BLE001
            _record_failure(ws, batch_id, model, number, exc, actor)
            continue
        found.append((shadow_id, number, metrics))
    if not found:
        return []

    def work(session: Session) -> list[ShadowScore]:
        out = []
        for shadow_id, number, metrics in found:
            row = session.get(SqlShadowScore, shadow_id)
            row.performance = metrics | {"labelled_rows": int(len(y))}
            append_event(session, "shadow.evaluated", f"batch:{batch_id}", model=model, actor=actor,
                         details={"batch": batch_id, "version": number, "metrics": metrics,
                                  "labelled_rows": int(len(y))})
            out.append(_score_entity(row, number))
        return out

    return ws.db.write(work)


def shadow_after_labels(ws: Workspace, batch_id: int, *, rows: Any, known: Any, y: Any,
                        actor: str | None = None) -> None:
    """After attach_labels: shadow metrics on the same rows (batch rows `rows`, labels kept where
    `known`); never raises."""
    import numpy as np

    try:
        with ws.db.read() as session:
            if session.execute(select(SqlShadowScore.id).where(SqlShadowScore.batch_id == batch_id)).first() is None:
                return
            n = session.get(SqlBatch, batch_id).rows
        known = np.asarray(known, dtype=bool)
        shadow_labels(ws, batch_id, np.arange(n)[rows][known], np.asarray(y)[known], actor=actor)
    except Exception as exc:  # noqa: BLE001 - the labels are recorded and must stand
        _record_failure(ws, batch_id, None, None, exc, actor)


def shadow_comparison(ws: Workspace, name: str) -> list[ShadowBatch]:
    """Per batch with shadow scores (oldest first): Production's version and live metrics beside
    each challenger's agreement and, where labelled, its metrics on the same rows."""
    with ws.db.read() as session:
        model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
        if model is None:
            raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
        rows = session.execute(
            select(SqlShadowScore, SqlBatch, SqlVersion.number).join(SqlBatch, SqlBatch.id == SqlShadowScore.batch_id)
            .join(SqlVersion, SqlVersion.id == SqlShadowScore.version_id).where(SqlBatch.model_id == model.id)
            .order_by(SqlBatch.created_at, SqlBatch.id, SqlVersion.number)).all()
        grouped: dict[int, tuple[SqlBatch, list[ShadowScore]]] = {}
        for shadow, batch, number in rows:
            grouped.setdefault(batch.id, (batch, []))[1].append(_score_entity(shadow, number))
        out = []
        for batch, scores in grouped.values():
            perf = dict(batch.performance) if batch.performance else None
            labelled = int(perf.pop("labelled_rows")) if perf and "labelled_rows" in perf else None
            out.append(ShadowBatch(batch_id=batch.id, label=batch.label, created_at=aware(batch.created_at),
                                   rows=batch.rows, production_version=session.get(SqlVersion, batch.version_id).number,
                                   production_performance=perf, labelled_rows=labelled, challengers=tuple(scores)))
        return out
