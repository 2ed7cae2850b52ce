"""Reproduce a version: refit its recorded recipe on its recorded data and seed, and compare the metrics."""

# What is refitted: a retrained version carries its recipe in its provenance (unfitted estimator
# bytes, parameter overrides, columns, split and seed), so the refit is exactly what the retrain
# did. A version registered by hand carries a fitted estimator and the data it was trained on: the
# refit is sklearn.base.clone of it (same parameters) fitted on ALL of its recorded training data
# (the registration contract: "the data it was trained on"), evaluated on the same held-out rows as
# at registration (the recorded test file, or the recorded seeded split). Such a version reproduces
# only if it really was fitted that way; when it does not, the notes say what to look at.

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.automation import LibraryDifference, MetricCheck, Reproduction
from app.core.entities import to_jsonable
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.jobs import JobCancelled
from app.services.audit import append_event
from app.services.profiles import read_dataset_frame
from app.store.orm import SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["DEFAULT_TOLERANCE", "LIBRARIES", "reproduce_version", "reproduce", "submit_reproduce",
           "reproduction_summary"]

DEFAULT_TOLERANCE = 1e-9
LIBRARIES = ("python", "scikit-learn", "numpy", "pandas", "joblib")


@dataclass
class _Recorded:
    name: str
    number: int
    artifact_sha256: str
    features: list[str]
    target: str
    task: str
    metrics: dict[str, float]
    evaluation: dict[str, Any]
    environment: dict[str, str]
    provenance: dict[str, Any]
    train_sha256: str
    test_sha256: str | None


def _recorded(ws: Workspace, name: str, number: int) -> _Recorded:
    with ws.db.read() as session:
        model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
        if model is None:
            raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
        v = session.scalars(select(SqlVersion).where(SqlVersion.model_id == model.id,
                                                     SqlVersion.number == number)).first()
        if v is None:
            raise NotFoundError(f"Model '{name}' has no version {number}.", hint=f"See `steward model show {name}`.")
        return _Recorded(name, v.number, v.artifact_sha256, [f["name"] for f in v.features], v.target, v.task,
                         dict(v.metrics or {}), dict(v.evaluation or {}), dict(v.environment or {}),
                         dict(v.provenance or {}), v.train_dataset.sha256,
                         v.test_dataset.sha256 if v.test_dataset else None)


def _plan(ws: Workspace, rec: _Recorded):
    """(source, unfitted estimator, features, train rows, held-out rows, how they were held out)."""
    from sklearn.base import clone

    from app.ml.estimator import load_estimator
    from app.ml.metrics import HOLDOUT_FRACTION, SEED, holdout_split
    from app.ml.training import apply_params, load_unfitted, split_frame

    frame = read_dataset_frame(ws, rec.train_sha256)  # IntegrityError if the file changed on disk
    spec = rec.provenance.get("recipe") if rec.provenance.get("source") == "retrain" else None
    if spec:
        target, task, features = spec["target"], spec["task"], list(spec["features"])
        frame = frame[frame[target].notna()]
        split = spec["split"]
        train, held = split_frame(frame, target, task, holdout=float(split["holdout"]), seed=int(split["seed"]),
                                  time_column=split.get("time_column"))
        estimator = apply_params(load_unfitted(ws.artifacts.read_verified(spec["estimator_sha256"]),
                                               source="recipe estimator"), spec.get("params") or {})
        return "retrain", estimator, features, train, held, rec.evaluation.get("method", "recorded split")
    stored = load_estimator(ws.artifacts.read_verified(rec.artifact_sha256), source=f"{rec.name} v{rec.number}")
    try:
        estimator = clone(stored)
    except Exception as exc:
        raise InvalidInputError(f"Version {rec.number} cannot be cloned for refitting: {type(exc).__name__}: {exc}",
                                hint="Reproduction needs a scikit-learn estimator or pipeline.") from None
    if rec.test_sha256:
        held, how = read_dataset_frame(ws, rec.test_sha256), "the recorded test file"
    else:
        fraction = float(rec.evaluation.get("fraction", HOLDOUT_FRACTION))
        seed = int(rec.evaluation.get("seed", SEED))
        _, held = holdout_split(frame, rec.target, rec.task, seed=seed, fraction=fraction)
        how = f"seeded {fraction:.0%} split of the training data (seed {seed})"
    train = frame[frame[rec.target].notna()]
    return "registered", estimator, rec.features, train, held[held[rec.target].notna()], how


def _agreement(a, b, task: str) -> float | None:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0 or len(a) != len(b):
        return None
    if task == "classification":
        same = a.astype(str) == b.astype(str)
    else:
        x, y = a.astype(float), b.astype(float)
        same = np.abs(x - y) <= 1e-9 * np.maximum(1.0, np.abs(y))
    return float(same.mean())


def _libraries(recorded: dict[str, str]) -> tuple[LibraryDifference, ...]:
    from app.ml.estimator import library_versions

    current = library_versions()
    names = list(LIBRARIES) + sorted(k for k in recorded if k not in LIBRARIES)
    return tuple(LibraryDifference(k, recorded.get(k), current.get(k)) for k in names
                 if recorded.get(k) != current.get(k))


def _checkpoint(is_cancelled: Callable[[], bool], where: str) -> None:
    if is_cancelled():
        raise JobCancelled(f"Cancelled while {where}; nothing was recorded.")


