"""Held-out evaluation: the same metrics at registration, retraining and on labelled batches."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["evaluate", "score_predictions", "standard_errors", "holdout_split", "METRIC_LABELS", "HIGHER_IS_BETTER"]

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


def evaluate(estimator, X, y, task: str, *, with_errors: bool = False):
    """Predict on X and score against y (see `score_predictions`); with `with_errors`, also return
    each metric's standard error (see `standard_errors`)."""
    pred = estimator.predict(X)
    scores = None
    classes = getattr(estimator, "classes_", None)
    if task == "classification" and classes is not None:
        scores = _class_scores(estimator, X, classes)
    metrics = score_predictions(y, pred, task, scores=scores, classes=classes)
    if not with_errors:
        return metrics
    return metrics, standard_errors(y, pred, task, scores=scores, classes=classes)


def score_predictions(y, pred, task: str, *, scores=None, classes=None) -> dict[str, float]:
    """Classification: accuracy, F1 (binary or macro), ROC AUC where defined. Regression: MAE, RMSE, R².

    `scores` are class probabilities (n × k, columns in `classes` order) or, for two classes, a
    one-dimensional decision score for the second class; without them ROC AUC is left out.
    """
    import numpy as np
    from sklearn import metrics

    y = np.asarray(y)
    pred = np.asarray(pred)
    out: dict[str, Any] = {}
    if task == "classification":
        y_s, pred_s = y.astype(str), pred.astype(str)
        out["accuracy"] = metrics.accuracy_score(y_s, pred_s)
        observed = sorted(set(y_s))
        binary = len(observed) == 2 and len(set(observed) | set(pred_s)) <= 2
        positive = str(classes[1]) if classes is not None and len(classes) == 2 else (observed[-1] if observed else "1")
        out["f1"] = metrics.f1_score(y_s, pred_s, average="binary" if binary else "macro",
                                     pos_label=positive if binary else 1, zero_division=0)
        if scores is not None and classes is not None and len(observed) >= 2:
            out["roc_auc"] = _roc_auc(y_s, scores, [str(c) for c in classes])
    else:
        y_f, pred_f = y.astype(float), pred.astype(float)
        out["mae"] = metrics.mean_absolute_error(y_f, pred_f)
        out["rmse"] = math.sqrt(metrics.mean_squared_error(y_f, pred_f))
        if len(y_f) >= 2:
            out["r2"] = metrics.r2_score(y_f, pred_f)
    return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(float(v))}


def _class_scores(estimator, X, classes):
    try:
        if hasattr(estimator, "predict_proba"):
            return estimator.predict_proba(X)
        if hasattr(estimator, "decision_function") and len(classes) == 2:
            return estimator.decision_function(X)
    except (ValueError, AttributeError):
        return None
    return None


def _roc_auc(y, scores, classes: list[str]) -> float | None:
    import numpy as np
    from sklearn import metrics

    scores = np.asarray(scores)
    try:
        if len(classes) == 2:
            positive = scores[:, 1] if scores.ndim == 2 else scores
            return metrics.roc_auc_score(y == classes[1], positive)
        if len(set(y)) == len(classes) and scores.ndim == 2:
            return metrics.roc_auc_score(y, scores, multi_class="ovr", labels=classes)
    except ValueError:
        return None
    return None


def standard_errors(y, pred, task: str, *, scores=None, classes=None) -> dict[str, float]:
    """Approximate standard error of each metric from its sample size (closed forms, no resampling).

    A drop on a small labelled batch must not be mistaken for a real one: ROC AUC on 1,500 rows
    moves by about ±0.01–0.02 from sampling alone. Accuracy: binomial; ROC AUC: Hanley & McNeil
    (1982); F1: binomial over the items it counts; MAE and RMSE: the spread of the errors (delta
    method for RMSE); R²: the spread of squared errors relative to the target variance.
    """
    import numpy as np

    y, pred = np.asarray(y), np.asarray(pred)
    n = len(y)
    if n < 2:
        return {}
    values = score_predictions(y, pred, task, scores=scores, classes=classes)
    out: dict[str, float] = {}
    if task == "classification":
        y_s, pred_s = y.astype(str), pred.astype(str)
        if "accuracy" in values:
            a = values["accuracy"]
            out["accuracy"] = math.sqrt(max(a * (1 - a), 1e-12) / n)
        if "f1" in values:
            f = values["f1"]
            labels = sorted(set(y_s))
            if len(labels) == 2:
                top = str(classes[1]) if classes is not None and len(classes) == 2 else labels[-1]
                counted = max(1.0, (np.sum(y_s == top) + np.sum(pred_s == top)) / 2)
            else:
                counted = max(1.0, n / max(len(labels), 1))
            out["f1"] = math.sqrt(max(f * (1 - f), 1e-12) / counted)
        if "roc_auc" in values:
            auc = values["roc_auc"]
            _, counts = np.unique(y_s, return_counts=True)
            n1 = float(counts.min())
            n0 = float(n - n1)
            q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
            var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / max(n0 * n1, 1.0)
            out["roc_auc"] = math.sqrt(max(var, 1e-12))
    else:
        err = pred.astype(float) - y.astype(float)
        sq = err * err
        out["mae"] = float(np.std(np.abs(err), ddof=1) / math.sqrt(n))
        rmse = values.get("rmse", 0.0)
        out["rmse"] = float(np.std(sq, ddof=1) / (2 * max(rmse, 1e-12) * math.sqrt(n)))
        var_y = float(np.var(y.astype(float), ddof=1))
        if "r2" in values and var_y > 0:
            out["r2"] = float(np.std(sq, ddof=1) / (math.sqrt(n) * var_y))
    return {k: float(v) for k, v in out.items() if math.isfinite(v)}
