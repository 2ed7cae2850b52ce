"""Shadow evaluation: Staging versions score Production's batches beside it, never as decisions."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.services.audit import AuditFilter, list_events
from app.services.batches import score_batch
from app.services.shadow import agreement_rate, shadow_comparison
from tests._store_helpers import table_counts
from tests.monitoring_helpers import write_batch

ROOT = Path(__file__).resolve().parents[1]


def _register(ws, name: str, estimator, files, folder: Path, stage: str | None) -> None:
    import joblib

    from app.services.register import register_model
    from app.services.stages import promote_version

    train = pd.read_csv(files.train)
    estimator.fit(train[files.features], train[files.target])
    path = folder / f"{name}-{len(list(folder.glob('*.joblib')))}.joblib"
    joblib.dump(estimator, path)
    version = register_model(ws, name, path, files.train, files.target, test_data=files.test)
    if stage:
        promote_version(ws, name, version.number, stage, f"to {stage}")


@pytest.fixture
def cancer(workspace, classifier_files, tmp_path):
    """v1 (the conftest pipeline) in Production, v2 (a shallow tree) in Staging."""
    from sklearn.tree import DecisionTreeClassifier

    from app.services.register import register_model
    from app.services.stages import promote_version

    f = classifier_files
    register_model(workspace, "cancer", f.model, f.train, f.target, test_data=f.test)
    promote_version(workspace, "cancer", 1, "production", "go live")
    _register(workspace, "cancer", DecisionTreeClassifier(max_depth=2, random_state=0), f, tmp_path, "staging")
    return workspace


def _events(ws, action: str):
    return list_events(ws, AuditFilter(action=action), newest_first=False)


def test_a_staging_version_scores_each_production_batch_in_shadow(cancer, classifier_files, tmp_path):
    import joblib

    from app.services.profiles import read_dataset_frame

    f = classifier_files
    features, _ = write_batch(f, tmp_path / "batches", "w1", rows=400, seed=3)
    out = tmp_path / "pred.csv"
    outcome = score_batch(cancer, "cancer", features, output=out)
    counts = table_counts(cancer.paths.db)
    assert counts["batches"] == 1 and counts["shadow_scores"] == 1  # one decision set, one shadow score
    with sqlite3.connect(cancer.paths.db) as conn:  # drift figures and alerts belong to Production's batch only
        assert conn.execute("SELECT count(*) FROM alerts WHERE version_id != "
                            "(SELECT version_id FROM batches)").fetchone() == (0,)
        assert conn.execute("SELECT count(DISTINCT batch_id) FROM feature_drift").fetchone() == (1,)

    batch = pd.read_csv(features)
    challenger = joblib.load(sorted(tmp_path.glob("cancer-*.joblib"))[0])
    expected = challenger.predict(batch[f.features])
    production = pd.read_csv(out)["prediction"].to_numpy()
    independent = float(np.mean(expected == production))
    assert 0.5 < independent < 1.0  # the two versions really differ somewhere

    [row] = shadow_comparison(cancer, "cancer")
    assert row.batch_id == outcome.batch.id and row.production_version == 1 and row.rows == 400
    assert row.production_performance is None and row.labelled_rows is None
    [shadow] = row.challengers
    assert shadow.version == 2 and shadow.agreement == pytest.approx(independent, abs=1e-12)
    stored = read_dataset_frame(cancer, shadow.output_sha256)
    assert (stored["prediction"].to_numpy() == expected).all()
    assert np.allclose(stored[["proba_0", "proba_1"]].to_numpy(), challenger.predict_proba(batch[f.features]))
    [event] = _events(cancer, "shadow.scored")
    assert event.details == {"batch": outcome.batch.id, "version": 2, "production_version": 1, "rows": 400,
                             "agreement": shadow.agreement, "output_sha256": shadow.output_sha256}


def test_labels_give_both_versions_metrics_on_the_same_rows(cancer, classifier_files, tmp_path):
    import joblib
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    from app.services.labels import attach_labels

    f = classifier_files
    features, labels = write_batch(f, tmp_path / "batches", "w1", rows=300, seed=4)
    outcome = score_batch(cancer, "cancer", features)
    labelled = attach_labels(cancer, outcome.batch.id, labels)
    [row] = shadow_comparison(cancer, "cancer")
    assert row.labelled_rows == 300
    assert row.production_performance == {k: v for k, v in labelled.performance.items() if k != "labelled_rows"}
    X, y = pd.read_csv(features)[f.features], pd.read_csv(labels)[f.target]
    challenger = joblib.load(sorted(tmp_path.glob("cancer-*.joblib"))[0])
    production = joblib.load(f.model)
    perf = row.challengers[0].performance
    assert perf["accuracy"] == pytest.approx(accuracy_score(y, challenger.predict(X)), abs=1e-12)
    assert perf["f1"] == pytest.approx(f1_score(y, challenger.predict(X)), abs=1e-12)
    assert perf["roc_auc"] == pytest.approx(roc_auc_score(y, challenger.predict_proba(X)[:, 1]), abs=1e-12)
    assert row.production_performance["accuracy"] == pytest.approx(accuracy_score(y, production.predict(X)), abs=1e-12)
    [event] = _events(cancer, "shadow.evaluated")
    assert event.details["labelled_rows"] == 300 and event.details["metrics"] == perf

    done = subprocess.run([sys.executable, "-m", "app", "--home", str(cancer.root), "shadow", "cancer", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    [payload] = json.loads(done.stdout)
    assert payload["challengers"][0]["performance"] == perf and payload["production_version"] == 1
    text = subprocess.run([sys.executable, "-m", "app", "--home", str(cancer.root), "shadow", "cancer"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert text.returncode == 0 and "v2" in text.stdout and f"{row.challengers[0].agreement:.1%}" in text.stdout


def test_without_a_staging_version_nothing_is_scored_in_shadow(workspace, classifier_files, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from app.services.register import register_model
    from app.services.stages import promote_version

    f = classifier_files
    register_model(workspace, "cancer", f.model, f.train, f.target, test_data=f.test)
    promote_version(workspace, "cancer", 1, "production", "go live")
    _register(workspace, "cancer", LogisticRegression(C=0.01, max_iter=500), f, tmp_path, None)  # no stage
    _register(workspace, "cancer", LogisticRegression(C=0.1, max_iter=500), f, tmp_path, "staging")
    promote_version(workspace, "cancer", 3, "archived", "dropped")
    features, _ = write_batch(f, tmp_path / "batches", "w1", rows=200, seed=5)
    score_batch(workspace, "cancer", features)
    score_batch(workspace, "cancer", features, version=3)  # a batch not scored by Production
    assert table_counts(workspace.paths.db)["shadow_scores"] == 0
    assert shadow_comparison(workspace, "cancer") == []
    assert _events(workspace, "shadow.") == []


def test_a_challenger_that_crashes_on_predict_does_not_fail_the_batch(workspace, tmp_path):
    """Two challengers in Staging: one cannot handle a region it never saw (OneHotEncoder raises)."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from app.services.demo import _churn_frame
    from app.services.register import register_model
    from app.services.stages import promote_version
    from tests.workers_helpers import register_churn

    train = register_churn(workspace, tmp_path / "data")
    frame = pd.read_csv(train)
    for strict, handle in ((True, "error"), (False, "ignore")):
        columns = ColumnTransformer([
            ("numeric", StandardScaler(), ["tenure_months", "monthly_charges", "support_calls"]),
            ("categorical", OneHotEncoder(handle_unknown=handle), ["contract", "region"])])
        est = make_pipeline(columns, LogisticRegression(C=0.5 if strict else 2.0, max_iter=2000))
        est.fit(frame.drop(columns="churned"), frame["churned"])
        joblib.dump(est, tmp_path / f"churn-{handle}.joblib")
        version = register_model(workspace, "churn", tmp_path / f"churn-{handle}.joblib", train, "churned")
        promote_version(workspace, "churn", version.number, "staging", "try it")
    batch = _churn_frame(40, n=500).drop(columns="churned")
    batch.loc[:10, "region"] = "offshore"  # unseen by every version
    path = tmp_path / "batch.csv"
    batch.to_csv(path, index=False)

    outcome = score_batch(workspace, "churn", path)
    assert outcome.batch.rows == 500 and outcome.batch.version == 1
    [failed] = _events(workspace, "shadow.failed")
    assert failed.details["batch"] == outcome.batch.id and failed.details["version"] == 2
    assert "ValueError" in failed.details["error"] and "offshore" in failed.details["error"]
    [row] = shadow_comparison(workspace, "churn")
    assert [c.version for c in row.challengers] == [3]  # the healthy challenger was still scored
    assert table_counts(workspace.paths.db)["batches"] == 1


def test_agreement_for_classes_and_for_regression():
    assert agreement_rate(["a", "b", "b", "a"], ["a", "b", "a", "a"], "classification") == 0.75
    assert agreement_rate(np.array([1, 0, 1]), np.array(["1", "0", "0"]), "classification") == pytest.approx(2 / 3)
    production = np.array([0.0, 10.0, 20.0, 30.0])  # std 11.18: within 0.56 counts as the same prediction
    assert agreement_rate(production + [0.5, -0.5, 0.6, 3.0], production, "regression") == 0.5
    assert agreement_rate([], [], "regression") == 1.0
