"""Turn the evidence dict into the report's blocks: sections 0–2 and 9–11 here, 3–8 in outline_models.

Everything a reader sees is decided here (wording, order, what an empty list says, where long tables
stop); the renderers only add markup.
"""

from __future__ import annotations

import json
from typing import Any

from app.reports.blocks import Block, Bullets, Code, Heading, KeyValues, Para, Table, Verdict
from app.reports.outline_models import model_sections
from app.reports.text import (ROW_CAP, SECTIONS, Badge, Mono, cap_rows, dash, fmt_time, kind_label, plural,
                              severity_badge, status_badge)

__all__ = ["build_outline", "section_heading", "GAP_CAP"]

GAP_CAP = 500  # the gap list across all models; the matrix above it still counts every gap
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def section_heading(index: int) -> Heading:
    return Heading(1, str(index), SECTIONS[index], f"s{index}")


def build_outline(evidence: dict[str, Any]) -> list[Block]:
    """All blocks of the report, in reading order, starting with the heading of section 0."""
    blocks: list[Block] = []
    _metadata(blocks, evidence)
    _conclusions(blocks, evidence)
    _inventory(blocks, evidence)
    blocks += model_sections(evidence, section_heading)
    _logging(blocks, evidence.get("logging") or {})
    _signoffs(blocks, evidence.get("signoffs") or [])
    _integrity(blocks, evidence.get("integrity") or {})
    return blocks


def _period(period: dict[str, Any]) -> str:
    since, until = period.get("since"), period.get("until")
    if not since and not until:
        return "All recorded history (no start or end date)"
    if since and until:
        return f"{fmt_time(since)} to {fmt_time(until)} UTC"
    return f"From {fmt_time(since)} UTC" if since else f"Up to {fmt_time(until)} UTC"


def _metadata(blocks: list[Block], evidence: dict[str, Any]) -> None:
    meta = evidence.get("metadata") or {}
    scope = meta.get("scope") or {}
    names = list(scope.get("models") or [])
    listed = ", ".join(names[:20]) + (f", and {len(names) - 20:,} more" if len(names) > 20 else "")
    scope_text = (f"The whole inventory: {plural(len(names), 'model')}" if scope.get("whole_inventory")
                  else f"{plural(len(names), 'selected model')}: {listed or 'none'}")
    blocks += [
        section_heading(0),
        KeyValues((
            ("Report ID", Mono(dash(meta.get("report_id")))),
            ("Title", dash(meta.get("title"))),
            ("Period", _period(meta.get("period") or {})),
            ("Scope", scope_text),
            ("Prepared by", dash(meta.get("prepared_by")) if meta.get("prepared_by") else "not stated"),
            ("Prepared for", dash(meta.get("prepared_for")) if meta.get("prepared_for") else "not stated"),
            ("Generated at", f"{fmt_time(meta.get('generated_at'), seconds=True)} UTC"),
            ("Application", f"Model Steward {dash(meta.get('app_version'))}"),
            ("Evidence schema", Mono(dash(evidence.get("schema")))),
            ("Workspace", Mono(dash(meta.get("workspace")))),
        )),
        Heading(3, "", "Criteria assessed"),
        Bullets(tuple(str(c) for c in meta.get("criteria") or []) or ("No criteria stated.",), ordered=True),
        Para("All times are UTC. Hashes are SHA-256; tables show the first 16 hex digits. The JSON evidence "
             "file exported with this report holds every value in full and every row of tables that are "
             "shortened here.", "muted"),
    ]


def _conclusions(blocks: list[Block], evidence: dict[str, Any]) -> None:
    c = evidence.get("conclusions") or {}
    overall = c.get("overall") or "not assessed"
    blocks += [section_heading(1),
               Verdict(f"Overall: {overall}", "good" if overall == "criteria met" else "bad")]
    criteria = c.get("criteria") or []
    if criteria:
        rows = [(str(i), dash(x.get("criterion")),
                 Badge("met", "good") if x.get("met") is True else Badge("not met", "bad")
                 if x.get("met") is False else Badge("reviewer", "neutral"), dash(x.get("detail")))
                for i, x in enumerate(criteria, 1)]
        blocks.append(Table(("#", "Criterion", "Result", "Detail"), rows, numeric=(0,), widths=(4, 40, 10, 46)))
    else:
        blocks.append(Para("No criteria were assessed.", "empty"))
    blocks += [Heading(3, "", "Key findings"),
               Bullets(tuple(str(k) for k in c.get("key_findings") or []) or ("No key findings recorded.",))]
    gaps = list(c.get("gaps") or [])
    matrix = c.get("gap_matrix") or {"kinds": [], "rows": []}
    blocks.append(Heading(3, "", "Gap matrix"))
    if not gaps or not matrix.get("rows"):
        blocks.append(Para("No gaps in the evidence.", "empty"))
        return
    blocks.append(Para("Gaps found in the evidence, counted by model and kind. A coloured count carries the "
                       "severity of the worst gap in it.", "muted"))
    worst: dict[tuple[str, str], str] = {}
    for g in gaps:
        key = (g.get("model") or "(workspace)", g.get("kind") or "")
        if _SEVERITY_RANK.get(g.get("severity"), 3) < _SEVERITY_RANK.get(worst.get(key), 3):
            worst[key] = g.get("severity")
    kinds = list(matrix.get("kinds") or [])
    rows = []
    for row in matrix["rows"]:
        counts = row.get("counts") or {}
        cells: list[Any] = [dash(row.get("model"))]
        for k in kinds:
            n = counts.get(k, 0)
            cells.append(Badge(str(n), _tone(worst.get((row.get("model"), k)))) if n else "·")
        cells.append(str(sum(counts.values())))
        rows.append(tuple(cells))
    shown, more = cap_rows(rows)
    blocks.append(Table(("Model", *(kind_label(k) for k in kinds), "Total"), shown, more, "models",
                        numeric=tuple(range(1, len(kinds) + 2))))
    blocks.append(Heading(3, "", "Gaps"))
    ordered = sorted(gaps, key=lambda g: _SEVERITY_RANK.get(g.get("severity"), 3))
    shown_gaps, more = cap_rows(ordered, GAP_CAP)
    blocks.append(Table(("Severity", "Model", "Kind", "Gap"),
                        [(severity_badge(g.get("severity")), dash(g.get("model") or "(workspace)"),
                          kind_label(g.get("kind") or ""), dash(g.get("text"))) for g in shown_gaps],
                        more, "gaps", widths=(10, 22, 16, 52)))


