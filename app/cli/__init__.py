"""`steward`: the command line over the same services the window uses (cron, CI, scripting)."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser"]


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def build_parser() -> argparse.ArgumentParser:
    from app import __version__

    parser = argparse.ArgumentParser(
        prog="steward",
        description="Model Steward: register models, keep their stage history, verify the audit log.",
    )
    parser.add_argument("--home", metavar="DIR", help="workspace folder (default: $STEWARD_HOME or the user data folder)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create (or upgrade) the workspace and print where it is")
    _add_json(p)
    sub.add_parser("demo", help="fill an empty workspace with demo models and history")
    p = sub.add_parser("gui", help="open the desktop window")
    p.add_argument("--demo", action="store_true", help="load the demo workspace if this one is empty")
    p.add_argument("--quit-after-paint", action="store_true",
                   help="close after the window's first paint and print the seconds it took (start-up checks)")

    model = sub.add_parser("model", help="register, list, show and promote models").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = model.add_parser("register", help="register a fitted scikit-learn model with its training data")
    p.add_argument("name")
    p.add_argument("--model-file", required=True, metavar="F", help="joblib or pickle file of a fitted estimator")
    p.add_argument("--train-data", required=True, metavar="F", help="CSV or Parquet training data")
    p.add_argument("--target", required=True, metavar="COL", help="target column in the data")
    p.add_argument("--test-data", metavar="F", help="held-out data (default: a seeded 20%% split)")
    p.add_argument("--description", default="")
    p.add_argument("--owner", default="")
    p.add_argument("--intended-use", default="")
    p.add_argument("--out-of-scope-use", default="")
    p.add_argument("--risk-tier", choices=["low", "medium", "high"], default="")
    p.add_argument("--tags", default="", help="comma-separated")
    p.add_argument("--note", default="", help="what changed in this version")
    p.add_argument("--trust", action="store_true",
                   help="load the file even if it imports code outside the allowlist (audited)")
    _add_json(p)
    p = model.add_parser("list", help="list models")
    p.add_argument("--search", default=None)
    _add_json(p)
    p = model.add_parser("show", help="show a model, its versions and stage history")
    p.add_argument("name")
    p.add_argument("--version", type=int, default=None, help="show one version in full")
    _add_json(p)
    p = model.add_parser("promote", help="move a version to another stage")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--stage", required=True, choices=["staging", "production", "archived"])
    p.add_argument("--reason", required=True)
    p.add_argument("--override", metavar="TEXT", default=None,
                   help="promote to Production despite a failed gate; TEXT is the rationale (audited)")
    _add_json(p)

    dataset = sub.add_parser("dataset", help="list and show stored training datasets").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    _add_json(dataset.add_parser("list", help="list datasets"))
    p = dataset.add_parser("show", help="show one dataset")
    p.add_argument("ref", help="dataset id or (a prefix of) its SHA-256")
    _add_json(p)

    p = sub.add_parser("score", help="score a batch with a model and record it with its drift")
    p.add_argument("name")
    p.add_argument("--input", required=True, metavar="F", help="CSV or Parquet batch")
    p.add_argument("--output", metavar="F", help="write the predictions here (CSV, or Parquet by suffix)")
    p.add_argument("--version", type=int, default=None, help="score with this version instead of Production")
    p.add_argument("--label", default="", help="a name for the period, e.g. 2026-W48")
    _add_json(p)
    p = sub.add_parser("monitor", help="record a batch scored elsewhere and compute its drift")
    p.add_argument("name")
    p.add_argument("--input", required=True, metavar="F")
    p.add_argument("--predictions-column", metavar="C", help="column holding the predictions made elsewhere")
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--label", default="")
    _add_json(p)

    batches = sub.add_parser("batches", help="list and show recorded batches").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = batches.add_parser("list", help="a model's batches, oldest first")
    p.add_argument("name")
    _add_json(p)
    p = batches.add_parser("show", help="one batch with its per-feature drift")
    p.add_argument("batch", type=int)
    _add_json(p)

    labels = sub.add_parser("labels", help="attach ground truth to a batch").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = labels.add_parser("attach", help="compute live performance from labels that arrived later")
    p.add_argument("batch", type=int)
    p.add_argument("--input", required=True, metavar="F")
    p.add_argument("--id-column", metavar="C", help="match rows by this id column instead of row order")
    p.add_argument("--target-column", metavar="C", help="label column (default: the model's target)")
    _add_json(p)

    alerts = sub.add_parser("alerts", help="list, acknowledge and resolve alerts").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = alerts.add_parser("list", help="alerts, newest first")
    p.add_argument("--model")
    p.add_argument("--status", choices=["open", "acknowledged", "resolved", "all"], default="open")
    _add_json(p)
    p = alerts.add_parser("ack", help="acknowledge an alert")
    p.add_argument("alert", type=int)
    p.add_argument("--note", default="")
    _add_json(p)
    p = alerts.add_parser("resolve", help="resolve an alert with a decision")
    p.add_argument("alert", type=int)
    p.add_argument("--decision", required=True, choices=["retrain", "accept_risk", "retire"])
    p.add_argument("--rationale", required=True)
    p.add_argument("--expires", metavar="DATE", help="accept_risk: until when")
    p.add_argument("--linked-version", type=int, help="retrain: the version that replaced it")
    p.add_argument("--start-retrain", action="store_true",
                   help="retrain: start a retrain job now; its version is linked to the alert when recorded")
    _add_json(p)

    settings = sub.add_parser("settings", help="thresholds, worker limit and promotion policies").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = settings.add_parser("show", help="effective thresholds (workspace, or one model)")
    p.add_argument("--model")
    _add_json(p)
    p = settings.add_parser("set", help="set thresholds or policies, e.g. drift.psi=0.25, "
                            "policy.separation_of_duties=1")
    p.add_argument("values", nargs="+", metavar="GROUP.NAME=VALUE")
    p.add_argument("--model", help="override for one model only")
    _add_json(p)

    _add_job_parsers(sub)
    from app.cli.approvals import add_parsers as add_approval_parsers

    add_approval_parsers(sub)
    from app.cli.automation import add_parsers as add_automation_parsers

    add_automation_parsers(sub)
    from app.cli.compliance import add_model_parsers
    from app.cli.compliance import add_parsers as add_compliance_parsers

    add_compliance_parsers(sub)
    add_model_parsers(model, dataset)

    audit = sub.add_parser("audit", help="read and verify the audit log").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = audit.add_parser("log", help="list audit events, newest first")
    p.add_argument("--model")
    p.add_argument("--action", dest="event_action", metavar="ACTION", help="exact action or prefix ending in '.'")
    p.add_argument("--actor")
    p.add_argument("--since", metavar="DATE")
    p.add_argument("--until", metavar="DATE")
    p.add_argument("--limit", type=int, default=None)
    _add_json(p)
    p = audit.add_parser("verify", help="recompute the hash chain; exit 1 naming the first bad event")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="also check that the log still extends this checkpoint (a report's .json or a checkpoint file)")
    p.add_argument("--files", action="store_true",
                   help="also check every recorded artifact file: present, and its content still has its hash")
    _add_json(p)
    return parser


def _add_job_parsers(sub) -> None:
    p = sub.add_parser("retrain", help="retrain a model in a background worker process")
    p.add_argument("name")
    p.add_argument("--data", metavar="F", help="train on this CSV/Parquet file instead of the champion's "
                   "training data plus the labelled batches since")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends (Ctrl-C stops following only)")
    _add_json(p)

    jobs = sub.add_parser("jobs", help="list, show and cancel background jobs").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = jobs.add_parser("list", help="jobs, newest first")
    p.add_argument("--model")
    p.add_argument("--state", choices=["queued", "running", "succeeded", "failed", "cancelled", "interrupted"])
    p.add_argument("--limit", type=int, default=50)
    _add_json(p)
    p = jobs.add_parser("show", help="one job with its log and result")
    p.add_argument("job", type=int)
    _add_json(p)
    p = jobs.add_parser("cancel", help="cancel a queued or running job")
    p.add_argument("job", type=int)
    p.add_argument("--no-wait", action="store_true",
                   help="only ask it to stop; a later command terminates it after the grace period")
    _add_json(p)

    recipe = sub.add_parser("recipe", help="show and change a model's retraining recipe").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = recipe.add_parser("show", help="the recipe (created from the Production or latest version on first use)")
    p.add_argument("name")
    _add_json(p)
    p = recipe.add_parser("set", help="change the split, metrics, gate or estimator parameters")
    p.add_argument("name")
    p.add_argument("--gate-min", nargs="+", default=[], metavar="METRIC=VALUE",
                   help="worst acceptable value per metric (a ceiling for mae/rmse); VALUE 'none' removes it")
    p.add_argument("--max-regression", nargs="+", default=[], metavar="X|METRIC=X",
                   help="how much worse than the champion the challenger may be: absolute for scores, "
                   "relative for mae/rmse; a bare X applies to every metric")
    p.add_argument("--holdout", type=float, metavar="F", help="held-out fraction, e.g. 0.2")
    p.add_argument("--seed", type=int, metavar="N", help="seed of the hold-out split")
    p.add_argument("--time-column", metavar="C", help="hold out the newest rows by this column instead")
    p.add_argument("--no-time-column", action="store_true", help="back to the seeded random split")
    p.add_argument("--metrics", metavar="A,B", help="metrics to evaluate and gate on")
    p.add_argument("--param", nargs="+", default=[], metavar="KEY=VALUE",
                   help="estimator parameter override (set_params), e.g. randomforestclassifier__n_estimators=500")
    p.add_argument("--from-version", type=int, metavar="N", help="rebuild estimator and columns from version N")
    _add_json(p)


def _say_cleanup_on_stderr() -> None:
    """What start-up tidied after an interrupted session (app.services.workspaces logs it) goes to stderr."""
    import logging

    class Notes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            print(f"note: {record.getMessage()}", file=sys.stderr)

    logger = logging.getLogger("app.services.workspaces")
    logger.setLevel(logging.INFO)
    logger.addHandler(Notes(logging.INFO))


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()
    parser = build_parser()
    args = parser.parse_args(argv)
    from app.cli.commands import dispatch
    from app.core.errors import StewardError

    if args.command not in ("init", "gui"):  # init lists them itself; the window shows them
        _say_cleanup_on_stderr()

    try:
        return dispatch(args)
    except StewardError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: this is a bug in Model Steward; run again with --debug for the details.", file=sys.stderr)
        return 70
