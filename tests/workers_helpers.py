"""Workspaces with models to retrain, and polling with a deadline, for the worker and retrain tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["register_churn", "register_forest", "wait_until", "churn_batch", "SLOW_TREES"]

T = TypeVar("T")

# Trees for a recipe that fits for a long time (tens of seconds on 1,600 rows), so that a cancel or
# a kill lands in the middle of estimator.fit, where the job cannot check for a cancel itself.
SLOW_TREES = 20_000


def wait_until(probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Call `probe` until it returns something truthy (returned), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or probe}")
        time.sleep(interval)


def register_churn(ws, folder: Path, *, rows: int = 3000, production: bool = True) -> Path:
    """The demo churn pipeline (numeric + categorical features) registered as 'churn' (v1, Production)."""
    import joblib

    from app.services.demo import _churn_frame, _estimators
    from app.services.register import register_model
    from app.services.stages import promote_version

    folder.mkdir(parents=True, exist_ok=True)
    frame = _churn_frame(3, n=rows)
    train = folder / "churn-train.csv"
    frame.to_csv(train, index=False)
    est = _estimators()["churn-v1"].fit(frame.drop(columns="churned"), frame["churned"])
    joblib.dump(est, folder / "churn.joblib")
    register_model(ws, "churn", folder / "churn.joblib", train, "churned")
    if production:
        promote_version(ws, "churn", 1, "production", "go live")
    return train


def churn_batch(folder: Path, name: str, seed: int, n: int = 2000):
    """A batch file of churn features (no label) and its labels file, matched by row order."""
    from app.services.demo import _churn_frame

    data = _churn_frame(seed, n=n)
    features, labels = folder / f"{name}.csv", folder / f"{name}-labels.csv"
    data.drop(columns="churned").to_csv(features, index=False)
    data[["churned"]].to_csv(labels, index=False)
    return features, labels


def register_forest(ws, folder: Path) -> None:
    """A small RandomForest on five numeric features registered as 'forest' (v1, Production)."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    from app.services.register import register_model
    from app.services.stages import promote_version

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(2000, 5)), columns=[f"x{i}" for i in range(5)])
    frame["label"] = (frame["x0"] + frame["x1"] + rng.normal(scale=0.5, size=len(frame)) > 0).astype(int)
    train = folder / "forest-train.csv"
    frame.to_csv(train, index=False)
    est = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(frame.drop(columns="label"),
                                                                                   frame["label"])
    joblib.dump(est, folder / "forest.joblib")
    register_model(ws, "forest", folder / "forest.joblib", train, "label")
    promote_version(ws, "forest", 1, "production", "go live")
