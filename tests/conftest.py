"""Shared fixtures: every test gets its own workspace folder; Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # without a display pytest-qt would abort the run

from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test may touch the real per-user workspace."""
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home-workspace"))
    monkeypatch.setenv("STEWARD_ACTOR", "alice")


@pytest.fixture
def workspace(tmp_path):
    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace

    ws = open_workspace(WorkspacePaths(tmp_path / "ws"))
    yield ws
    ws.close()


@dataclass(frozen=True)
class ModelFiles:
    model: Path  # joblib file of a fitted pipeline
    train: Path  # CSV with features + "target"
    test: Path  # CSV with the same columns, other rows
    features: list[str]
    target: str = "target"


def _write_classifier(folder: Path, *, seed: int = 0, c: float = 1.0) -> ModelFiles:
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]  # fewer columns keep files and tests small
    X.columns = [c.replace(" ", "_") for c in X.columns]
    frame = X.assign(target=y)
    train, test = frame.iloc[:450], frame.iloc[450:]
    folder.mkdir(parents=True, exist_ok=True)
    est = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=seed))
    est.fit(train[X.columns], train["target"])
    paths = ModelFiles(folder / "model.joblib", folder / "train.csv", folder / "test.csv", list(X.columns))
    joblib.dump(est, paths.model)
    train.to_csv(paths.train, index=False)
    test.to_csv(paths.test, index=False)
    return paths


@pytest.fixture(scope="session")
def classifier_files(tmp_path_factory) -> ModelFiles:
    """A fitted breast-cancer pipeline with its train/test CSVs (built once per session)."""
    return _write_classifier(tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="session")
def regressor_files(tmp_path_factory) -> ModelFiles:
    """A fitted diabetes ridge regressor with its train/test CSVs."""
    import joblib
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    folder = tmp_path_factory.mktemp("regressor")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = X.assign(target=y)
    train, test = frame.iloc[:350], frame.iloc[350:]
    est = Ridge(alpha=0.5).fit(train[X.columns], train["target"])
    paths = ModelFiles(folder / "model.joblib", folder / "train.csv", folder / "test.csv", list(X.columns))
    joblib.dump(est, paths.model)
    train.to_csv(paths.train, index=False)
    test.to_csv(paths.test, index=False)
    return paths
