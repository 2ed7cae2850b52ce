"""ORM rows to plain entities: the only place that knows both shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.entities import Dataset, Feature, Model, RiskTier, Stage, StageChange, TaskType, Version
from app.store.orm import SqlDataset, SqlModel, SqlStageChange, SqlVersion

__all__ = ["aware", "model_entity", "version_entity", "dataset_entity", "stage_change_entity"]


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def model_entity(row: SqlModel) -> Model:
    return Model(
        id=row.id, name=row.name, description=row.description, owner=row.owner,
        intended_use=row.intended_use, out_of_scope_use=row.out_of_scope_use,
        risk_tier=RiskTier(row.risk_tier), tags=tuple(row.tags or ()),
        created_at=aware(row.created_at), created_by=row.created_by,
        limitations=row.limitations or "", ethical_considerations=row.ethical_considerations or "",
        validator=row.validator or "",
        next_review_at=aware(row.next_review_at) if row.next_review_at else None,
    )


def version_entity(row: SqlVersion) -> Version:
    return Version(
        id=row.id, model_id=row.model_id, model_name=row.model.name, number=row.number,
        stage=Stage(row.stage), artifact_sha256=row.artifact_sha256, artifact_size=row.artifact_size,
        estimator_class=row.estimator_class, params=dict(row.params or {}),
        features=tuple(Feature(**f) for f in row.features), target=row.target,
        task=TaskType(row.task), classes=tuple(row.classes) if row.classes is not None else None,
        metrics=dict(row.metrics or {}), evaluation=dict(row.evaluation or {}),
        train_dataset_sha256=row.train_dataset.sha256,
        test_dataset_sha256=row.test_dataset.sha256 if row.test_dataset else None,
        parent_number=row.parent.number if row.parent else None,
        environment=dict(row.environment or {}), provenance=dict(row.provenance or {}),
        note=row.note, created_at=aware(row.created_at), created_by=row.created_by,
    )


def dataset_entity(row: SqlDataset) -> Dataset:
    return Dataset(
        id=row.id, sha256=row.sha256, name=row.name, format=row.format, rows=row.rows,
        columns=tuple(row.columns), schema=dict(row.schema), size_bytes=row.size_bytes,
        source_path=row.source_path, created_at=aware(row.created_at), created_by=row.created_by,
        description=row.description or "", source=row.source or "", limitations=row.limitations or "",
    )


def stage_change_entity(row: SqlStageChange, model_name: str, number: int) -> StageChange:
    return StageChange(
        id=row.id, model_name=model_name, version=number, from_stage=Stage(row.from_stage),
        to_stage=Stage(row.to_stage), reason=row.reason, actor=row.actor, at=aware(row.at),
        audit_seq=row.audit_seq,
    )
