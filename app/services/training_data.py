"""The data a retrain fits on: a file, or a version's training data plus the labelled batches since."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.core.errors import InvalidInputError
from app.core.jobs import Recipe
from app.core.timeutil import from_iso, to_iso, utcnow
from app.services.convert import aware
from app.services.profiles import read_dataset_frame
from app.services.versions import dataset_record_bytes
from app.store.orm import SqlAuditEvent, SqlBatch
from app.store.workspace import Workspace

__all__ = ["TrainingData", "Champion", "assemble_training_data", "labelled_batch_rows"]


@dataclass(frozen=True)
class Champion:
    """The version a challenger is compared with (Production, else the newest), as plain values."""

    id: int
    model_id: int
    number: int
    stage: str
    artifact_sha256: str
    features: list[str]
    target: str
    task: str
    train_dataset_sha256: str
    created_at: datetime
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingData:
    """The rows to fit on and the exact bytes they came from; nothing is stored until `store`."""

    frame: Any  # pandas DataFrame parsed from `data`
    data: bytes  # the file's bytes, or the assembled table as CSV
    name: str
    source: str
    lineage: dict  # goes into the new version's provenance["training_data"]

    @property
    def sha256(self) -> str:
        return self.lineage["sha256"]

    def store(self, ws: Workspace) -> dict:
        """Write the dataset artifact (content-addressed) and return its record for record_version.

        Called after the last cancel checkpoint, so a cancelled retrain leaves no file behind."""
        return dataset_record_bytes(ws, self.data, self.name, self.frame, "retraining data", source=self.source)


def _columns(recipe: Recipe) -> list[str]:
    cols = [*recipe.features, recipe.target]
    if recipe.time_column and recipe.time_column not in cols:
        cols.append(recipe.time_column)
    return cols


def _require(frame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"The {what} lacks column(s) the recipe needs: {', '.join(missing)}.")


def _matched_by(ws: Workspace, batch_id: int) -> str:
    """How labels were matched to the batch's rows, as attach_labels recorded it in the audit log."""
    with ws.db.read() as session:
        details = session.scalars(
            select(SqlAuditEvent.details).where(SqlAuditEvent.action == "labels.attached",
                                                SqlAuditEvent.object == f"batch:{batch_id}")
            .order_by(SqlAuditEvent.seq.desc()).limit(1)).first()
    return json.loads(details).get("matched_by", "row order") if details else "row order"


def labelled_batch_rows(ws: Workspace, batch: SqlBatch, recipe: Recipe):
    """The batch's input rows that got a label, with the label in the recipe's target column,
    joined the way attach_labels matched them (row order, or an id column)."""
    import pandas as pd

    frame = read_dataset_frame(ws, batch.input_sha256)
    labels = read_dataset_frame(ws, batch.labels_sha256)
    id_column = _matched_by(ws, batch.id)
    label_col = recipe.target
    if label_col not in labels.columns:
        others = [c for c in labels.columns if c != id_column]
        if len(others) != 1:
            raise InvalidInputError(f"Batch #{batch.id}'s labels file has no column '{recipe.target}'.")
        label_col = others[0]
    if id_column != "row order" and id_column in frame.columns and id_column in labels.columns:
        position = pd.Series(range(len(frame)), index=frame[id_column].astype(str))
        rows = frame.iloc[position.loc[labels[id_column].astype(str)].to_numpy()].reset_index(drop=True)
    else:
        rows = frame.reset_index(drop=True)
    rows[recipe.target] = labels[label_col].to_numpy()
    rows = rows[rows[recipe.target].notna()]
    if recipe.time_column and recipe.time_column not in rows.columns:
        rows[recipe.time_column] = to_iso(aware(batch.created_at))  # the batch's own moment
    _require(rows, _columns(recipe), f"labelled batch #{batch.id}")
    return rows[_columns(recipe)]


def _from_file(path: Path, recipe: Recipe) -> TrainingData:
    from app.ml.data import read_table

    frame = read_table(path, what="training data")
    data = path.read_bytes()  # read right after parsing; its hash is what the lineage cites
    _require(frame, _columns(recipe), f"training data '{path.name}'")
    lineage = {"source": "file", "file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
               "rows": int(len(frame)), "batches": [], "since": to_iso(utcnow())}
    return TrainingData(frame, data, path.name, str(path.resolve()), lineage)


def assemble_training_data(ws: Workspace, name: str, champion: Champion, recipe: Recipe,
                           data: str | Path | None, is_cancelled=lambda: False) -> TrainingData:
    """A file as given, or the champion's training data plus every labelled batch of the model that
    it has not seen: batches after its data's cut-off, minus those its lineage already includes."""
    import io

    import pandas as pd

    if data:
        return _from_file(Path(data), recipe)
    inherited = champion.provenance.get("training_data") or {}
    since = from_iso(inherited["since"]) if inherited.get("since") else aware(champion.created_at)
    seen = set(inherited.get("batches") or [])
    base = read_dataset_frame(ws, champion.train_dataset_sha256)
    _require(base, _columns(recipe), f"training data of version {champion.number}")
    with ws.db.read() as session:
        batches = session.scalars(
            select(SqlBatch).where(SqlBatch.model_id == champion.model_id, SqlBatch.labels_sha256.is_not(None))
            .order_by(SqlBatch.id)).all()
        session.expunge_all()
    new = [b for b in batches if b.id not in seen and aware(b.created_at) > since]
    parts, counts = [base[_columns(recipe)]], {}
    for batch in new:
        if is_cancelled():
            break
        rows = labelled_batch_rows(ws, batch, recipe)
        parts.append(rows)
        counts[batch.id] = int(len(rows))
    frame = pd.concat(parts, ignore_index=True)
    # Stored as CSV and read back: the model is fitted on exactly the bytes whose hash the lineage cites.
    data_bytes = frame.to_csv(index=False).encode("utf-8")
    frame = pd.read_csv(io.BytesIO(data_bytes), low_memory=False)
    label = f"{name}-v{champion.number}" + (f"-plus-{len(counts)}-batches" if counts else "") + ".csv"
    source = f"version {champion.number} training data" + (
        f" + labelled batches {', '.join(f'#{b}' for b in counts)}" if counts else "")
    lineage = {"source": "version+batches", "base_version": champion.number,
               "base_dataset_sha256": champion.train_dataset_sha256, "base_rows": int(len(base)),
               "new_batches": list(counts), "labelled_rows": int(sum(counts.values())),
               "batch_rows": {str(k): v for k, v in counts.items()},
               "batches": sorted(seen | set(counts)), "since": to_iso(since),
               "sha256": hashlib.sha256(data_bytes).hexdigest(), "rows": int(len(frame))}
    return TrainingData(frame, data_bytes, label, source, lineage)
