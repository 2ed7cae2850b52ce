"""Read side of monitoring: batches, drift over time, performance over time, the overview."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.errors import NotFoundError
from app.core.monitoring import Batch, FeaturePoint
from app.services.convert import aware
from app.services.monitoring_convert import batch_entity
from app.store.orm import SqlAlert, SqlBatch, SqlFeatureDrift, SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["list_batches", "get_batch", "drift_history", "performance_history", "Overview", "overview"]


def _model_id(session, name: str) -> int:
    found = session.execute(select(SqlModel.id).where(SqlModel.name == name)).scalar()
    if found is None:
        raise NotFoundError(f"No model named '{name}'.", hint="See `steward model list`.")
    return found


def list_batches(ws: Workspace, name: str, *, limit: int | None = None) -> list[Batch]:
    """A model's batches, oldest first (the order of a time axis); `limit` keeps the newest N, chosen
    in SQL so that asking for the latest batch does not read (and decode the drift JSON of) them all."""
    with ws.db.read() as session:
        mid = _model_id(session, name)
        query = select(SqlBatch, SqlVersion.number).join(SqlVersion, SqlVersion.id == SqlBatch.version_id) \
            .where(SqlBatch.model_id == mid).order_by(SqlBatch.created_at.desc(), SqlBatch.id.desc())
        if limit:
            query = query.limit(limit)
        rows = session.execute(query).all()[::-1]
        alert_query = select(SqlAlert.id, SqlAlert.batch_id).where(SqlAlert.model_id == mid).order_by(SqlAlert.id)
        if limit:
            alert_query = alert_query.where(SqlAlert.batch_id.in_([b.id for b, _ in rows]))
        alerts: dict[int, list[int]] = {}
        for alert_id, batch_id in session.execute(alert_query).all():
            alerts.setdefault(batch_id, []).append(alert_id)
        return [batch_entity(b, name, number, tuple(alerts.get(b.id, ()))) for b, number in rows]


def get_batch(ws: Workspace, batch_id: int) -> Batch:
    with ws.db.read() as session:
        row = session.get(SqlBatch, batch_id)
        if row is None:
            raise NotFoundError(f"No batch #{batch_id}.")
        version = session.get(SqlVersion, row.version_id)
        ids = tuple(session.scalars(select(SqlAlert.id).where(SqlAlert.batch_id == batch_id)))
        return batch_entity(row, version.model.name, version.number, ids)


def drift_history(ws: Workspace, name: str, feature: str | None = None) -> list[FeaturePoint]:
    """Stored per-feature figures for every batch, oldest first: a query, never a recomputation."""
    with ws.db.read() as session:
        mid = _model_id(session, name)
        query = (select(SqlFeatureDrift, SqlBatch.created_at, SqlBatch.label, SqlVersion.number)
                 .join(SqlBatch, SqlBatch.id == SqlFeatureDrift.batch_id)
                 .join(SqlVersion, SqlVersion.id == SqlBatch.version_id)
                 .where(SqlBatch.model_id == mid).order_by(SqlBatch.created_at, SqlBatch.id, SqlFeatureDrift.id))
        if feature:
            query = query.where(SqlFeatureDrift.feature == feature)
        return [FeaturePoint(batch_id=f.batch_id, at=aware(at), label=label, version=number, feature=f.feature,
                             kind=f.kind, psi=f.psi, js_distance=f.js_distance, wasserstein_norm=f.wasserstein_norm,
                             ks_statistic=f.ks_statistic, ks_pvalue=f.ks_pvalue, chi2_pvalue=f.chi2_pvalue,
                             drifted=bool(f.drifted), severity=f.severity, missing_rate=f.missing_rate)
                for f, at, label, number in session.execute(query).all()]


def performance_history(ws: Workspace, name: str) -> list[Batch]:
    """Batches that have labels, oldest first."""
    return [b for b in list_batches(ws, name) if b.performance]


@dataclass(frozen=True, slots=True)
class Overview:
    models: int
    in_production: int
    open_alerts: int
    high_alerts: int
    drifting_models: tuple[str, ...]  # latest batch shows dataset drift or a drifted feature
    batches_last_30_days: int
    alerts_by_model: dict[str, int]


def overview(ws: Workspace) -> Overview:
    from datetime import timedelta

    from app.core.timeutil import utcnow

    with ws.db.read() as session:
        models = session.execute(select(func.count()).select_from(SqlModel)).scalar_one()
        in_prod = session.execute(select(func.count(func.distinct(SqlVersion.model_id)))
                                  .where(SqlVersion.stage == "production")).scalar_one()
        open_rows = session.execute(select(SqlModel.name, SqlAlert.severity).join(
            SqlModel, SqlModel.id == SqlAlert.model_id).where(SqlAlert.status != "resolved")).all()
        latest = select(SqlBatch.model_id, func.max(SqlBatch.id).label("last")).group_by(SqlBatch.model_id).subquery()
        drifting = session.execute(
            select(SqlModel.name).join(latest, latest.c.model_id == SqlModel.id)
            .join(SqlBatch, SqlBatch.id == latest.c.last)
            .where(SqlBatch.id.in_(select(SqlFeatureDrift.batch_id).where(SqlFeatureDrift.drifted.is_(True))))
            .order_by(SqlModel.name)).scalars().all()
        recent = session.execute(select(func.count()).select_from(SqlBatch)
                                 .where(SqlBatch.created_at >= utcnow() - timedelta(days=30))).scalar_one()
    by_model: dict[str, int] = {}
    for name, _severity in open_rows:
        by_model[name] = by_model.get(name, 0) + 1
    return Overview(models=models, in_production=in_prod, open_alerts=len(open_rows),
                    high_alerts=sum(1 for _n, s in open_rows if s == "high"), drifting_models=tuple(drifting),
                    batches_last_30_days=recent, alerts_by_model=by_model)
