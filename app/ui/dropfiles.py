"""Which dropped files the window understands: model pickles and data tables."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData

__all__ = ["MODEL_SUFFIXES", "DATA_SUFFIXES", "local_files", "dropped_model_file"]

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")
DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def local_files(mime: QMimeData | None, suffixes: tuple[str, ...]) -> list[Path]:
    """Local files among the dropped URLs whose suffix is one of `suffixes`."""
    if mime is None or not mime.hasUrls():
        return []
    paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
    return [p for p in paths if p.suffix.lower() in suffixes]


def dropped_model_file(mime: QMimeData | None) -> Path | None:
    found = local_files(mime, MODEL_SUFFIXES)
    return found[0] if found else None
