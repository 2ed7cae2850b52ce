"""Scoring and recording batches, labels, alerts and thresholds, against real files and models."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.timeutil import utcnow
from tests._store_helpers import snapshot, table_counts


@pytest.fixture
def churn(workspace, tmp_path):
    """A churn model (numeric + categorical features) registered and in Production, plus batch files."""
    import joblib

    from app.services.demo import _churn_frame, _estimators
    from app.services.register import register_model
    from app.services.stages import promote_version

    frame = _churn_frame(3, n=3000)
    train = tmp_path / "train.csv"
    frame.to_csv(train, index=False)
    est = _estimators()["churn-v1"].fit(frame.drop(columns="churned"), frame["churned"])
    joblib.dump(est, tmp_path / "churn.joblib")
    register_model(workspace, "churn", tmp_path / "churn.joblib", train, "churned")
    promote_version(workspace, "churn", 1, "production", "go live")

    def batch(name: str, seed: int, n: int = 2000, shift: float = 0.0, ids: bool = False) -> tuple:
        data = _churn_frame(seed, n=n)
        data["monthly_charges"] = data["monthly_charges"] * (1 + shift)
        if ids:
            data.insert(0, "customer_id", [f"c{i}" for i in range(n)])
        path = tmp_path / name
        data.drop(columns="churned").to_csv(path, index=False)
        return path, data

    return batch


def test_score_records_a_decision_set_with_hashes(workspace, churn, tmp_path):
    from app.services.batches import score_batch
    from app.store.artifacts import sha256_file

    path, _ = churn("w1.csv", seed=10)
    out = tmp_path / "pred.csv"
    outcome = score_batch(workspace, "churn", path, output=out, label="2026-W01")
    batch = outcome.batch
    assert batch.rows == 2000 and batch.version == 1 and batch.label == "2026-W01" and batch.kind == "scored"
    assert batch.input_sha256 == sha256_file(path)[0]
    assert batch.output_sha256 == sha256_file(out)[0]
    predictions = pd.read_csv(out)
    assert {"prediction", "proba_0", "proba_1"} <= set(predictions.columns) and len(predictions) == 2000
    assert not batch.dataset_drift and outcome.alerts == ()
    names = {f["name"] for f in batch.drift["features"]}
    assert names == {"tenure_months", "monthly_charges", "support_calls", "contract", "region"}
    assert batch.drift["prediction"]["name"] == "__prediction__"


def test_a_shifted_batch_drifts_opens_one_alert_and_history_is_a_query(workspace, churn):
    from app.services.alerts import list_alerts
    from app.services.batches import score_batch
    from app.services.monitoring_queries import drift_history

    score_batch(workspace, "churn", churn("a.csv", seed=11)[0])
    first = score_batch(workspace, "churn", churn("b.csv", seed=12, shift=0.4)[0])
    drifted = {f["name"] for f in first.batch.drift["features"] if f["drifted"]}
    assert drifted == {"monthly_charges"}
    kinds = {a.kind.value: a.id for a in first.alerts}
    assert "drift" in kinds  # (a 40 % price rise also puts many values outside the training range)
    second = score_batch(workspace, "churn", churn("c.csv", seed=13, shift=0.5)[0])
    assert {a.kind.value: a.id for a in second.alerts} == kinds  # repeats, not new alerts
    assert len(list_alerts(workspace, "churn", "open")) == len(kinds)
    points = drift_history(workspace, "churn", "monthly_charges")
    assert [p.batch_id for p in points] == [1, 2, 3]
    assert [p.drifted for p in points] == [False, True, True]
    assert points[2].psi == pytest.approx(
        next(f["psi"] for f in second.batch.drift["features"] if f["name"] == "monthly_charges"))


def test_bad_batches_record_nothing(workspace, churn, tmp_path):
    from app.services.batches import score_batch

    path, data = churn("ok.csv", seed=1)
    before = snapshot(workspace)
    missing = tmp_path / "missing.csv"
    data.drop(columns=["churned", "tenure_months", "region"]).to_csv(missing, index=False)
    with pytest.raises(InvalidInputError, match="missing column.*tenure_months, region"):
        score_batch(workspace, "churn", missing)
    wrong = tmp_path / "wrong.csv"
    data.assign(support_calls="many").drop(columns="churned").to_csv(wrong, index=False)
    with pytest.raises(InvalidInputError, match="'support_calls' should be numeric.*'many'"):
        score_batch(workspace, "churn", wrong)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        score_batch(workspace, "churn", empty)
    with pytest.raises(NotFoundError):
        score_batch(workspace, "nope", path)
    with pytest.raises(NotFoundError, match="no version 7"):
        score_batch(workspace, "churn", path, version=7)
    assert snapshot(workspace) == before


def test_cancelled_scoring_records_nothing(workspace, churn):
    from app.core.errors import StewardError
    from app.services.batches import score_batch

    path, _ = churn("w.csv", seed=2)
    before = snapshot(workspace)
    with pytest.raises(StewardError, match="cancelled"):
        score_batch(workspace, "churn", path, is_cancelled=lambda: True)
    assert snapshot(workspace) == before


def test_record_batch_scored_elsewhere_tracks_prediction_drift(workspace, churn, tmp_path):
    from app.services.batches import record_batch

    _, data = churn("x.csv", seed=4)
    path = tmp_path / "elsewhere.csv"
    data.assign(pred=1).drop(columns="churned").to_csv(path, index=False)  # a model gone wrong: always 1
    outcome = record_batch(workspace, "churn", path, predictions_column="pred")
    assert outcome.batch.kind == "recorded" and outcome.batch.output_sha256 is None
    assert outcome.batch.drift["prediction"]["drifted"] is True
    with pytest.raises(InvalidInputError, match="no column 'score'"):
        record_batch(workspace, "churn", path, predictions_column="score")


def test_labels_by_row_order_and_by_id(workspace, churn, tmp_path):
    from app.services.batches import score_batch
    from app.services.labels import attach_labels
    from app.services.queries import get_version

    path, data = churn("ids.csv", seed=5, ids=True)
    batch = score_batch(workspace, "churn", path).batch
    labels = tmp_path / "labels.csv"
    data[["customer_id", "churned"]].sample(frac=1.0, random_state=0).to_csv(labels, index=False)
    done = attach_labels(workspace, batch.id, labels, id_column="customer_id")
    assert done.performance["labelled_rows"] == 2000
    validation = get_version(workspace, "churn", 1).metrics
    assert done.performance["accuracy"] == pytest.approx(validation["accuracy"], abs=0.05)
    with pytest.raises(ConflictError):
        attach_labels(workspace, batch.id, labels, id_column="customer_id")

    path2, data2 = churn("rows.csv", seed=6)
    batch2 = score_batch(workspace, "churn", path2).batch
    short = tmp_path / "short.csv"
    data2[["churned"]].head(10).to_csv(short, index=False)
    with pytest.raises(InvalidInputError, match="10 rows but batch"):
        attach_labels(workspace, batch2.id, short)
    strangers = tmp_path / "strangers.csv"
    pd.DataFrame({"customer_id": ["zz1", "c1"], "churned": [0, 1]}).to_csv(strangers, index=False)
    batch3 = score_batch(workspace, "churn", churn("ids3.csv", seed=16, ids=True)[0]).batch
    before = table_counts(workspace.paths.db)
    with pytest.raises(InvalidInputError, match="1 label id"):
        attach_labels(workspace, batch3.id, strangers, id_column="customer_id")
    with pytest.raises(InvalidInputError, match="no id column"):
        attach_labels(workspace, batch2.id, strangers, id_column="customer_id")
    assert table_counts(workspace.paths.db) == before


def test_performance_alert_when_labels_show_a_real_drop(workspace, churn, tmp_path):
    from app.services.batches import score_batch
    from app.services.labels import attach_labels

    path, data = churn("p.csv", seed=7)
    batch = score_batch(workspace, "churn", path).batch
    flipped = tmp_path / "flipped.csv"
    data.assign(churned=1 - data["churned"])[["churned"]].to_csv(flipped, index=False)
    done = attach_labels(workspace, batch.id, flipped)
    assert done.alerts, "inverted labels must open a performance alert"


def test_alert_lifecycle_accept_risk_suppresses_until_expiry_and_retire_archives(workspace, churn):
    from app.services.alerts import acknowledge_alert, resolve_alert
    from app.services.audit import list_events
    from app.services.batches import score_batch
    from app.services.queries import get_version

    alert = next(a for a in score_batch(workspace, "churn", churn("d1.csv", seed=8, shift=0.15)[0]).alerts
                 if a.kind.value == "drift")
    acknowledge_alert(workspace, alert.id, "looking")
    with pytest.raises(ConflictError):
        acknowledge_alert(workspace, alert.id)
    with pytest.raises(InvalidInputError, match="expiry"):
        resolve_alert(workspace, alert.id, "accept_risk", "prices rose on purpose")
    with pytest.raises(InvalidInputError, match="rationale"):
        resolve_alert(workspace, alert.id, "retrain", "  ")
    resolved = resolve_alert(workspace, alert.id, "accept_risk", "prices rose on purpose",
                             expires=utcnow() + timedelta(days=30))
    assert resolved.status.value == "resolved" and resolved.decision.value == "accept_risk"
    again = score_batch(workspace, "churn", churn("d2.csv", seed=9, shift=0.15)[0])
    assert [a for a in again.alerts if a.kind.value == "drift"] == []  # covered by the accepted risk
    actions = [e.action for e in list_events(workspace)]
    assert {"alert.opened", "alert.acknowledged", "alert.resolved", "alert.suppressed"} <= set(actions)

    from app.services.settings import set_settings

    set_settings(workspace, "drift", {"wasserstein_norm": 0.01, "psi": 0.001, "js_distance": 0.001}, "churn")
    with pytest.raises(InvalidInputError):
        set_settings(workspace, "drift", {"bogus": 1})
    strict = score_batch(workspace, "churn", churn("d4.csv", seed=11, shift=0.05)[0])
    # stricter per-model thresholds flag more, but the accepted risk still covers drift alerts
    assert any(f["drifted"] for f in strict.batch.drift["features"])
    assert [a for a in strict.alerts if a.kind.value == "drift"] == []
    assert get_version(workspace, "churn", 1).stage.value == "production"


def test_retire_decision_archives_production(workspace, churn, tmp_path):
    from app.services.alerts import resolve_alert
    from app.services.batches import score_batch
    from app.services.queries import get_version

    _, data = churn("q.csv", seed=13)
    data.loc[:400, "contract"] = "lifetime"  # unseen category in 20% of rows: a data quality alert
    path = tmp_path / "quality.csv"
    data.drop(columns="churned").to_csv(path, index=False)
    outcome = score_batch(workspace, "churn", path)
    quality = [a for a in outcome.alerts if a.kind.value == "quality"]
    assert quality and "unseen" in json.dumps(quality[0].details)
    resolve_alert(workspace, quality[0].id, "retire", "contract types changed; model no longer fits")
    assert get_version(workspace, "churn", 1).stage.value == "archived"


def test_versions_without_a_profile_get_one_on_first_use(workspace, churn):
    import sqlite3

    from app.services.batches import score_batch

    with sqlite3.connect(workspace.paths.db) as conn:
        conn.execute("DELETE FROM reference_profiles")
    outcome = score_batch(workspace, "churn", churn("late.csv", seed=14)[0])
    assert outcome.batch.rows == 2000
    assert table_counts(workspace.paths.db)["reference_profiles"] == 1


def test_cli_score_json_has_the_documented_fields(workspace, churn, tmp_path):
    path, _ = churn("cli.csv", seed=15, shift=0.4)
    result = subprocess.run(
        [sys.executable, "-m", "app", "--home", str(workspace.root), "score", "churn", "--input", str(path),
         "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["batch_id"] == 1 and isinstance(payload["dataset_drift"], bool)
    assert 0 <= payload["drift_share"] <= 1
    for feature in payload["features"]:
        assert {"name", "kind", "psi", "js_distance", "drifted"} <= set(feature)
        if feature["kind"] == "numeric":
            assert {"wasserstein_norm", "ks_statistic", "ks_pvalue"} <= set(feature)
        else:
            assert "chi2_pvalue" in feature
    bad = subprocess.run(
        [sys.executable, "-m", "app", "--home", str(workspace.root), "score", "churn", "--input",
         str(tmp_path / "nope.csv")], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "error:" in bad.stderr
