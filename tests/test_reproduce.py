"""Reproducing versions: hand-registered and retrained ones refit exactly; tampering and drifted libraries show."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import IntegrityError, NotFoundError
from app.services.audit import AuditFilter, list_events
from app.services.queries import get_version
from app.services.reproduce import reproduce_version
from tests._store_helpers import snapshot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cancer(workspace, classifier_files):
    """The breast-cancer pipeline registered by hand with its test file, in Production."""
    from app.services.register import register_model
    from app.services.stages import promote_version

    f = classifier_files
    register_model(workspace, "cancer", f.model, f.train, f.target, test_data=f.test)
    promote_version(workspace, "cancer", 1, "production", "go live")
    return workspace


def _reproduced_events(ws):
    return list_events(ws, AuditFilter(action="version.reproduced"), newest_first=False)


def test_a_hand_registered_version_reproduces_exactly_and_is_audited(cancer, classifier_files):
    result = reproduce_version(cancer, "cancer", 1)
    recorded = get_version(cancer, "cancer", 1)
    assert result.match is True and result.source == "registered"
    assert {c.metric: c.reproduced for c in result.metrics} == recorded.metrics
    assert all(c.difference <= 1e-9 for c in result.metrics)
    assert result.train_rows == 450 and result.held_out_rows == 119 and result.held_out == "the recorded test file"
    assert result.dataset_sha256 == recorded.train_dataset_sha256
    assert result.prediction_agreement == 1.0 and result.libraries == () and result.notes == ()
    [event] = _reproduced_events(cancer)
    assert event.object == "version:cancer/1" and event.actor == "alice" and event.details["match"] is True
    assert {m["metric"] for m in event.details["metrics"]} == set(recorded.metrics)


def test_a_hand_registered_version_evaluated_on_a_seeded_split_reproduces(workspace, tmp_path):
    from tests.workers_helpers import register_churn

    register_churn(workspace, tmp_path / "data")  # fitted on all of its training file, no test file
    result = reproduce_version(workspace, "churn", 1)
    assert result.match is True and result.held_out.startswith("seeded 20% split")
    assert result.train_rows == 3000 and result.held_out_rows == 600


def test_a_retrained_version_reproduces_from_the_recipe_in_its_provenance(workspace, tmp_path):
    from app.services.batches import score_batch
    from app.services.labels import attach_labels
    from app.services.recipes import set_recipe
    from app.services.retrain import retrain
    from tests.workers_helpers import churn_batch, register_churn

    register_churn(workspace, tmp_path / "data")
    features, labels = churn_batch(tmp_path, "w1", seed=21, n=1000)
    attach_labels(workspace, score_batch(workspace, "churn", features).batch.id, labels)
    set_recipe(workspace, "churn", params={"logisticregression__C": 0.3}, seed=11, holdout=0.25)
    done = retrain(workspace, {"model": "churn"}, lambda f, m: None, lambda: False)
    set_recipe(workspace, "churn", seed=99)  # later recipe changes do not affect reproducing v2
    result = reproduce_version(workspace, "churn", done["version"])
    assert result.match is True and result.source == "retrain"
    assert result.train_rows == done["train_rows"] and result.held_out_rows == done["held_out_rows"] == 1000
    assert result.dataset_sha256 == done["dataset_sha256"] and result.prediction_agreement == 1.0
    assert {c.metric: c.reproduced for c in result.metrics} == done["metrics"]


def test_a_version_not_fitted_on_its_recorded_data_does_not_reproduce(workspace, classifier_files, tmp_path):
    import joblib
    import pandas as pd
    from sklearn.base import clone

    from app.services.register import register_model

    f = classifier_files
    train = pd.read_csv(f.train)
    partial = clone(joblib.load(f.model)).fit(train[f.features].iloc[:200], train[f.target].iloc[:200])
    joblib.dump(partial, tmp_path / "partial.joblib")
    register_model(workspace, "cancer", tmp_path / "partial.joblib", f.train, f.target, test_data=f.test)
    result = reproduce_version(workspace, "cancer", 1)
    assert result.match is False and any(not c.match for c in result.metrics)
    assert result.prediction_agreement < 1.0 and any("refitted on all of its recorded" in n for n in result.notes)
    assert reproduce_version(workspace, "cancer", 1, tolerance=1.0).match is True
    assert [e.details["match"] for e in _reproduced_events(workspace)] == [False, True]


def test_a_modified_dataset_artifact_is_refused_and_nothing_is_written(cancer):
    sha = get_version(cancer, "cancer", 1).train_dataset_sha256
    path = cancer.artifacts.path_for(sha)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"\n1", b"\n2", 1))
    before = snapshot(cancer)
    with pytest.raises(IntegrityError, match=f"Artifact {sha[:12]}… was modified on disk"):
        reproduce_version(cancer, "cancer", 1)
    assert snapshot(cancer) == before and _reproduced_events(cancer) == []
    with pytest.raises(NotFoundError):
        reproduce_version(cancer, "cancer", 7)


def test_library_versions_that_differ_from_the_recorded_ones_are_listed(cancer):
    import sklearn

    with sqlite3.connect(cancer.paths.db) as conn:
        env = json.loads(conn.execute("SELECT environment FROM versions WHERE number = 1").fetchone()[0])
        recorded_python = env["python"]
        env["scikit-learn"] = "0.24.2"
        env.pop("joblib")
        conn.execute("UPDATE versions SET environment = ? WHERE number = 1", (json.dumps(env),))
    result = reproduce_version(cancer, "cancer", 1)
    assert result.match is True  # same library code underneath: the metrics still match
    assert [(d.library, d.recorded, d.current) for d in result.libraries] == [
        ("scikit-learn", "0.24.2", sklearn.__version__), ("joblib", None, __import__("joblib").__version__)]
    assert recorded_python not in [d.library for d in result.libraries]
    event = _reproduced_events(cancer)[0]
    assert event.details["libraries"][0] == {"library": "scikit-learn", "recorded": "0.24.2",
                                             "current": sklearn.__version__}


@pytest.mark.slow
def test_reproduce_runs_as_a_background_job_kind(cancer):
    from app.services import jobs
    from app.services.reproduce import submit_reproduce

    job_id = submit_reproduce(cancer, "cancer", 1)
    assert jobs.start_queued(cancer) == [job_id]
    job = jobs.wait_for_job(cancer, job_id, timeout=90, poll=0.1)
    assert job.state.value == "succeeded", job.log
    assert job.kind == "reproduce" and job.result["match"] is True and "reproduced exactly" in job.result["summary"]
    [event] = _reproduced_events(cancer)
    succeeded = list_events(cancer, AuditFilter(action="job.succeeded"))[0]
    assert succeeded.seq == event.seq + 1  # the result and the job's success: one transaction
    with pytest.raises(NotFoundError):
        submit_reproduce(cancer, "cancer", 9)


def _cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--home", str(ws.root), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.slow
def test_cli_reproduce(cancer):
    done = _cli(cancer, "reproduce", "cancer", "1", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["match"] is True and payload["version"] == 1 and payload["libraries"] == []
    text = _cli(cancer, "reproduce", "cancer", "1")
    assert text.returncode == 0 and "reproduced exactly" in text.stdout and "roc_auc" in text.stdout
    missing = _cli(cancer, "reproduce", "cancer", "5")
    assert missing.returncode == 3 and missing.stderr.startswith("error: Model 'cancer' has no version 5.")
    assert "Traceback" not in missing.stderr
