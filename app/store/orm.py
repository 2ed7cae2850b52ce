"""ORM rows (typed SQLAlchemy 2.0). Nothing outside `app.store` and `app.services` sees these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "SqlModel",
    "SqlVersion",
    "SqlDataset",
    "SqlStageChange",
    "SqlAuditEvent",
    "SqlArtifact",
    "SqlSetting",
    "SqlProfile",
    "SqlBatch",
    "SqlFeatureDrift",
    "SqlAlert",
    "SqlJob",
    "SqlRecipe",
    "SqlApproval",
    "SqlSchedule",
    "SqlShadowScore",
    "SqlFinding",
    "SqlReview",
]


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime}


class SqlArtifact(Base):
    """Every content-addressed file the workspace knows; lets start-up find orphans either way."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # model, dataset, report, ...
    created_at: Mapped[datetime]


class SqlDataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[Any]]
    schema: Mapped[dict[str, Any]]
    size_bytes: Mapped[int] = mapped_column(Integer)
    source_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    # A short datasheet: what the data is, where it came from, what it cannot tell.
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    limitations: Mapped[str] = mapped_column(Text, default="")


class SqlModel(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(128), default="")
    intended_use: Mapped[str] = mapped_column(Text, default="")
    out_of_scope_use: Mapped[str] = mapped_column(Text, default="")
    risk_tier: Mapped[str] = mapped_column(String(16), default="medium")
    tags: Mapped[list[Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))
    limitations: Mapped[str] = mapped_column(Text, default="")
    ethical_considerations: Mapped[str] = mapped_column(Text, default="")
    validator: Mapped[str] = mapped_column(String(128), default="")
    next_review_at: Mapped[datetime | None] = mapped_column(nullable=True)

    versions: Mapped[list[SqlVersion]] = relationship(
        back_populates="model", order_by="SqlVersion.number", foreign_keys="SqlVersion.model_id"
    )


class SqlVersion(Base):
    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
        Index("ix_versions_model_stage", "model_id", "stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    number: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16), default="none")
    artifact_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    artifact_size: Mapped[int] = mapped_column(Integer)
    estimator_class: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]]
    features: Mapped[list[Any]]
    target: Mapped[str] = mapped_column(String(255))
    task: Mapped[str] = mapped_column(String(32))
    classes: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    metrics: Mapped[dict[str, Any]]
    evaluation: Mapped[dict[str, Any]]
    train_dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    test_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    environment: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))

    model: Mapped[SqlModel] = relationship(back_populates="versions", foreign_keys=[model_id])
    train_dataset: Mapped[SqlDataset] = relationship(foreign_keys=[train_dataset_id])
    test_dataset: Mapped[SqlDataset | None] = relationship(foreign_keys=[test_dataset_id])
    parent: Mapped[SqlVersion | None] = relationship(remote_side=[id])


class SqlStageChange(Base):
    """Every stage move ever made; rows are only ever added."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_model_at", "model_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(ForeignKey("audit_events.seq"))


class SqlAuditEvent(Base):
    """Append-only, hash-chained; triggers (see migrations) reject UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_model_seq", "model", "seq"),
        Index("ix_audit_action_seq", "action", "seq"),
        Index("ix_audit_actor_seq", "actor", "seq"),
        Index("ix_audit_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(300))
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON text, exactly as hashed
    payload_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SqlSetting(Base):
    """Workspace-wide settings (scope 'workspace') and per-model overrides (scope 'model:<id>')."""

    __tablename__ = "settings"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class SqlProfile(Base):
    """A version's reference profile (bins, sorted sample, category counts), stored as an artifact."""

    __tablename__ = "reference_profiles"

    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    artifact_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class SqlBatch(Base):
    """A batch of decisions made with a model version (scored here or recorded from elsewhere)."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_model_created", "model_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # scored | recorded
    label: Mapped[str] = mapped_column(String(200), default="")
    input_name: Mapped[str] = mapped_column(String(255))
    input_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    output_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"), nullable=True)
    prediction_column: Mapped[str | None] = mapped_column(String(255), nullable=True)
    rows: Mapped[int] = mapped_column(Integer)
    drift_share: Mapped[float | None] = mapped_column(nullable=True)
    dataset_drift: Mapped[bool] = mapped_column(default=False)
    drift: Mapped[dict[str, Any]]  # the whole drift report, JSON
    labels_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"), nullable=True)
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class SqlFeatureDrift(Base):
    """One feature's figures for one batch: drift over time is a query over these rows."""

    __tablename__ = "feature_drift"
    __table_args__ = (Index("ix_feature_drift_batch", "batch_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    feature: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    psi: Mapped[float | None] = mapped_column(nullable=True)
    js_distance: Mapped[float | None] = mapped_column(nullable=True)
    wasserstein_norm: Mapped[float | None] = mapped_column(nullable=True)
    ks_statistic: Mapped[float | None] = mapped_column(nullable=True)
    ks_pvalue: Mapped[float | None] = mapped_column(nullable=True)
    chi2_pvalue: Mapped[float | None] = mapped_column(nullable=True)
    drifted: Mapped[bool] = mapped_column(default=False)
    severity: Mapped[str] = mapped_column(String(16))
    missing_rate: Mapped[float | None] = mapped_column(nullable=True)
    out_of_range_share: Mapped[float | None] = mapped_column(nullable=True)
    unseen_share: Mapped[float | None] = mapped_column(nullable=True)


class SqlAlert(Base):
    """A breach that must be acknowledged and resolved with a recorded decision."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_model_status", "model_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # drift | quality | performance
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # open | acknowledged | resolved
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # retrain | accept_risk | retire
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    linked_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    linked_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)


class SqlJob(Base):
    """A unit of background work run in a child process; its state moves only forward."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_model_created", "model_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed | cancelled | interrupted
    params: Mapped[dict[str, Any]]
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)  # a pid means something on its host only
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    log: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SqlRecipe(Base):
    """A model's training recipe (one row per model; every change is an audit event with from/to)."""

    __tablename__ = "recipes"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    estimator_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class SqlApproval(Base):
    """A request to move a version to Production, and the second person's decision on it."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected | withdrawn
    reason: Mapped[str] = mapped_column(Text)
    override: Mapped[bool] = mapped_column(default=False)  # the request overrides a failed gate
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)


class SqlSchedule(Base):
    """When a model retrains by itself: a cron expression and/or an alert-severity trigger."""

    __tablename__ = "schedules"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    cron: Mapped[str | None] = mapped_column(String(120), nullable=True)
    on_alert_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class SqlShadowScore(Base):
    """A Staging challenger's predictions on a batch the Production version scored (not decisions)."""

    __tablename__ = "shadow_scores"
    __table_args__ = (UniqueConstraint("batch_id", "version_id", name="uq_shadow_batch_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    output_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    agreement: Mapped[float]  # share of rows where challenger and production predict the same class
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]


class SqlFinding(Base):
    """An incident or review finding on a model: what went wrong, how bad, what was done about it."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_model_status", "model_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))  # low | medium | high
    versions: Mapped[list[Any]] = mapped_column(JSON)  # version numbers affected
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    root_cause: Mapped[str] = mapped_column(Text, default="")
    corrective_action: Mapped[str] = mapped_column(Text, default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class SqlReview(Base):
    """A sign-off: the validator's independent validation, or the owner's attestation, of a model."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_model_at", "model_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(32))  # validator | owner
    outcome: Mapped[str] = mapped_column(String(32))  # approved | approved_with_conditions | rejected
    note: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
