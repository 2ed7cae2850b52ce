"""Command handlers for compliance work: reports, checkpoints, as-of questions, model cards, sign-offs, findings."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.render import open_ws as _ws
from app.cli.render import print_json, print_table, short_time
from app.cli.render import progress as _progress

__all__ = ["add_parsers", "add_model_parsers", "HANDLERS", "cmd_model_card", "cmd_model_signoff",
           "cmd_dataset_describe", "checkpoint_verify"]


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_model_parsers(model, dataset) -> None:
    """`model card`, `model signoff` and `dataset describe` (added to the existing command groups)."""
    from app.core.compliance import CARD_FIELDS

    p = model.add_parser("card", help="show or change a model's card (purpose, uses, limitations, ...)")
    p.add_argument("name")
    for f in CARD_FIELDS:
        flag = "--purpose" if f.key == "description" else f"--{f.key.replace('_', '-')}"
        p.add_argument(flag, dest=f"card_{f.key}", metavar="TEXT", help=f"{f.label.lower()} ('' clears it)")
    p.add_argument("--risk-tier", dest="card_risk_tier", choices=["low", "medium", "high"])
    p.add_argument("--tags", dest="card_tags", metavar="A,B")
    p.add_argument("--next-review", dest="card_next_review_at", metavar="YYYY-MM-DD", help="'' clears it")
    _json(p)
    p = model.add_parser("signoff", help="record a validator's validation or an owner's attestation")
    p.add_argument("name")
    p.add_argument("--role", choices=["validator", "owner"], required=True)
    p.add_argument("--outcome", choices=["approved", "approved_with_conditions", "rejected"], required=True)
    p.add_argument("--note", default="", help="what was reviewed, on what evidence (required)")
    p.add_argument("--version", type=int, help="the version reviewed (default: the model as a whole)")
    p.add_argument("--next-review", metavar="YYYY-MM-DD", help="also set the model's next review date")
    _json(p)
    p = dataset.add_parser("describe", help="set a dataset's datasheet: description, source, limitations")
    p.add_argument("sha256", metavar="HASH", help="the dataset's hash or its first characters")
    p.add_argument("--description")
    p.add_argument("--source")
    p.add_argument("--limitations")
    _json(p)


def add_parsers(sub) -> None:
    report = sub.add_parser("report", help="export and verify compliance reports").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = report.add_parser("export", help="write an audit report (PDF, HTML, JSON) with a signed log checkpoint")
    p.add_argument("--model", action="append", default=[], metavar="NAME",
                   help="a model in scope (repeat for several; default: the whole inventory)")
    p.add_argument("--since", metavar="DATE", help="start of the period (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="end of the period (YYYY-MM-DD, inclusive)")
    p.add_argument("--format", default="pdf,html,json", metavar="F,F", help="any of pdf,html,json (default: all)")
    p.add_argument("--out", metavar="DIR", help="folder to write to (default: the workspace's reports folder)")
    p.add_argument("--prepared-for", default="", metavar="TEXT", help="who the report is for")
    p.add_argument("--title", default="", metavar="TEXT")
    _json(p)
    p = report.add_parser("verify", help="check a report's digest, signature, checkpoint and proof")
    p.add_argument("report", metavar="REPORT.json")
    p.add_argument("--against-workspace", action="store_true",
                   help="also check that this workspace's log still extends the report's checkpoint")
    _json(p)
    p = report.add_parser("list", help="reports exported from this workspace, newest first")
    _json(p)
    p = sub.add_parser("asof", help="what was in production at a moment, and everything about it")
    p.add_argument("name")
    p.add_argument("date", metavar="DATE", help="YYYY-MM-DD (the end of that day, UTC) or YYYY-MM-DDTHH:MM")
    _json(p)
    finding = sub.add_parser("finding", help="record, close and list findings (incidents)").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = finding.add_parser("open", help="record a finding on a model")
    p.add_argument("name")
    p.add_argument("--title", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--severity", choices=["low", "medium", "high"], default="medium")
    p.add_argument("--versions", default="", metavar="N,N", help="versions affected")
    p.add_argument("--due", metavar="YYYY-MM-DD")
    p.add_argument("--alert", type=int, metavar="ID", help="the alert it came from")
    p.add_argument("--root-cause", default="")
    _json(p)
    p = finding.add_parser("close", help="close a finding with the corrective action taken")
    p.add_argument("finding", type=int, metavar="ID")
    p.add_argument("--action", dest="corrective_action", default="", metavar="TEXT", help="corrective action (required)")
    p.add_argument("--root-cause", default="")
    _json(p)
    p = finding.add_parser("list", help="findings, newest first")
    p.add_argument("--model")
    p.add_argument("--status", choices=["open", "closed"])
    _json(p)


# -- handlers -----------------------------------------------------------------------------------------
def cmd_report(args) -> int:
    if args.action == "verify":
        return _report_verify(args)
    if args.action == "list":
        return _report_list(args)
    from app.core.timeutil import parse_user_date
    from app.services.report_data import ReportScope
    from app.services.reports import export_report, parse_formats

    formats = parse_formats(args.format)
    scope = ReportScope(models=tuple(args.model),
                        since=parse_user_date(args.since) if args.since else None,
                        until=parse_user_date(args.until, end_of_day=True) if args.until else None,
                        prepared_for=args.prepared_for, **({"title": args.title} if args.title else {}))
    ws = _ws(args)
    out = Path(args.out) if args.out else ws.paths.reports
    result = export_report(ws, scope, formats, out, progress=None if args.json else _progress)
    if args.json:
        print_json({"report_id": result.report_id, "files": {k: str(v) for k, v in result.files.items()},
                    "evidence_sha256": result.evidence_sha256, "checkpoint": result.checkpoint.to_dict(),
                    "previous": result.previous, "gaps": result.gaps, "audit_seq": result.audit_seq})
        return 0
    print(f"Report {result.report_id} written ({result.gaps} gap(s) in the evidence):")
    for path in result.files.values():
        print(f"  {path}")
    cp = result.checkpoint
    print(f"Checkpoint: {cp.events:,} events, Merkle root {cp.root}")
    print(f"Signed with key {cp.key_fingerprint}")
    if result.previous:
        print(f"Previous report {result.previous['report_id']}: {result.previous['check']['message']}")
    return 0


def _report_verify(args) -> int:
    from app.services.reports import verify_report

    ws = _ws(args) if args.against_workspace else None
    check = verify_report(Path(args.report), ws)
    if args.json:
        print_json(check.to_dict())
    else:
        print(f"Report {check.report_id}: {'OK' if check.ok else 'FAILED'}")
        for c in check.checks:
            mark = {True: "ok  ", False: "FAIL", None: "--  "}[c["ok"]]
            print(f"  {mark} {c['check']}: {c['detail']}")
    return 0 if check.ok else 1


def _report_list(args) -> int:
    from app.services.audit import AuditFilter, list_events

    events = list_events(_ws(args), AuditFilter(action="report.exported"))
    if args.json:
        print_json([{"seq": e.seq, "at": e.at, "actor": e.actor, **e.details} for e in events])
        return 0
    print_table(["REPORT", "EXPORTED", "BY", "EVENTS", "GAPS", "FORMATS"],
                [[e.details.get("report_id"), short_time(e.at), e.actor,
                  (e.details.get("checkpoint") or {}).get("events"), e.details.get("gaps"),
                  ",".join(e.details.get("formats") or [])] for e in events],
                empty="No report has been exported from this workspace yet.")
    return 0


def checkpoint_verify(args, ws) -> int:
    """`steward audit verify --checkpoint FILE`: the chain, then whether the log extends the checkpoint."""
    from app.services.audit import verify_log
    from app.services.checkpoints import check_checkpoint, load_checkpoint_file

    checkpoint = load_checkpoint_file(Path(args.checkpoint))
    chain = verify_log(ws)
    verdict = check_checkpoint(ws, checkpoint)
    ok = chain.ok and verdict.ok
    if args.json:
        print_json({"ok": ok, "chain": chain, "checkpoint": verdict.to_dict()})
    else:
        print(chain.summary)
        print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if ok else 1


def cmd_asof(args) -> int:
    from app.services.asof import as_of

    answer = as_of(_ws(args), args.name, args.date)
    if args.json:
        print_json(answer.to_dict())
        return 0
    print(f"{answer.model} as of {answer.at}")
    print(f"  {answer.message}")
    if answer.version is None:
        return 0
    gate = answer.clearance.get("gate") or "no gate recorded"
    rows = [
        ("Artifact", answer.artifact_sha256),
        ("Estimator", answer.estimator),
        ("Registered", f"{short_time(answer.registered_at)} by {answer.registered_by}"),
        ("Promoted", f"{short_time(answer.entered_at)} by {answer.entered_by}: {answer.entry_reason}"),
        ("Gate", gate + (f" — override: {answer.clearance['override']}" if answer.clearance.get("override") else "")),
        ("Approval", f"{answer.approval['approved_by']} on {short_time(answer.approval['approved_at'])}: "
                     f"{answer.approval['rationale']}" if answer.approval else "none recorded (no approval required)"),
        ("Trained on", f"{answer.train_dataset['name']} ({answer.train_dataset['rows']:,} rows) "
                       f"sha256 {answer.train_dataset['sha256']}" if answer.train_dataset else "?"),
        ("Metrics", ", ".join(f"{k} {v:.4g}" for k, v in answer.metrics.items())),
        ("Replaced", f"{short_time(answer.left_at)} by {answer.left_by}"
                     + (f" (by v{answer.replaced_by})" if answer.replaced_by else "") if answer.left_at else "not yet"),
    ]
    for label, text in rows:
        print(f"  {label + ':':<12}{text}")
    if answer.gate and answer.gate.get("criteria"):
        print()
        print_table(["CRITERION", "METRIC", "BOUND", "CHALLENGER", "CHAMPION", "RESULT"],
                    [[c.get("criterion"), c.get("metric"), c.get("threshold", c.get("tolerance")),
                      _num(c.get("challenger")), _num(c.get("champion")),
                      "pass" if c.get("passed") else "FAIL"] for c in answer.gate["criteria"]])
    print()
    print(f"Batches it scored while in production: {len(answer.batches)}")
    print_table(["BATCH", "TIME", "LABEL", "ROWS", "INPUT SHA-256", "OUTPUT SHA-256"],
                [[b["id"], short_time(b["at"]), b["label"], b["rows"], b["input_sha256"][:16],
                  (b["output_sha256"] or "")[:16]] for b in answer.batches], empty="(none)")
    return 0


def _num(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else ""


def cmd_model_card(args) -> int:
    from app.services.cards import CARD_KEYS, set_model_card
    from app.services.queries import get_model

    ws = _ws(args)
    values = {k: getattr(args, f"card_{k}") for k in CARD_KEYS if getattr(args, f"card_{k}", None) is not None}
    changes = set_model_card(ws, args.name, values) if values else {}
    model = get_model(ws, args.name)
    if args.json:
        print_json({"model": model, "changes": changes})
        return 0
    if values:
        print(f"Changed {', '.join(changes) or 'nothing (same values)'}.")
    from app.core.compliance import CARD_FIELDS

    for f in CARD_FIELDS:
        text = getattr(model, f.key) or ("(empty — a gap in reports)" if f.required else "(empty)")
        print(f"  {f.label + ':':<24}{text}")
    print(f"  {'Risk tier:':<24}{model.risk_tier.value}")
    print(f"  {'Tags:':<24}{', '.join(model.tags) or '(none)'}")
    print(f"  {'Next review:':<24}{model.next_review_at.date().isoformat() if model.next_review_at else '(not set)'}")
    return 0


def cmd_model_signoff(args) -> int:
    from app.services.findings import record_review

    review = record_review(_ws(args), args.name, args.role, args.outcome, args.note, version=args.version,
                           next_review=args.next_review)
    if args.json:
        print_json(review)
    else:
        what = f"v{review.version}" if review.version else "the model"
        print(f"Sign-off recorded: {review.reviewer} ({review.role.value}) {review.outcome.value} {what} "
              f"of {review.model_name}.")
    return 0


def cmd_dataset_describe(args) -> int:
    from app.services.cards import describe_dataset

    values = {k: getattr(args, k) for k in ("description", "source", "limitations") if getattr(args, k) is not None}
    changes = describe_dataset(_ws(args), args.sha256, values)
    if args.json:
        print_json(changes)
    else:
        print(f"Datasheet updated: {', '.join(changes) or 'nothing changed'}.")
    return 0


def cmd_finding(args) -> int:
    from app.core.errors import InvalidInputError
    from app.services import findings

    ws = _ws(args)
    if args.action == "open":
        try:
            versions = tuple(int(v) for v in args.versions.split(",") if v.strip())
        except ValueError:
            raise InvalidInputError(f"--versions must be numbers like 2,3, not '{args.versions}'.") from None
        found = findings.open_finding(ws, args.name, args.title, args.description, severity=args.severity,
                                      versions=versions, due=args.due, alert_id=args.alert, root_cause=args.root_cause)
        print_json(found) if args.json else print(f"Finding #{found.id} opened on {found.model_name}: {found.title}")
        return 0
    if args.action == "close":
        found = findings.close_finding(ws, args.finding, args.corrective_action, root_cause=args.root_cause)
        print_json(found) if args.json else print(f"Finding #{found.id} closed.")
        return 0
    items = findings.list_findings(ws, args.model, args.status)
    if args.json:
        print_json(items)
        return 0
    print_table(["ID", "OPENED", "MODEL", "SEVERITY", "STATUS", "DUE", "TITLE"],
                [[f.id, short_time(f.opened_at), f.model_name, f.severity, f.status.value,
                  f.due_at.date().isoformat() if f.due_at else "", f.title] for f in items],
                empty="No findings.")
    return 0


HANDLERS = {"report": cmd_report, "asof": cmd_asof, "finding": cmd_finding}
