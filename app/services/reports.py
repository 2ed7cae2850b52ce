"""Export compliance reports (JSON evidence, HTML, PDF) carrying a signed log checkpoint, and verify them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.audit.checkpoint import Checkpoint, canonical_json, fingerprint_of, signature_ok, verify_bytes
from app.audit.merkle import verify_consistency
from app.core.errors import InvalidInputError, StewardError
from app.core.files import read_json_file
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event, verify_log
from app.services.checkpoints import (check_checkpoint, previous_report_checkpoint, proof_between,
                                      read_leaves, take_checkpoint, workspace_key)
from app.services.report_data import REPORT_SCHEMA, ReportScope, build_evidence
from app.store.workspace import Workspace

__all__ = ["FORMATS", "ExportResult", "export_report", "ReportCheck", "verify_report", "evidence_digest",
           "parse_formats", "LIMITS", "schema_path"]

FORMATS = ("pdf", "html", "json")
Progress = Callable[[float, str], None]

# What this evidence can and cannot show; every report states it.
LIMITS = (
    "The hash chain shows that no event was changed, removed from the middle, reordered or inserted after "
    "it was written. It cannot show that an event was truthful when it was written.",
    "The chain alone cannot show that the newest events were deleted, or that the whole log was rebuilt. "
    "The signed checkpoint in this report closes that gap only for the events it covers, and only for as "
    "long as a copy of this report is kept somewhere the workspace's users cannot change.",
    "The signing key is a file in the workspace folder. Whoever can read it can sign a checkpoint; a log "
    "rewritten before any checkpoint left the machine cannot be detected.",
    "Times are the workstation's clock in UTC; nothing here proves the clock was right.",
)


def schema_path() -> Path:
    return Path(__file__).resolve().parent.parent / "reports" / "report.schema.json"


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    items = [f.strip().lower() for f in (text.split(",") if isinstance(text, str) else text) if f.strip()]
    unknown = sorted(set(items) - set(FORMATS))
    if unknown or not items:
        raise InvalidInputError(f"Unknown report format(s): {', '.join(unknown) or '(none given)'}.",
                                hint="Use any of pdf, html, json, separated by commas.")
    return tuple(f for f in FORMATS if f in items)  # a fixed order: json last, it lists the others


def evidence_digest(evidence: dict[str, Any]) -> str:
    """SHA-256 of the evidence without the fields that are derived from it (digest, signature, files)."""
    body = dict(evidence)
    integrity = {k: v for k, v in (body.get("integrity") or {}).items()
                 if k not in ("evidence_sha256", "signature", "rendered")}
    body["integrity"] = integrity
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _signed_statement(digest: str, rendered: dict[str, Any]) -> bytes:
    return canonical_json({"format": "model-steward/report-signature/1", "evidence_sha256": digest,
                           "rendered": rendered})


@dataclass(frozen=True, slots=True)
class ExportResult:
    report_id: str
    files: dict[str, Path]
    evidence_sha256: str
    checkpoint: Checkpoint
    previous: dict[str, Any] | None
    gaps: int
    audit_seq: int


def export_report(ws: Workspace, scope: ReportScope, formats: Iterable[str], out_dir: Path, *,
                  progress: Progress | None = None, is_cancelled: Callable[[], bool] | None = None,
                  actor: str | None = None) -> ExportResult:
    """Write the report in each format to `out_dir` and record the export in the audit log.

    Files appear under their final names only after the audit event is written; a failure or a
    cancel leaves neither files nor event behind.
    """
    from app import __version__

    formats = parse_formats(formats)
    progress = progress or (lambda _f, _m: None)
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"'{out_dir}' is a file, not a folder.", hint="Choose a folder for the report.")
    try:  # first: an output folder that cannot be made is refused before anything (a key, an event) is made
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from None
    actor = actor or current_actor()
    scope = dataclasses.replace(scope, prepared_by=scope.prepared_by or actor)
    report_id = f"MS-{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"

    def check_cancel() -> None:
        if is_cancelled is not None and is_cancelled():
            raise ReportCancelled("The report export was cancelled; nothing was written.")

    progress(0.02, "Verifying the audit log")
    chain = verify_log(ws)
    check_cancel()
    progress(0.15, "Taking a signed checkpoint")
    leaves = read_leaves(ws)
    key = workspace_key(ws)
    checkpoint = take_checkpoint(ws, leaves, key)
    previous_id, previous_cp = previous_report_checkpoint(ws)
    previous = None
    if previous_cp is not None:
        verdict = check_checkpoint(ws, previous_cp, leaves)
        proof = proof_between(previous_cp.events, leaves) if verdict.ok and previous_cp.events else []
        previous = {"report_id": previous_id, "checkpoint": previous_cp.to_dict(), "check": verdict.to_dict(),
                    "consistency_proof": proof}
    check_cancel()
    progress(0.25, "Gathering the evidence")
    evidence = build_evidence(ws, scope, report_id=report_id, app_version=__version__)
    evidence["integrity"] = {
        "checkpoint": checkpoint.to_dict(),
        "previous": previous,
        "chain": {"ok": chain.ok, "events": chain.events, "first_bad_seq": chain.first_bad_seq,
                  "problem": chain.problem, "head_hash": chain.head_hash, "summary": chain.summary},
        "key_fingerprint": checkpoint.key_fingerprint,
        "public_key": checkpoint.public_key,
        "limits": list(LIMITS),
    }
    evidence["conclusions"] = conclude(evidence)
    digest = evidence_digest(evidence)
    evidence["integrity"]["evidence_sha256"] = digest
    check_cancel()

    staged: dict[str, Path] = {}
    final = {fmt: out_dir / f"{report_id}.{fmt}" for fmt in formats}
    try:
        rendered: dict[str, Any] = {}
        for i, fmt in enumerate(f for f in formats if f != "json"):
            progress(0.35 + 0.5 * i / max(1, len(formats)), f"Writing the {fmt.upper()} report")
            staged[fmt] = _stage(out_dir, report_id, fmt)
            _render(fmt, evidence, staged[fmt])
            rendered[fmt] = {"file": final[fmt].name, "sha256": _file_sha256(staged[fmt])}
            check_cancel()
        evidence["integrity"]["rendered"] = rendered
        evidence["integrity"]["signature"] = key.sign(_signed_statement(digest, rendered))
        if "json" in formats:
            staged["json"] = _stage(out_dir, report_id, "json")
            # Compact: Python's C encoder only runs without indentation (10× faster at a whole inventory);
            # `jq .` or any JSON viewer lays it out.
            staged["json"].write_text(json.dumps(evidence, ensure_ascii=False, separators=(",", ":")) + "\n",
                                      encoding="utf-8")
        progress(0.92, "Recording the export")
        details = {"report_id": report_id, "formats": list(formats), "evidence_sha256": digest,
                   "models": evidence["metadata"]["scope"]["models"] if scope.models else "all",
                   "period": evidence["metadata"]["period"], "checkpoint": checkpoint.to_dict(),
                   "previous_report": previous_id, "rendered": rendered,
                   "gaps": len(evidence["conclusions"]["gaps"])}
        seq = ws.db.write(lambda s: append_event(s, "report.exported", f"report:{report_id}", actor=actor,
                                                 details=details))
        for fmt, path in staged.items():
            os.replace(path, final[fmt])
    except OSError as exc:  # disk full, permissions, a folder inside a file: the user can fix it
        raise _unwritable(out_dir, exc) from None
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)
    progress(1.0, "Report written")
    return ExportResult(report_id, final, digest, checkpoint, previous, len(evidence["conclusions"]["gaps"]), seq)


def _unwritable(folder: Path, exc: OSError) -> InvalidInputError:
    return InvalidInputError(f"Could not write the report in '{folder}': {exc.strerror or exc}.",
                             hint="Choose a folder you can write to, with free space.")


class ReportCancelled(StewardError):
    exit_code = 130


def _stage(out_dir: Path, report_id: str, fmt: str) -> Path:
    return out_dir / f".{report_id}.{fmt}.{os.getpid()}.part"


def _render(fmt: str, evidence: dict[str, Any], path: Path) -> None:
    if fmt == "html":
        from app.reports.html import render_html

        path.write_text(render_html(evidence), encoding="utf-8")
    elif fmt == "pdf":
        from app.reports.pdf import render_pdf

        render_pdf(evidence, path)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- conclusions --------------------------------------------------------------------------------------
_CRITERIA_GAPS = (
    ("card_field",), ("validation", "review_due"), ("gate_override",), ("alert_overdue", "alert_late"),
    ("datasheet",), ("log",),
)


def conclude(evidence: dict[str, Any]) -> dict[str, Any]:
    """Criteria met or not, key findings, and the gap matrix (gaps by model and kind)."""
    from app.services.report_data import DEFAULT_CRITERIA

    gaps = list(evidence["conclusions"].get("gaps", []))
    integrity = evidence["integrity"]
    if not integrity["chain"]["ok"]:
        gaps.insert(0, {"model": None, "kind": "log", "severity": "high",
                        "text": f"The audit log does not verify: {integrity['chain']['summary']}"})
    prev = integrity.get("previous")
    if prev is not None and not prev["check"]["ok"]:
        gaps.insert(0, {"model": None, "kind": "log", "severity": "high",
                        "text": f"The log no longer extends report {prev['report_id']}'s checkpoint: "
                                f"{prev['check']['message']}"})
    criteria = []
    for text in evidence["metadata"]["criteria"]:
        if text in DEFAULT_CRITERIA:
            related = _CRITERIA_GAPS[DEFAULT_CRITERIA.index(text)]
            hits = [g for g in gaps if g["kind"] in related]
            met = not hits if related != ("gate_override",) else True
            detail = ("no gaps" if not hits else f"{len(hits)} gap(s): " + "; ".join(
                f"{g['model'] or 'workspace'}: {g['text'].rstrip('.')}" for g in hits[:3]) + (" …" if len(hits) > 3 else ""))
            if related == ("gate_override",) and hits:
                detail = f"met; {len(hits)} move(s) to Production overrode a failed gate with a recorded rationale"
            criteria.append({"criterion": text, "met": met, "detail": detail})
        else:
            criteria.append({"criterion": text, "met": None, "detail": "assessed by the reviewer"})
    models = evidence["inventory"]
    in_use = sum(1 for m in models if m["status"] == "in_use")
    breaches = [b for m in evidence["models"] for b in m["monitoring"]["breaches"]]
    open_findings = sum(1 for m in evidence["models"] for f in m["findings"] if f["status"] == "open")
    key = [
        f"{len(models)} model(s) in scope, {in_use} in use.",
        f"{len(gaps)} gap(s) in the evidence: " + ", ".join(
            f"{sum(1 for g in gaps if g['severity'] == s)} {s}" for s in ("high", "medium", "low")) + ".",
        f"{len(breaches)} monitoring breach(es) in the period, {sum(1 for b in breaches if not b['resolved_at'])} "
        f"still unresolved; {open_findings} open finding(s).",
        "The audit log verifies." if integrity["chain"]["ok"] else "The audit log does NOT verify.",
    ]
    if prev is not None:
        key.append(f"Previous report {prev['report_id']}: {prev['check']['message']}")
    else:
        key.append("This is the first report exported from this workspace: no earlier checkpoint to compare.")
    matrix = _matrix(gaps)
    return {"criteria": criteria, "key_findings": key, "gaps": gaps, "gap_matrix": matrix,
            "overall": "criteria met" if all(c["met"] is not False for c in criteria) else "criteria not met"}


def _matrix(gaps: list[dict]) -> dict[str, Any]:
    kinds = sorted({g["kind"] for g in gaps})
    rows: dict[str, dict[str, int]] = {}
    for g in gaps:
        row = rows.setdefault(g["model"] or "(workspace)", {k: 0 for k in kinds})
        row[g["kind"]] += 1
    return {"kinds": kinds, "rows": [{"model": m, "counts": c} for m, c in sorted(rows.items())]}


# -- verification -------------------------------------------------------------------------------------
@dataclass
class ReportCheck:
    report_id: str
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c["ok"] is not False for c in self.checks)

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})

    def to_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "ok": self.ok, "checks": self.checks}


def verify_report(path: Path, ws: Workspace | None = None) -> ReportCheck:
    """Check a report's JSON: schema, evidence digest, signature, checkpoint, the previous report's
    checkpoint and proof, the rendered files beside it, and (given a workspace) today's log."""
    path = Path(path)
    evidence = read_json_file(path, what="a JSON report", hint="Give the .json file exported with the report.")
    if not isinstance(evidence, dict) or evidence.get("schema") != REPORT_SCHEMA:
        raise InvalidInputError(f"'{path.name}' is not a Model Steward report (schema {REPORT_SCHEMA}).")
    problems = _shape_problems(evidence)
    if problems:  # the checks below read these parts; of another type they would fail as a crash
        raise InvalidInputError(f"'{path.name}' is not a well-formed report: {'; '.join(problems[:3])}.",
                                hint="It was damaged or edited; verify an exported copy of it.")
    check = ReportCheck(str((evidence.get("metadata") or {}).get("report_id", "?")))
    errors = schema_errors(evidence)
    check.add("schema", not errors, "valid against report.schema.json" if not errors else "; ".join(errors[:3]))
    integrity = evidence.get("integrity") or {}
    digest = evidence_digest(evidence)
    check.add("evidence digest", digest == integrity.get("evidence_sha256"),
              f"SHA-256 {digest}" if digest == integrity.get("evidence_sha256")
              else "the evidence was changed after export (its SHA-256 no longer matches)")
    public = integrity.get("public_key") or ""
    try:
        fingerprint = fingerprint_of(base64.b64decode(public, validate=True))
    except ValueError:
        fingerprint = ""
    same = fingerprint == integrity.get("key_fingerprint")
    signed = same and verify_bytes(public, integrity.get("signature") or "",
                                   _signed_statement(integrity.get("evidence_sha256") or "",
                                                     integrity.get("rendered") or {}))
    check.add("signature", signed, f"Ed25519, key {fingerprint}" if signed else
              "the report's signature does not match its key and contents")
    try:
        cp = Checkpoint.from_dict(integrity.get("checkpoint") or {})
        cp_ok = signature_ok(cp) and cp.key_fingerprint == integrity.get("key_fingerprint")
        check.add("checkpoint", cp_ok, f"{cp.events:,} events, root {cp.root[:16]}…, signed" if cp_ok
                  else "the checkpoint's signature is not valid")
    except (ValueError, TypeError) as exc:
        cp = None
        check.add("checkpoint", False, f"no usable checkpoint: {exc}")
    _check_previous(check, integrity.get("previous"), cp)
    for fmt, info in (integrity.get("rendered") or {}).items():
        sibling = path.with_name(info.get("file", ""))
        if not sibling.is_file():
            check.add(f"{fmt} file", None, f"{sibling.name} is not beside the JSON (not checked)")
        else:
            same_file = _file_sha256(sibling) == info.get("sha256")
            check.add(f"{fmt} file", same_file, f"{sibling.name} matches its recorded SHA-256" if same_file
                      else f"{sibling.name} was changed after export")
    if ws is not None and cp is not None:
        verdict = check_checkpoint(ws, cp)
        check.add("workspace log", verdict.ok, verdict.message)
    return check


