"""Command handlers for scoring, batches, labels, alerts and thresholds."""

from __future__ import annotations

from app.cli.render import open_ws as _ws
from app.cli.render import print_json, print_table, short_time
from app.cli.render import progress as _progress

__all__ = ["cmd_score", "cmd_monitor", "cmd_batches", "cmd_labels", "cmd_alerts", "cmd_settings"]


def _drift_json(outcome) -> dict:
    report = outcome.batch.drift
    return {"batch_id": outcome.batch.id, "model": outcome.batch.model_name, "version": outcome.batch.version,
            "rows": outcome.batch.rows, "input_sha256": outcome.batch.input_sha256,
            "output_sha256": outcome.batch.output_sha256, "features": report.get("features", []),
            "drift_share": report.get("drift_share"), "dataset_drift": report.get("dataset_drift"),
            "alerts": [a.id for a in outcome.alerts], "warnings": list(outcome.warnings)}


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_drift(features: list[dict]) -> None:
    rows = sorted(features, key=lambda f: -(f.get("psi") or 0.0))
    print_table(["FEATURE", "KIND", "PSI", "JS", "W/σ", "KS", "P-VALUE", "DRIFT"],
                [[f["name"], f["kind"], _fmt(f.get("psi")), _fmt(f.get("js_distance")),
                  _fmt(f.get("wasserstein_norm")), _fmt(f.get("ks_statistic")),
                  _fmt(f.get("ks_pvalue") if f["kind"] == "numeric" else f.get("chi2_pvalue"), 4),
                  f"YES ({f.get('severity')})" if f.get("drifted") else "no"] for f in rows])


def _print_outcome(outcome, verb: str) -> None:
    b = outcome.batch
    print(f"{verb} batch #{b.id}: {b.rows:,} rows with {b.model_name} v{b.version}.")
    if b.output_sha256 and outcome.output_path:
        print(f"  predictions written to {outcome.output_path}")
    for w in outcome.warnings:
        print(f"  note: {w}")
    print_drift(b.drift.get("features", []))
    share = b.drift.get("drift_share") or 0.0
    print(f"Drift share {share:.0%}; dataset drift: {'YES' if b.dataset_drift else 'no'}.")
    for a in outcome.alerts:
        print(f"ALERT #{a.id} [{a.severity.value}] {a.title}")


def cmd_score(args) -> int:
    from app.services.batches import score_batch

    outcome = score_batch(_ws(args), args.name, args.input, output=args.output, version=args.version,
                          label=args.label, progress=_progress)
    print_json(_drift_json(outcome)) if args.json else _print_outcome(outcome, "Scored")
    return 0


def cmd_monitor(args) -> int:
    from app.services.batches import record_batch

    outcome = record_batch(_ws(args), args.name, args.input, predictions_column=args.predictions_column,
                           version=args.version, label=args.label, progress=_progress)
    print_json(_drift_json(outcome)) if args.json else _print_outcome(outcome, "Recorded")
    return 0


def cmd_batches(args) -> int:
    from app.services.monitoring_queries import get_batch, list_batches

    ws = _ws(args)
    if args.action == "show":
        b = get_batch(ws, args.batch)
        if args.json:
            print_json(b)
            return 0
        print(f"Batch #{b.id} of {b.model_name} v{b.version} ({b.kind}, {b.rows:,} rows) "
              f"{short_time(b.created_at)} by {b.created_by}")
        print(f"  input  {b.input_name}  sha256 {b.input_sha256}")
        if b.output_sha256:
            print(f"  output sha256 {b.output_sha256}")
        if b.performance:
            print("  performance: " + ", ".join(f"{k}={v:.4g}" for k, v in b.performance.items()))
        print_drift(b.drift.get("features", []))
        return 0
    batches = list_batches(ws, args.name)
    if args.json:
        print_json(batches)
        return 0
    print_table(["ID", "WHEN", "VERSION", "KIND", "LABEL", "ROWS", "DRIFT SHARE", "PERFORMANCE", "ALERTS"],
                [[b.id, short_time(b.created_at), b.version, b.kind, b.label, f"{b.rows:,}",
                  f"{(b.drift_share or 0):.0%}",
                  ", ".join(f"{k}={v:.3g}" for k, v in (b.performance or {}).items() if k != "labelled_rows"),
                  ", ".join(f"#{a}" for a in b.alerts)] for b in batches],
                empty="No batches yet. Score one with `steward score`.")
    return 0