def _tone(severity: str | None) -> str:
    badge = severity_badge(severity)
    return badge.tone if isinstance(badge, Badge) else "neutral"


def _inventory(blocks: list[Block], evidence: dict[str, Any]) -> None:
    inventory = evidence.get("inventory") or []
    blocks.append(section_heading(2))
    if not inventory:
        blocks.append(Para("No models in scope.", "empty"))
        return
    blocks.append(Table(
        ("Model", "Status", "Risk tier", "In production", "Owner", "Validator", "Last validation", "Valid until"),
        [(dash(m.get("name")), status_badge(m.get("status")), _risk(m.get("risk_tier")),
          f"v{m['production_version']}" if m.get("production_version") else "—", dash(m.get("owner")),
          _required(m.get("validator")), fmt_time(m.get("last_validation"))[:10],
          fmt_time(m.get("valid_until"))[:10]) for m in inventory]))
    for i, m in enumerate(inventory, 1):
        blocks += [Heading(2, f"2.{i}", dash(m.get("name")), f"s2-{i}"), KeyValues(_card(m))]


def _risk(tier: str | None) -> Badge | str:
    return severity_badge(tier) if tier else "—"


def _required(value: Any) -> Badge | str:
    """A field the model card must have: its value, or a red 'not recorded'."""
    text = dash(value)
    return text if text != "—" else Badge("not recorded", "bad")


