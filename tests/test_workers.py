"""Background jobs in real child processes: progress, results, cancel, kill -9, the concurrency limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.jobs import JobState
from app.services import jobs
from app.services.audit import AuditFilter, list_events
from tests._store_helpers import snapshot, table_counts
from tests.workers_helpers import SLOW_TREES, register_churn, register_forest, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_workers_child.py")


def _events(ws, action: str, job_id: int | None = None):
    found = list_events(ws, AuditFilter(action=action), newest_first=False)
    return [e for e in found if job_id is None or e.details.get("job") == job_id]


def _gone(pid: int) -> bool:
    from app.workers.launch import pid_alive

    return not pid_alive(pid)


def test_a_retrain_runs_in_a_child_process_and_registers_a_staging_challenger(workspace, tmp_path):
    from app.services.queries import get_version

    register_churn(workspace, tmp_path / "data")
    job_id = jobs.submit_retrain(workspace, "churn")
    assert jobs.get_job(workspace, job_id).state is JobState.QUEUED
    assert jobs.start_queued(workspace) == [job_id]
    seen: list[float] = []

    def finished():
        job = jobs.get_job(workspace, job_id, with_log=False)
        seen.append(job.progress)
        return job if job.state.finished else None

    job = jobs.get_job(workspace, wait_until(finished, timeout=60, what="the retrain").id)
    assert job.state is JobState.SUCCEEDED, job.log
    assert job.pid and job.pid != os.getpid()
    wait_until(lambda: _gone(job.pid), timeout=10, what="the worker process to exit")
    assert seen == sorted(seen) and seen[-1] == 1.0  # progress only moves forward, and ends at 1
    steps = [line.split("% ", 1)[1] for line in job.log.splitlines() if "% " in line]
    assert steps[0] == "Reading the recipe" and steps[-1].startswith("Registered churn v2 in Staging")
    assert any(s.startswith("Fitting") for s in steps) and any(s.startswith("Evaluating") for s in steps)
    assert job.started_at <= job.heartbeat_at <= job.finished_at

    result = job.result
    version = get_version(workspace, "churn", result["version"])
    assert version.number == 2 and version.stage.value == "staging" and version.parent_number == 1
    assert version.train_dataset_sha256 == result["dataset_sha256"] == version.provenance["training_data"]["sha256"]
    assert version.provenance["recipe_sha256"] == result["recipe_sha256"] == jobs_recipe_sha(workspace)
    assert set(version.environment) >= {"python", "scikit-learn", "pandas"}
    gate = version.evaluation["gate"]
    assert gate == result["gate"] and gate["passed"] is True
    assert {(c["criterion"], c["metric"]) for c in gate["criteria"]} == {
        ("max_regression", "accuracy"), ("max_regression", "f1"), ("max_regression", "roc_auc")}
    assert version.evaluation["champion"]["version"] == 1 and version.evaluation["rows"] == result["held_out_rows"]

    for action in ("job.submitted", "job.started", "job.succeeded"):
        assert len(_events(workspace, action, job_id)) == 1, action
    registered = _events(workspace, "version.registered")[-1]
    assert registered.details["gate"] == gate and registered.details["job"] == job_id
    succeeded = _events(workspace, "job.succeeded", job_id)[0]
    assert succeeded.seq == registered.seq + 2  # version, stage move, job success: one transaction, in order
    assert workspace_verifies(workspace)


def jobs_recipe_sha(ws) -> str:
    from app.services.recipes import get_recipe

    return get_recipe(ws, "churn").sha256


def workspace_verifies(ws) -> bool:
    from app.services.audit import verify_log

    return verify_log(ws).ok


def _slow_forest(ws, tmp_path):
    from app.services.recipes import set_recipe

    register_forest(ws, tmp_path / "data")
    set_recipe(ws, "forest", params={"n_estimators": SLOW_TREES})


def _fitting(ws, job_id):
    def probe():
        job = jobs.get_job(ws, job_id, with_log=False)
        assert not job.state.finished, job
        return job if job.message.startswith("Fitting") else None

    return wait_until(probe, timeout=60, what="the worker to start fitting")


def test_cancelling_a_running_job_stops_it_and_registers_nothing(workspace, tmp_path):
    import time

    _slow_forest(workspace, tmp_path)
    before, files = table_counts(workspace.paths.db), snapshot(workspace).artifact_files
    job_id = jobs.submit_retrain(workspace, "forest")
    jobs.start_queued(workspace)
    pid = _fitting(workspace, job_id).pid
    start = time.monotonic()
    job = jobs.cancel_job(workspace, job_id)
    assert time.monotonic() - start < 5
    assert job.state is JobState.CANCELLED and job.cancel_requested_by == "alice"
    assert "SIGTERM" in job.log or "SIGKILL" in job.log
    wait_until(lambda: _gone(pid), timeout=5, what="the worker to be gone")
    after = table_counts(workspace.paths.db)
    assert after["versions"] == before["versions"] and after["artifacts"] == before["artifacts"]
    assert after["datasets"] == before["datasets"]
    assert snapshot(workspace).artifact_files == files  # artifact files are written only after fitting
    assert [e.actor for e in _events(workspace, "job.cancelled", job_id)] == ["alice"]
    assert len(_events(workspace, "job.cancel_requested", job_id)) == 1
    with pytest.raises(Exception, match="already cancelled"):
        jobs.cancel_job(workspace, job_id)


def test_a_failing_job_records_its_error_and_registers_nothing(workspace, tmp_path):
    import pandas as pd

    train = register_churn(workspace, tmp_path / "data")
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_csv(train).to_csv(unlabelled, index=False)
    job_id = jobs.submit_retrain(workspace, "churn", unlabelled)  # refused at once if it had no labels yet
    pd.read_csv(train).assign(churned=None).to_csv(unlabelled, index=False)  # its labels vanish before it runs
    job = jobs.wait_for_job(workspace, job_id, timeout=60, poll=0.05)
    assert job.state is JobState.FAILED and "Only 0 labelled rows" in job.error and job.result is None
    assert "ERROR Failed: Only 0 labelled rows" in job.log and "Traceback" not in job.log
    assert _events(workspace, "job.failed", job_id)[0].details["error"] == job.error
    assert table_counts(workspace.paths.db)["versions"] == 1


def test_a_queued_job_is_cancelled_at_once(workspace, tmp_path):
    register_churn(workspace, tmp_path / "data")
    job_id = jobs.submit_retrain(workspace, "churn")
    job = jobs.cancel_job(workspace, job_id)
    assert job.state is JobState.CANCELLED and job.pid is None
    assert jobs.start_queued(workspace) == []


def test_a_killed_worker_is_marked_interrupted_with_the_reason(workspace, tmp_path):
    _slow_forest(workspace, tmp_path)
    versions = table_counts(workspace.paths.db)["versions"]
    job_id = jobs.submit_retrain(workspace, "forest")
    jobs.start_queued(workspace)
    pid = _fitting(workspace, job_id).pid
    os.kill(pid, signal.SIGKILL)
    findings = wait_until(lambda: jobs.scan_jobs(workspace), timeout=10, what="scan_jobs to notice")
    assert [(f.job_id, f.state) for f in findings] == [(job_id, JobState.INTERRUPTED)]
    job = jobs.get_job(workspace, job_id)
    assert job.state is JobState.INTERRUPTED
    assert f"worker process {pid} is gone" in job.error and "SIGKILL" in job.error
    assert _events(workspace, "job.interrupted", job_id)[0].details["reason"] in job.error
    assert table_counts(workspace.paths.db)["versions"] == versions
    assert jobs.scan_jobs(workspace) == []  # settled once


def test_with_a_limit_of_one_jobs_run_one_after_the_other(workspace, tmp_path):
    from app.services.settings import set_settings

    register_churn(workspace, tmp_path / "data")
    set_settings(workspace, "workers", {"max_jobs": 1})
    first, second = jobs.submit_retrain(workspace, "churn"), jobs.submit_retrain(workspace, "churn")
    assert jobs.start_queued(workspace) == [first]
    assert jobs.start_queued(workspace) == []  # the slot is taken
    assert jobs.get_job(workspace, second).state is JobState.QUEUED
    done = jobs.wait_for_job(workspace, second, timeout=90, poll=0.05)
    one = jobs.get_job(workspace, first)
    assert one.state is done.state is JobState.SUCCEEDED
    assert done.started_at >= one.finished_at
    assert {one.result["version"], done.result["version"]} == {2, 3}


def _racer(home: Path, tag: str) -> subprocess.Popen:
    env = {**os.environ, "STEWARD_ACTOR": tag, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(CHILD), str(home)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_two_processes_calling_start_queued_at_once_start_each_job_once(workspace, tmp_path):
    from app.services.settings import set_settings

    register_churn(workspace, tmp_path / "data")
    set_settings(workspace, "workers", {"max_jobs": 2})
    ids = [jobs.submit_retrain(workspace, "churn") for _ in range(3)]
    racers = [_racer(workspace.root, f"racer{i}") for i in range(2)]
    for p in racers:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in racers:  # release both at once
        p.stdin.write("go\n")
        p.stdin.flush()
    started = []
    for p in racers:
        out, err = p.communicate(timeout=60)  # returns without waiting for the workers they started
        assert p.returncode == 0, err
        started.append(json.loads(out.strip().splitlines()[-1]))
    flat = [j for s in started for j in s]
    assert len(flat) == len(set(flat)) == 2 and set(flat) <= set(ids)  # limit held, nothing started twice
    for job_id in ids:
        assert jobs.wait_for_job(workspace, job_id, timeout=90, poll=0.05).state is JobState.SUCCEEDED
    for job_id in ids:
        assert len(_events(workspace, "job.started", job_id)) == 1
    assert sorted(jobs.get_job(workspace, i).result["version"] for i in ids) == [2, 3, 4]


def test_the_worker_entry_point_and_job_services_import_no_qt_sklearn_or_pandas():
    """A spawned worker imports app.workers.runner first: it must stay cheap and free of Qt."""
    code = ("import json, sys\n"
            "import app.workers.runner, app.workers.reporter, app.services.jobs, app.services.retrain\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'sklearn', 'pandas'})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