def _check_previous(check: ReportCheck, previous: dict | None, cp: Checkpoint | None) -> None:
    if not previous:
        check.add("previous checkpoint", None, "none: the first report of this workspace")
        return
    try:
        old = Checkpoint.from_dict(previous["checkpoint"])
    except (KeyError, ValueError, TypeError):
        check.add("previous checkpoint", False, "the previous report's checkpoint is unreadable")
        return
    if not signature_ok(old):
        check.add("previous checkpoint", False, "the previous report's checkpoint signature is not valid")
        return
    if cp is None or not (previous.get("check") or {}).get("ok"):
        check.add("previous checkpoint", False, f"report {previous.get('report_id')}: "
                  + str((previous.get("check") or {}).get("message", "not extended")))
        return
    try:
        proof = [bytes.fromhex(p) for p in previous.get("consistency_proof") or []]
        ok = old.events == 0 or verify_consistency(old.events, cp.events, bytes.fromhex(old.root),
                                                   bytes.fromhex(cp.root), proof)
    except ValueError:  # not hexadecimal: edited by hand
        ok = False
    check.add("previous checkpoint", ok,
              f"report {previous.get('report_id')}'s {old.events:,} events are the first {old.events:,} of this "
              "checkpoint (consistency proof verified)" if ok else "the consistency proof does not verify")