def _card(m: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    inputs = m.get("inputs") or []
    names = ", ".join(f"{f.get('name')} ({f.get('dtype') or '?'})" for f in inputs[:40])
    if len(inputs) > 40:
        names += f", and {len(inputs) - 40:,} more"
    outputs = m.get("outputs") or {}
    classes = outputs.get("classes") or []
    output = f"{dash(outputs.get('target'))} ({dash(outputs.get('task'))})"
    if classes:
        output += "; classes " + ", ".join(str(c) for c in classes[:20]) + (" …" if len(classes) > 20 else "")
    versions = (f"production v{m['production_version']}" if m.get("production_version") else "none in production")
    if m.get("latest_version"):
        versions += f"; latest v{m['latest_version']}"
    return (
        ("Purpose", _required(m.get("purpose"))),
        ("Intended use", _required(m.get("intended_use"))),
        ("Out-of-scope use", _required(m.get("out_of_scope_use"))),
        ("Limitations", _required(m.get("limitations"))),
        ("Ethical considerations", _required(m.get("ethical_considerations"))),
        ("Inputs", f"{plural(len(inputs), 'feature')}: {names}" if inputs else "—"),
        ("Input sources", ", ".join(m.get("input_sources") or []) or "—"),
        ("Outputs", output),
        ("Status", status_badge(m.get("status"))),
        ("Versions", versions),
        ("Risk tier", _risk(m.get("risk_tier"))),
        ("Owner", _required(m.get("owner"))),
        ("Developer", dash(m.get("developer"))),
        ("Validator", _required(m.get("validator"))),
        ("Tags", ", ".join(m.get("tags") or []) or "—"),
        ("Registered", f"{fmt_time(m.get('registered_at'))} by {dash(m.get('registered_by'))}"),
        ("Last validation", fmt_time(m.get("last_validation")) if m.get("last_validation") else Badge("none", "bad")
         if m.get("status") == "in_use" else "—"),
        ("Next review", fmt_time(m.get("next_review"))[:10]),
        ("Valid until", fmt_time(m.get("valid_until"))[:10]),
    )


def _logging(blocks: list[Block], log: dict[str, Any]) -> None:
    blocks += [section_heading(9), Para(dash(log.get("what_is_logged")), "lead"),
               KeyValues((("Events in the period", f"{log.get('events_in_period') or 0:,}"),
                          ("Log starts", fmt_time(log.get("log_starts"), seconds=True)),
                          ("Log ends", fmt_time(log.get("log_ends"), seconds=True)),
                          ("Retention", dash(log.get("retention"))))),
               Heading(3, "", "Events in the period by action")]
    actions = log.get("actions_in_period") or []
    if not actions:
        blocks.append(Para("No events in the period.", "empty"))
        return
    shown, more = cap_rows(actions, ROW_CAP)
    blocks.append(Table(("Action", "Events", "First", "Last"),
                        [(Mono(dash(a.get("action"))), f"{a.get('events') or 0:,}", fmt_time(a.get("first")),
                          fmt_time(a.get("last"))) for a in shown], more, "actions", numeric=(1,)))


def _signoffs(blocks: list[Block], signoffs: list[dict[str, Any]]) -> None:
    blocks.append(section_heading(10))
    if not signoffs:
        blocks.append(Para("No sign-offs recorded.", "empty"))
        return
    shown, more = cap_rows(signoffs, ROW_CAP * 5)
    blocks.append(Table(("Model", "Role", "Name", "Outcome", "Date", "Version", "Note"),
                        [(dash(s.get("model")), dash(s.get("role")), _required(s.get("name")),
                          status_badge(s.get("outcome")), fmt_time(s.get("date")),
                          f"v{s['version']}" if s.get("version") else "—", dash(s.get("note"))) for s in shown],
                        more, "sign-offs", widths=(20, 10, 14, 11, 13, 7, 25)))


def _integrity(blocks: list[Block], integrity: dict[str, Any]) -> None:
    chain = integrity.get("chain") or {}
    cp = integrity.get("checkpoint") or {}
    blocks += [
        section_heading(11),
        Heading(3, "", "Audit log verification"),
        KeyValues((
            ("Result", Badge("verified", "good") if chain.get("ok") else Badge("does NOT verify", "bad")),
            ("Summary", dash(chain.get("summary"))),
            ("Events", f"{chain.get('events') or 0:,}"),
            ("Head hash", Mono(dash(chain.get("head_hash")))),
            *((("First bad event", str(chain.get("first_bad_seq"))),) if chain.get("first_bad_seq") else ()),
            *((("Problem", dash(chain.get("problem"))),) if chain.get("problem") else ()),
        )),
        Heading(3, "", "Signed checkpoint of the log"),
        KeyValues((
            ("Events covered", f"{cp.get('events') or 0:,}"),
            ("Merkle root", Mono(dash(cp.get("root")))),
            ("Head hash", Mono(dash(cp.get("head_hash")))),
            ("Log ID", Mono(dash(cp.get("log_id")))),
            ("Taken at", f"{fmt_time(cp.get('at'), seconds=True)} UTC"),
            ("Key fingerprint", Mono(dash(integrity.get("key_fingerprint") or cp.get("key_fingerprint")))),
            ("Public key (Ed25519)", Mono(dash(cp.get("public_key")))),
            ("Checkpoint signature", Mono(dash(cp.get("signature")))),
        )),
        Para("To check that a workspace's log still contains these events unchanged, copy the checkpoint below "
             "into a file (for example checkpoint.json) and run: steward audit verify --checkpoint checkpoint.json"),
        Code(json.dumps(cp, sort_keys=True),
             json.dumps(cp, sort_keys=True, indent=0).replace("\n}", "}").replace("{\n", "{"), "Checkpoint (JSON)"),
        Heading(3, "", "Previous report"),
    ]
    prev = integrity.get("previous")
    if not prev:
        blocks.append(Para("None: this is the first report exported from this workspace, so there is no earlier "
                           "checkpoint to compare with.", "empty"))
    else:
        check, old = prev.get("check") or {}, prev.get("checkpoint") or {}
        blocks.append(KeyValues((
            ("Report ID", Mono(dash(prev.get("report_id")))),
            ("Check", Badge(dash(check.get("status")), "good" if check.get("ok") else "bad")),
            ("Result", dash(check.get("message"))),
            ("Its checkpoint", f"{old.get('events') or 0:,} events, taken {fmt_time(old.get('at'), seconds=True)} UTC"),
            ("Its Merkle root", Mono(dash(old.get("root")))),
            ("Consistency proof", f"{plural(len(prev.get('consistency_proof') or []), 'hash', 'hashes')} "
                                  "(in the JSON evidence)"),
        )))
    signature = integrity.get("signature")
    blocks += [
        Heading(3, "", "This report's evidence"),
        KeyValues((
            ("Evidence SHA-256", Mono(dash(integrity.get("evidence_sha256")))),
            ("Report signature", Mono(signature) if signature else
             "Ed25519, over the evidence SHA-256 and the SHA-256 of each rendered file. It is stored in the JSON "
             "file (integrity.signature): a document cannot carry a signature over its own bytes."),
            ("Check with", "steward report verify REPORT.json (with this file beside it)"),
        )),
        Heading(3, "", "Limits of this evidence"),
        Bullets(tuple(str(x) for x in integrity.get("limits") or []) or ("No limits stated.",)),
    ]
