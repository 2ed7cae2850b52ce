"""Read-side use cases: models, versions, stage history, datasets, and loading a stored model."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core.entities import Dataset, Model, ModelSummary, RiskTier, Stage, StageChange, Version
from app.core.errors import InvalidInputError, NotFoundError
from app.services.convert import aware, dataset_entity, model_entity, stage_change_entity, version_entity
from app.store.orm import SqlDataset, SqlModel, SqlStageChange, SqlVersion
from app.store.workspace import Workspace

__all__ = [
    "model_row",
    "list_models",
    "get_model",
    "list_versions",
    "get_version",
    "stage_history",
    "list_datasets",
    "get_dataset",
    "load_model",
    "workspace_is_empty",
]


def model_row(session: Session, name: str) -> SqlModel:
    """The model named `name`, or NotFoundError."""
    row = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if row is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list` for the names.")
    return row


def workspace_is_empty(ws: Workspace) -> bool:
    with ws.db.read() as session:
        return session.execute(select(SqlModel.id).limit(1)).first() is None


def list_models(ws: Workspace, search: str | None = None) -> list[ModelSummary]:
    """One row per model, computed by three aggregate queries whatever the number of versions."""
    with ws.db.read() as session:
        versions = select(
            SqlVersion.model_id,
            func.count().label("n"),
            func.max(SqlVersion.number).label("latest"),
            func.max(SqlVersion.created_at).label("last_created"),
        ).group_by(SqlVersion.model_id).subquery()
        prod = select(SqlVersion.model_id, func.max(SqlVersion.number).label("prod")).where(
            SqlVersion.stage == "production").group_by(SqlVersion.model_id).subquery()
        query = (
            select(SqlModel, versions.c.n, versions.c.latest, prod.c.prod)
            .outerjoin(versions, versions.c.model_id == SqlModel.id)
            .outerjoin(prod, prod.c.model_id == SqlModel.id)
            .order_by(SqlModel.name)
        )
        if search:
            query = query.where(SqlModel.name.icontains(search) | SqlModel.owner.icontains(search))
        rows = session.execute(query).all()
        latest_stage = dict(session.execute(
            select(SqlVersion.model_id, SqlVersion.stage).join(
                versions, (versions.c.model_id == SqlVersion.model_id) & (versions.c.latest == SqlVersion.number))
        ).all())
        return [
            ModelSummary(
                id=m.id, name=m.name, owner=m.owner, risk_tier=RiskTier(m.risk_tier), tags=tuple(m.tags or ()),
                versions=n or 0, latest_version=latest, production_version=prod_number,
                latest_stage=Stage(latest_stage[m.id]) if m.id in latest_stage else None,
                last_change_at=aware(m.updated_at), last_change_by=m.updated_by,
            )
            for m, n, latest, prod_number in rows
        ]


def get_model(ws: Workspace, name: str) -> Model:
    with ws.db.read() as session:
        return model_entity(model_row(session, name))


def _versions_query():
    return select(SqlVersion).options(
        joinedload(SqlVersion.model), joinedload(SqlVersion.train_dataset),
        joinedload(SqlVersion.test_dataset), joinedload(SqlVersion.parent),
    )


def list_versions(ws: Workspace, name: str) -> list[Version]:
    """All versions of a model, newest first."""
    with ws.db.read() as session:
        model = model_row(session, name)
        rows = session.scalars(
            _versions_query().where(SqlVersion.model_id == model.id).order_by(SqlVersion.number.desc())
        ).all()
        return [version_entity(r) for r in rows]


def get_version(ws: Workspace, name: str, number: int | None = None) -> Version:
    """Version `number`, or the Production version, or the newest one."""
    with ws.db.read() as session:
        model = model_row(session, name)
        query = _versions_query().where(SqlVersion.model_id == model.id)
        if number is not None:
            row = session.scalars(query.where(SqlVersion.number == number)).first()
            if row is None:
                raise NotFoundError(f"Model '{name}' has no version {number}.")
        else:
            row = session.scalars(query.order_by((SqlVersion.stage == "production").desc(),
                                                 SqlVersion.number.desc()).limit(1)).first()
            if row is None:
                raise NotFoundError(f"Model '{name}' has no versions yet.")
        return version_entity(row)


def stage_history(ws: Workspace, name: str) -> list[StageChange]:
    """Every stage move of the model's versions, oldest first."""
    with ws.db.read() as session:
        model = model_row(session, name)
        rows = session.execute(
            select(SqlStageChange, SqlVersion.number).join(SqlVersion, SqlVersion.id == SqlStageChange.version_id)
            .where(SqlStageChange.model_id == model.id).order_by(SqlStageChange.id)
        ).all()
        return [stage_change_entity(r, model.name, number) for r, number in rows]


def list_datasets(ws: Workspace) -> list[Dataset]:
    with ws.db.read() as session:
        return [dataset_entity(r) for r in session.scalars(select(SqlDataset).order_by(SqlDataset.id))]


def get_dataset(ws: Workspace, ref: str) -> Dataset:
    """A dataset by id, full hash or a hash prefix of at least 6 characters."""
    ref = ref.strip().lower()
    with ws.db.read() as session:
        if ref.isdigit() and len(ref) < 6:
            row = session.get(SqlDataset, int(ref))
            rows = [row] if row else []
        else:
            if len(ref) < 6:
                raise InvalidInputError("Give at least 6 characters of the dataset hash.")
            rows = session.scalars(select(SqlDataset).where(SqlDataset.sha256.startswith(ref)).limit(2)).all()
        if not rows:
            raise NotFoundError(f"No dataset matches '{ref}'.", hint="See `steward dataset list`.")
        if len(rows) > 1:
            raise InvalidInputError(f"'{ref}' matches more than one dataset; give more of the hash.")
        return dataset_entity(rows[0])


def load_model(ws: Workspace, name: str, number: int | None = None):
    """The fitted estimator of a version, after its artifact's hash is checked."""
    from app.ml.estimator import load_estimator

    version = get_version(ws, name, number)
    data = ws.artifacts.read_verified(version.artifact_sha256)
    return load_estimator(data, source=f"{name} v{version.number}")
