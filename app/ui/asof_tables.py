"""Table models of the As-of tab: the promotion gate's criteria and the batches a version scored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt

from app.ml.gate import lower_is_better
from app.ui import theme
from app.ui.palette import severity_color
from app.ui.formatting import fmt_metric, fmt_time, metric_label, short_hash
from app.ui.tables import Column, RecordTableModel

__all__ = ["CriteriaModel", "BatchesModel"]


def _num(value: Any) -> str:
    return fmt_metric(float(value)) if isinstance(value, int | float) else "—"


def _bound(c: dict) -> str:
    metric = str(c.get("metric", ""))
    if c.get("criterion") == "min":
        if "threshold" not in c:
            return "—"
        return f"{'≤' if lower_is_better(metric) else '≥'} {_num(c['threshold'])}"
    if "tolerance" not in c:
        return "—"
    tolerance = float(c["tolerance"])  # errors: relative to the champion's; scores: an absolute drop
    return f"at most +{tolerance:.0%}" if lower_is_better(metric) else f"drop ≤ {_num(tolerance)}"


class CriteriaModel(RecordTableModel):
    """One gate criterion per row (the dicts app.ml.gate records)."""

    columns = (
        Column("Result", lambda c: "Skipped" if c.get("skipped") else ("Passed" if c.get("passed") else "Failed")),
        Column("Criterion", lambda c: {"min": "Minimum", "max_regression": "No regression"}.get(
            c.get("criterion"), str(c.get("criterion")))),
        Column("Metric", lambda c: metric_label(str(c.get("metric", "")))),
        Column("Bound", _bound),
        Column("Challenger", lambda c: _num(c.get("challenger")), align_right=True),
        Column("Champion", lambda c: _num(c.get("champion")), align_right=True),
        Column("Why", lambda c: str(c.get("reason", "")), tooltip=lambda c: str(c.get("reason", ""))),
    )

    def extra_data(self, rec: dict, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[0] and not rec.get("skipped"):
            return theme.risk_color("low") if rec.get("passed") else severity_color("high")
        return None


def _at(iso: str) -> str:
    return fmt_time(datetime.fromisoformat(iso.replace("Z", "+00:00")))


class BatchesModel(RecordTableModel):
    """The batch dicts of an AsOf answer, oldest first (the order they were scored)."""

    columns = (
        Column("Batch", lambda b: f"#{b['id']}", sort=lambda b: b["id"]),
        Column("When", lambda b: _at(b["at"])),
        Column("Kind", lambda b: str(b.get("kind", "")).capitalize()),
        Column("Label", lambda b: b.get("label") or "—"),
        Column("Rows", lambda b: f"{b['rows']:,}" if b.get("rows") is not None else "—", align_right=True),
        Column("Drift share", lambda b: f"{b['drift_share']:.0%}" if b.get("drift_share") is not None else "—",
               align_right=True),
        Column("By", lambda b: b.get("by") or "—"),
        Column("Input", lambda b: short_hash(b.get("input_sha256")),
               tooltip=lambda b: f"input sha256 {b.get('input_sha256')}\noutput sha256 {b.get('output_sha256')}"),
    )
