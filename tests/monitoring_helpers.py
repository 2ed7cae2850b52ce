"""A monitored workspace for GUI tests: a Production classifier with weekly scored batches, built once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["MODEL", "WEEKS", "build_template", "copy_workspace", "write_batch", "TickingClock"]

MODEL = "cancer-screen"
WEEKS = 5
ACTOR = "alice"


@dataclass
class TickingClock:
    """A fixed moment that moves a microsecond per reading, so events keep their order."""

    now: datetime
    ticks: int = field(default=0)

    def __call__(self) -> datetime:
        self.ticks += 1
        return self.now + timedelta(microseconds=self.ticks)


def write_batch(files, folder: Path, name: str, *, rows: int = 300, shift: float = 0.0, seed: int = 0,
                flip_labels: float = 0.0) -> tuple[Path, Path]:
    """A batch of training rows resampled, with `mean_texture` moved by `shift` reference standard deviations.

    Returns (features CSV, labels CSV). `flip_labels` turns that share of the labels wrong (a performance drop).
    """
    import numpy as np
    import pandas as pd

    train = pd.read_csv(files.train)
    rng = np.random.default_rng(seed)
    frame = train.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    frame["mean_texture"] = frame["mean_texture"] + shift * train["mean_texture"].std()
    labels = frame[[files.target]].copy()
    if flip_labels:
        flip = rng.random(rows) < flip_labels
        labels.loc[flip, files.target] = 1 - labels.loc[flip, files.target]
    folder.mkdir(parents=True, exist_ok=True)
    features, truth = folder / f"{name}.csv", folder / f"{name}-labels.csv"
    frame[files.features].to_csv(features, index=False)
    labels.to_csv(truth, index=False)
    return features, truth


def build_template(root: Path, files) -> Path:
    """Register and promote the classifier, then score WEEKS weekly batches (drift grows from week 2);
    labels go to weeks 0 and 2. Returns the closed workspace's folder, to be copied per test."""
    from app.core.settings import WorkspacePaths
    from app.core.timeutil import use_clock, utcnow
    from app.services.batches import score_batch
    from app.services.labels import attach_labels
    from app.services.register import ModelCard, register_model
    from app.services.stages import promote_version
    from app.store.workspace import open_workspace

    ws = open_workspace(WorkspacePaths(root))
    start = utcnow() - timedelta(weeks=WEEKS + 1)
    try:
        with use_clock(TickingClock(start)):
            register_model(ws, MODEL, files.model, files.train, files.target, test_data=files.test,
                           card=ModelCard(description="Flags samples for review.", owner="maria"), actor=ACTOR)
            promote_version(ws, MODEL, 1, "production", "Validated.", actor=ACTOR)
        for week in range(WEEKS):
            features, labels = write_batch(files, root.parent / "batches", f"week{week}",
                                           shift=max(0.0, 0.6 * (week - 1)), seed=week)
            with use_clock(TickingClock(start + timedelta(weeks=week + 1))):
                outcome = score_batch(ws, MODEL, features, label=f"2026-W{40 + week}", actor=ACTOR)
                if week in (0, 2):
                    attach_labels(ws, outcome.batch.id, labels, actor=ACTOR)
    finally:
        ws.close()
    return root


def copy_workspace(template: Path, target: Path):
    """A private, opened copy of the template workspace."""
    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace

    shutil.copytree(template, target)
    return open_workspace(WorkspacePaths(target))
