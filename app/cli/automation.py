"""Command line for retraining schedules (`schedule`, `run-due`), `reproduce` and `shadow`."""

from __future__ import annotations

import argparse

from app.cli.render import fmt_metrics, print_json, print_table, short_time
from app.cli.render import open_ws as _ws

__all__ = ["add_parsers", "cmd_schedule", "cmd_run_due", "cmd_reproduce", "cmd_shadow", "HANDLERS"]


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_parsers(sub) -> None:
    schedule = sub.add_parser("schedule", help="retrain models on a cron schedule (UTC) or when alerts open") \
        .add_subparsers(dest="action", metavar="ACTION", required=True)
    p = schedule.add_parser("set", help="create or change a model's schedule (every change is audited)")
    p.add_argument("name")
    p.add_argument("--cron", metavar="EXPR", help="5 fields in UTC: minute hour day-of-month month day-of-week, "
                   "e.g. \"0 6 * * 1\" (Mondays 06:00 UTC); 'none' removes it")
    p.add_argument("--on-alert", metavar="SEVERITY", help="retrain when an alert of at least this severity opens "
                   "(low, medium, high); 'none' removes it")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="keep the schedule but stop it firing")
    state.add_argument("--enable", action="store_true", help="let a disabled schedule fire again")
    _json(p)
    p = schedule.add_parser("show", help="one model's schedule")
    p.add_argument("name")
    _json(p)
    _json(schedule.add_parser("list", help="every schedule with its next due time"))
    p = sub.add_parser("run-due", help="submit the retrains that are due (run it from cron)")
    _json(p)
    p = sub.add_parser("reproduce", help="refit a version as recorded and compare its metrics")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--tolerance", type=float, default=1e-9, help="largest absolute metric difference (1e-9)")
    _json(p)
    p = sub.add_parser("shadow", help="Staging versions scored beside Production on live batches")
    p.add_argument("name")
    _json(p)


def _when(moment) -> str:
    return f"{short_time(moment)} ({moment.strftime('%Y-%m-%d %H:%M')} UTC)" if moment else "-"


def _print_schedule(s) -> None:
    print(f"Schedule of {s.model_name}: {'enabled' if s.enabled else 'DISABLED'}")
    rows = [("Cron (UTC)", s.cron or "-"), ("On alert", f"severity {s.on_alert_severity} or worse"
                                             if s.on_alert_severity else "-"),
            ("Next due", _when(s.next_due_at)), ("Last run", _when(s.last_run_at)),
            ("Last job", f"#{s.last_job_id}" if s.last_job_id else "-"),
            ("Changed", f"{short_time(s.updated_at)} by {s.updated_by}")]
    for label, value in rows:
        print(f"  {label + ':':<12}{value}")


def cmd_schedule(args) -> int:
    from app.services import schedules

    ws = _ws(args)
    if args.action == "list":
        found = schedules.list_schedules(ws)
        if args.json:
            print_json(found)
            return 0
        print_table(["MODEL", "CRON (UTC)", "ON ALERT", "STATE", "NEXT DUE", "LAST RUN", "LAST JOB"],
                    [[s.model_name, s.cron or "-", s.on_alert_severity or "-",
                      "enabled" if s.enabled else "disabled", short_time(s.next_due_at) or "-",
                      short_time(s.last_run_at) or "-", f"#{s.last_job_id}" if s.last_job_id else "-"]
                     for s in found],
                    empty="No schedules. Create one with `steward schedule set NAME --cron \"0 6 * * 1\"`.")
        return 0
    if args.action == "set":
        kwargs = {}
        if args.cron is not None:
            kwargs["cron"] = args.cron
        if args.on_alert is not None:
            kwargs["on_alert"] = args.on_alert
        enabled = False if args.disable else (True if args.enable else None)
        found = schedules.set_schedule(ws, args.name, enabled=enabled, **kwargs)
    else:
        found = schedules.get_schedule(ws, args.name)
    if args.json:
        print_json(found)
    else:
        _print_schedule(found)
    return 0


def cmd_run_due(args) -> int:
    from app.services.schedules import run_due_report

    report = run_due_report(_ws(args))
    if args.json:
        print_json(report)
        return 0
    for job in report.submitted:
        print(f"Submitted retrain job #{job}{' (started)' if job in report.started else ''}.")
    for job in report.reused:
        print(f"A retrain was already on its way: job #{job}.")
    for failure in report.failed:
        print(f"Skipped {failure['model']}: {failure['error']}")
    if not (report.submitted or report.reused or report.failed):
        print("Nothing is due.")
    return 0


def cmd_reproduce(args) -> int:
    from app.services.reproduce import reproduce_version, reproduction_summary

    result = reproduce_version(_ws(args), args.name, args.version, tolerance=args.tolerance)
    if args.json:
        print_json(result)
        return 0 if result.match else 1
    print(reproduction_summary(result) + ".")
    print(f"  refitted: {result.source} recipe on {result.train_rows:,} rows (dataset {result.dataset_sha256[:16]}…)")
    print(f"  held out: {result.held_out_rows:,} rows, {result.held_out}")
    print_table(["METRIC", "RECORDED", "REPRODUCED", "DIFFERENCE", "MATCH"],
                [[c.metric, _num(c.recorded), _num(c.reproduced), _num(c.difference, ".2g"),
                  "yes" if c.match else "NO"] for c in result.metrics])
    if result.prediction_agreement is not None:
        print(f"  predictions agree with the stored model on {result.prediction_agreement:.2%} of held-out rows")
    for lib in result.libraries:
        print(f"  library differs: {lib.library} recorded {lib.recorded or '-'}, now {lib.current or '-'}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0 if result.match else 1


def _num(value, spec: str = ".6f") -> str:
    return "-" if value is None else format(value, spec)


def cmd_shadow(args) -> int:
    from app.services.shadow import shadow_comparison

    found = shadow_comparison(_ws(args), args.name)
    if args.json:
        print_json(found)
        return 0
    rows = []
    for b in found:
        for c in b.challengers:
            rows.append([b.batch_id, b.label or "-", short_time(b.created_at), f"v{b.production_version}",
                         f"v{c.version}", f"{b.rows:,}", f"{c.agreement:.1%}",
                         fmt_metrics(b.production_performance) if c.performance and b.production_performance else "-",
                         fmt_metrics(c.performance) if c.performance else "-"])
    print_table(["BATCH", "LABEL", "SCORED", "PROD", "SHADOW", "ROWS", "AGREEMENT", "PROD METRICS", "SHADOW METRICS"],
                rows, empty=f"No shadow scores for '{args.name}'. Batches are scored in shadow while a version is "
                "in Staging.")
    return 0


HANDLERS = {"schedule": cmd_schedule, "run-due": cmd_run_due, "reproduce": cmd_reproduce, "shadow": cmd_shadow}
