"""Command handlers for retraining, background jobs and recipes."""

from __future__ import annotations

import sys

from app.cli.render import fmt_metrics, print_json, print_table, short_time
from app.cli.render import open_ws as _ws

__all__ = ["cmd_retrain", "cmd_jobs", "cmd_recipe"]


def _show_progress(job) -> None:
    if sys.stderr.isatty():
        print(f"\r{int(job.progress * 100):3d}%  {job.state.value:<10} {job.message[:60]:<60}", end="",
              file=sys.stderr, flush=True)


def _duration(job) -> str:
    if job.started_at and job.finished_at:
        return f" in {(job.finished_at - job.started_at).total_seconds():.1f} s"
    return ""


def _print_gate(gate: dict) -> None:
    print(f"  gate: {'PASSED' if gate.get('passed') else 'FAILED'}")
    for c in gate.get("criteria", []):
        mark = "skip" if c.get("skipped") else ("ok" if c["passed"] else "FAIL")
        print(f"    [{mark:>4}] {c['criterion']:<14} {c['reason']}")
    if gate.get("caution"):
        print(f"  caution: {gate['caution']}")


def _job_error(job) -> int:
    print(f"error: job #{job.id} {job.state.value}: {job.error or job.message}", file=sys.stderr)
    return 1


def cmd_retrain(args) -> int:
    from app.core.jobs import JobState
    from app.services.jobs import get_job, start_queued, submit_retrain, wait_for_job

    ws = _ws(args)
    job_id = submit_retrain(ws, args.name, args.data)
    start_queued(ws)
    if not args.wait:
        job = get_job(ws, job_id, with_log=False)
        if args.json:
            print_json(job)
        else:
            print(f"Job #{job.id} {job.state.value}: retrain {args.name}. "
                  f"Follow it with `steward jobs show {job.id}`.")
        return 0
    try:
        job = wait_for_job(ws, job_id, on_update=_show_progress)
    except KeyboardInterrupt:
        print(f"\nStopped following; job #{job_id} goes on in the background "
              f"(`steward jobs cancel {job_id}` stops it).", file=sys.stderr)
        return 130
    if sys.stderr.isatty():
        print(file=sys.stderr)
    version = None
    if job.state is JobState.SUCCEEDED:
        from app.services.queries import get_version

        version = get_version(ws, args.name, job.result["version"])
    if args.json:
        print_json({"job": job, "version": version})
    elif version is not None:
        print(f"Job #{job.id} succeeded{_duration(job)}: {args.name} v{version.number} in {version.stage.label} "
              f"(parent v{job.result['parent_version']}, {job.result['dataset_rows']:,} rows).")
        print(f"  challenger: {fmt_metrics(job.result['metrics'])}")
        if job.result.get("champion_metrics"):
            print(f"  champion:   {fmt_metrics(job.result['champion_metrics'])}")
        _print_gate(job.result["gate"])
        if job.result.get("auto_promoted"):
            archived = ", ".join(f"v{n}" for n in job.result.get("archived_versions", []))
            print("  auto-promoted to Production by the model's policy"
                  + (f"; archived {archived}" if archived else ""))
    return 0 if job.state is JobState.SUCCEEDED else _job_error(job)


