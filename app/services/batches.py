"""Score a batch with a version (or record one scored elsewhere), compute its drift, raise alerts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError, NotFoundError, StewardError
from app.core.identity import current_actor
from app.core.monitoring import Alert, Batch
from app.core.timeutil import utcnow
from app.services.alerts import open_alerts_for_batch
from app.services.audit import append_event
from app.services.monitoring_convert import alert_entity, batch_entity
from app.services.settings import effective_settings
from app.store.orm import SqlArtifact, SqlBatch, SqlFeatureDrift, SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["BatchOutcome", "score_batch", "record_batch", "check_batch_columns", "check_output_path",
           "ScoringCancelled"]

PREDICT_CHUNK = 100_000


class ScoringCancelled(StewardError):
    """The user cancelled; nothing was recorded."""

    exit_code = 130


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    batch: Batch
    alerts: tuple[Alert, ...]
    output_path: Path | None
    warnings: tuple[str, ...]


def _noop(_f: float, _m: str) -> None:
    pass


def _never() -> bool:
    return False


def _resolve_version(session: Session, name: str, number: int | None) -> SqlVersion:
    model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if model is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
    query = select(SqlVersion).where(SqlVersion.model_id == model.id)
    if number is not None:
        row = session.scalars(query.where(SqlVersion.number == number)).first()
        if row is None:
            raise NotFoundError(f"Model '{name}' has no version {number}.")
        return row
    row = session.scalars(query.where(SqlVersion.stage == "production")).first()
    if row is None:
        raise InvalidInputError(f"Model '{name}' has no Production version.",
                                hint="Promote one, or name a version with --version N.")
    return row


def check_batch_columns(frame, features: list[dict], *, strict_types: bool) -> list[str]:
    """Raise one message listing every missing column and every unparsable numeric column.

    Returns warnings (extra columns, values that do not parse when `strict_types` is off).
    """
    import pandas as pd

    columns = set(map(str, frame.columns))
    missing = [f["name"] for f in features if f["name"] not in columns]
    problems: list[str] = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    bad_types = []
    for f in features:
        if f["kind"] != "numeric" or f["name"] not in columns:
            continue
        col = frame[f["name"]]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        parsed = pd.to_numeric(col, errors="coerce")
        bad = col[parsed.isna() & col.notna()]
        if len(bad):
            examples = ", ".join(_example(v) for v in bad.astype(str).unique()[:3])
            bad_types.append(f"'{f['name']}' should be numeric but has {len(bad)} value(s) like {examples}")
    warnings = []
    if bad_types and strict_types:
        problems.append("wrong type(s): " + "; ".join(bad_types))
    elif bad_types:
        warnings.extend(bad_types)
    if problems:
        raise InvalidInputError("The batch does not match the model's features: " + " | ".join(problems) + ".")
    extra = sorted(columns - {f["name"] for f in features})
    if extra:
        warnings.append(f"columns not used by the model: {', '.join(extra[:10])}{' …' if len(extra) > 10 else ''}")
    return warnings


def _example(value: str, limit: int = 40) -> str:
    """A bad value quoted for a message; a huge one (a broken file's whole tail in one field) is cut."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value):,} characters)"


def check_output_path(output: str | Path | None) -> None:
    """Refuse a predictions file that cannot be written before anything is scored or recorded."""
    if not output:
        return
    path = Path(output)
    if path.is_dir():
        raise InvalidInputError(f"The predictions file {path} is a folder.", hint="Give a file name inside it.")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInputError(f"Cannot write the predictions to {path}: the folder {folder} does not exist.",
                                hint="Create the folder first, or choose another file.")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInputError(f"No permission to write the predictions to {path}.",
                                hint="Choose a file in a folder you can write to.")


def _coerce_numeric(frame, features: list[dict]):
    import pandas as pd

    for f in features:
        if f["kind"] == "numeric" and not pd.api.types.is_numeric_dtype(frame[f["name"]]):
            frame[f["name"]] = pd.to_numeric(frame[f["name"]], errors="coerce")
    return frame


def _predict(estimator, X, progress, is_cancelled):
    """Predict in chunks so that progress moves and cancel is honoured on big batches."""
    import numpy as np

    classes = getattr(estimator, "classes_", None)
    want_proba = classes is not None and hasattr(estimator, "predict_proba")
    preds, probas = [], []
    n = len(X)
    for start in range(0, max(n, 1), PREDICT_CHUNK):
        if is_cancelled():
            raise ScoringCancelled("Scoring was cancelled; nothing was recorded.")
        part = X.iloc[start:start + PREDICT_CHUNK]
        preds.append(estimator.predict(part))
        if want_proba:
            probas.append(estimator.predict_proba(part))
        progress(0.2 + 0.4 * min(1.0, (start + len(part)) / max(n, 1)), f"Scoring rows {start + len(part):,}/{n:,}")
    pred = np.concatenate(preds) if preds else np.array([])
    proba = np.concatenate(probas) if probas else None
    return pred, proba, classes


def _write_output(frame, pred, proba, classes, folder: Path, suffix: str) -> Path:
    """Input columns plus `prediction` (and `proba_<class>`), written by Arrow's multi-threaded
    writers: pandas' own CSV writer takes about 3 s for a million rows, Arrow a fraction of that."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("prediction", pa.array(pred))
    if proba is not None:
        for i, cls in enumerate(classes):
            table = table.append_column(f"proba_{cls}", pa.array(proba[:, i]))
    fd, tmp = tempfile.mkstemp(prefix=f"output-{os.getpid()}-", suffix=suffix, dir=folder)
    os.close(fd)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, tmp)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, tmp)
    return Path(tmp)


def _load_batch(ws: Workspace, name: str, version: int | None, input_path: Path, progress):
    """The version to use (id, number, features, artifact) and the batch's table."""
    from app.ml.data import read_table

    with ws.db.read() as session:
        v = _resolve_version(session, name, version)
        found = (v.id, v.number, list(v.features), v.artifact_sha256)
    progress(0.02, "Reading batch")
    return (*found, read_table(input_path, what="batch"))


def score_batch(ws: Workspace, name: str, input_path: str | Path, *, output: str | Path | None = None,
                version: int | None = None, label: str = "", progress: Callable | None = None,
                is_cancelled: Callable[[], bool] | None = None, actor: str | None = None) -> BatchOutcome:
    """Predict with the Production version (or `version`), record the batch and its drift."""
    from app.ml.estimator import load_estimator

    progress, is_cancelled = progress or _noop, is_cancelled or _never
    input_path = Path(input_path)
    check_output_path(output)
    version_id, number, features, artifact, frame = _load_batch(ws, name, version, input_path, progress)
    warnings = check_batch_columns(frame, features, strict_types=True)
    frame = _coerce_numeric(frame, features)
    estimator = load_estimator(ws.artifacts.read_verified(artifact), source=f"{name} v{number}")
    names = [f["name"] for f in features]
    try:
        pred, proba, classes = _predict(estimator, frame[names], progress, is_cancelled)
    except StewardError:
        raise
    except Exception as exc:
        from app.ml.data import first_line

        raise InvalidInputError(f"The model could not score this batch: {type(exc).__name__}: {first_line(exc)}",
                                hint="Check that the columns hold the kinds of values the model was trained on.") \
            from None
    suffix = ".parquet" if output and str(output).lower().endswith((".parquet", ".pq")) else ".csv"
    ws.paths.tmp.mkdir(parents=True, exist_ok=True)
    tmp_out = _write_output(frame, pred, proba, classes, ws.paths.tmp, suffix)
    try:
        outcome = _record(ws, name, version_id, number, "scored", input_path, frame, names, pred, tmp_out,
                          None, label, warnings, progress, is_cancelled, actor)
        if output:
            _place(tmp_out, Path(output))
    finally:
        tmp_out.unlink(missing_ok=True)
    from app.services.shadow import shadow_after_batch  # Staging versions score it too; never fails the batch

    shadow_after_batch(ws, outcome.batch.id, frame=frame, production=pred, actor=actor)
    return BatchOutcome(outcome.batch, outcome.alerts, Path(output) if output else None, outcome.warnings)


def _place(source: Path, output: Path) -> None:
    """Copy the predictions to the user's path under a temporary name, then rename: a process killed
    mid-copy leaves a hidden .part file, never a half-written file under the name asked for."""
    part = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        shutil.copyfile(source, part)
        os.replace(part, output)
    finally:
        part.unlink(missing_ok=True)


def record_batch(ws: Workspace, name: str, input_path: str | Path, *, predictions_column: str | None = None,
                 version: int | None = None, label: str = "", progress: Callable | None = None,
                 is_cancelled: Callable[[], bool] | None = None, actor: str | None = None) -> BatchOutcome:
    """Record a batch scored outside Model Steward (its predictions, if any, in `predictions_column`)."""
    progress, is_cancelled = progress or _noop, is_cancelled or _never
    input_path = Path(input_path)
    version_id, number, features, _artifact, frame = _load_batch(ws, name, version, input_path, progress)
    if predictions_column and predictions_column not in frame.columns:
        raise InvalidInputError(f"The batch has no column '{predictions_column}' for the predictions.")
    warnings = check_batch_columns(frame.drop(columns=[predictions_column]) if predictions_column else frame,
                                   features, strict_types=False)
    frame = _coerce_numeric(frame, features)
    pred = frame[predictions_column].to_numpy() if predictions_column else None
    return _record(ws, name, version_id, number, "recorded", input_path, frame, [f["name"] for f in features],
                   pred, None, predictions_column, label, warnings, progress, is_cancelled, actor)


def _record(ws, name, version_id, number, kind, input_path: Path, frame, names, pred, output_file,
            predictions_column, label, warnings, progress, is_cancelled, actor) -> BatchOutcome:
    from app.drift.engine import DriftThresholds, compare
    from app.services.profiles import ensure_profile

    actor = actor or current_actor()
    progress(0.62, "Loading reference profile")
    profile = ensure_profile(ws, version_id)
    thresholds = DriftThresholds.from_dict(effective_settings(ws, "drift", name))
    progress(0.65, "Computing drift")
    from app.drift.report import DriftCancelled

    try:
        report = compare(profile, frame[names], thresholds=thresholds, predictions=pred,
                         progress=lambda f, m: progress(0.65 + 0.25 * f, m), is_cancelled=is_cancelled)
    except DriftCancelled:
        raise ScoringCancelled("Scoring was cancelled; nothing was recorded.") from None
    if is_cancelled():
        raise ScoringCancelled("Scoring was cancelled; nothing was recorded.")
    progress(0.92, "Recording batch")
    input_sha, input_size = ws.artifacts.put_file(input_path)
    output_sha, output_size = ws.artifacts.put_file(output_file) if output_file else (None, 0)
    report_dict = report.to_dict()

    def work(session: Session):
        now = utcnow()
        version = session.get(SqlVersion, version_id)
        for sha, size, what in ((input_sha, input_size, "batch-input"), (output_sha, output_size, "batch-output")):
            if sha and session.get(SqlArtifact, sha) is None:
                session.add(SqlArtifact(sha256=sha, size_bytes=size, kind=what, created_at=now))
        batch = SqlBatch(
            model_id=version.model_id, version_id=version_id, kind=kind, label=label or "",
            input_name=input_path.name, input_sha256=input_sha, output_sha256=output_sha,
            prediction_column=predictions_column, rows=int(len(frame)), drift_share=report.drift_share,
            dataset_drift=bool(report.dataset_drift), drift=report_dict, labels_sha256=None, performance=None,
            created_at=now, created_by=actor,
        )
        session.add(batch)
        session.flush()
        for f in report.features:
            session.add(SqlFeatureDrift(
                batch_id=batch.id, feature=f.name, kind=f.kind, psi=f.psi, js_distance=f.js_distance,
                wasserstein_norm=f.wasserstein_norm, ks_statistic=f.ks_statistic, ks_pvalue=f.ks_pvalue,
                chi2_pvalue=f.chi2_pvalue, drifted=bool(f.drifted), severity=f.severity,
                missing_rate=f.missing_rate, out_of_range_share=f.out_of_range_share,
                unseen_share=f.unseen_share))
        append_event(session, f"batch.{kind}", f"batch:{batch.id}", model=version.model.name, actor=actor, details={
            "batch": batch.id, "version": number, "rows": batch.rows, "label": batch.label,
            "input_name": batch.input_name, "input_sha256": input_sha,
            "output_sha256": batch.output_sha256, "drift_share": report.drift_share,
            "dataset_drift": bool(report.dataset_drift),
            "drifted_features": [f.name for f in report.features if f.drifted]})
        alerts = open_alerts_for_batch(session, batch, version, report_dict, actor,
                                       effective_settings(ws, "quality", name, session=session))
        session.flush()
        return batch_entity(batch, version.model.name, number), tuple(alert_entity(a) for a in alerts)

    batch, alerts = ws.db.write(work)
    progress(1.0, "Batch recorded")
    return BatchOutcome(batch, alerts, None, tuple(warnings))
