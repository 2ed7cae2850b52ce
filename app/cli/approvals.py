"""Command handlers for promotion requests under separation of duties (`steward approvals ...`)."""

from __future__ import annotations

from app.cli.render import open_ws as _ws
from app.cli.render import print_json, print_table, short_time

__all__ = ["add_parsers", "cmd_approvals", "print_promotion"]


def add_parsers(sub) -> None:
    approvals = sub.add_parser("approvals", help="list, approve, reject and withdraw promotion requests") \
        .add_subparsers(dest="action", metavar="ACTION", required=True)
    p = approvals.add_parser("list", help="promotion requests, newest first")
    p.add_argument("--status", choices=["pending", "approved", "rejected", "withdrawn", "all"], default="pending")
    p.add_argument("--model")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    for action, text in (("approve", "approve a request: the version moves to Production"),
                         ("reject", "reject a request; nothing moves"),
                         ("withdraw", "take back your own request")):
        p = approvals.add_parser(action, help=text)
        p.add_argument("approval", type=int, metavar="ID")
        # Not required by argparse: the service's own message says why a rationale is needed, in one line.
        p.add_argument("--rationale", default="", help="why (required to approve or reject; kept in the audit log)")
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _gate(a) -> str:
    if a.gate is None:
        return "none"
    if a.gate.get("passed"):
        return "passed"
    return "FAILED, overridden" if a.override else "FAILED"


def print_promotion(promotion) -> None:
    """The moves a promotion made, or the request it opened."""
    for m in promotion.moves:
        print(f"{m.model_name} v{m.version}: {m.from_stage.label} → {m.to_stage.label}  ({m.reason})")
    a = promotion.approval
    if a is not None and promotion.pending:
        print(f"Approval request #{a.id} opened: {a.model_name} v{a.version} → Production, waiting for a second "
              f"person (separation of duties).")
        print(f"  Another user approves it with `steward approvals approve {a.id} --rationale \"...\"`.")


def cmd_approvals(args) -> int:
    from app.services import approvals

    ws = _ws(args)
    if args.action == "list":
        found = approvals.list_approvals(ws, status=args.status, model=args.model)
        if args.json:
            print_json(found)
            return 0
        print_table(["ID", "REQUESTED", "BY", "MODEL", "VERSION", "GATE", "STATUS", "REASON", "DECISION"],
                    [[a.id, short_time(a.requested_at), a.requested_by, a.model_name,
                      f"v{a.version} ({a.version_stage.label})", _gate(a), a.status.value, a.reason,
                      f"{a.decided_by}: {a.rationale}" if a.decided_by else ""] for a in found],
                    empty="No pending promotion requests." if args.status == "pending" else "No promotion requests.")
        return 0
    if args.action == "approve":
        promotion = approvals.approve(ws, args.approval, args.rationale)
        if args.json:
            print_json(promotion)
        else:
            print(f"Approval #{args.approval} approved.")
            print_promotion(promotion)
        return 0
    handler = approvals.reject if args.action == "reject" else approvals.withdraw
    approval = handler(ws, args.approval, args.rationale)
    if args.json:
        print_json(approval)
    else:
        print(f"Approval request #{approval.id} ({approval.model_name} v{approval.version}) {approval.status.value}.")
    return 0
