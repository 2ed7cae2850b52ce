"""Plain frozen records that every layer above the store works with."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Stage",
    "RiskTier",
    "TaskType",
    "Feature",
    "Dataset",
    "Model",
    "ModelSummary",
    "Version",
    "StageChange",
    "AuditEvent",
    "VerifyResult",
    "ScanResult",
    "to_jsonable",
]

class Stage(StrEnum):
    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return "—" if self is Stage.NONE else self.value.capitalize()

class RiskTier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

class TaskType(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"

@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    dtype: str  # pandas dtype name as seen in the training data
    kind: str  # "numeric" or "categorical"

@dataclass(frozen=True, slots=True)
class Dataset:
    id: int
    sha256: str
    name: str
    format: str  # "csv" or "parquet"
    rows: int
    columns: tuple[str, ...]
    schema: dict[str, str]
    size_bytes: int
    source_path: str
    created_at: datetime
    created_by: str
    description: str = ""
    source: str = ""
    limitations: str = ""

@dataclass(frozen=True, slots=True)
class Model:
    id: int
    name: str
    description: str
    owner: str
    intended_use: str
    out_of_scope_use: str
    risk_tier: RiskTier
    tags: tuple[str, ...]
    created_at: datetime
    created_by: str
    limitations: str = ""
    ethical_considerations: str = ""
    validator: str = ""
    next_review_at: datetime | None = None

@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One row of the models list: the model plus what the list shows about its versions."""

    id: int
    name: str
    owner: str
    risk_tier: RiskTier
    tags: tuple[str, ...]
    versions: int
    latest_version: int | None
    production_version: int | None
    latest_stage: Stage | None
    last_change_at: datetime
    last_change_by: str

@dataclass(frozen=True, slots=True)
class Version:
    id: int
    model_id: int
    model_name: str
    number: int
    stage: Stage
    artifact_sha256: str
    artifact_size: int
    estimator_class: str
    params: dict[str, Any]
    features: tuple[Feature, ...]
    target: str
    task: TaskType
    classes: tuple[str, ...] | None
    metrics: dict[str, float]
    evaluation: dict[str, Any]  # how metrics were obtained: split or test file, rows, seed
    train_dataset_sha256: str
    test_dataset_sha256: str | None
    parent_number: int | None
    environment: dict[str, str]  # python / scikit-learn / numpy / pandas / joblib versions
    provenance: dict[str, Any]  # source file name, pickle scan result, trust decision
    note: str
    created_at: datetime
    created_by: str

@dataclass(frozen=True, slots=True)
class StageChange:
    id: int
    model_name: str
    version: int
    from_stage: Stage
    to_stage: Stage
    reason: str
    actor: str
    at: datetime
    audit_seq: int

@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: str  # canonical UTC text, exactly as hashed
    actor: str
    action: str
    object: str  # e.g. "model:churn", "version:churn/3", "dataset:<sha256>"
    model: str | None
    details: dict[str, Any]
    payload_sha256: str
    prev_hash: str
    hash: str

@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        if self.ok:
            return f"Audit log intact: {self.events} events, chain verified (head {(self.head_hash or '')[:16]}…)."
        return f"Audit log BROKEN at event #{self.first_bad_seq}: {self.problem}"

@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a pickle would import if it were loaded."""

    globals: tuple[str, ...]
    disallowed: tuple[str, ...]
    format: str  # "pickle", "joblib", "joblib+zlib", ...

    @property
    def safe(self) -> bool:
        return not self.disallowed

def to_jsonable(value: Any) -> Any:
    """Turn entities (and nested containers of them) into JSON-ready structures."""
    from enum import Enum

    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        from app.core.timeutil import to_iso

        return to_iso(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
