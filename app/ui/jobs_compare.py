"""A finished retrain: challenger vs champion metrics side by side, each gate criterion with its reason, bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from app.core.entities import Version
from app.ui import theme
from app.ui.chart_style import freeze_plot, series_color, style_plot
from app.ui.formatting import fmt_metric, metric_direction, metric_label
from app.ui.forms import section_label
from app.ui.jobs_data import RetrainOutcome
from app.ui.jobs_model import state_color

__all__ = ["RetrainComparison", "MetricsBars", "gate_of", "champion_metrics_of", "CRITERION_LABELS"]

CRITERION_LABELS = {"min": "Minimum", "max_regression": "No regression"}


def gate_of(challenger: Version, result: dict | None) -> dict:
    """The gate as stored on the version (what the registry keeps), else as the job reported it."""
    return challenger.evaluation.get("gate") or challenger.provenance.get("gate") or (result or {}).get("gate") or {}


def champion_metrics_of(challenger: Version, result: dict | None) -> dict[str, float]:
    """The champion's metrics on the challenger's held-out rows: the only fair comparison."""
    stored = (challenger.evaluation.get("champion") or {}).get("metrics")
    return dict(stored or (result or {}).get("champion_metrics") or {})


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setShowGrid(False)
    table.setWordWrap(False)  # one line a row; the full reason is the tooltip
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.verticalHeader().setDefaultSectionSize(26)
    table.horizontalHeader().setHighlightSections(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


def _item(text: str, *, color=None, bold: bool = False, tooltip: str = "", right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if color is not None:
        item.setForeground(color)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    if tooltip:
        item.setToolTip(tooltip)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _fit_height(table: QTableWidget) -> None:
    table.resizeRowsToContents()
    height = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + 2 * table.frameWidth() + 2)


class MetricsBars(pg.PlotWidget):
    """Grouped bars: per metric, the challenger beside the champion (same held-out rows)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        freeze_plot(self)
        self.setMinimumHeight(150)
        self.setMaximumHeight(210)  # a picture of the table beside it, not a page of its own
        self.setMinimumWidth(160)
        self.bars: dict[str, pg.BarGraphItem] = {}  # "challenger" / "champion"
        self.values: dict[str, list[float]] = {}
        self.titles: dict[str, str] = {}
        self.metrics: list[str] = []
        style_plot(self)

    def set_metrics(self, metrics: list[str], series: dict[str, tuple[str, dict[str, float]]]) -> None:
        """`series`: key -> (legend title, metric values); a missing value is a gap, not a zero."""
        plot = self.getPlotItem()
        for bar in self.bars.values():
            plot.removeItem(bar)
        self.bars.clear()
        self.metrics, self.values, self.titles = list(metrics), {}, {}
        width = 0.8 / max(len(series), 1)
        xs = np.arange(len(metrics), dtype=float)
        for i, (key, (title, values)) in enumerate(series.items()):
            ys = np.array([values.get(m, np.nan) for m in metrics], dtype=float)
            self.values[key] = [float(v) for v in ys]
            self.titles[key] = title
            shown = np.nan_to_num(ys, nan=0.0)
            color = series_color(i)
            bar = pg.BarGraphItem(x=xs - 0.4 + width * (i + 0.5), height=shown, width=width * 0.92,
                                  brush=pg.mkBrush(color), pen=pg.mkPen(None))
            plot.addItem(bar)
            self.bars[key] = bar
        plot.getAxis("bottom").setTicks([[(float(x), metric_label(m)) for x, m in zip(xs, metrics, strict=True)]])
        top = max([v for vals in self.values.values() for v in vals if v == v] or [1.0])
        lowest = min([v for vals in self.values.values() for v in vals if v == v] or [0.0])
        self.setYRange(min(0.0, lowest), top * 1.12 if top > 0 else 1.0, padding=0)
        self.setXRange(-0.6, max(len(metrics), 1) - 0.4, padding=0)

    def legend_html(self) -> str:
        return " &nbsp; ".join(f"<span style='color:{series_color(i).name()}'>■</span> {title}"
                               for i, title in enumerate(self.titles.values()))

    def apply_theme(self) -> None:
        style_plot(self)


