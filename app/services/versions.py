"""Record a new version (datasets, artifacts, profile, lineage, audit) inside one write transaction."""

# Shared by registration of a fitted model and by retraining: the callers compute everything first
# (artifact files are content-addressed, so writing them early leaves no half state), then hand a
# PreparedVersion to record_version inside ws.db.write.

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.profiles import record_profile
from app.store.orm import SqlArtifact, SqlDataset, SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = [
    "PreparedVersion",
    "AUTO_PARENT",
    "dataset_record",
    "dataset_record_bytes",
    "ensure_artifact",
    "ensure_dataset",
    "record_version",
]

AUTO_PARENT = object()  # the Production version at commit time, else the newest


@dataclass
class PreparedVersion:
    """Everything computed before the transaction, so the transaction itself is short."""

    model_bytes_sha: str
    model_size: int
    description: dict  # estimator_class, task, classes, params (see app.ml.estimator.describe_estimator)
    features: list[dict]
    metrics: dict[str, float]
    evaluation: dict
    environment: dict
    provenance: dict
    datasets: list[dict]  # train first, then test if any
    profile_sha: str = ""
    profile_size: int = 0
    profile_rows: int = 0


def _table_record(sha: str, size: int, name: str, fmt: str, frame, source: str, role: str) -> dict:
    return {
        "sha256": sha, "size_bytes": size, "name": name, "format": fmt,
        "rows": int(len(frame)), "columns": [str(c) for c in frame.columns],
        "schema": {str(c): str(t) for c, t in frame.dtypes.items()},
        "source_path": source, "role": role,
    }


def dataset_record(ws: Workspace, path: Path, frame, role: str) -> dict:
    """Store a data file as it is (its hash is the file's hash) and describe it from `frame`."""
    from app.ml.data import table_format

    sha, size = ws.artifacts.put_file(path)
    return _table_record(sha, size, path.name, table_format(path), frame, str(path.resolve()), role)


def dataset_record_bytes(ws: Workspace, data: bytes, name: str, frame, role: str, source: str = "") -> dict:
    """Store a table the workspace assembled itself (CSV or Parquet bytes) and describe it."""
    sha, size = ws.artifacts.put_bytes(data)
    fmt = "parquet" if data[:4] == b"PAR1" else "csv"
    record = _table_record(sha, size, name, fmt, frame, source, role)
    # Its datasheet writes itself: what it was assembled from is known exactly.
    record["datasheet"] = {"description": f"Assembled by Model Steward for retraining: {source}." if source else "",
                           "source": "this workspace's own records (see the version's lineage)"}
    return record


def ensure_artifact(session: Session, sha: str, size: int, kind: str) -> None:
    if session.get(SqlArtifact, sha) is None:
        session.add(SqlArtifact(sha256=sha, size_bytes=size, kind=kind, created_at=utcnow()))


def ensure_dataset(session: Session, record: dict, actor: str, model: str) -> SqlDataset:
    existing = session.scalars(select(SqlDataset).where(SqlDataset.sha256 == record["sha256"])).first()
    if existing is not None:
        return existing
    ensure_artifact(session, record["sha256"], record["size_bytes"], "dataset")
    row = SqlDataset(
        sha256=record["sha256"], name=record["name"], format=record["format"], rows=record["rows"],
        columns=record["columns"], schema=record["schema"], size_bytes=record["size_bytes"],
        source_path=record["source_path"], created_at=utcnow(), created_by=actor,
        **record.get("datasheet", {}),
    )
    session.add(row)
    session.flush()
    append_event(session, "dataset.registered", f"dataset:{row.sha256}", model=model, actor=actor,
                 details={k: record[k] for k in ("name", "format", "rows", "size_bytes", "role")}
                 | {"sha256": row.sha256, "columns": len(record["columns"])})
    return row


def record_version(session: Session, model: SqlModel, p: PreparedVersion, *, target: str, note: str, actor: str,
                   parent: Any = AUTO_PARENT, audit_extra: dict[str, Any] | None = None) -> SqlVersion:
    """Add the version with its datasets, artifact rows, profile and audit events; returns the row.

    `parent`: a version row, None, or AUTO_PARENT. `audit_extra` is merged into the
    version.registered event (a retrain puts its gate result and lineage there).
    """
    now = utcnow()
    name = model.name
    datasets = [ensure_dataset(session, record, actor, name) for record in p.datasets]
    ensure_artifact(session, p.model_bytes_sha, p.model_size, "model")
    number = (session.execute(select(func.max(SqlVersion.number)).where(SqlVersion.model_id == model.id))
              .scalar() or 0) + 1
    if parent is AUTO_PARENT:
        parent = session.scalars(
            select(SqlVersion).where(SqlVersion.model_id == model.id)
            .order_by((SqlVersion.stage == "production").desc(), SqlVersion.number.desc()).limit(1)
        ).first()
    version = SqlVersion(
        model_id=model.id, number=number, stage="none", artifact_sha256=p.model_bytes_sha,
        artifact_size=p.model_size, estimator_class=p.description["estimator_class"],
        params=p.description["params"], features=p.features, target=target, task=p.description["task"],
        classes=p.description["classes"], metrics=p.metrics, evaluation=p.evaluation,
        train_dataset_id=datasets[0].id, test_dataset_id=datasets[1].id if len(datasets) > 1 else None,
        parent_id=parent.id if parent else None, environment=p.environment, provenance=p.provenance,
        note=note, created_at=now, created_by=actor,
    )
    session.add(version)
    model.updated_at, model.updated_by = now, actor
    session.flush()
    record_profile(session, version.id, p.profile_sha, p.profile_size, p.profile_rows)
    if p.provenance.get("trusted"):
        append_event(session, "artifact.trusted", f"artifact:{p.model_bytes_sha}", model=name, actor=actor,
                     details={"source_file": p.provenance["source_file"],
                              "disallowed_globals": p.provenance["disallowed"],
                              "decision": "explicitly trusted by the user"})
    append_event(session, "version.registered", f"version:{name}/{number}", model=name, actor=actor, details={
        "version": number, "artifact_sha256": p.model_bytes_sha, "estimator": p.description["estimator_class"],
        "task": p.description["task"], "target": target, "features": [f["name"] for f in p.features],
        "metrics": p.metrics, "evaluation": p.evaluation, "train_dataset_sha256": datasets[0].sha256,
        "parent_version": parent.number if parent else None, "environment": p.environment, "note": note,
        "profile_sha256": p.profile_sha} | (audit_extra or {}))
    return version
