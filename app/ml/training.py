"""Rebuild a model from its recipe: unfitted estimator bytes, parameter overrides, seeded or time split."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from app.core.errors import InvalidInputError

__all__ = ["unfitted_clone_bytes", "load_unfitted", "apply_params", "parse_param_value", "split_frame",
           "task_metrics"]

# Metrics a task produces (see app.ml.metrics.score_predictions), the default a recipe gates on.
TASK_METRICS = {"classification": ("accuracy", "f1", "roc_auc"), "regression": ("mae", "rmse", "r2")}


def task_metrics(task: str) -> tuple[str, ...]:
    return TASK_METRICS.get(task, ())


def unfitted_clone_bytes(estimator) -> tuple[bytes, str]:
    """joblib bytes of `sklearn.base.clone(estimator)` (parameters kept, fitted state dropped),
    and the clone's class path. Raises InvalidInputError for estimators clone cannot copy."""
    import joblib
    from sklearn.base import clone

    try:
        unfitted = clone(estimator)
    except Exception as exc:
        raise InvalidInputError(f"The model cannot be cloned for retraining: {type(exc).__name__}: {exc}",
                                hint="Retraining needs a scikit-learn estimator or pipeline.") from None
    buffer = io.BytesIO()
    joblib.dump(unfitted, buffer)
    cls = type(unfitted)
    return buffer.getvalue(), f"{cls.__module__}.{cls.__qualname__}"


def load_unfitted(data: bytes, *, source: str):
    """Scan, then load a recipe's unfitted estimator; refuses anything outside the pickle allowlist
    (a recipe is sklearn only, so there is never a reason to trust more)."""
    import joblib

    from app.ml.pickle_scan import scan_bytes

    scan = scan_bytes(data)
    if not scan.safe:
        raise InvalidInputError(
            f"The {source} would import code outside the allowlist: {', '.join(scan.disallowed)}.",
            hint="Recipes hold scikit-learn estimators only; rebuild the recipe from a plain sklearn version.")
    obj = joblib.load(io.BytesIO(data))
    if not (hasattr(obj, "fit") and hasattr(obj, "predict")):
        raise InvalidInputError(f"The {source} is not an estimator (it has no fit/predict).")
    return obj


def parse_param_value(text: str) -> Any:
    """A parameter value typed on the command line: JSON when it parses (numbers, null, true), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_params(estimator, params: dict[str, Any]):
    """set_params(**params) with a message naming the parameter a person got wrong."""
    if not params:
        return estimator
    valid = estimator.get_params(deep=True)
    unknown = sorted(k for k in params if k not in valid)
    if unknown:
        close = sorted(k for k in valid if any(u.split("__")[-1] in k for u in unknown))[:6]
        raise InvalidInputError(f"Unknown estimator parameter(s): {', '.join(unknown)}.",
                                hint=f"Parameters with similar names: {', '.join(close)}." if close else
                                "The version's parameters are listed by `steward model show NAME --version N`.")
    try:
        estimator.set_params(**params)
    except Exception as exc:
        raise InvalidInputError(f"The parameters could not be set: {type(exc).__name__}: {exc}") from None
    return estimator


def split_frame(frame, target: str, task: str, *, holdout: float, seed: int, time_column: str | None = None):
    """(train, held_out): the newest `holdout` share by `time_column`, else a seeded (stratified) split."""
    import pandas as pd

    from app.ml.metrics import holdout_split

    if not 0 < holdout < 1:
        raise InvalidInputError(f"The hold-out fraction must be between 0 and 1, not {holdout}.")
    if len(frame) < 10:
        raise InvalidInputError(f"Only {len(frame)} labelled rows to train on; at least 10 are needed.")
    if not time_column:
        return holdout_split(frame, target, task, seed=seed, fraction=holdout)
    if time_column not in frame.columns:
        raise InvalidInputError(f"The training data has no time column '{time_column}'.")
    moments = frame[time_column]
    if not pd.api.types.is_numeric_dtype(moments):
        moments = pd.to_datetime(moments, utc=True, errors="coerce", format="mixed")
    if moments.isna().any():
        raise InvalidInputError(f"{int(moments.isna().sum())} row(s) have no usable time in '{time_column}'.")
    order = moments.argsort(kind="mergesort").to_numpy()  # stable: equal times keep file order
    cut = len(frame) - max(1, math.ceil(len(frame) * holdout))
    ordered = frame.iloc[order]
    return ordered.iloc[:cut], ordered.iloc[cut:]
