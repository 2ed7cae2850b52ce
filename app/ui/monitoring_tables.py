"""Table models of the Monitoring page: a model's batches and its alerts."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from app.core.monitoring import Alert, AlertStatus, Batch
from app.ui.palette import severity_color
from app.ui.formatting import fmt_metric, fmt_time, metric_label
from app.ui.tables import Column, RecordTableModel

__all__ = ["BatchesTableModel", "AlertsTableModel", "performance_text", "alert_status_text"]

_PERFORMANCE_KEYS = ("accuracy", "roc_auc", "f1", "r2", "rmse", "mae")


def performance_text(batch: Batch, limit: int = 2) -> str:
    perf = batch.performance or {}
    keys = [k for k in _PERFORMANCE_KEYS if k in perf][:limit]
    return "  ·  ".join(f"{metric_label(k)} {fmt_metric(perf[k])}" for k in keys) or "—"


def _drift_text(batch: Batch) -> str:
    if batch.drift_share is None:
        return "—"
    drifted = [f["name"] for f in batch.drift.get("features", []) if f.get("drifted")]
    return f"{batch.drift_share:.0%}" + (f"  ({', '.join(drifted[:2])}{'…' if len(drifted) > 2 else ''})"
                                          if drifted else "")


def _batch_tooltip(batch: Batch) -> str:
    drifted = [f["name"] for f in batch.drift.get("features", []) if f.get("drifted")]
    lines = [f"Batch #{batch.id} · {batch.kind} by {batch.created_by}", f"Input: {batch.input_name}",
             f"Drifted: {', '.join(drifted) if drifted else 'none'}"]
    if batch.performance:
        lines.append(f"Labelled rows: {int(batch.performance.get('labelled_rows', 0)):,}")
    return "\n".join(lines)


class BatchesTableModel(RecordTableModel):
    """Newest batch first: the one people look at is the latest."""

    columns = (
        Column("Batch", lambda b: f"#{b.id}", sort=lambda b: b.id, tooltip=_batch_tooltip),
        Column("Scored", lambda b: fmt_time(b.created_at), sort=lambda b: b.created_at),
        Column("Label", lambda b: b.label or "—"),
        Column("Version", lambda b: f"v{b.version}", sort=lambda b: b.version),
        Column("Rows", lambda b: f"{b.rows:,}", sort=lambda b: b.rows, align_right=True),
        Column("Drift share", _drift_text, sort=lambda b: b.drift_share or 0.0, tooltip=_batch_tooltip),
        Column("Performance", performance_text,
               tooltip=lambda b: "\n".join(f"{metric_label(k)}: {fmt_metric(v)}" for k, v in
                                           (b.performance or {}).items() if k != "labelled_rows")
               or "No labels attached yet (Attach labels…)"),
        Column("Alerts", lambda b: ", ".join(f"#{a}" for a in b.alerts) or "—"),
    )
    DRIFT_COLUMN = 5

    def set_records(self, rows: Sequence[Batch]) -> None:
        super().set_records(sorted(rows, key=lambda b: (b.created_at, b.id), reverse=True))

    def row_of(self, batch_id: int) -> int:
        return next((i for i, b in enumerate(self._rows) if b.id == batch_id), -1)

    def extra_data(self, rec: Batch, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[self.DRIFT_COLUMN] and rec.dataset_drift:
            return severity_color("high")
        return None


def alert_status_text(alert: Alert) -> str:
    if alert.status is AlertStatus.RESOLVED:
        decision = {"retrain": "retrain", "accept_risk": "risk accepted", "retire": "retired"}.get(
            str(alert.decision.value if alert.decision else ""), "")
        return f"Resolved ({decision})" if decision else "Resolved"
    return alert.status.value.capitalize()


def _alert_tooltip(alert: Alert) -> str:
    lines = [alert.title, f"Opened {fmt_time(alert.opened_at)} on v{alert.version}"]
    if alert.acknowledged_at:
        lines.append(f"Acknowledged {fmt_time(alert.acknowledged_at)} by {alert.acknowledged_by}"
                     + (f": {alert.ack_note}" if alert.ack_note else ""))
    if alert.resolved_at:
        lines.append(f"Resolved {fmt_time(alert.resolved_at)} by {alert.resolved_by}: {alert.rationale}")
    if alert.expires_at:
        lines.append(f"Risk accepted until {fmt_time(alert.expires_at)}")
    repeats = alert.details.get("repeated_in_batches") if isinstance(alert.details, dict) else None
    if repeats:
        lines.append("Seen again in batches " + ", ".join(f"#{b}" for b in repeats))
    return "\n".join(lines)


class AlertsTableModel(RecordTableModel):
    """Alerts newest first; `show_resolved` switches between the open ones and all of them."""

    columns = (
        Column("Alert", lambda a: f"#{a.id}", sort=lambda a: a.id),
        Column("Opened", lambda a: fmt_time(a.opened_at), sort=lambda a: a.opened_at),
        Column("Severity", lambda a: a.severity.value.capitalize(), sort=lambda a: a.severity.rank),
        Column("Kind", lambda a: a.kind.value.capitalize()),
        Column("Status", alert_status_text, tooltip=_alert_tooltip),
        Column("Batch", lambda a: f"#{a.batch_id}" if a.batch_id else "—", sort=lambda a: a.batch_id or 0),
        Column("Title", lambda a: a.title, tooltip=_alert_tooltip),
    )
    SEVERITY_COLUMN = 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list[Alert] = []
        self.show_resolved = False

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        self._all = sorted(alerts, key=lambda a: a.id, reverse=True)
        self._apply()

    def set_show_resolved(self, show: bool) -> None:
        self.show_resolved = show
        self._apply()

    def all_alerts(self) -> list[Alert]:
        return list(self._all)

    def _apply(self) -> None:
        self.set_records([a for a in self._all if self.show_resolved or a.status is not AlertStatus.RESOLVED])

    def row_of(self, alert_id: int) -> int:
        return next((i for i, a in enumerate(self._rows) if a.id == alert_id), -1)

    def extra_data(self, rec: Alert, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[self.SEVERITY_COLUMN]:
            return severity_color(rec.severity.value)
        if role == Qt.ItemDataRole.FontRole and rec.status is AlertStatus.OPEN:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)  # not yet looked at by anyone
            return font
        return None
