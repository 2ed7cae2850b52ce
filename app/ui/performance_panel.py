"""Live performance of labelled batches over time, against the version's validation metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.core.entities import Version
from app.core.monitoring import Batch
from app.ui.chart_style import fmt_value, series_color, style_plot
from app.ui.formatting import fmt_time, metric_label
from app.ui.monitoring_charts import HoverPlot, epoch

__all__ = ["PerformanceChart", "PerformancePanel"]

_DEFAULT_ONE = ("r2", "accuracy")  # shown alone when the metrics do not share a scale


class PerformanceChart(HoverPlot):
    """Live metrics of labelled batches, each with its version's validation value as a dashed line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="8.5pt")
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.reference_lines: dict[str, pg.InfiniteLine] = {}
        self.validation: dict[str, float] = {}
        self.shown: str | None = None  # one metric, or None for all
        self._batches: list[Batch] = []
        self.apply_theme()

    def metric_names(self) -> list[str]:
        names: dict[str, None] = {}
        for b in self._batches:
            names.update((k, None) for k in (b.performance or {}) if k != "labelled_rows")
        return list(names)

    def set_history(self, batches: Sequence[Batch], validation: dict[str, float], shown: str | None = None) -> None:
        self._batches = [b for b in batches if b.performance]
        self.validation, self.shown = dict(validation), shown
        self._render()

    def show_metric(self, shown: str | None) -> None:
        self.shown = shown
        self._render()

    def _render(self) -> None:
        plot = self.getPlotItem()
        for item in (*self.curves.values(), *self.reference_lines.values()):
            plot.removeItem(item)
        self.curves.clear()
        self.reference_lines.clear()
        xs = np.array([epoch(b.created_at) for b in self._batches], dtype=float)
        for i, name in enumerate(self.metric_names()):
            if self.shown not in (None, name):
                continue
            color = series_color(i)
            ys = np.array([(b.performance or {}).get(name, np.nan) for b in self._batches], dtype=float)
            base = self.validation.get(name)
            title = metric_label(name) + (f" (validation {fmt_value(base)}, dashed)" if base is not None else "")
            curve = pg.PlotDataItem(xs, ys, connect="finite", pen=pg.mkPen(color, width=2), symbol="o",
                                    symbolSize=6, symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen(color),
                                    name=title)
            plot.addItem(curve)
            self.curves[name] = curve
            if base is not None:
                line = pg.InfiniteLine(pos=base, angle=0, movable=False,
                                       pen=pg.mkPen(color, width=1.3, style=Qt.PenStyle.DashLine))
                plot.addItem(line)  # in the autorange: the gap to validation is the point of the chart
                self.reference_lines[name] = line
        self._fit_x(xs)
        plot.enableAutoRange(axis="y")

    def apply_theme(self) -> None:
        style_plot(self)
        if self._batches:
            self._render()

    def _hover_sources(self):
        for name, curve in self.curves.items():
            xs, ys = curve.getData()
            if xs is None:
                continue
            base = self.validation.get(name)
            texts = [f"Batch #{b.id}{' · ' + b.label if b.label else ''} · v{b.version}\n{fmt_time(b.created_at)}\n"
                     f"{metric_label(name)} {fmt_value((b.performance or {}).get(name))}"
                     + (f" (validation {fmt_value(base)})" if base is not None else "")
                     + f" · {int((b.performance or {}).get('labelled_rows', 0)):,} labelled rows"
                     for b in self._batches]
            yield xs, ys, texts


class PerformancePanel(QWidget):
    """The chart with a metric chooser and a line saying how many batches have labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = PerformanceChart()
        self.metric_combo = QComboBox()
        self.metric_combo.currentIndexChanged.connect(
            lambda _i: self.chart.show_metric(self.metric_combo.currentData()))
        self.note_label = QLabel()
        self.note_label.setObjectName("Muted")
        head = QHBoxLayout()
        head.addWidget(QLabel("Metric"))
        head.addWidget(self.metric_combo)
        head.addSpacing(10)
        head.addWidget(self.note_label, 1)
        box = QVBoxLayout(self)
        box.addLayout(head)
        box.addWidget(self.chart, 1)

    def set_batches(self, batches: Sequence[Batch], version: Version | None) -> None:
        """`version`: whose validation metrics are the dashed lines (the one behind the latest labels)."""
        labelled = [b for b in batches if b.performance]
        names = list(dict.fromkeys(k for b in labelled for k in (b.performance or {}) if k != "labelled_rows"))
        unit_scale = all(0.0 <= v <= 1.0 for b in labelled for k, v in (b.performance or {}).items()
                         if k != "labelled_rows")
        keep = self.metric_combo.currentData() if self.metric_combo.count() else None
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        self.metric_combo.addItem("All metrics", None)
        for name in names:
            self.metric_combo.addItem(metric_label(name), name)
        # errors next to R² would flatten each other on one axis: then one metric at a time
        default = None if unit_scale else next((n for n in _DEFAULT_ONE if n in names), names[0] if names else None)
        index = self.metric_combo.findData(keep if keep in names else default)
        self.metric_combo.setCurrentIndex(max(index, 0))
        self.metric_combo.blockSignals(False)
        self.chart.set_history(labelled, dict(version.metrics) if version else {}, self.metric_combo.currentData())
        self.note_label.setText(
            f"{len(labelled)} of {len(batches)} batches labelled; dashed: validation metrics of v{version.number}."
            if labelled and version else
            "No labels yet: select a batch and use Attach labels… once its outcomes are known.")
