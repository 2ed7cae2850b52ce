"""Held-out evaluation: the same metrics at registration, retraining and on labelled batches."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["evaluate", "holdout_split", "METRIC_LABELS", "HIGHER_IS_BETTER"]

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "mae": False, "rmse": False, "r2": True}

SEED = 20241125
HOLDOUT_FRACTION = 0.2


def holdout_split(frame, target: str, task: str, *, seed: int = SEED, fraction: float = HOLDOUT_FRACTION):
    """A seeded hold-out split (stratified for classification when every class has two rows)."""
    from sklearn.model_selection import train_test_split

    if len(frame) < 5:
        return frame, frame
    stratify = None
    if task == "classification":
        counts = frame[target].value_counts()
        if len(counts) > 1 and counts.min() >= 2:
            stratify = frame[target]
    try:
        return train_test_split(frame, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError:
        return train_test_split(frame, test_size=fraction, random_state=seed)


def evaluate(estimator, X, y, task: str) -> dict[str, float]:
    """Classification: accuracy, F1 (binary or macro), ROC AUC where defined. Regression: MAE, RMSE, R²."""
    from sklearn import metrics

    pred = estimator.predict(X)
    out: dict[str, Any] = {}
    if task == "classification":
        out["accuracy"] = metrics.accuracy_score(y, pred)
        labels = sorted(set(map(str, y)) | set(map(str, pred)))
        binary = len(set(map(str, y))) == 2 and len(labels) <= 2
        out["f1"] = metrics.f1_score(y.astype(str), pred.astype(str), average="binary" if binary else "macro",
                                     pos_label=_positive_label(estimator, y) if binary else 1, zero_division=0)
        auc = _roc_auc(estimator, X, y)
        if auc is not None:
            out["roc_auc"] = auc
    else:
        out["mae"] = metrics.mean_absolute_error(y, pred)
        out["rmse"] = math.sqrt(metrics.mean_squared_error(y, pred))
        if len(y) >= 2:
            out["r2"] = metrics.r2_score(y, pred)
    return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(float(v))}


def _positive_label(estimator, y) -> str:
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) == 2:
        return str(classes[1])
    return str(sorted(set(map(str, y)))[-1])


def _roc_auc(estimator, X, y) -> float | None:
    from sklearn import metrics

    classes = getattr(estimator, "classes_", None)
    if classes is None or len(set(y)) < 2:
        return None
    try:
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            if len(classes) == 2:
                return metrics.roc_auc_score(y, proba[:, 1], labels=classes)
            if len(set(y)) == len(classes):
                return metrics.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
            return None
        if hasattr(estimator, "decision_function") and len(classes) == 2:
            return metrics.roc_auc_score(y, estimator.decision_function(X))
    except (ValueError, AttributeError):
        return None
    return None
