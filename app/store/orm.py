"""ORM rows (typed SQLAlchemy 2.0). Nothing outside `app.store` and `app.services` sees these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "SqlModel",
    "SqlVersion",
    "SqlDataset",
    "SqlStageChange",
    "SqlAuditEvent",
    "SqlArtifact",
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