class RetrainComparison(QWidget):
    """Shows a RetrainOutcome; `version_requested(name, number)` asks to open the challenger in Models."""

    version_requested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome: RetrainOutcome | None = None
        self.criteria: list[dict] = []  # the gate criteria shown, as stored on the version
        self.verdict = QFrame()
        self.verdict.setObjectName("GateVerdict")
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)
        verdict_row = QHBoxLayout(self.verdict)
        verdict_row.setContentsMargins(10, 6, 10, 6)
        verdict_row.addWidget(self.verdict_label, 1)
        self.show_button = QPushButton("Show version in Models")
        self.show_button.clicked.connect(self._show_version)
        verdict_row.addWidget(self.show_button)
        self.metrics_table = _table(["Metric", "Challenger", "Champion", "Change"])
        self.metrics_table.horizontalHeaderItem(3).setToolTip("Challenger minus champion, on the same rows")
        self.gate_table = _table(["", "Criterion", "Metric", "Why"])
        self.rows_label = QLabel()
        self.rows_label.setObjectName("Muted")
        self.rows_label.setWordWrap(True)
        self.chart = MetricsBars()
        self.legend_label = QLabel()
        self.legend_label.setObjectName("Muted")
        side = QVBoxLayout()  # the numbers beside their picture
        side.setSpacing(6)
        side.addWidget(self.metrics_table)
        side.addWidget(self.rows_label)
        side.addStretch(1)
        picture = QVBoxLayout()
        picture.setSpacing(2)
        picture.addWidget(self.legend_label, 0, Qt.AlignmentFlag.AlignRight)
        picture.addWidget(self.chart, 1)
        pair = QHBoxLayout()
        pair.setSpacing(12)
        pair.addLayout(side, 1)
        pair.addLayout(picture, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.verdict)
        self.pair_title = section_label("Challenger vs champion", 4)
        layout.addWidget(self.pair_title)
        layout.addLayout(pair)
        layout.addWidget(section_label("Promotion gate", 4))
        layout.addWidget(self.gate_table)

    def show_outcome(self, outcome: RetrainOutcome, result: dict | None) -> None:
        self.outcome = outcome
        challenger, champion = outcome.challenger, outcome.champion
        if challenger is None:
            self.verdict.setStyleSheet(theme.status_style("broken", "QFrame#GateVerdict"))
            self.verdict_label.setText(outcome.error or "The registered version could not be read.")
            self.show_button.hide()
            for widget in (self.metrics_table, self.gate_table, self.chart, self.legend_label):
                widget.hide()
            return
        for widget in (self.metrics_table, self.gate_table, self.chart, self.legend_label):
            widget.show()
        self.show_button.show()
        self.show_button.setText(f"Show v{challenger.number} in Models")
        gate = gate_of(challenger, result)
        passed = bool(gate.get("passed"))
        self.verdict.setStyleSheet(theme.status_style("ok" if passed else "broken", "QFrame#GateVerdict"))
        self.verdict_label.setText(
            f"<b>Gate {'passed' if passed else 'failed'}</b> — {challenger.model_name} v{challenger.number} "
            f"is in {challenger.stage.label}"
            + (f"; compared with v{champion.number} ({champion.stage.label} now)" if champion else "")
            + (" — promoted by the model's auto-promote policy." if (result or {}).get("auto_promoted") else "."))
        base = champion_metrics_of(challenger, result)
        self._fill_metrics(challenger, champion, base)
        self._fill_gate(gate)
        ev = challenger.evaluation
        rows = ev.get("rows")
        self.rows_label.setText(
            f"Both on the same {rows:,} held-out rows ({ev.get('method', 'hold-out split')}, seed "
            f"{ev.get('seed', '—')}); the challenger was fitted on {ev.get('train_rows', 0):,} rows."
            if isinstance(rows, int) else "")
        metrics = list(dict.fromkeys([*challenger.metrics, *base]))
        series = {"challenger": (f"Challenger v{challenger.number}", challenger.metrics)}
        if base:
            series["champion"] = (f"Champion v{champion.number}" if champion else "Champion", base)
        self.chart.set_metrics(metrics, series)
        self.legend_label.setText(self.chart.legend_html())

    def _fill_metrics(self, challenger: Version, champion: Version | None, base: dict[str, float]) -> None:
        table = self.metrics_table
        self.pair_title.setText(f"CHALLENGER V{challenger.number}  VS  CHAMPION"
                                + (f" V{champion.number}" if champion else ""))
        metrics = list(dict.fromkeys([*challenger.metrics, *base]))
        table.setRowCount(len(metrics))
        good, bad, muted = state_color("succeeded"), state_color("failed"), theme.color("muted")
        for row, metric in enumerate(metrics):
            new, old = challenger.metrics.get(metric), base.get(metric)
            table.setItem(row, 0, _item(metric_label(metric), tooltip=metric_direction(metric)))
            table.setItem(row, 1, _item(fmt_metric(new) if new is not None else "—", bold=True, right=True))
            table.setItem(row, 2, _item(fmt_metric(old) if old is not None else "—", right=True))
            if new is None or old is None:
                table.setItem(row, 3, _item("—", color=muted, right=True))
                continue
            change = new - old
            better = change > 0 if metric_direction(metric) != "lower is better" else change < 0
            same = abs(change) < 5e-4  # equal at the three decimals shown
            color = muted if same else (good if better else bad)
            table.setItem(row, 3, _item("±0.000" if same else f"{change:+.3f}", color=color, right=True,
                                        tooltip=f"{change:+.6f}"))
        table.resizeColumnsToContents()
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        widths = [header.sectionSize(c) + 14 for c in range(table.columnCount())]
        for col, width in enumerate(widths):
            header.resizeSection(col, width)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setMinimumWidth(sum(widths) + 2 * table.frameWidth())  # every figure readable, never cut
        _fit_height(table)

    def _fill_gate(self, gate: dict) -> None:
        self.criteria = list(gate.get("criteria") or [])
        table = self.gate_table
        table.setRowCount(max(len(self.criteria), 1))
        if not self.criteria:
            table.setSpan(0, 0, 1, 4)
            table.setItem(0, 0, _item("No criteria set: the gate passes every challenger. Set minimums in the "
                                      "recipe (Retrain… → Edit recipe…).", color=theme.color("muted")))
            _fit_height(table)
            return
        table.clearSpans()
        ok, failed, muted = state_color("succeeded"), state_color("failed"), theme.color("muted")
        for row, c in enumerate(self.criteria):
            if c.get("skipped"):
                mark, color = "– Skipped", muted
            else:
                mark, color = ("✓ Pass", ok) if c.get("passed") else ("✗ Fail", failed)
            table.setItem(row, 0, _item(mark, color=color, bold=True))
            table.setItem(row, 1, _item(CRITERION_LABELS.get(c.get("criterion"), str(c.get("criterion")))))
            table.setItem(row, 2, _item(metric_label(str(c.get("metric")))))
            table.setItem(row, 3, _item(str(c.get("reason", "")), tooltip=str(c.get("reason", ""))))
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        _fit_height(table)

    def criteria_shown(self) -> list[tuple[str, str, str]]:
        """(criterion, metric, mark) per row as the table shows them: what a person reads."""
        out = []
        for row in range(len(self.criteria)):
            out.append((self.criteria[row]["criterion"], self.criteria[row]["metric"],
                        self.gate_table.item(row, 0).text()))
        return out

    def _show_version(self) -> None:
        if self.outcome is not None and self.outcome.challenger is not None:
            v = self.outcome.challenger
            self.version_requested.emit(v.model_name, v.number)

    def apply_theme(self) -> None:
        self.chart.apply_theme()
        self.legend_label.setText(self.chart.legend_html())

