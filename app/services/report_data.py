"""Gather a compliance report's evidence: one JSON-ready dict, read in one snapshot with bulk queries.

The renderers (HTML, PDF) draw everything from this dict and nothing else, so the JSON file is the
evidence and the documents are views of it. Sections follow COMPLIANCE.md: metadata, conclusions,
inventory, per-model history / provenance / validation / monitoring / decisions / findings,
logging, sign-offs and integrity (added by `app.services.reports`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.compliance import CARD_FIELDS, DATASHEET_FIELDS, past_due
from app.core.errors import InvalidInputError, NotFoundError
from app.core.timeutil import to_iso, utcnow
from app.services.convert import aware
from app.store.orm import (SqlAlert, SqlApproval, SqlAuditEvent, SqlBatch, SqlDataset, SqlFeatureDrift, SqlFinding,
                           SqlModel, SqlReview, SqlSetting, SqlStageChange, SqlVersion)
from app.store.workspace import Workspace

__all__ = ["ReportScope", "build_evidence", "REPORT_SCHEMA", "VALIDATION_MAX_AGE_DAYS"]

REPORT_SCHEMA = "model-steward/report/1"
VALIDATION_MAX_AGE_DAYS = 365  # SR 11-7 expects at least an annual review of models in use
ALERT_DUE_DAYS = {"high": 7, "medium": 14, "low": 30, "none": 30}


@dataclass(frozen=True, slots=True)
class ReportScope:
    models: tuple[str, ...] = ()  # empty: the whole inventory
    since: datetime | None = None
    until: datetime | None = None
    prepared_by: str = ""
    prepared_for: str = ""
    title: str = "Model risk audit report"
    criteria: tuple[str, ...] = field(default_factory=tuple)


DEFAULT_CRITERIA = (
    "Every model in use has a complete model card (purpose, intended and out-of-scope use, limitations, "
    "ethical considerations, owner, validator).",
    f"Every model in use was independently validated within the last {VALIDATION_MAX_AGE_DAYS} days.",
    "Every move to Production passed its gate set in advance, or carries a recorded override.",
    "Every drift, quality or performance breach was resolved with a recorded decision within its due time.",
    "Every training dataset has a datasheet (description and source).",
    "The audit log verifies and extends the previous report's checkpoint.",
)


def _iso(moment: datetime | None) -> str | None:
    return to_iso(aware(moment)) if moment is not None else None


def _in(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if moment is None:
        return False
    moment = aware(moment)
    return (since is None or moment >= since) and (until is None or moment <= until)


def _status(stages: list[str]) -> str:
    if "production" in stages:
        return "in_use"
    if stages and all(s == "archived" for s in stages):
        return "retired"
    return "development"


def build_evidence(ws: Workspace, scope: ReportScope, *, report_id: str, app_version: str) -> dict[str, Any]:
    """Everything the report states, except the integrity section (which needs the finished evidence)."""
    since = aware(scope.since) if scope.since else None
    until = aware(scope.until) if scope.until else None
    if since and until and since > until:
        raise InvalidInputError("The period starts after it ends.", hint="Give a start on or before the end.")
    now = utcnow()
    with ws.db.read() as session:
        models = _scoped_models(session, scope.models)
        ids = [m.id for m in models]
        gather = _Gatherer(session, ids, since, until, now)
        per_model = [gather.model_section(m) for m in models]
        logging = gather.logging_section()
        names = [m.name for m in models]
    inventory = [section.pop("inventory") for section in per_model]
    gaps = [g for section in per_model for g in section.pop("gaps")]
    signoffs = [s for section in per_model for s in section.pop("signoffs")]
    evidence = {
        "schema": REPORT_SCHEMA,
        "metadata": {
            "report_id": report_id, "title": scope.title, "generated_at": to_iso(now),
            "period": {"since": _iso(since), "until": _iso(until)},
            "scope": {"whole_inventory": not scope.models, "models": names},
            "criteria": list(scope.criteria or DEFAULT_CRITERIA),
            "prepared_by": scope.prepared_by, "prepared_for": scope.prepared_for,
            "app_version": app_version, "workspace": ws.root.name,  # the folder name: no local path leaves the machine
        },
        "conclusions": {"gaps": gaps},  # completed by conclude() once the integrity checks are known
        "inventory": inventory,
        "models": per_model,
        "logging": logging,
        "signoffs": signoffs,
    }
    return evidence


def _scoped_models(session: Session, names: tuple[str, ...]) -> list[SqlModel]:
    if not names:
        return list(session.scalars(select(SqlModel).order_by(SqlModel.name)))
    rows = {m.name: m for m in session.scalars(select(SqlModel).where(SqlModel.name.in_(names)))}
    missing = [n for n in names if n not in rows]
    if missing:
        raise NotFoundError(f"No model named {', '.join(repr(n) for n in missing)}.",
                            hint="`steward model list` shows the registered models.")
    return [rows[n] for n in dict.fromkeys(names)]


class _Gatherer:
    """Bulk reads for the models in scope, grouped by model id, then one section per model."""

    def __init__(self, session: Session, ids: list[int], since, until, now: datetime) -> None:
        self.session, self.since, self.until, self.now = session, since, until, now
        self.versions = _group(session.scalars(select(SqlVersion).where(SqlVersion.model_id.in_(ids))
                                               .order_by(SqlVersion.number)), "model_id")
        self.version_by_id = {v.id: v for vs in self.versions.values() for v in vs}
        dataset_ids = {v.train_dataset_id for v in self.version_by_id.values()} | {
            v.test_dataset_id for v in self.version_by_id.values() if v.test_dataset_id}
        self.datasets = {d.id: d for d in session.scalars(select(SqlDataset).where(SqlDataset.id.in_(dataset_ids)))}
        self.changes = _group(session.scalars(select(SqlStageChange).where(SqlStageChange.model_id.in_(ids))
                                              .order_by(SqlStageChange.at, SqlStageChange.id)), "model_id")
        seqs = [c.audit_seq for cs in self.changes.values() for c in cs]
        self.change_details = {seq: details for chunk in _chunks(seqs, 20_000) for seq, details in session.execute(
            select(SqlAuditEvent.seq, SqlAuditEvent.details).where(SqlAuditEvent.seq.in_(chunk)))}
        self.approvals = _group(session.scalars(select(SqlApproval).where(SqlApproval.model_id.in_(ids))
                                                .order_by(SqlApproval.id)), "model_id")
        self.alerts = _group(session.scalars(select(SqlAlert).where(SqlAlert.model_id.in_(ids))
                                             .order_by(SqlAlert.id)), "model_id")
        self.findings = _group(session.scalars(select(SqlFinding).where(SqlFinding.model_id.in_(ids))
                                               .order_by(SqlFinding.id)), "model_id")
        self.reviews = _group(session.scalars(select(SqlReview).where(SqlReview.model_id.in_(ids))
                                              .order_by(SqlReview.at, SqlReview.id)), "model_id")
        # Batches without their full drift report (tens of kB each); drifted features come from feature_drift.
        batch_cols = (SqlBatch.id, SqlBatch.model_id, SqlBatch.version_id, SqlBatch.kind, SqlBatch.label,
                      SqlBatch.input_name, SqlBatch.input_sha256, SqlBatch.output_sha256, SqlBatch.rows,
                      SqlBatch.drift_share, SqlBatch.dataset_drift, SqlBatch.performance, SqlBatch.labels_sha256,
                      SqlBatch.created_at, SqlBatch.created_by)
        query = select(*batch_cols).where(SqlBatch.model_id.in_(ids))
        if since is not None:
            query = query.where(SqlBatch.created_at >= since.replace(tzinfo=None))
        if until is not None:
            query = query.where(SqlBatch.created_at <= until.replace(tzinfo=None))
        from app.services.settings import DEFAULTS

        self._defaults = DEFAULTS
        self._settings = {(r.scope, r.key): dict(r.value or {}) for r in session.scalars(select(SqlSetting))}
        self.batches = _group(session.execute(query.order_by(SqlBatch.created_at, SqlBatch.id)).all(), "model_id")
        batch_ids = [b.id for bs in self.batches.values() for b in bs]
        self.drifted = defaultdict(list)
        for chunk in _chunks(batch_ids, 20_000):
            for batch_id, feature, psi, severity in session.execute(
                    select(SqlFeatureDrift.batch_id, SqlFeatureDrift.feature, SqlFeatureDrift.psi,
                           SqlFeatureDrift.severity)
                    .where(SqlFeatureDrift.batch_id.in_(chunk), SqlFeatureDrift.drifted.is_(True))):
                self.drifted[batch_id].append({"feature": feature, "psi": psi, "severity": severity})

    def _plan(self, model_id: int, group: str) -> dict:
        """Defaults, then workspace values, then the model's overrides (as app.services.settings merges them)."""
        merged = dict(self._defaults.get(group, {}))
        merged.update(self._settings.get(("workspace", group), {}))
        merged.update(self._settings.get((f"model:{model_id}", group), {}))
        return merged

    # -- one model ---------------------------------------------------------------------------------
    def model_section(self, m: SqlModel) -> dict[str, Any]:
        versions = self.versions.get(m.id, [])
        number = {v.id: v.number for v in versions}
        stages = [v.stage for v in versions]
        production = next((v for v in versions if v.stage == "production"), None)
        reviews = self.reviews.get(m.id, [])
        validations = [r for r in reviews if r.role == "validator" and r.outcome != "rejected"]
        last_validation = aware(validations[-1].at) if validations else None
        status = _status(stages)
        section: dict[str, Any] = {"name": m.name, "status": status}
        section["inventory"] = self._inventory(m, versions, production, status, last_validation)
        section["versions"] = [self._version(v, number) for v in versions if _in(v.created_at, None, self.until)]
        section["stage_changes"] = [self._change(c, number) for c in self.changes.get(m.id, [])
                                    if _in(c.at, self.since, self.until)]
        section["approvals"] = [self._approval(a, number) for a in self.approvals.get(m.id, [])
                                if _in(a.requested_at, self.since, self.until) or _in(a.decided_at, self.since, self.until)]
        section["datasets"] = self._datasets(versions)
        section["validation"] = [self._validation(v) for v in versions if _in(v.created_at, None, self.until)]
        section["monitoring"] = self._monitoring(m, number)
        section["decisions"] = [self._decision(b, number) for b in self.batches.get(m.id, [])]
        section["findings"] = [self._finding(f) for f in self.findings.get(m.id, [])
                               if _in(f.opened_at, None, self.until)
                               and (f.closed_at is None or _in(f.closed_at, self.since, None))]
        section["reviews"] = [self._review(r, number) for r in reviews if _in(r.at, None, self.until)]
        section["gaps"] = self._gaps(m, section, status, last_validation)
        section["signoffs"] = self._signoffs(m, reviews, section["approvals"], number)
        return section

    def _inventory(self, m: SqlModel, versions, production, status: str, last_validation) -> dict[str, Any]:
        live = production or (versions[-1] if versions else None)
        train = self.datasets.get(live.train_dataset_id) if live else None
        return {
            "name": m.name, "purpose": m.description, "intended_use": m.intended_use,
            "out_of_scope_use": m.out_of_scope_use, "limitations": m.limitations,
            "ethical_considerations": m.ethical_considerations,
            "inputs": [{"name": f["name"], "dtype": f.get("dtype", "")} for f in (live.features if live else [])],
            "input_sources": [s for s in [train.source if train else ""] if s],
            "outputs": {"target": live.target if live else "", "task": live.task if live else "",
                        "classes": list(live.classes or []) if live else []},
            "status": status, "production_version": production.number if production else None,
            "latest_version": versions[-1].number if versions else None, "risk_tier": m.risk_tier,
            "owner": m.owner, "developer": versions[0].created_by if versions else m.created_by,
            "validator": m.validator, "tags": list(m.tags or []),
            "last_validation": _iso(last_validation),
            "next_review": _iso(m.next_review_at),
            "valid_until": _iso(m.next_review_at or (last_validation + timedelta(days=VALIDATION_MAX_AGE_DAYS)
                                                     if last_validation else None)),
            "registered_at": _iso(m.created_at), "registered_by": m.created_by,
        }

    def _version(self, v: SqlVersion, number: dict[int, int]) -> dict[str, Any]:
        return {
            "number": v.number, "stage": v.stage, "artifact_sha256": v.artifact_sha256,
            "artifact_size": v.artifact_size, "estimator": v.estimator_class,
            "parent": number.get(v.parent_id) if v.parent_id else None, "change_summary": v.note,
            "created_at": _iso(v.created_at), "created_by": v.created_by,
            "train_dataset_sha256": self.datasets[v.train_dataset_id].sha256,
            "environment": dict(v.environment or {}),
        }

    def _change(self, c: SqlStageChange, number: dict[int, int]) -> dict[str, Any]:
        details = json.loads(self.change_details.get(c.audit_seq) or "{}")
        kind = ("rollback" if details.get("gate") == "rollback" else
                "deployment" if c.to_stage == "production" else
                "retirement" if c.to_stage == "archived" else "stage change")
        return {"version": number.get(c.version_id), "from": c.from_stage, "to": c.to_stage, "kind": kind,
                "reason": c.reason, "actor": c.actor, "at": _iso(c.at), "audit_seq": c.audit_seq,
                "gate": details.get("gate"), "override": details.get("override"),
                "approval": details.get("approval"), "policy": details.get("policy")}

    def _approval(self, a: SqlApproval, number: dict[int, int]) -> dict[str, Any]:
        return {"id": a.id, "version": number.get(a.version_id), "status": a.status, "reason": a.reason,
                "override": a.override, "requested_by": a.requested_by, "requested_at": _iso(a.requested_at),
                "decided_by": a.decided_by, "decided_at": _iso(a.decided_at), "rationale": a.rationale}

    def _datasets(self, versions) -> list[dict[str, Any]]:
        used: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"train": [], "test": []})
        for v in versions:
            used[v.train_dataset_id]["train"].append(v.number)
            if v.test_dataset_id:
                used[v.test_dataset_id]["test"].append(v.number)
        out = []
        for dataset_id, roles in used.items():
            d = self.datasets[dataset_id]
            out.append({"sha256": d.sha256, "name": d.name, "format": d.format, "rows": d.rows,
                        "columns": len(d.columns or []), "size_bytes": d.size_bytes,
                        "registered_at": _iso(d.created_at), "registered_by": d.created_by,
                        "description": d.description, "source": d.source, "limitations": d.limitations,
                        "train_for_versions": roles["train"], "test_for_versions": roles["test"]})
        return out

    def _validation(self, v: SqlVersion) -> dict[str, Any]:
        evaluation = dict(v.evaluation or {})
        gate = evaluation.get("gate") or (v.provenance or {}).get("gate")
        test = self.datasets.get(v.test_dataset_id) if v.test_dataset_id else None
        method = evaluation.get("method") or ("held-out test file" if test else "seeded hold-out split")
        return {"version": v.number, "method": method, "metrics": dict(v.metrics or {}),
                "rows": evaluation.get("rows") or evaluation.get("test_rows"),
                "test_dataset_sha256": test.sha256 if test else evaluation.get("dataset_sha256"),
                "standard_errors": evaluation.get("standard_errors") or {},
                "gate": gate, "evaluated_at": _iso(v.created_at), "evaluated_by": v.created_by}

    def _monitoring(self, m: SqlModel, number: dict[int, int]) -> dict[str, Any]:
        plan = {group: self._plan(m.id, group) for group in ("drift", "quality", "performance")}
        batches = [{"id": b.id, "at": _iso(b.created_at), "version": number.get(b.version_id), "label": b.label,
                    "rows": b.rows, "drift_share": b.drift_share, "dataset_drift": bool(b.dataset_drift),
                    "drifted_features": self.drifted.get(b.id, []),
                    "performance": b.performance} for b in self.batches.get(m.id, [])]
        breaches = []
        for a in self.alerts.get(m.id, []):
            if not (_in(a.opened_at, self.since, self.until) or _in(a.resolved_at, self.since, self.until)
                    or (a.resolved_at is None and _in(a.opened_at, None, self.until))):
                continue
            due = aware(a.opened_at) + timedelta(days=ALERT_DUE_DAYS.get(a.severity, 30))
            breaches.append({
                "id": a.id, "kind": a.kind, "severity": a.severity, "title": a.title, "batch": a.batch_id,
                "version": number.get(a.version_id), "opened_at": _iso(a.opened_at), "due_at": to_iso(due),
                "status": a.status, "acknowledged_by": a.acknowledged_by, "decision": a.decision,
                "rationale": a.rationale, "decided_by": a.resolved_by, "resolved_at": _iso(a.resolved_at),
                "expires_at": _iso(a.expires_at), "linked_version": number.get(a.linked_version_id),
                "linked_job": a.linked_job_id,
                "overdue": (a.resolved_at is None and due < self.now) or
                           (a.resolved_at is not None and aware(a.resolved_at) > due)})
        return {"plan": plan, "frequency": "every batch scored or recorded", "batches": batches,
                "breaches": breaches}

    def _decision(self, b, number: dict[int, int]) -> dict[str, Any]:
        return {"batch": b.id, "at": _iso(b.created_at), "version": number.get(b.version_id), "kind": b.kind,
                "label": b.label, "input_name": b.input_name, "rows": b.rows, "input_sha256": b.input_sha256,
                "output_sha256": b.output_sha256, "labels_sha256": b.labels_sha256, "actor": b.created_by}

    def _finding(self, f: SqlFinding) -> dict[str, Any]:
        return {"id": f.id, "title": f.title, "description": f.description, "severity": f.severity,
                "versions": list(f.versions or []), "status": f.status, "root_cause": f.root_cause,
                "corrective_action": f.corrective_action, "alert": f.alert_id, "due_at": _iso(f.due_at),
                "opened_at": _iso(f.opened_at), "opened_by": f.opened_by, "closed_at": _iso(f.closed_at),
                "closed_by": f.closed_by}

    def _review(self, r: SqlReview, number: dict[int, int]) -> dict[str, Any]:
        return {"id": r.id, "role": r.role, "outcome": r.outcome, "note": r.note, "reviewer": r.reviewer,
                "at": _iso(r.at), "version": number.get(r.version_id) if r.version_id else None}

    def _gaps(self, m: SqlModel, section: dict, status: str, last_validation) -> list[dict[str, Any]]:
        gaps = []

        def gap(kind: str, severity: str, text: str) -> None:
            gaps.append({"model": m.name, "kind": kind, "severity": severity, "text": text})

        empty = [f.label for f in CARD_FIELDS if f.required and not (getattr(m, f.key) or "").strip()]
        if empty:
            gap("card_field", "medium" if status != "in_use" else "high",
                f"Model card fields empty: {', '.join(empty)}.")
        if status == "in_use":
            if last_validation is None:
                gap("validation", "high", "In use but never independently validated.")
            elif (self.now - last_validation).days > VALIDATION_MAX_AGE_DAYS:
                gap("validation", "high", f"No validation for {(self.now - last_validation).days // 30} months "
                    f"(last on {last_validation.date().isoformat()}).")
        if m.next_review_at is not None and past_due(m.next_review_at, self.now) and status != "retired":
            gap("review_due", "medium", f"Review was due on {aware(m.next_review_at).date().isoformat()}.")
        for d in section["datasets"]:
            missing = [f.label.lower() for f in DATASHEET_FIELDS if f.required and not (d[f.key] or "").strip()]
            if missing:
                gap("datasheet", "low", f"Dataset {d['name']} ({d['sha256'][:12]}) has no {' or '.join(missing)}.")
        for b in section["monitoring"]["breaches"]:
            if b["overdue"] and b["resolved_at"] is None:
                gap("alert_overdue", "high" if b["severity"] == "high" else "medium",
                    f"Alert #{b['id']} ({b['kind']}, {b['severity']}) open past its due date {b['due_at'][:10]}.")
            elif b["overdue"]:
                gap("alert_late", "low", f"Alert #{b['id']} was resolved after its due date {b['due_at'][:10]}.")
        for f in section["findings"]:
            due = datetime.fromisoformat(f["due_at"].replace("Z", "+00:00")) if f["due_at"] else None
            if f["status"] == "open" and due is not None and past_due(due, self.now):
                gap("finding_overdue", "high" if f["severity"] == "high" else "medium",
                    f"Finding #{f['id']} '{f['title']}' open past its due date {f['due_at'][:10]}.")
        for c in section["stage_changes"]:
            if c["gate"] == "overridden":
                gap("gate_override", "low", f"Version {c['version']} went to Production over a failed gate "
                    f"({c['at'][:10]}, by {c['actor']}): see the recorded rationale.")
        if status == "in_use" and not section["monitoring"]["batches"] and (self.since or self.until):
            gap("monitoring", "medium", "In use, but no batch was scored or recorded in the period.")
        return gaps

    def _signoffs(self, m: SqlModel, reviews, approvals: list[dict], number: dict[int, int]) -> list[dict]:
        out = []
        for role in ("owner", "validator"):
            latest = [r for r in reviews if r.role == role and _in(r.at, None, self.until)]
            if latest:
                r = latest[-1]
                out.append({"model": m.name, "role": role, "name": r.reviewer, "outcome": r.outcome,
                            "date": _iso(r.at), "note": r.note,
                            "version": number.get(r.version_id) if r.version_id else None})
            else:
                out.append({"model": m.name, "role": role, "name": getattr(m, role) or "", "outcome": "missing",
                            "date": None, "note": "no sign-off recorded", "version": None})
        for a in approvals:
            if a["status"] == "approved":
                out.append({"model": m.name, "role": "approver", "name": a["decided_by"], "outcome": "approved",
                            "date": a["decided_at"], "note": a["rationale"] or "", "version": a["version"]})
        return out

    # -- the log ------------------------------------------------------------------------------------
    def logging_section(self) -> dict[str, Any]:
        query = select(SqlAuditEvent.action, func.count(), func.min(SqlAuditEvent.at), func.max(SqlAuditEvent.at))
        if self.since is not None:
            query = query.where(SqlAuditEvent.at >= to_iso(self.since))
        if self.until is not None:
            query = query.where(SqlAuditEvent.at <= to_iso(self.until))
        rows = self.session.execute(query.group_by(SqlAuditEvent.action).order_by(SqlAuditEvent.action)).all()
        first, last = self.session.execute(select(func.min(SqlAuditEvent.at), func.max(SqlAuditEvent.at))).one()
        return {
            "what_is_logged": "Every change to the registry, every stage move with its reason, approvals, "
                              "overrides, scored and recorded batches with input and output hashes, alerts "
                              "and their decisions, findings, sign-offs, retraining jobs, settings changes "
                              "and report exports; each event hash-chained to the one before.",
            "actions_in_period": [{"action": a, "events": n, "first": lo, "last": hi} for a, n, lo, hi in rows],
            "events_in_period": sum(n for _a, n, _lo, _hi in rows),
            "log_starts": first, "log_ends": last,
            "retention": "Events are never deleted or updated (triggers refuse it); the whole log is kept for "
                         "the life of the workspace. Input and output files of batches are kept by hash in "
                         "the workspace's artifact store.",
        }


def _group(rows, key: str) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for row in rows:
        out[getattr(row, key)].append(row)
    return out


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]