_CHECKPOINT_TEXT = ("root", "head_hash", "log_id", "at", "key_fingerprint", "public_key", "signature")


def _shape_problems(evidence: dict[str, Any]) -> list[str]:
    """Parts verify_report reads that have the wrong type (their values are judged by the checks)."""
    problems = []

    def want(value: Any, kinds: tuple, where: str) -> bool:
        if value is None or isinstance(value, kinds):
            return True
        problems.append(f"{where} should be {' or '.join(k.__name__ for k in kinds)}, not {type(value).__name__}")
        return False

    def checkpoint(value: Any, where: str) -> None:
        if want(value, (dict,), where) and value:
            for key in _CHECKPOINT_TEXT:
                if key in value and not isinstance(value[key], str):
                    problems.append(f"{where}/{key} should be str, not {type(value[key]).__name__}")

    want(evidence.get("metadata"), (dict,), "metadata")
    integrity = evidence.get("integrity")
    if not want(integrity, (dict,), "integrity") or not integrity:
        return problems
    for key in ("evidence_sha256", "public_key", "key_fingerprint", "signature"):
        want(integrity.get(key), (str,), f"integrity/{key}")
    checkpoint(integrity.get("checkpoint"), "integrity/checkpoint")
    rendered = integrity.get("rendered")
    if want(rendered, (dict,), "integrity/rendered") and rendered:
        for fmt, info in rendered.items():
            if want(info, (dict,), f"integrity/rendered/{fmt}") and info:
                want(info.get("file"), (str,), f"integrity/rendered/{fmt}/file")
    previous = integrity.get("previous")
    if want(previous, (dict,), "integrity/previous") and previous:
        checkpoint(previous.get("checkpoint"), "integrity/previous/checkpoint")
        want(previous.get("check"), (dict,), "integrity/previous/check")
        proof = previous.get("consistency_proof")
        if want(proof, (list,), "integrity/previous/consistency_proof") and proof:
            for p in proof:
                want(p, (str,), "integrity/previous/consistency_proof/item")
    return problems


def schema_errors(evidence: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(evidence)]
