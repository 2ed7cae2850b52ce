"""Short, human text for entities: times, hashes, estimator names, metrics."""

from __future__ import annotations

import re
from datetime import datetime

from app.core.entities import Stage, Version
from app.ml.metrics import HIGHER_IS_BETTER, METRIC_LABELS

__all__ = ["fmt_time", "short_hash", "estimator_label", "metric_label", "fmt_metric", "key_metrics", "stage_text",
           "metric_direction"]

# Which metrics are "key" enough for a one-line summary, in order of preference.
_KEY_METRICS = ("accuracy", "roc_auc", "f1", "r2", "rmse", "mae")
# Pipeline parameters that are not step names.
_PIPELINE_OPTIONS = {"memory", "steps", "verbose", "transform_input"}
_STEP = re.compile(r"\('([^']+)',\s*([A-Za-z_]\w*)\(")


def fmt_time(moment: datetime | None) -> str:
    """Local time to the minute: precise enough to read, short enough for a table cell."""
    if moment is None:
        return "—"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def short_hash(sha: str | None, n: int = 12) -> str:
    return sha[:n] if sha else "—"


def stage_text(stage: Stage | str | None) -> str:
    if stage is None:
        return "—"
    return Stage(stage).label


def estimator_label(version: Version) -> str:
    """'LogisticRegression', or 'Pipeline: StandardScaler → LogisticRegression' for pipelines."""
    name = version.estimator_class.rsplit(".", 1)[-1]
    if name != "Pipeline":
        return name
    # `steps` keeps the order but may be cut short; the step entries are complete but sorted by name.
    steps = _STEP.findall(str(version.params.get("steps", "")))
    steps = [cls for _, cls in steps] or [
        str(value).split("(", 1)[0]
        for key, value in version.params.items()
        if "__" not in key and key not in _PIPELINE_OPTIONS and isinstance(value, str) and "(" in value
    ]
    return f"Pipeline: {' → '.join(steps)}" if steps else name


def metric_label(key: str) -> str:
    return METRIC_LABELS.get(key, key)


def fmt_metric(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.3f}"


def key_metrics(version: Version, limit: int = 2) -> str:
    keys = [k for k in _KEY_METRICS if k in version.metrics][:limit]
    return "  ·  ".join(f"{metric_label(k)} {fmt_metric(version.metrics[k])}" for k in keys) or "—"


def metric_direction(key: str) -> str:
    better = HIGHER_IS_BETTER.get(key)
    return "" if better is None else ("higher is better" if better else "lower is better")