def cmd_labels(args) -> int:
    from app.services.labels import attach_labels

    batch = attach_labels(_ws(args), args.batch, args.input, id_column=args.id_column,
                          target_column=args.target_column)
    if args.json:
        print_json(batch)
        return 0
    print(f"Labels attached to batch #{batch.id}: " +
          ", ".join(f"{k}={v:.4g}" for k, v in (batch.performance or {}).items()))
    for a in batch.alerts:
        print(f"ALERT #{a} opened: performance below tolerance")
    return 0


def cmd_alerts(args) -> int:
    from app.services import alerts

    ws = _ws(args)
    if args.action == "list":
        found = alerts.list_alerts(ws, args.model, None if args.status == "all" else args.status)
        if args.json:
            print_json(found)
            return 0
        print_table(["ID", "OPENED", "MODEL", "KIND", "SEVERITY", "STATUS", "LINKED", "TITLE"],
                    [[a.id, short_time(a.opened_at), a.model_name, a.kind.value, a.severity.value,
                      a.status.value + (f" ({a.decision.value})" if a.decision else ""), _linked(a), a.title]
                     for a in found],
                    empty="No alerts.")
        return 0
    if args.action == "ack":
        alert = alerts.acknowledge_alert(ws, args.alert, args.note)
    else:
        from app.core.timeutil import parse_user_date

        expires = parse_user_date(args.expires, end_of_day=True) if args.expires else None
        alert = alerts.resolve_alert(ws, args.alert, args.decision, args.rationale, expires=expires,
                                     linked_version=args.linked_version, retrain=args.start_retrain)
        if alert.linked_job is not None:
            from app.services.jobs import start_queued

            start_queued(ws)
    if args.json:
        print_json(alert)
    else:
        print(f"Alert #{alert.id} is now {alert.status.value}" +
              (f" ({alert.decision.value})" if alert.decision else "") + ".")
        if alert.linked_job is not None:
            print(f"Retrain job #{alert.linked_job} started; its version will be linked to the alert. "
                  f"Follow it with `steward jobs show {alert.linked_job}`.")
    return 0


def _linked(alert) -> str:
    parts = ([f"job #{alert.linked_job}"] if alert.linked_job is not None else []) + \
        ([f"v{alert.linked_version}"] if alert.linked_version is not None else [])
    return " → ".join(parts)


_SWITCH = {"on": 1.0, "off": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


def cmd_settings(args) -> int:
    from app.core.errors import InvalidInputError
    from app.services.settings import DEFAULTS, effective_settings, set_settings

    ws = _ws(args)
    if args.action == "set":
        grouped: dict[str, dict[str, float]] = {}
        for item in args.values:
            key, _, value = item.partition("=")
            group, _, name = key.partition(".")
            try:
                number = _SWITCH.get(value.strip().lower())
                grouped.setdefault(group, {})[name] = float(value) if number is None else number
            except ValueError:
                raise InvalidInputError(f"'{item}' is not GROUP.NAME=NUMBER (e.g. drift.psi=0.25).") from None
        for group, values in grouped.items():
            set_settings(ws, group, values, args.model)
    result = {group: effective_settings(ws, group, args.model) for group in DEFAULTS}
    if args.json:
        print_json(result)
    else:
        scope = f"model {args.model}" if args.model else "workspace"
        print(f"Settings in effect for the {scope}:")
        print_table(["SETTING", "VALUE"], [[f"{g}.{k}", v] for g, vals in result.items() for k, v in vals.items()])
    return 0
