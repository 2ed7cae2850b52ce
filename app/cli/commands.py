"""Command handlers: parse nothing, call one service, print its result."""

from __future__ import annotations

import argparse

from app.cli.render import fmt_metrics, print_json, print_table, short_time
from app.cli.render import open_ws as _ws
from app.cli.render import progress as _progress

__all__ = ["dispatch"]


def cmd_init(args) -> int:
    ws = _ws(args)
    info = {"workspace": str(ws.root), "database": str(ws.paths.db), "artifacts": str(ws.paths.artifacts),
            "cleaned": list(ws.cleaned), "problems": list(getattr(ws, "problems", []))}
    if args.json:
        print_json(info)
    else:
        print(f"Workspace ready at {ws.root}")
        for line in ws.cleaned:
            print(f"  cleaned up: {line}")
    return 0


def cmd_demo(args) -> int:
    from app.services.demo import create_demo

    ws = _ws(args)
    names = create_demo(ws, progress=_progress)
    print(f"Demo workspace created at {ws.root}: {', '.join(names)}")
    print(f"Open it with: steward --home {ws.root} gui")
    return 0


def cmd_gui(args) -> int:
    from app.ui.main import run_gui

    return run_gui(args.home, demo_if_empty=True if args.demo else None,
                   quit_after_paint=args.quit_after_paint)


def cmd_model(args) -> int:
    from app.cli.compliance import cmd_model_card, cmd_model_signoff

    return {"register": _register, "list": _list, "show": _show, "promote": _promote, "card": cmd_model_card,
            "signoff": cmd_model_signoff}[args.action](args)


def _register(args) -> int:
    from app.services.register import ModelCard, register_model

    card = ModelCard(description=args.description, owner=args.owner, intended_use=args.intended_use,
                     out_of_scope_use=args.out_of_scope_use, risk_tier=args.risk_tier,
                     tags=tuple(t.strip() for t in args.tags.split(",") if t.strip()))
    version = register_model(_ws(args), args.name, args.model_file, args.train_data, args.target,
                             test_data=args.test_data, card=card, note=args.note, trust=args.trust,
                             progress=_progress)
    if args.json:
        print_json(version)
    else:
        print(f"Registered {version.model_name} version {version.number} "
              f"({version.estimator_class.rsplit('.', 1)[-1]}, {version.task}).")
        print(f"  metrics: {fmt_metrics(version.metrics)}")
        print(f"  artifact sha256: {version.artifact_sha256}")
        if version.provenance.get("trusted"):
            print(f"  TRUSTED despite: {', '.join(version.provenance['disallowed'])} (recorded in the audit log)")
    return 0


def _list(args) -> int:
    from app.services.queries import list_models

    models = list_models(_ws(args), args.search)
    if args.json:
        print_json(models)
        return 0
    print_table(
        ["NAME", "PRODUCTION", "LATEST", "VERSIONS", "OWNER", "RISK", "LAST CHANGE"],
        [[m.name, m.production_version or "-", f"v{m.latest_version} {m.latest_stage.label}" if m.latest_version else "-",
          m.versions, m.owner, m.risk_tier.value, f"{short_time(m.last_change_at)} by {m.last_change_by}"]
         for m in models],
        empty="No models yet. Register one with `steward model register`, or try `steward demo`.",
    )
    return 0


def _show(args) -> int:
    from app.services.queries import (
        get_model,
        get_version,
        list_versions,
        stage_history,
    )

    ws = _ws(args)
    if args.version is not None:
        version = get_version(ws, args.name, args.version)
        if args.json:
            print_json(version)
        else:
            _print_version(version)
        return 0
    model, versions, history = get_model(ws, args.name), list_versions(ws, args.name), stage_history(ws, args.name)
    if args.json:
        print_json({"model": model, "versions": versions, "stage_history": history})
        return 0
    print(f"{model.name}  (owner {model.owner}, risk {model.risk_tier.value})")
    for label, text in (("Description", model.description), ("Intended use", model.intended_use),
                        ("Out of scope", model.out_of_scope_use)):
        if text:
            print(f"  {label}: {text}")
    if model.tags:
        print(f"  Tags: {', '.join(model.tags)}")
    print()
    print_table(["VERSION", "STAGE", "ESTIMATOR", "METRICS", "CREATED"],
                [[v.number, v.stage.label, v.estimator_class.rsplit(".", 1)[-1], fmt_metrics(v.metrics),
                  f"{short_time(v.created_at)} by {v.created_by}"] for v in versions])
    print()
    print("Stage history:")
    print_table(["WHEN", "VERSION", "FROM", "TO", "BY", "REASON"],
                [[short_time(c.at), c.version, c.from_stage.label, c.to_stage.label, c.actor, c.reason]
                 for c in history], empty="  (no stage changes yet)")
    return 0


