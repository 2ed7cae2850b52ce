"""The approval requests as a table: who asked, why, any gate override, and the second person's decision."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt

from app.core.approvals import Approval, ApprovalStatus
from app.core.entities import Stage
from app.ui import theme
from app.ui.formatting import fmt_time
from app.ui.tables import Column, RecordTableModel

__all__ = ["ApprovalsTableModel", "failed_criteria", "override_text", "decision_text",
           "STATUS_COLUMN", "stage_now", "criteria_html"]

STATUS_COLUMN = 7


def failed_criteria(approval: Approval) -> list[str]:
    """The gate criteria the version failed, as recorded when it was retrained ([] without a gate)."""
    gate = approval.gate or {}
    if gate.get("passed", True):
        return []
    return [c.get("reason") or f"{c.get('criterion')} {c.get('metric')}" for c in gate.get("criteria", [])
            if not c.get("passed")] or [str(gate.get("summary") or "gate failed")]


def override_text(approval: Approval) -> str:
    """'—', or the override rationale followed by the criteria it overrides."""
    if not approval.override:
        return "—"
    failed = failed_criteria(approval)
    return approval.override + (f"  (overrides: {'; '.join(failed)})" if failed else "")


def criteria_html(failed: list[str]) -> str:
    """The failed criteria as an HTML bullet list (each one long: they name metric, value and limit)."""
    return "".join(f"<br>&nbsp;&nbsp;• {escape(c)}" for c in failed)


def decision_text(approval: Approval) -> str:
    if approval.decided_by is None:
        return "—"
    return f"{approval.decided_by}  ·  {fmt_time(approval.decided_at)}"


def stage_now(a: Approval) -> str:
    return "no stage" if a.version_stage is Stage.NONE else a.version_stage.label


def _version_text(a: Approval) -> str:
    return f"v{a.version}  ({stage_now(a)})"


def _status_sort(a: Approval) -> tuple[int, int]:
    # Pending first: those are what someone has to act on.
    return (0 if a.status is ApprovalStatus.PENDING else 1, -a.id)


class ApprovalsTableModel(RecordTableModel):
    """One row per request, newest first; the status is coloured, long texts have full tooltips."""

    columns = (
        Column("#", lambda a: f"#{a.id}", sort=lambda a: a.id, align_right=True),
        Column("Model", lambda a: a.model_name),
        Column("Version", _version_text, sort=lambda a: (a.model_name, a.version),
               tooltip=lambda a: f"Version {a.version} now: {stage_now(a)}"),
        Column("Requested by", lambda a: a.requested_by),
        Column("Requested", lambda a: fmt_time(a.requested_at), sort=lambda a: a.requested_at),
        Column("Reason", lambda a: a.reason, tooltip=lambda a: a.reason),
        Column("Gate override", override_text, tooltip=lambda a: override_text(a) if a.override else
               ("The version passed its gate" if (a.gate or {}).get("passed") else
                "No gate result: the version was registered by hand" if a.gate is None else "")),
        Column("Status", lambda a: a.status.value.capitalize(), sort=_status_sort),
        Column("Decided", decision_text, sort=lambda a: (a.decided_at is None, a.decided_at or a.requested_at)),
        Column("Rationale", lambda a: a.rationale or "—", tooltip=lambda a: a.rationale or ""),
    )

    def set_approvals(self, approvals: Sequence[Approval]) -> None:
        self.set_records(approvals)

    def row_of(self, approval_id: int) -> int:
        return next((i for i, a in enumerate(self._rows) if a.id == approval_id), -1)

    def extra_data(self, rec: Approval, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[STATUS_COLUMN]:
            if rec.status is ApprovalStatus.APPROVED:
                colors = theme.stage_colors("production")
                return colors[1] if colors else None
            return theme.color({ApprovalStatus.PENDING: "accent", ApprovalStatus.REJECTED: "error"}
                               .get(rec.status, "muted"))
        if role == Qt.ItemDataRole.ForegroundRole and col.text(rec) == "—":
            return theme.color("muted")
        return None
