"""Plain records of monitoring: batches, per-feature drift figures, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["AlertKind", "AlertStatus", "Decision", "Severity", "Batch", "FeaturePoint", "Alert"]


class Severity(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return ["none", "low", "medium", "high"].index(self.value)


class AlertKind(StrEnum):
    DRIFT = "drift"
    QUALITY = "quality"
    PERFORMANCE = "performance"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Decision(StrEnum):
    RETRAIN = "retrain"
    ACCEPT_RISK = "accept_risk"
    RETIRE = "retire"


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    model_name: str
    version: int
    kind: str  # scored | recorded
    label: str
    input_name: str
    input_sha256: str
    output_sha256: str | None
    rows: int
    drift_share: float | None
    dataset_drift: bool
    drift: dict[str, Any]  # the full drift report
    performance: dict[str, float] | None
    labels_sha256: str | None
    created_at: datetime
    created_by: str
    alerts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FeaturePoint:
    """One feature's drift figures in one batch (a point of a drift-over-time line)."""

    batch_id: int
    at: datetime
    label: str
    version: int
    feature: str
    kind: str
    psi: float | None
    js_distance: float | None
    wasserstein_norm: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    chi2_pvalue: float | None
    drifted: bool
    severity: str
    missing_rate: float | None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    model_name: str
    version: int
    batch_id: int | None
    kind: AlertKind
    severity: Severity
    status: AlertStatus
    title: str
    details: dict[str, Any]
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    decision: Decision | None
    rationale: str | None
    expires_at: datetime | None
    linked_version: int | None
    linked_job: int | None = None  # the retrain job started by resolving it (its version becomes linked_version)