def _print_version(v) -> None:
    print(f"{v.model_name} version {v.number}  [{v.stage.label}]")
    rows = [("Estimator", v.estimator_class), ("Task", v.task.value), ("Target", v.target),
            ("Classes", ", ".join(v.classes) if v.classes else "-"),
            ("Features", ", ".join(f"{f.name}:{f.dtype}" for f in v.features)),
            ("Metrics", fmt_metrics(v.metrics)), ("Evaluated on", v.evaluation.get("method", "")),
            ("Artifact sha256", v.artifact_sha256), ("Training data", v.train_dataset_sha256),
            ("Test data", v.test_dataset_sha256 or "-"), ("Parent version", v.parent_number or "-"),
            ("Libraries", ", ".join(f"{k} {val}" for k, val in v.environment.items())),
            ("Registered", f"{short_time(v.created_at)} by {v.created_by}"), ("Note", v.note or "-")]
    for label, value in rows:
        print(f"  {label + ':':<17}{value}")


def _promote(args) -> int:
    from app.cli.approvals import print_promotion
    from app.services.stages import promote

    promotion = promote(_ws(args), args.name, args.version, args.stage, args.reason, override=args.override)
    if args.json:
        # The list of moves as before; under separation of duties, the request that was opened instead.
        print_json(promotion.approval if promotion.pending else promotion.moves)
    else:
        print_promotion(promotion)
    return 0


def cmd_dataset(args) -> int:
    from app.services.queries import get_dataset, list_datasets

    if args.action == "describe":
        from app.cli.compliance import cmd_dataset_describe

        return cmd_dataset_describe(args)
    ws = _ws(args)
    if args.action == "list":
        datasets = list_datasets(ws)
        if args.json:
            print_json(datasets)
        else:
            print_table(["ID", "SHA256", "NAME", "FORMAT", "ROWS", "COLUMNS", "ADDED"],
                        [[d.id, d.sha256[:16], d.name, d.format, d.rows, len(d.columns),
                          f"{short_time(d.created_at)} by {d.created_by}"] for d in datasets])
        return 0
    d = get_dataset(ws, args.ref)
    if args.json:
        print_json(d)
    else:
        print(f"{d.name}  ({d.format}, {d.rows} rows, {d.size_bytes} bytes)")
        print(f"  sha256: {d.sha256}")
        print(f"  source: {d.source_path}")
        print(f"  added:  {short_time(d.created_at)} by {d.created_by}")
        print_table(["COLUMN", "DTYPE"], [[c, d.schema.get(c, "")] for c in d.columns])
    return 0


def _verify_files(ws, args) -> bool:
    """`audit verify --files`: every recorded artifact file is there and still has its hash."""
    from app.services.housekeeping import check_artifacts

    problems = check_artifacts(ws)
    if args.json:
        print_json({"files_ok": not problems, "file_problems": problems})
    else:
        print("Artifact files intact." if not problems else f"{len(problems)} artifact file problem(s):")
        for line in problems:
            print(f"  {line}")
    return not problems


def cmd_audit(args) -> int:
    from app.services.audit import AuditFilter, list_events, verify_log

    ws = _ws(args)
    if args.action == "verify":
        files_ok = _verify_files(ws, args) if getattr(args, "files", False) else True
        if getattr(args, "checkpoint", None):
            from app.cli.compliance import checkpoint_verify

            return max(checkpoint_verify(args, ws), 0 if files_ok else 1)
        result = verify_log(ws)
        if args.json:
            print_json(result)
        else:
            print(result.summary)
            if result.ok:
                print(f"  {result.events} events in {result.seconds:.3f} s")
        return 0 if result.ok and files_ok else 1
    from app.core.timeutil import parse_user_date

    filt = AuditFilter(
        model=args.model, action=args.event_action, actor=args.actor,
        since=parse_user_date(args.since) if args.since else None,
        until=parse_user_date(args.until, end_of_day=True) if args.until else None,
    )
    events = list_events(ws, filt, limit=args.limit)
    if args.json:
        print_json(events)
        return 0
    print_table(["#", "TIME", "ACTOR", "ACTION", "OBJECT"],
                [[e.seq, short_time(e.at), e.actor, e.action, e.object] for e in events],
                empty="No audit events match.")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    from app.cli import approvals, jobs, monitoring

    handlers = {"init": cmd_init, "demo": cmd_demo, "gui": cmd_gui, "model": cmd_model,
                "dataset": cmd_dataset, "audit": cmd_audit, "score": monitoring.cmd_score,
                "monitor": monitoring.cmd_monitor, "batches": monitoring.cmd_batches,
                "labels": monitoring.cmd_labels, "alerts": monitoring.cmd_alerts,
                "settings": monitoring.cmd_settings, "retrain": jobs.cmd_retrain, "jobs": jobs.cmd_jobs,
                "recipe": jobs.cmd_recipe, "approvals": approvals.cmd_approvals}
    from app.cli.automation import HANDLERS as automation_handlers
    from app.cli.compliance import HANDLERS as compliance_handlers

    return (handlers | automation_handlers | compliance_handlers)[args.command](args)
