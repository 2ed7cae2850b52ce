"""Reference profiles: built once per version from its training data, stored as an artifact."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.store.orm import SqlArtifact, SqlDataset, SqlProfile, SqlVersion
from app.store.workspace import Workspace

__all__ = ["build_version_profile", "ensure_profile", "record_profile", "read_dataset_frame", "prediction_kind"]


def prediction_kind(task: str) -> str:
    return "categorical" if task == "classification" else "numeric"


def read_dataset_frame(ws: Workspace, sha256: str):
    """A stored table (dataset, batch input or output) as a DataFrame, after its hash is checked."""
    import pandas as pd

    data = ws.artifacts.read_verified(sha256)
    if data[:4] == b"PAR1":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), low_memory=False)


def build_version_profile(estimator, frame, features: list[dict], task: str):
    """Profile of the training data plus the model's predictions on it; returns (bytes, rows)."""
    from app.drift.profile import build_profile

    names = [f["name"] for f in features]
    predictions = estimator.predict(frame[names])
    profile = build_profile(frame, [(f["name"], f["kind"]) for f in features],
                            predictions=predictions, prediction_kind=prediction_kind(task))
    return profile.to_bytes(), len(frame)


def record_profile(session: Session, version_id: int, sha: str, size: int, rows: int) -> str:
    """Add the profile's rows inside the caller's transaction (its artifact file is already stored)."""
    if session.get(SqlArtifact, sha) is None:
        session.add(SqlArtifact(sha256=sha, size_bytes=size, kind="profile", created_at=utcnow()))
    session.add(SqlProfile(version_id=version_id, artifact_sha256=sha, rows=rows, created_at=utcnow()))
    session.flush()
    return sha


def ensure_profile(ws: Workspace, version_id: int):
    """The version's profile, building it on first use for versions registered without one."""
    from app.drift.profile import ReferenceProfile

    with ws.db.read() as session:
        row = session.get(SqlProfile, version_id)
        if row is not None:
            return ReferenceProfile.from_bytes(ws.artifacts.read_verified(row.artifact_sha256))
        version = session.get(SqlVersion, version_id)
        dataset = session.get(SqlDataset, version.train_dataset_id)
        model_name, number = version.model.name, version.number
        features, task, artifact = list(version.features), version.task, version.artifact_sha256
        ds_sha = dataset.sha256
    from app.ml.estimator import load_estimator

    estimator = load_estimator(ws.artifacts.read_verified(artifact), source=f"{model_name} v{number}")
    blob, rows = build_version_profile(estimator, read_dataset_frame(ws, ds_sha), features, task)

    sha, size = ws.artifacts.put_bytes(blob)

    def work(session: Session) -> None:
        if session.get(SqlProfile, version_id) is not None:
            return  # another process built it meanwhile
        record_profile(session, version_id, sha, size, rows)
        append_event(session, "profile.created", f"version:{model_name}/{number}", model=model_name,
                     details={"version": number, "profile_sha256": sha, "rows": rows,
                              "reason": "built on first use"})

    ws.db.write(work)
    return ReferenceProfile.from_bytes(blob)
