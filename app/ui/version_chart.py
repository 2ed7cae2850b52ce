"""Every metric of a model across its versions (x = version number), the Production version highlighted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.core.entities import Stage, Version
from app.ui import theme
from app.ui.chart_style import freeze_plot, series_color, style_plot, translucent
from app.ui.formatting import metric_label
from app.ui.forms import section_label

__all__ = ["VersionMetricsChart", "VersionMetricsPanel"]

_DEFAULT_ONE = ("r2", "accuracy")  # shown alone when the metrics do not share a scale


class VersionMetricsChart(pg.PlotWidget):
    """One line per metric over version numbers; the Production version gets a band and ringed points."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        freeze_plot(self)
        self.setMinimumHeight(140)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.versions: list[Version] = []
        self.production: int | None = None
        self.shown: str | None = None
        self.production_band = pg.LinearRegionItem(orientation="vertical", movable=False)
        self.production_band.setZValue(-10)
        self.production_points = pg.ScatterPlotItem(size=13, pxMode=True)
        self.production_points.setZValue(20)
        self.addItem(self.production_band, ignoreBounds=True)
        self.addItem(self.production_points)
        self.apply_theme()

    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(k for v in self.versions for k in v.metrics))

    def set_versions(self, versions: Sequence[Version], shown: str | None = None) -> None:
        self.versions = sorted(versions, key=lambda v: v.number)
        self.production = next((v.number for v in self.versions if v.stage is Stage.PRODUCTION), None)
        self.shown = shown
        self._render()

    def show_metric(self, shown: str | None) -> None:
        self.shown = shown
        self._render()

    def _render(self) -> None:
        plot = self.getPlotItem()
        for curve in self.curves.values():
            plot.removeItem(curve)
        self.curves.clear()
        xs = np.array([v.number for v in self.versions], dtype=float)
        ring_x, ring_y, ring_pens = [], [], []
        for i, name in enumerate(self.metric_names()):
            if self.shown not in (None, name):
                continue
            color = series_color(i)
            ys = np.array([v.metrics.get(name, np.nan) for v in self.versions], dtype=float)
            curve = pg.PlotDataItem(xs, ys, connect="finite", pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                                    symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen(color), name=metric_label(name))
            plot.addItem(curve)
            self.curves[name] = curve
            if self.production is not None:
                at = [j for j, v in enumerate(self.versions) if v.number == self.production]
                if at and np.isfinite(ys[at[0]]):
                    ring_x.append(float(self.production))
                    ring_y.append(float(ys[at[0]]))
                    ring_pens.append(pg.mkPen(color, width=2.2))
        self.production_points.setData(ring_x, ring_y, pen=ring_pens or None, brush=pg.mkBrush(None))
        self.production_band.setVisible(self.production is not None)
        if self.production is not None:
            self.production_band.setRegion((self.production - 0.18, self.production + 0.18))
        axis = plot.getAxis("bottom")
        axis.setTicks([[(float(n), f"v{n}" + (" · Prod" if n == self.production else "")) for n in xs.astype(int)]])
        if len(xs):
            self.setXRange(float(xs.min()) - 0.5, float(xs.max()) + 0.5, padding=0)
        plot.enableAutoRange(axis="y")

    def legend_html(self) -> str:
        """Coloured names of the lines drawn, for a label above the plot (a legend inside would hide points)."""
        names = self.metric_names()
        return " &nbsp; ".join(f"<span style='color:{series_color(i).name()}'>●</span> {metric_label(n)}"
                               for i, n in enumerate(names) if n in self.curves)

    def production_values(self) -> dict[str, float]:
        """The highlighted points, by metric (what the rings are drawn on)."""
        version = next((v for v in self.versions if v.number == self.production), None)
        return {k: v for k, v in (version.metrics if version else {}).items() if k in self.curves}

    def apply_theme(self) -> None:
        style_plot(self)
        fill = translucent(theme.stage_colors("production")[0], 170) if theme.stage_colors("production") else None
        for line in self.production_band.lines:
            line.setPen(pg.mkPen(None))
        if fill is not None:
            self.production_band.setBrush(pg.mkBrush(fill))
        if self.versions:
            self._render()


class VersionMetricsPanel(QWidget):
    """The chart with its title and a metric chooser (errors and scores do not share one axis)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = VersionMetricsChart()
        self.title = section_label("Metrics across versions")
        self.metric_combo = QComboBox()
        self.metric_combo.currentIndexChanged.connect(self._on_metric_chosen)
        self.legend_label = QLabel()
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(10)
        head.addWidget(self.legend_label, 0, Qt.AlignmentFlag.AlignVCenter)
        head.addStretch(1)
        head.addWidget(self.metric_combo)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addLayout(head)
        box.addWidget(self.chart, 1)

    def set_versions(self, versions: Sequence[Version]) -> None:
        names = list(dict.fromkeys(k for v in versions for k in v.metrics))
        unit_scale = all(0.0 <= x <= 1.0 for v in versions for x in v.metrics.values())
        keep = self.metric_combo.currentData() if self.metric_combo.count() else None
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        self.metric_combo.addItem("All metrics", None)
        for name in names:
            self.metric_combo.addItem(metric_label(name), name)
        default = None if unit_scale else next((n for n in _DEFAULT_ONE if n in names), names[0] if names else None)
        self.metric_combo.setCurrentIndex(max(self.metric_combo.findData(keep if keep in names else default), 0))
        self.metric_combo.blockSignals(False)
        self.chart.set_versions(versions, self.metric_combo.currentData())
        production = self.chart.production
        self.chart.setToolTip(f"Validation metrics of {len(versions)} version{'s' if len(versions) != 1 else ''}; "
                              + (f"ringed and shaded: the Production version v{production}" if production
                                 else "none is in Production"))
        self.legend_label.setText(self.chart.legend_html())

    def _on_metric_chosen(self, _index: int) -> None:
        self.chart.show_metric(self.metric_combo.currentData())
        self.legend_label.setText(self.chart.legend_html())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme switched: charts are not styled by QSS
            self.chart.apply_theme()
            self.legend_label.setText(self.chart.legend_html())