def cmd_jobs(args) -> int:
    from app.services import jobs

    ws = _ws(args)
    if args.action == "list":
        found = jobs.list_jobs(ws, model=args.model, state=args.state, limit=args.limit)
        if args.json:
            print_json(found)
            return 0
        print_table(["ID", "KIND", "MODEL", "STATE", "PROGRESS", "MESSAGE", "SUBMITTED", "BY"],
                    [[j.id, j.kind, j.model_name or "", j.state.value, f"{j.progress:.0%}", j.message[:50],
                      short_time(j.created_at), j.created_by] for j in found],
                    empty="No jobs yet. Start one with `steward retrain NAME`.")
        return 0
    if args.action == "cancel":
        job = jobs.cancel_job(ws, args.job, wait=not args.no_wait)
        if args.json:
            print_json(job)
        elif job.state.finished:
            print(f"Job #{job.id} is {job.state.value}.")
        else:
            print(f"Job #{job.id}: cancel requested; it stops at its next checkpoint or is terminated shortly.")
        return 0
    job = jobs.get_job(ws, args.job)
    if args.json:
        print_json(job)
        return 0
    print(f"Job #{job.id}  {job.kind} {job.model_name or ''}  [{job.state.value}, {job.progress:.0%}] {job.message}")
    rows = [("Submitted", f"{short_time(job.created_at)} by {job.created_by}"),
            ("Started", short_time(job.started_at) or "-"), ("Finished", short_time(job.finished_at) or "-"),
            ("Worker", f"pid {job.pid} on {job.host}" if job.pid else "-"),
            ("Heartbeat", short_time(job.heartbeat_at) or "-"),
            ("Parameters", ", ".join(f"{k}={v}" for k, v in job.params.items() if v is not None)),
            ("Cancel", f"requested by {job.cancel_requested_by}" if job.cancel_requested else "-"),
            ("Error", job.error or "-")]
    for label, value in rows:
        print(f"  {label + ':':<12}{value}")
    if job.result:
        print(f"  Result:     {job.result.get('summary', '')}")
        if "gate" in job.result:
            _print_gate(job.result["gate"])
    print("Log:")
    print("".join(f"  {line}\n" for line in job.log.splitlines()) or "  (empty)")
    return 0


def _pairs(items: list[str], what: str) -> dict:
    from app.core.errors import InvalidInputError
    from app.ml.training import parse_param_value

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"'{item}' is not {what}=VALUE.")
        value = value.strip()
        out[key.strip()] = None if value.lower() in ("none", "null", "off") else parse_param_value(value)
    return out


def _max_regression(items: list[str]):
    from app.core.errors import InvalidInputError

    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        try:
            return float(items[0])
        except ValueError:
            raise InvalidInputError(f"'{items[0]}' is not a number or METRIC=NUMBER.") from None
    return _pairs(items, "METRIC")


def cmd_recipe(args) -> int:
    from app.services.recipes import UNSET, get_recipe, set_recipe

    ws = _ws(args)
    if args.action == "set":
        time_column = None if args.no_time_column else (args.time_column if args.time_column else UNSET)
        recipe = set_recipe(
            ws, args.name, gate_min=_pairs(args.gate_min, "METRIC") or None,
            max_regression=_max_regression(args.max_regression), holdout=args.holdout, seed=args.seed,
            time_column=time_column, params=_pairs(args.param, "KEY") or None, from_version=args.from_version,
            metrics=[m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None)
    else:
        recipe = get_recipe(ws, args.name)
    if args.json:
        print_json(recipe)
        return 0
    print(f"Recipe of {recipe.model_name}, revision {recipe.revision} (sha256 {recipe.sha256[:16]}…), "
          f"changed {short_time(recipe.updated_at)} by {recipe.updated_by}")
    split = (f"newest {recipe.holdout:.0%} by '{recipe.time_column}'" if recipe.time_column
             else f"seeded hold-out {recipe.holdout:.0%} (seed {recipe.seed})")
    rows = [("Estimator", f"{recipe.estimator_class} (unfitted clone of v{recipe.source_version})"),
            ("Parameters", ", ".join(f"{k}={v}" for k, v in recipe.params.items()) or "as registered"),
            ("Features", ", ".join(recipe.features)), ("Target", f"{recipe.target} ({recipe.task})"),
            ("Split", split), ("Metrics", ", ".join(recipe.metrics))]
    for label, value in rows:
        print(f"  {label + ':':<12}{value}")
    print("  Gate:")
    print_table(["METRIC", "MINIMUM", "MAX REGRESSION"],
                [[m, recipe.gate_min.get(m, "-"),
                  (f"+{recipe.max_regression[m]:.0%} relative" if m in ("mae", "rmse")
                   else recipe.max_regression[m]) if m in recipe.max_regression else "-"]
                 for m in recipe.metrics])
    return 0
