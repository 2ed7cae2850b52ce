"""Plain records of background jobs and retraining recipes, and the cancel signal long work raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.core.errors import StewardError

__all__ = ["JobState", "Job", "Recipe", "JobCancelled", "TERMINAL_STATES"]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self.value in TERMINAL_STATES


TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})


class JobCancelled(StewardError):
    """Long work noticed a cancel request and stopped; nothing was recorded."""


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str  # a key of app.workers.kinds.JOB_KINDS, e.g. "retrain"
    model_name: str | None
    state: JobState
    params: dict[str, Any]
    progress: float  # 0..1
    message: str
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    pid: int | None
    host: str | None
    cancel_requested: bool
    cancel_requested_by: str | None
    result: dict[str, Any] | None
    error: str | None
    log: str = ""  # filled by get_job; lists leave it empty


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to rebuild a model: unfitted estimator, columns, split, metrics and the promotion gate.

    `gate_min`: per metric, the worst acceptable value (a floor; for mae/rmse a ceiling).
    `max_regression`: per metric, how much worse than the champion the challenger may be on the
    same held-out rows (absolute for scores, relative to the champion's value for mae/rmse).
    """

    model_name: str
    revision: int
    sha256: str  # hash of the canonical spec: what a version's lineage cites
    estimator_sha256: str  # joblib bytes of sklearn.base.clone(...) of the source version
    estimator_class: str
    source_version: int
    features: tuple[str, ...]
    target: str
    task: str
    holdout: float
    seed: int
    time_column: str | None
    metrics: tuple[str, ...]
    gate_min: dict[str, float]
    max_regression: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)  # estimator parameter overrides (set_params)
    updated_at: datetime | None = None
    updated_by: str = ""

    def spec(self) -> dict[str, Any]:
        """The content that is hashed and copied into a retrained version's provenance."""
        return {
            "estimator_sha256": self.estimator_sha256, "estimator_class": self.estimator_class,
            "source_version": self.source_version, "features": list(self.features), "target": self.target,
            "task": self.task, "split": {"holdout": self.holdout, "seed": self.seed, "time_column": self.time_column},
            "metrics": list(self.metrics),
            "gate": {"min": dict(self.gate_min), "max_regression": dict(self.max_regression)},
            "params": dict(self.params),
        }
