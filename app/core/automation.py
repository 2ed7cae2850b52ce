"""Plain records of retraining schedules, reproductions of versions and shadow evaluations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Schedule", "DueRun", "MetricCheck", "LibraryDifference", "Reproduction", "ShadowScore",
           "ShadowBatch"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a model retrains by itself. Cron expressions are evaluated in UTC."""

    model_name: str
    cron: str | None
    on_alert_severity: str | None  # low | medium | high: retrain when an alert this severe (or worse) opens
    enabled: bool
    next_due_at: datetime | None  # the next cron time (UTC); None without a cron expression
    last_run_at: datetime | None
    last_job_id: int | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class DueRun:
    """What one `run_due` call did: jobs it submitted, jobs it started, schedules it could not run."""

    submitted: tuple[int, ...]
    started: tuple[int, ...]
    reused: tuple[int, ...] = ()  # retrains already queued or running that a trigger was attached to
    failed: tuple[dict[str, Any], ...] = ()  # {"model", "trigger", "error"}


@dataclass(frozen=True, slots=True)
class MetricCheck:
    metric: str
    recorded: float | None
    reproduced: float | None
    difference: float | None
    match: bool


@dataclass(frozen=True, slots=True)
class LibraryDifference:
    library: str
    recorded: str | None
    current: str | None


@dataclass(frozen=True, slots=True)
class Reproduction:
    """The outcome of refitting a version's recipe on its recorded data with its recorded seed."""

    model_name: str
    version: int
    source: str  # "retrain" (the recipe in its provenance) or "registered" (a clone of its estimator)
    match: bool
    tolerance: float
    metrics: tuple[MetricCheck, ...]
    libraries: tuple[LibraryDifference, ...]  # only libraries whose version differs from the recorded one
    train_rows: int
    held_out_rows: int
    held_out: str  # how the held-out rows were chosen
    dataset_sha256: str
    prediction_agreement: float | None  # share of held-out rows where the refit predicts as the stored model
    notes: tuple[str, ...] = field(default_factory=tuple)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ShadowScore:
    """A Staging version's predictions on a batch the Production version decided (not a decision)."""

    batch_id: int
    version: int
    output_sha256: str
    agreement: float  # share of rows on which it predicts what Production predicted
    performance: dict[str, float] | None  # metrics on the batch's labelled rows, once labels arrive
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShadowBatch:
    """One batch: Production's decisions and live metrics beside every shadow version's."""

    batch_id: int
    label: str
    created_at: datetime
    rows: int
    production_version: int
    production_performance: dict[str, float] | None
    labelled_rows: int | None
    challengers: tuple[ShadowScore, ...]
