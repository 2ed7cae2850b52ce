"""Promotion rules: the gate and its override, separation of duties, auto-promotion, alerts answered by a retrain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.approvals import ApprovalStatus
from app.core.entities import Stage
from app.core.errors import ConflictError, InvalidInputError
from app.services.approvals import approve, get_approval, list_approvals, reject, request_promotion, withdraw
from app.services.audit import AuditFilter, list_events, verify_log
from app.services.queries import get_version, stage_history
from app.services.recipes import set_recipe
from app.services.retrain import retrain
from app.services.settings import set_settings
from app.services.stages import promote, promote_version
from tests._store_helpers import snapshot
from tests.workers_helpers import register_churn

ROOT = Path(__file__).resolve().parents[1]
OVERRIDE = "recall matters more than precision this quarter; risk signed off the shortfall"


@pytest.fixture
def churn(workspace, tmp_path):
    """'churn' v1 registered by hand and in Production; its files are in tmp_path/data."""
    register_churn(workspace, tmp_path / "data")
    return workspace


def _retrain(ws) -> dict:
    return retrain(ws, {"model": "churn"}, lambda f, m: None, lambda: False)


def _failing_recipe(ws) -> None:
    set_recipe(ws, "churn", params={"logisticregression__C": 1e-6}, gate_min={"roc_auc": 0.99})


def _hand_version(ws, tmp_path) -> int:
    from app.services.register import register_model

    folder = tmp_path / "data"
    return register_model(ws, "churn", folder / "churn.joblib", folder / "churn-train.csv", "churned").number


def _events(ws, action: str):
    return list_events(ws, AuditFilter(action=action))


# --- the gate --------------------------------------------------------------------------------------

def test_a_failed_gate_blocks_production_until_overridden_and_rollback_needs_no_gate(churn):
    _failing_recipe(churn)
    v2 = _retrain(churn)["version"]
    assert get_version(churn, "churn", v2).stage is Stage.STAGING
    before = snapshot(churn)
    with pytest.raises(ConflictError) as caught:
        promote_version(churn, "churn", v2, "production", "looks fine to me")
    assert "failed its promotion gate" in caught.value.message
    assert "below the minimum 0.99" in caught.value.message and "more than the allowed 0.01" in caught.value.message
    assert '--override "' in caught.value.hint
    for stage, override, match in (("production", "   ", "written rationale"),
                                   ("archived", OVERRIDE, "nothing to override")):
        with pytest.raises(InvalidInputError, match=match):
            promote_version(churn, "churn", v2, stage, "x", override=override)
    assert snapshot(churn) == before  # refused promotions leave nothing behind

    moves = promote_version(churn, "churn", v2, "production", "campaign needs it", override=OVERRIDE)
    assert [(m.version, m.from_stage, m.to_stage) for m in moves] == [
        (1, Stage.PRODUCTION, Stage.ARCHIVED), (v2, Stage.STAGING, Stage.PRODUCTION)]
    assert moves[1].reason == "campaign needs it"
    overridden = _events(churn, "version.gate_overridden")
    assert len(overridden) == 1 and overridden[0].actor == "alice"
    details = overridden[0].details
    assert details["rationale"] == OVERRIDE and details["reason"] == "campaign needs it"
    assert any("below the minimum 0.99" in c for c in details["failed_criteria"])
    # Written in the transaction of the move, between the archive of v1 and the promotion of v2.
    assert moves[0].audit_seq + 1 == overridden[0].seq == moves[1].audit_seq - 1
    moved = _events(churn, "version.stage_changed")[0]
    assert moved.details["gate"] == "overridden" and moved.details["override"] == OVERRIDE

    promote_version(churn, "churn", 1, "production", "v2 misbehaves: back to v1")
    with pytest.raises(InvalidInputError, match="rollback needs no gate"):
        promote_version(churn, "churn", v2, "production", "again", override=OVERRIDE)
    back = promote_version(churn, "churn", v2, "production", "v1 was worse after all: roll forward")
    assert back[-1].to_stage is Stage.PRODUCTION
    assert _events(churn, "version.stage_changed")[0].details["gate"] == "rollback"
    assert len(_events(churn, "version.gate_overridden")) == 1  # a rollback is not another override
    assert verify_log(churn).ok


# --- separation of duties --------------------------------------------------------------------------

def test_separation_of_duties_makes_promotion_a_request_that_another_person_approves(churn, tmp_path):
    v2 = _hand_version(churn, tmp_path)
    with pytest.raises(InvalidInputError, match="no gate result.*nothing to override"):
        promote_version(churn, "churn", v2, "production", "x", override=OVERRIDE)
    set_settings(churn, "policy", {"separation_of_duties": 1})
    changed = _events(churn, "settings.changed")[0]
    assert changed.details["to"] == {"separation_of_duties": 1} and changed.actor == "alice"
    history = stage_history(churn, "churn")

    promotion = promote(churn, "churn", v2, "production", "better calibrated")
    request = promotion.approval
    assert promotion.moves == [] and promotion.pending and request.requested_by == "alice"
    assert (request.version, request.version_stage, request.override, request.gate) == (v2, Stage.NONE, None, None)
    assert stage_history(churn, "churn") == history and get_version(churn, "churn", v2).stage is Stage.NONE
    assert _events(churn, "approval.requested")[0].details["reason"] == "better calibrated"
    with pytest.raises(ConflictError, match=f"#{request.id}.*already pending"):
        promote_version(churn, "churn", v2, "production", "again")
    assert [a.id for a in list_approvals(churn)] == [request.id]
    assert promote_version(churn, "churn", v2, "staging", "review copy")[0].to_stage is Stage.STAGING  # no approval
    # ... but that move changed what was asked for: the request is withdrawn automatically.
    closed = get_approval(churn, request.id)
    assert closed.status is ApprovalStatus.WITHDRAWN and closed.decided_by == "alice"
    assert "moved from none to staging" in closed.rationale
    assert _events(churn, "approval.withdrawn")[0].details["automatic"] is True
    with pytest.raises(ConflictError, match="already withdrawn"):
        approve(churn, request.id, "fine", actor="bob")

    request = promote(churn, "churn", v2, "production", "better calibrated").approval
    before = snapshot(churn)
    with pytest.raises(ConflictError, match=r"alice requested approval .* separation of duties"):
        approve(churn, request.id, "looks good to me", actor="alice")
    with pytest.raises(InvalidInputError, match="rationale"):
        approve(churn, request.id, "  ", actor="bob")
    assert snapshot(churn) == before
    done = approve(churn, request.id, "validation pack reviewed", actor="bob")
    assert [(m.version, m.to_stage, m.actor) for m in done.moves] == [
        (1, Stage.ARCHIVED, "bob"), (v2, Stage.PRODUCTION, "bob")]
    assert done.approval.status is ApprovalStatus.APPROVED and done.approval.decided_by == "bob"
    last = stage_history(churn, "churn")[-1]
    assert last.reason == "better calibrated (requested by alice; approved by bob: validation pack reviewed)"
    approved = _events(churn, "approval.approved")[0]
    assert approved.actor == "bob" and approved.details["requested_by"] == "alice"
    moved = _events(churn, "version.stage_changed")[0]
    assert (moved.details["approval"], moved.details["requested_by"], moved.details["approved_by"]) == \
        (request.id, "alice", "bob")
    assert approved.seq + 2 == moved.seq  # approval, archive of v1, promotion of v2: one transaction
    with pytest.raises(ConflictError, match="already approved by bob"):
        reject(churn, request.id, "too late", actor="carol")
    assert list_approvals(churn) == []


def test_a_request_overriding_a_failed_gate_can_be_rejected_withdrawn_or_approved(churn):
    _failing_recipe(churn)
    v2 = _retrain(churn)["version"]
    set_settings(churn, "policy", {"separation_of_duties": 1})
    with pytest.raises(ConflictError, match="failed its promotion gate"):
        request_promotion(churn, "churn", v2, "campaign")
    first = request_promotion(churn, "churn", v2, "campaign", override=OVERRIDE)
    assert first.override == OVERRIDE and first.gate["passed"] is False
    assert list_approvals(churn)[0].override == OVERRIDE  # read back from the request's audit event
    with pytest.raises(ConflictError, match="withdraw"):
        reject(churn, first.id, "changed my mind")  # the requester withdraws, others reject
    with pytest.raises(InvalidInputError, match="rationale"):
        reject(churn, first.id, "", actor="bob")
    rejected = reject(churn, first.id, "the shortfall is too large", actor="bob")
    assert (rejected.status, rejected.rationale) == (ApprovalStatus.REJECTED, "the shortfall is too large")
    assert get_version(churn, "churn", v2).stage is Stage.STAGING

    second = request_promotion(churn, "churn", v2, "campaign", override=OVERRIDE)
    with pytest.raises(ConflictError, match="Only alice"):
        withdraw(churn, second.id, actor="bob")
    assert withdraw(churn, second.id).status is ApprovalStatus.WITHDRAWN

    third = promote(churn, "churn", v2, "production", "campaign", override=OVERRIDE).approval
    done = approve(churn, third.id, "board minutes attached", actor="bob")
    assert done.moves[-1].to_stage is Stage.PRODUCTION
    overridden = _events(churn, "version.gate_overridden")[0]
    assert overridden.actor == "bob" and overridden.details["rationale"] == OVERRIDE
    assert overridden.details["requested_by"] == "alice" and overridden.details["approved_by"] == "bob"
    assert [a.status.value for a in list_approvals(churn, status="all")] == ["approved", "withdrawn", "rejected"]


def _cli(ws, *args: str, actor: str = "alice") -> subprocess.CompletedProcess:
    env = {**os.environ, "STEWARD_ACTOR": actor}
    return subprocess.run([sys.executable, "-m", "app", "--home", str(ws.root), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def _one_line_error(done: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == [lines[0]] and text in lines[0], done.stderr


@pytest.mark.slow
def test_cli_override_policy_and_approvals(churn, tmp_path):
    _failing_recipe(churn)
    v2 = _retrain(churn)["version"]
    v3 = _hand_version(churn, tmp_path)
    refused = _cli(churn, "model", "promote", "churn", str(v2), "--stage", "production", "--reason", "go")
    _one_line_error(refused, 4, "failed its promotion gate")
    assert '--override "' in refused.stderr
    done = _cli(churn, "model", "promote", "churn", str(v2), "--stage", "production", "--reason", "go",
                "--override", OVERRIDE, "--json")
    assert done.returncode == 0, done.stderr
    assert [m["to_stage"] for m in json.loads(done.stdout)] == ["archived", "production"]

    assert _cli(churn, "settings", "set", "policy.separation_of_duties=on").returncode == 0
    _one_line_error(_cli(churn, "settings", "set", "policy.auto_promote=1", "--model", "churn"), 2,
                    "incompatible with separation of duties")
    asked = _cli(churn, "model", "promote", "churn", str(v3), "--stage", "production", "--reason", "hand-tuned",
                 "--json")
    assert asked.returncode == 0, asked.stderr
    request = json.loads(asked.stdout)
    assert request["status"] == "pending" and request["requested_by"] == "alice" and request["version"] == v3
    listed = _cli(churn, "approvals", "list", "--json")
    assert [a["id"] for a in json.loads(listed.stdout)] == [request["id"]]
    rid = str(request["id"])
    _one_line_error(_cli(churn, "approvals", "approve", rid, "--rationale", "mine"), 4, "separation of duties")
    _one_line_error(_cli(churn, "approvals", "approve", rid, actor="bob"), 2, "rationale")
    approved = _cli(churn, "approvals", "approve", rid, "--rationale", "checked the card", "--json", actor="bob")
    assert approved.returncode == 0, approved.stderr
    result = json.loads(approved.stdout)
    assert result["approval"]["status"] == "approved" and result["moves"][-1]["version"] == v3
    assert "approved by bob" in result["moves"][-1]["reason"]

    text = _cli(churn, "model", "promote", "churn", "1", "--stage", "production", "--reason", "roll back")
    assert text.returncode == 0 and "Approval request #" in text.stdout and "approvals approve" in text.stdout
    second = str(list_approvals(churn)[0].id)
    _one_line_error(_cli(churn, "approvals", "reject", second, actor="bob"), 2, "rationale")
    rejected = _cli(churn, "approvals", "reject", second, "--rationale", "v1 is too old", actor="bob")
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    table = _cli(churn, "approvals", "list", "--status", "all")
    assert table.returncode == 0 and "v1 is too old" in table.stdout and "checked the card" in table.stdout
    assert _cli(churn, "approvals", "list").stdout.strip() == "No pending promotion requests."
    _one_line_error(_cli(churn, "approvals", "approve", "99", "--rationale", "x", actor="bob"), 3, "#99")


# --- auto-promotion --------------------------------------------------------------------------------

def test_auto_promote_moves_a_passing_challenger_in_the_registering_transaction(churn):
    set_recipe(churn, "churn", max_regression=0.5)
    set_settings(churn, "policy", {"auto_promote": 1}, "churn")
    result = _retrain(churn)
    v2 = result["version"]
    assert result["gate"]["passed"] and result["auto_promoted"] and result["stage"] == "production"
    assert result["archived_versions"] == [1] and "auto-promote" in result["summary"]
    assert get_version(churn, "churn", v2).stage is Stage.PRODUCTION
    assert get_version(churn, "churn", 1).stage is Stage.ARCHIVED
    moves = stage_history(churn, "churn")[-3:]
    assert [(m.version, m.to_stage) for m in moves] == [
        (v2, Stage.STAGING), (1, Stage.ARCHIVED), (v2, Stage.PRODUCTION)]
    registered = _events(churn, "version.registered")[0]
    # Registration and the three moves are consecutive events: one transaction.
    assert [m.audit_seq for m in moves] == [registered.seq + 1, registered.seq + 2, registered.seq + 3]
    promoted = _events(churn, "version.stage_changed")[0]
    assert promoted.details["policy"] == "auto_promote" and promoted.details["gate_result"] == result["gate"]
    assert "auto-promoted" in moves[-1].reason

    _failing_recipe(churn)
    failed = _retrain(churn)
    assert not failed["gate"]["passed"] and not failed["auto_promoted"] and failed["stage"] == "staging"
    assert get_version(churn, "churn", failed["version"]).stage is Stage.STAGING
    assert get_version(churn, "churn", v2).stage is Stage.PRODUCTION


def test_auto_promote_and_separation_of_duties_exclude_each_other(churn):
    set_settings(churn, "policy", {"auto_promote": 1}, "churn")
    before = snapshot(churn)
    with pytest.raises(InvalidInputError, match="churn has policy.auto_promote=1"):
        set_settings(churn, "policy", {"separation_of_duties": 1})
    for values, model, match in (({"separation_of_duties": 1}, "churn", "whole workspace"),
                                 ({"auto_promote": 1}, None, "per model"),
                                 ({"auto_promote": 2}, "churn", "switch")):
        with pytest.raises(InvalidInputError, match=match):
            set_settings(churn, "policy", values, model)
    assert snapshot(churn) == before
    set_settings(churn, "policy", {"auto_promote": 0}, "churn")
    set_settings(churn, "policy", {"separation_of_duties": 1})
    with pytest.raises(InvalidInputError, match="incompatible with separation of duties"):
        set_settings(churn, "policy", {"auto_promote": 1}, "churn")


# --- alerts answered by a retrain ------------------------------------------------------------------

def _drifting_batch(folder: Path) -> Path:
    from app.services.demo import _churn_frame

    data = _churn_frame(8, n=2000)
    data["monthly_charges"] = data["monthly_charges"] * 1.15
    path = folder / "drifting.csv"
    data.drop(columns="churned").to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_resolving_an_alert_with_a_retrain_links_the_job_then_its_version(churn, tmp_path):
    from app.services.alerts import get_alert, list_alerts, resolve_alert
    from app.services.batches import score_batch
    from app.services.jobs import get_job, start_queued, wait_for_job

    alert = next(a for a in score_batch(churn, "churn", _drifting_batch(tmp_path)).alerts if a.kind.value == "drift")
    with pytest.raises(InvalidInputError, match="Only a retrain decision"):
        resolve_alert(churn, alert.id, "retire", "old", retrain=True)
    with pytest.raises(InvalidInputError, match="not both"):
        resolve_alert(churn, alert.id, "retrain", "drift", linked_version=1, retrain=True)
    resolved = resolve_alert(churn, alert.id, "retrain", "charges rose 15%: refit on recent data", retrain=True)
    job_id = resolved.linked_job
    assert job_id is not None and resolved.linked_version is None and resolved.status.value == "resolved"
    job = get_job(churn, job_id, with_log=False)
    assert job.kind == "retrain" and job.params["alert"] == alert.id and job.created_by == "alice"
    event = _events(churn, "alert.resolved")[0]
    assert event.details["linked_job"] == job_id
    assert _events(churn, "job.submitted")[0].seq == event.seq - 1  # submitted with the resolution

    start_queued(churn)
    finished = wait_for_job(churn, job_id, timeout=120)
    assert finished.state.value == "succeeded", finished.error
    linked = get_alert(churn, alert.id)
    assert (linked.linked_job, linked.linked_version) == (job_id, finished.result["version"])
    assert list_alerts(churn, "churn", "resolved")[0].linked_version == finished.result["version"]
    link = _events(churn, "alert.linked")[0]
    assert link.details == {"alert": alert.id, "job": job_id, "version": finished.result["version"]}
    succeeded = _events(churn, "job.succeeded")[0]
    assert succeeded.seq > link.seq and link.actor == "alice"  # in the job's final transaction
    assert verify_log(churn).ok