def reproduce_version(ws: Workspace, name: str, number: int, *, tolerance: float = DEFAULT_TOLERANCE,
                      progress: Callable[[float, str], None] | None = None,
                      is_cancelled: Callable[[], bool] | None = None, actor: str | None = None,
                      finalize: Callable[[Session, dict], None] | None = None) -> Reproduction:
    """Refit version `number` of `name` as recorded and compare its held-out metrics with the recorded
    ones (absolute `tolerance`); lists libraries whose version differs from the recorded one. Audited
    as version.reproduced. Raises IntegrityError when a recorded artifact changed on disk, and then
    records nothing."""
    from app.ml.estimator import load_estimator
    from app.ml.metrics import evaluate

    progress, is_cancelled = progress or (lambda f, m: None), is_cancelled or (lambda: False)
    actor = actor or current_actor()
    if not tolerance >= 0:
        raise InvalidInputError(f"The tolerance must be a non-negative number, not {tolerance}.")
    started = time.monotonic()
    progress(0.02, f"Reading what {name} v{number} recorded")
    rec = _recorded(ws, name, number)
    source, estimator, features, train, held, how = _plan(ws, rec)
    _checkpoint(is_cancelled, "reading the recorded data")
    progress(0.2, f"Fitting {type(estimator).__name__} on {len(train):,} rows")
    try:
        estimator.fit(train[features], train[rec.target])
    except Exception as exc:
        raise InvalidInputError(f"The refit failed: {type(exc).__name__}: {exc}") from None
    _checkpoint(is_cancelled, "fitting")
    progress(0.75, f"Evaluating on {len(held):,} held-out rows")
    reproduced = evaluate(estimator, held[features], held[rec.target], rec.task)
    checks = []
    for metric, value in rec.metrics.items():
        again = reproduced.get(metric)
        diff = None if again is None or value is None else abs(float(again) - float(value))
        checks.append(MetricCheck(metric, value, again, diff, diff is not None and diff <= tolerance))
    stored = load_estimator(ws.artifacts.read_verified(rec.artifact_sha256), source=f"{name} v{number}")
    agreement = _agreement(estimator.predict(held[features]), stored.predict(held[features]), rec.task)
    libraries = _libraries(rec.environment)
    match = bool(checks) and all(c.match for c in checks)
    notes = _notes(match, source, estimator, libraries, checks)
    result = Reproduction(model_name=name, version=number, source=source, match=match, tolerance=tolerance,
                          metrics=tuple(checks), libraries=libraries, train_rows=int(len(train)),
                          held_out_rows=int(len(held)), held_out=how, dataset_sha256=rec.train_sha256,
                          prediction_agreement=agreement, notes=notes, seconds=round(time.monotonic() - started, 3))
    _checkpoint(is_cancelled, "evaluating")
    progress(0.95, "Recording the result")
    details = to_jsonable(result)

    def work(session: Session) -> None:
        append_event(session, "version.reproduced", f"version:{name}/{number}", model=name, actor=actor,
                     details=details)
        if finalize is not None:
            finalize(session, details | {"summary": reproduction_summary(result)})

    ws.db.write(work)
    progress(1.0, reproduction_summary(result))
    return result


def _notes(match: bool, source: str, estimator, libraries, checks) -> tuple[str, ...]:
    notes = []
    if not checks:
        notes.append("The version recorded no metrics to compare.")
    if not match and checks:
        unseeded = sorted(k for k, v in estimator.get_params(deep=True).items() if k.endswith("random_state")
                          and v is None)
        if unseeded:
            notes.append(f"random_state is not fixed ({', '.join(unseeded)}): refits can differ by chance.")
        if libraries:
            notes.append("Library versions differ from the recorded ones; results may differ because of that.")
        if source == "registered":
            notes.append("A registered version is refitted on all of its recorded training data; it reproduces "
                         "only if it was fitted that way.")
    return tuple(notes)


def reproduction_summary(result: Reproduction) -> str:
    verdict = "reproduced exactly" if result.match else "did NOT reproduce"
    worst = max((c.difference for c in result.metrics if c.difference is not None), default=None)
    extra = f" (largest difference {worst:.3g})" if worst is not None and not result.match else ""
    libs = f"; {len(result.libraries)} library version(s) differ" if result.libraries else ""
    return f"{result.model_name} v{result.version} {verdict}{extra}{libs}"


def reproduce(ws: Workspace, params: dict[str, Any], progress: Callable[[float, str], None],
              is_cancelled: Callable[[], bool], finalize: Callable[[Session, dict], None] | None = None) -> dict:
    """Job kind "reproduce". params: model, version, tolerance (optional), actor (set by the worker)."""
    result = reproduce_version(ws, params["model"], int(params["version"]),
                               tolerance=float(params.get("tolerance") or DEFAULT_TOLERANCE), progress=progress,
                               is_cancelled=is_cancelled, actor=params.get("actor"), finalize=finalize)
    return to_jsonable(result) | {"summary": reproduction_summary(result)}


def submit_reproduce(ws: Workspace, name: str, number: int, *, tolerance: float = DEFAULT_TOLERANCE,
                     actor: str | None = None) -> int:
    """Queue a background reproduction of version `number` (start it with app.services.jobs.start_queued)."""
    from app.workers.records import submit_job

    _recorded(ws, name, number)  # NotFoundError now rather than in a worker later
    return submit_job(ws, "reproduce", {"model": name, "version": int(number), "tolerance": float(tolerance)},
                      model=name, actor=actor)
