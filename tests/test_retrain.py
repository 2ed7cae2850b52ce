"""Retraining as a plain function (recipes, data from batches, the gate) and through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from app.core.errors import InvalidInputError, NotFoundError
from app.core.jobs import JobCancelled
from app.services.audit import AuditFilter, list_events
from app.services.queries import get_version
from app.services.recipes import get_recipe, set_recipe
from app.services.retrain import retrain
from tests._store_helpers import snapshot, table_counts
from tests.workers_helpers import churn_batch, register_churn

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _run(ws, name: str = "churn", **params):
    steps: list[tuple[float, str]] = []
    result = retrain(ws, {"model": name, **params}, lambda f, m: steps.append((f, m)), lambda: False)
    return result, steps


@pytest.fixture
def churn(workspace, tmp_path):
    register_churn(workspace, tmp_path / "data")
    return workspace


def test_the_default_recipe_comes_from_production_on_first_use_and_is_audited(churn):
    from app.ml.pickle_scan import scan_bytes

    recipe = get_recipe(churn, "churn")
    assert recipe.revision == 1 and recipe.source_version == 1
    assert recipe.features == ("tenure_months", "monthly_charges", "support_calls", "contract", "region")
    assert recipe.target == "churned" and recipe.metrics == ("accuracy", "f1", "roc_auc")
    assert recipe.max_regression == {"accuracy": 0.01, "f1": 0.01, "roc_auc": 0.01} and recipe.gate_min == {}
    blob = churn.artifacts.read_verified(recipe.estimator_sha256)
    assert scan_bytes(blob).safe and recipe.estimator_class == "sklearn.pipeline.Pipeline"
    assert get_recipe(churn, "churn") == recipe  # made once
    created = list_events(churn, AuditFilter(action="recipe.created"))
    assert len(created) == 1 and created[0].details["recipe_sha256"] == recipe.sha256


def test_recipe_changes_are_validated_and_audited_with_old_and_new_values(churn):
    first = get_recipe(churn, "churn")
    changed = set_recipe(churn, "churn", gate_min={"roc_auc": 0.8}, max_regression=0.02, holdout=0.25, seed=7)
    assert changed.revision == 2 and changed.sha256 != first.sha256
    assert changed.gate_min == {"roc_auc": 0.8} and set(changed.max_regression.values()) == {0.02}
    assert (changed.holdout, changed.seed) == (0.25, 7)
    event = list_events(churn, AuditFilter(action="recipe.changed"))[0]
    assert event.details["changes"]["split"] == {"from": {"holdout": 0.2, "seed": 20241125, "time_column": None},
                                                 "to": {"holdout": 0.25, "seed": 7, "time_column": None}}
    assert event.details["previous_sha256"] == first.sha256 and event.actor == "alice"
    assert set_recipe(churn, "churn", seed=7) == changed  # no change: no new revision, no event
    before = snapshot(churn)
    for bad in ({"gate_min": {"mae": 3}}, {"holdout": 1.5}, {"params": {"no_such_param": 1}},
                {"max_regression": {"f1": -1}}, {"metrics": ["r2"]}):
        with pytest.raises(InvalidInputError):
            set_recipe(churn, "churn", **bad)
    with pytest.raises(NotFoundError):
        set_recipe(churn, "nope", seed=1)
    assert snapshot(churn).tables == before.tables


def test_retrain_adds_the_labelled_batches_since_the_champion(churn, tmp_path):
    from app.services.batches import score_batch
    from app.services.labels import attach_labels
    from app.services.stages import promote_version

    labelled, labels = churn_batch(tmp_path, "w1", seed=21, n=2000)
    batch = score_batch(churn, "churn", labelled).batch
    attach_labels(churn, batch.id, labels)
    score_batch(churn, "churn", churn_batch(tmp_path, "w2", seed=22, n=500)[0])  # no labels: not used
    result, steps = _run(churn)
    assert [f for f, _ in steps] == sorted(f for f, _ in steps) and steps[-1][0] == 1.0
    v2 = get_version(churn, "churn", result["version"])
    lineage = v2.provenance["training_data"]
    assert result["dataset_rows"] == 3000 + 2000 == lineage["rows"]
    assert lineage["new_batches"] == [batch.id] and lineage["labelled_rows"] == 2000
    assert lineage["base_dataset_sha256"] == get_version(churn, "churn", 1).train_dataset_sha256
    assert result["train_rows"] + result["held_out_rows"] == 5000
    seen = v2.evaluation["champion"]["trained_on_held_out_rows"]  # held-out rows from v1's own training file
    assert 0 < seen < result["held_out_rows"] and f"trained on {seen:,} of the" in result["gate"]["caution"]

    promote_version(churn, "churn", v2.number, "production", "better")
    again, _ = _run(churn)  # v2's data already holds batch 1: nothing is added twice
    lineage = get_version(churn, "churn", again["version"]).provenance["training_data"]
    assert again["dataset_rows"] == 5000 and lineage["new_batches"] == [] and lineage["batches"] == [batch.id]
    assert again["parent_version"] == v2.number


def test_a_worse_challenger_is_registered_in_staging_with_a_failed_gate(churn):
    from app.services.queries import stage_history

    set_recipe(churn, "churn", params={"logisticregression__C": 1e-6}, gate_min={"roc_auc": 0.99})
    result, _ = _run(churn)
    version = get_version(churn, "churn", result["version"])
    assert version.stage.value == "staging" and version.parent_number == 1
    gate = version.evaluation["gate"]
    assert gate["passed"] is False and gate == version.provenance["gate"] == result["gate"]
    by_key = {(c["criterion"], c["metric"]): c for c in gate["criteria"]}
    floor = by_key[("min", "roc_auc")]
    assert floor["passed"] is False and "below the minimum 0.99" in floor["reason"]
    f1 = by_key[("max_regression", "f1")]
    assert f1["passed"] is False and f1["champion"] > f1["challenger"] and "more than the allowed 0.01" in f1["reason"]
    assert "failed:" in gate["summary"]
    event = list_events(churn, AuditFilter(action="version.registered"))[0]
    assert event.details["gate"] == gate and event.details["parent_version"] == 1
    moves = stage_history(churn, "churn")
    assert moves[-1].to_stage.value == "staging" and "gate failed" in moves[-1].reason
    rebased = set_recipe(churn, "churn", from_version=1)  # back to v1's estimator, overrides dropped
    assert rebased.params == {} and rebased.source_version == 1 and rebased.gate_min == {"roc_auc": 0.99}


def test_a_cancel_at_a_checkpoint_records_nothing(churn):
    get_recipe(churn, "churn")
    before = snapshot(churn)
    calls = []

    def cancel_after_fitting() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(JobCancelled, match="nothing was recorded"):
        retrain(churn, {"model": "churn"}, lambda f, m: None, cancel_after_fitting)
    assert snapshot(churn) == before  # rows, artifact files, temp files and the audit head


def test_retrain_on_a_file_with_a_time_based_split(churn, tmp_path):
    from app.services.demo import _churn_frame

    frame = _churn_frame(30, n=1200)
    frame["week"] = pd.to_datetime([f"2026-01-{1 + i // 100:02d}" for i in range(len(frame))])
    path = tmp_path / "fresh.csv"
    frame.to_csv(path, index=False)
    set_recipe(churn, "churn", time_column="week", holdout=0.25)
    result, _ = _run(churn, data=str(path))
    version = get_version(churn, "churn", result["version"])
    assert version.evaluation["time_column"] == "week" and "newest 25%" in version.evaluation["method"]
    assert result["held_out_rows"] == 300 and result["dataset_rows"] == 1200
    assert version.provenance["training_data"]["source"] == "file"
    assert version.evaluation["champion"]["trained_on_held_out_rows"] is None and "caution" not in result["gate"]
    from app.store.artifacts import sha256_file

    assert version.train_dataset_sha256 == sha256_file(path)[0]
    set_recipe(churn, "churn", time_column="no_such_column")
    with pytest.raises(InvalidInputError, match="lacks column.*no_such_column"):
        _run(churn, data=str(path))


def test_submitting_checks_the_data_file_first(churn, tmp_path):
    from app.services.jobs import submit_retrain

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"tenure_months": [1, 2]}).to_csv(bad, index=False)
    with pytest.raises(InvalidInputError, match="lacks column"):
        submit_retrain(churn, "churn", bad)
    with pytest.raises(InvalidInputError, match="does not exist"):
        submit_retrain(churn, "churn", tmp_path / "missing.csv")
    with pytest.raises(NotFoundError):
        submit_retrain(churn, "nope")
    assert table_counts(churn.paths.db)["jobs"] == 0


def _cli(ws, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--home", str(ws.root), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _one_line_error(done: subprocess.CompletedProcess) -> None:
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == \
        [done.stderr.splitlines()[0]], done.stderr


@pytest.mark.slow
def test_cli_retrain_wait_json_then_jobs_and_recipe_commands(churn):
    done = _cli(churn, "recipe", "set", "churn", "--gate-min", "roc_auc=0.6", "--max-regression", "0.05",
                "--holdout", "0.2", "--seed", "7", "--json")
    assert done.returncode == 0, done.stderr
    recipe = json.loads(done.stdout)
    assert recipe["gate_min"] == {"roc_auc": 0.6} and recipe["seed"] == 7 and recipe["revision"] == 2

    done = _cli(churn, "retrain", "churn", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    job, version = payload["job"], payload["version"]
    assert job["state"] == "succeeded" and job["progress"] == 1.0 and job["result"]["version"] == 2
    assert version["number"] == 2 and version["stage"] == "staging" and version["parent_number"] == 1
    assert version["provenance"]["recipe_sha256"] == recipe["sha256"]
    assert {c["metric"] for c in version["evaluation"]["gate"]["criteria"]} == {"accuracy", "f1", "roc_auc"}

    listed = _cli(churn, "jobs", "list", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [job["id"]]
    shown = _cli(churn, "jobs", "show", str(job["id"]))
    assert shown.returncode == 0 and "Fitting" in shown.stdout and "gate: PASSED" in shown.stdout
    _one_line_error(_cli(churn, "jobs", "cancel", str(job["id"])))  # already succeeded
    _one_line_error(_cli(churn, "jobs", "show", "99"))
    _one_line_error(_cli(churn, "retrain", "nope"))
    text = _cli(churn, "recipe", "show", "churn")
    assert text.returncode == 0 and "roc_auc" in text.stdout and "seed 7" in text.stdout


@pytest.mark.slow
def test_cli_retrain_returns_at_once_and_jobs_cancel_stops_the_job(workspace, tmp_path):
    import time

    from app.services import jobs
    from tests.workers_helpers import SLOW_TREES, register_forest, wait_until

    register_forest(workspace, tmp_path / "data")
    set_recipe(workspace, "forest", params={"n_estimators": SLOW_TREES})
    start = time.monotonic()
    done = _cli(workspace, "retrain", "forest", "--json")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 20  # it did not wait for the job (which fits for much longer)
    job_id = json.loads(done.stdout)["id"]
    wait_until(lambda: jobs.get_job(workspace, job_id, with_log=False).message.startswith("Fitting"), timeout=60)
    cancelled = _cli(workspace, "jobs", "cancel", str(job_id), "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["state"] == "cancelled"
    assert table_counts(workspace.paths.db)["versions"] == 1
