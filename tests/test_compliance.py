"""Compliance evidence: Merkle checkpoints, signatures, report export and verification, as-of, cards, findings."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from _store_helpers import drop_append_only_triggers, raw_connect
from app.audit.checkpoint import Checkpoint, signature_ok
from app.audit.merkle import consistency_proof, leaf_hash, merkle_root, node_hash, verify_consistency
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.timeutil import utcnow
from app.services.asof import as_of
from app.services.audit import AuditFilter, count_events, list_events, verify_log
from app.services.cards import describe_dataset, set_model_card
from app.services.checkpoints import check_checkpoint, load_checkpoint_file, take_checkpoint
from app.services.findings import close_finding, list_findings, list_reviews, open_finding, record_review
from app.services.queries import get_model, list_datasets
from app.services.register import register_model
from app.services.report_data import ReportScope
from app.services.reports import export_report, schema_errors, verify_report
from app.services.stages import promote_version

ROOT = Path(__file__).resolve().parent.parent


# --- Merkle tree -------------------------------------------------------------------------------------
def _reference_root(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1, written as the RFC states it (recursive split at the largest power of two < n)."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return leaf_hash(data[0])
    k = 1
    while k * 2 < len(data):
        k *= 2
    return node_hash(_reference_root(data[:k]), _reference_root(data[k:]))


def test_merkle_root_matches_the_rfc_definition_for_every_size():
    rng = random.Random(7)
    data = [rng.randbytes(32) for _ in range(70)]
    for n in range(0, 71):
        assert merkle_root(data[:n]) == _reference_root(data[:n]), n


def test_rfc6962_known_answer_for_the_empty_tree():
    assert merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_consistency_proofs_verify_for_every_pair_and_fail_when_the_old_tree_differs():
    rng = random.Random(11)
    data = [rng.randbytes(32) for _ in range(33)]
    leaves = [leaf_hash(d) for d in data]
    for n in range(1, 34):
        new_root = _reference_root(data[:n])
        for m in range(1, n + 1):
            proof = consistency_proof(leaves[:n], m)
            assert verify_consistency(m, n, _reference_root(data[:m]), new_root, proof), (m, n)
            if m < n:
                edited = [b"\x00" * 32] + data[1:m]  # the first event changed
                assert not verify_consistency(m, n, _reference_root(edited), new_root, proof), (m, n)
                assert not verify_consistency(m, n, _reference_root(data[:m]), new_root, proof[:-1] or [b"x" * 32])


# --- workspace with history ----------------------------------------------------------------------------
@pytest.fixture
def history(workspace, classifier_files, tmp_path):
    ws = workspace
    register_model(ws, "credit-risk", classifier_files.model, classifier_files.train, "target",
                   test_data=classifier_files.test)
    promote_version(ws, "credit-risk", 1, "production", "first release")
    batch = tmp_path / "batch.csv"
    pd.read_csv(classifier_files.test).drop(columns=["target"]).to_csv(batch, index=False)
    from app.services.batches import score_batch

    score_batch(ws, "credit-risk", batch, output=tmp_path / "out.csv", label="week 1")
    return ws


def _delete_newest(ws, count: int) -> None:
    drop_append_only_triggers(ws.paths.db)
    conn = raw_connect(ws.paths.db)
    try:
        last = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM audit_events WHERE seq > ?", (last - count,))
    finally:
        conn.close()


def test_checkpoint_is_signed_and_any_edit_of_it_breaks_the_signature(history):
    cp = take_checkpoint(history)
    assert cp.events == count_events(history) and signature_ok(cp)
    assert Path(history.paths.keys, "checkpoint-ed25519.pem").stat().st_mode & 0o077 == 0  # owner only
    for field, value in (("events", cp.events - 1), ("root", "0" * 64), ("at", "2020-01-01T00:00:00.000000Z")):
        assert not signature_ok(Checkpoint(**{**cp.to_dict(), field: value}))


def test_log_extends_an_older_checkpoint_and_says_how_many_events_were_added(history):
    cp = take_checkpoint(history)
    assert check_checkpoint(history, cp).status == "same"
    set_model_card(history, "credit-risk", {"limitations": "Only one region."})
    verdict = check_checkpoint(history, cp)
    assert verdict.ok and verdict.status == "extends" and "1 event(s) were added" in verdict.message


def test_deleting_the_newest_events_passes_the_chain_but_fails_the_checkpoint(history):
    cp = take_checkpoint(history)
    _delete_newest(history, 2)
    assert verify_log(history).ok  # the hash chain alone cannot see it
    verdict = check_checkpoint(history, cp)
    assert not verdict.ok and verdict.status == "truncated" and "newest 2 event(s) were deleted" in verdict.message


def test_a_log_rebuilt_with_a_valid_chain_fails_the_checkpoint(history):
    """Someone rewrites an old event and recomputes every hash after it: the chain verifies again."""
    from app.audit.chain import GENESIS, event_hash

    cp = take_checkpoint(history)
    drop_append_only_triggers(history.paths.db)
    conn = raw_connect(history.paths.db)
    conn.execute("PRAGMA foreign_keys = OFF")
    rows = conn.execute("SELECT seq, at, actor, action, object, model, details, payload_sha256 FROM audit_events "
                        "ORDER BY seq").fetchall()
    prev = GENESIS
    for seq, at, actor, action, obj, model, details, payload in rows:
        if seq == 2:
            actor = "mallory"
        new = event_hash(seq, at, actor, action, obj, model, payload, prev)
        conn.execute("UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", (actor, prev, new, seq))
        prev = new
    conn.close()
    assert verify_log(history).ok  # a consistent forgery
    verdict = check_checkpoint(history, cp)
    assert not verdict.ok and verdict.status == "rewritten"


def test_report_export_writes_json_valid_against_its_schema_and_records_the_export(history, tmp_path):
    before = count_events(history)
    result = export_report(history, ReportScope(), ["json"], tmp_path / "out")
    evidence = json.loads(result.files["json"].read_text(encoding="utf-8"))
    assert schema_errors(evidence) == []
    assert evidence["integrity"]["checkpoint"]["events"] == before  # the export's own event comes after
    assert count_events(history) == before + 1
    event = list_events(history, AuditFilter(action="report.exported"))[0]
    assert event.details["report_id"] == result.report_id
    assert event.details["evidence_sha256"] == result.evidence_sha256
    assert evidence["metadata"]["scope"]["models"] == ["credit-risk"]
    assert [d["input_sha256"] for d in evidence["models"][0]["decisions"]]  # the scored batch is a decision
    assert verify_report(result.files["json"], history).ok


def test_schema_rejects_evidence_missing_a_section(history, tmp_path):
    result = export_report(history, ReportScope(), ["json"], tmp_path / "out")
    evidence = json.loads(result.files["json"].read_text(encoding="utf-8"))
    del evidence["signoffs"]
    assert any("signoffs" in e for e in schema_errors(evidence))


def test_every_report_carries_the_previous_reports_checkpoint_with_a_consistency_proof(history, tmp_path):
    first = export_report(history, ReportScope(), ["json"], tmp_path / "a")
    set_model_card(history, "credit-risk", {"validator": "vera"})
    second = export_report(history, ReportScope(), ["json"], tmp_path / "b")
    evidence = json.loads(second.files["json"].read_text(encoding="utf-8"))
    previous = evidence["integrity"]["previous"]
    assert previous["report_id"] == first.report_id
    assert previous["checkpoint"] == first.checkpoint.to_dict()
    assert previous["check"]["status"] == "extends" and previous["consistency_proof"]
    checks = {c["check"]: c for c in verify_report(second.files["json"]).checks}
    assert checks["previous checkpoint"]["ok"] is True


def test_a_tampered_report_fails_verification(history, tmp_path):
    result = export_report(history, ReportScope(), ["json"], tmp_path / "out")
    path = result.files["json"]
    evidence = json.loads(path.read_text(encoding="utf-8"))
    evidence["inventory"][0]["owner"] = "someone else"
    path.write_text(json.dumps(evidence), encoding="utf-8")
    check = verify_report(path)
    failed = {c["check"] for c in check.checks if c["ok"] is False}
    assert not check.ok and "evidence digest" in failed
    # Recomputing the digest does not help: the signature covers it.
    from app.services.reports import evidence_digest

    evidence["integrity"]["evidence_sha256"] = evidence_digest(evidence)
    path.write_text(json.dumps(evidence), encoding="utf-8")
    failed = {c["check"] for c in verify_report(path).checks if c["ok"] is False}
    assert failed == {"signature"}


def test_verify_report_against_a_workspace_whose_newest_events_were_deleted(history, tmp_path):
    set_model_card(history, "credit-risk", {"validator": "vera"})
    result = export_report(history, ReportScope(), ["json"], tmp_path / "out")
    _delete_newest(history, 3)  # the export event and two before it
    check = verify_report(result.files["json"], history)
    log = next(c for c in check.checks if c["check"] == "workspace log")
    assert log["ok"] is False and "deleted" in log["detail"]


def test_a_cancelled_export_writes_nothing_and_records_nothing(history, tmp_path):
    from app.core.errors import StewardError

    before = count_events(history)
    calls = []

    def cancel_after_evidence() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(StewardError, match="cancelled"):
        export_report(history, ReportScope(), ["json"], tmp_path / "out", is_cancelled=cancel_after_evidence)
    assert count_events(history) == before
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_export_refuses_an_output_path_that_is_a_file_and_unknown_scope(history, tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("x")
    before = count_events(history)
    with pytest.raises(InvalidInputError, match="is a file"):
        export_report(history, ReportScope(), ["json"], target)
    with pytest.raises(NotFoundError, match="no-such-model"):
        export_report(history, ReportScope(models=("no-such-model",)), ["json"], tmp_path / "o")
    with pytest.raises(InvalidInputError, match="format"):
        export_report(history, ReportScope(), ["docx"], tmp_path / "o")
    with pytest.raises(InvalidInputError, match="starts after it ends"):
        export_report(history, ReportScope(since=utcnow(), until=utcnow() - timedelta(days=1)), ["json"], tmp_path / "o")
    assert count_events(history) == before


def test_gaps_follow_the_model_card_and_datasheets(history, tmp_path):
    def gaps() -> list[dict]:
        result = export_report(history, ReportScope(), ["json"], tmp_path / f"r{random.random()}")
        return json.loads(result.files["json"].read_text(encoding="utf-8"))["conclusions"]["gaps"]

    kinds = {g["kind"] for g in gaps()}
    assert {"card_field", "validation", "datasheet"} <= kinds
    set_model_card(history, "credit-risk", {
        "description": "Scores applications.", "intended_use": "Retail credit.", "out_of_scope_use": "Business loans.",
        "limitations": "One region.", "ethical_considerations": "Reviewed for disparate impact.", "validator": "vera"})
    for d in list_datasets(history):
        describe_dataset(history, d.sha256[:12], {"description": "Applications 2024.", "source": "core banking"})
    record_review(history, "credit-risk", "validator", "approved", "Back-tested on 2024 data.", version=1,
                  next_review="2099-01-01")
    assert {g["kind"] for g in gaps()} == set()


def test_overdue_finding_and_past_review_date_are_gaps(history, tmp_path):
    open_finding(history, "credit-risk", "Wrong cut-off", "The cut-off was set on stale data.", severity="high",
                 versions=(1,), due="2020-01-31")
    set_model_card(history, "credit-risk", {"next_review_at": "2021-06-30"})
    result = export_report(history, ReportScope(), ["json"], tmp_path / "o")
    kinds = {g["kind"] for g in json.loads(result.files["json"].read_text())["conclusions"]["gaps"]}
    assert {"finding_overdue", "review_due"} <= kinds


# --- cards, findings, sign-offs ----------------------------------------------------------------------
def test_model_card_fields_can_be_set_and_cleared_and_every_change_is_audited(history):
    changes = set_model_card(history, "credit-risk", {"limitations": "One region.", "next_review_at": "2027-03-31",
                                                      "tags": "retail, credit"})
    assert set(changes) == {"limitations", "next_review_at", "tags"}
    model = get_model(history, "credit-risk")
    assert model.limitations == "One region." and model.next_review_at.date().isoformat() == "2027-03-31"
    assert model.tags == ("credit", "retail")
    set_model_card(history, "credit-risk", {"limitations": "", "next_review_at": ""})
    model = get_model(history, "credit-risk")
    assert model.limitations == "" and model.next_review_at is None
    events = list_events(history, AuditFilter(action="model.updated"))
    assert events[0].details["limitations"] == {"from": "One region.", "to": ""}
    with pytest.raises(InvalidInputError, match="not a date"):
        set_model_card(history, "credit-risk", {"next_review_at": "next spring"})
    with pytest.raises(InvalidInputError, match="Unknown model card field"):
        set_model_card(history, "credit-risk", {"colour": "blue"})


def test_findings_open_and_close_with_a_corrective_action(history):
    finding = open_finding(history, "credit-risk", "Stale threshold", "Threshold from 2023.", versions=(1,), due="2030-01-01")
    assert finding.status.value == "open" and finding.versions == (1,)
    with pytest.raises(InvalidInputError, match="corrective action"):
        close_finding(history, finding.id, "  ")
    closed = close_finding(history, finding.id, "Threshold re-estimated on 2025 data.", root_cause="No review cycle.")
    assert closed.status.value == "closed" and closed.closed_by == "alice"
    with pytest.raises(ConflictError):
        close_finding(history, finding.id, "again")
    with pytest.raises(NotFoundError, match="no version 9"):
        open_finding(history, "credit-risk", "x", "y", versions=(9,))
    assert [f.id for f in list_findings(history, "credit-risk", "closed")] == [finding.id]
    actions = [e.action for e in list_events(history, AuditFilter(action="finding."))]
    assert actions == ["finding.closed", "finding.opened"]


def test_sign_off_needs_a_note_and_may_set_the_next_review(history):
    with pytest.raises(InvalidInputError, match="needs a note"):
        record_review(history, "credit-risk", "validator", "approved", "")
    with pytest.raises(InvalidInputError, match="Unknown role"):
        record_review(history, "credit-risk", "auditor", "approved", "ok")
    review = record_review(history, "credit-risk", "validator", "approved_with_conditions", "Monitor PSI monthly.",
                           version=1, next_review="2027-01-15")
    assert review.version == 1 and list_reviews(history, "credit-risk")[0].id == review.id
    assert get_model(history, "credit-risk").next_review_at.date().isoformat() == "2027-01-15"


# --- as-of ---------------------------------------------------------------------------------------------
def test_as_of_names_the_production_version_its_data_and_its_batches(history, classifier_files):
    answer = as_of(history, "credit-risk", utcnow())
    assert answer.version == 1 and answer.entered_by == "alice" and answer.entry_reason == "first release"
    assert answer.train_dataset["sha256"] == hashlib.sha256(classifier_files.train.read_bytes()).hexdigest()
    assert len(answer.batches) == 1 and answer.batches[0]["label"] == "week 1"
    before = as_of(history, "credit-risk", "2001-01-01")
    assert before.version is None and "not registered yet" in before.message
    with pytest.raises(InvalidInputError, match="future"):
        as_of(history, "credit-risk", "2999-01-01")
    with pytest.raises(InvalidInputError, match="not a date"):
        as_of(history, "credit-risk", "yesterday")


def test_as_of_after_a_replacement_shows_when_and_by_what(history, classifier_files):
    register_model(history, "credit-risk", classifier_files.model, classifier_files.train, "target", note="refit")
    moment = utcnow()
    promote_version(history, "credit-risk", 2, "production", "v2 is better", actor="bob")
    old = as_of(history, "credit-risk", moment)
    assert old.version == 1 and old.replaced_by == 2 and old.left_by == "bob"
    new = as_of(history, "credit-risk", utcnow())
    assert new.version == 2 and new.batches == [] and new.left_at is None


# --- command line ----------------------------------------------------------------------------------------
def _cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--home", str(ws.root), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_cli_report_export_verify_and_checkpoint(history, tmp_path):
    done = _cli(history, "report", "export", "--format", "json", "--out", str(tmp_path / "r"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    report = Path(out["files"]["json"])
    done = _cli(history, "report", "verify", str(report), "--against-workspace")
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    done = _cli(history, "audit", "verify", "--checkpoint", str(report))
    assert done.returncode == 0 and "extends the checkpoint" in done.stdout
    _delete_newest(history, 2)  # the export's own event and the newest one the checkpoint covers
    done = _cli(history, "audit", "verify", "--checkpoint", str(report))
    assert done.returncode == 1 and "deleted" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = _cli(history, "audit", "verify", "--checkpoint", str(bad))
    assert done.returncode != 0 and done.stderr.startswith("error:") and "Traceback" not in done.stderr


def test_cli_asof_card_signoff_and_findings(history):
    done = _cli(history, "asof", "credit-risk", utcnow().date().isoformat())
    assert done.returncode == 0 and "Version 1 was in production" in done.stdout and "week 1" in done.stdout
    done = _cli(history, "model", "card", "credit-risk", "--limitations", "One region.", "--next-review", "2027-02-01")
    assert done.returncode == 0 and "One region." in done.stdout and "2027-02-01" in done.stdout
    done = _cli(history, "model", "signoff", "credit-risk", "--role", "validator", "--outcome", "approved",
                "--note", "Validated.")
    assert done.returncode == 0, done.stderr
    done = _cli(history, "finding", "open", "credit-risk", "--title", "Bias check", "--description", "Missing.",
                "--versions", "1", "--json")
    assert done.returncode == 0, done.stderr
    finding_id = json.loads(done.stdout)["id"]
    done = _cli(history, "finding", "close", str(finding_id))
    assert done.returncode != 0
    assert "corrective action" in done.stderr and "Traceback" not in done.stderr
    done = _cli(history, "finding", "close", str(finding_id), "--action", "Bias check added.")
    assert done.returncode == 0
    done = _cli(history, "finding", "list", "--json")
    assert json.loads(done.stdout)[0]["status"] == "closed"


def test_a_model_named_like_markup_is_accepted(workspace, classifier_files):
    version = register_model(workspace, "<script>alert(1)</script>", classifier_files.model, classifier_files.train,
                             "target")
    assert version.model_name == "<script>alert(1)</script>"


def test_the_signing_key_never_enters_the_database(history):
    take_checkpoint(history)
    pem = (history.paths.keys / "checkpoint-ed25519.pem").read_bytes()
    body = pem.split(b"-----")[2].strip()
    with sqlite3.connect(history.paths.db) as conn:
        dump = "\n".join(conn.iterdump()).encode()
    assert body not in dump
    loaded = load_checkpoint_file  # a checkpoint file made by hand from a report is accepted too
    cp = take_checkpoint(history)
    path = history.root / "cp.json"
    path.write_text(json.dumps(cp.to_dict()))
    assert loaded(path) == cp


# --- audit text search ---------------------------------------------------------------------------------
def test_audit_text_search_finds_substrings_in_any_case_through_the_trigram_index(history):
    set_model_card(history, "credit-risk", {"limitations": "Only Scores 100% of RETAIL_loans \"quoted\"."})
    for needle in ("retail_loans", "RETAIL_LOANS", "100%", "ores 1"):
        found = list_events(history, AuditFilter(text=needle))
        assert [e.action for e in found] == ["model.updated"], needle
        assert count_events(history, AuditFilter(text=needle)) == 1
    assert list_events(history, AuditFilter(text="retail loans")) == []  # "_" is a character, not a wildcard
    assert count_events(history, AuditFilter(text="%")) == 1  # short text: the LIKE path, escaped too
    with sqlite3.connect(history.paths.db) as conn:
        for needle in ("credit-risk", "week", "production", "PROMOTE"):  # the index agrees with a full scan
            like = conn.execute("SELECT count(*) FROM audit_events WHERE object LIKE ? OR details LIKE ?",
                                (f"%{needle}%", f"%{needle}%")).fetchone()[0]
            assert count_events(history, AuditFilter(text=needle)) == like, needle
        plan = " ".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?", ('"retail"',)))
    assert "VIRTUAL TABLE" in plan


def test_action_prefix_filter_uses_a_range_on_the_index(history):
    stage = count_events(history, AuditFilter(action="version."))
    assert stage == sum(count_events(history, AuditFilter(action=a))
                        for a in ("version.registered", "version.stage_changed"))


def test_cli_audit_verify_files_names_a_missing_or_changed_artifact(history):
    done = _cli(history, "audit", "verify", "--files")
    assert done.returncode == 0 and "Artifact files intact." in done.stdout, done.stdout + done.stderr
    dataset = list_datasets(history)[0]
    path = history.artifacts.root / dataset.sha256
    path.write_bytes(path.read_bytes() + b"\n")  # edited on disk
    done = _cli(history, "audit", "verify", "--files")
    assert done.returncode == 1 and "was changed on disk" in done.stdout and dataset.sha256[:12] in done.stdout
    path.unlink()
    done = _cli(history, "audit", "verify", "--files")
    assert done.returncode == 1 and "is missing" in done.stdout


def test_checking_a_checkpoint_never_makes_a_signing_key(history):
    cp = take_checkpoint(history)
    key_file = history.paths.keys / "checkpoint-ed25519.pem"
    key_file.unlink()  # e.g. a copy of the workspace without its keys/ folder
    verdict = check_checkpoint(history, cp)
    assert verdict.ok and not verdict.same_key and "another key" in verdict.message
    assert not key_file.exists()
