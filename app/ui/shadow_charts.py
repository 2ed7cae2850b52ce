"""Shadow charts: each challenger's agreement with Production over batch time, and metrics side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from app.core.automation import ShadowBatch
from app.ui.chart_style import PercentAxis, fmt_value, freeze_plot, series_color, style_plot
from app.ui.formatting import fmt_time, metric_label
from app.ui.monitoring_charts import HoverPlot, epoch

__all__ = ["AgreementChart", "MetricBars", "challenger_versions"]


def challenger_versions(batches: Sequence[ShadowBatch]) -> list[int]:
    """Every version that shadowed at least one batch, in version order (the order colours are handed out)."""
    return sorted({s.version for b in batches for s in b.challengers})


class AgreementChart(HoverPlot):
    """One line per challenger version: the share of rows on which it predicted what Production did."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAxisItems({"left": PercentAxis(orientation="left")})
        self.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="8.5pt")
        self.curves: dict[int, pg.PlotDataItem] = {}
        self._batches: list[ShadowBatch] = []
        self.apply_theme()

    def set_batches(self, batches: Sequence[ShadowBatch]) -> None:
        self._batches = list(batches)
        self._render()

    def _points(self, version: int) -> list[tuple[ShadowBatch, float]]:
        return [(b, s.agreement) for b in self._batches for s in b.challengers if s.version == version]

    def _render(self) -> None:
        plot = self.getPlotItem()
        for curve in self.curves.values():
            plot.removeItem(curve)
        self.curves.clear()
        lowest = 1.0
        for i, version in enumerate(challenger_versions(self._batches)):
            points = self._points(version)
            xs = np.array([epoch(b.created_at) for b, _ in points], dtype=float)
            ys = np.array([a for _, a in points], dtype=float)
            lowest = min(lowest, float(ys.min()))
            color = series_color(i + 1)  # colour 0 is Production's in the bar chart
            curve = pg.PlotDataItem(xs, ys, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=7,
                                    symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen(color),
                                    name=f"v{version} vs Production")
            plot.addItem(curve)
            self.curves[version] = curve
        self._fit_x(np.array([epoch(b.created_at) for b in self._batches], dtype=float))
        # Agreement lives near 100 %: a 0–100 % axis would flatten every change that matters.
        plot.setYRange(max(0.0, lowest - max(0.05, (1.0 - lowest) * 0.3)), 1.0, padding=0.04)

    def apply_theme(self) -> None:
        style_plot(self)
        if self._batches:
            self._render()

    def _hover_sources(self):
        for version, curve in self.curves.items():
            xs, ys = curve.getData()
            if xs is None:
                continue
            texts = [f"Batch #{b.batch_id}{' · ' + b.label if b.label else ''}\n{fmt_time(b.created_at)}\n"
                     f"v{version} agrees with Production v{b.production_version} on {a * 100:.1f}% "
                     f"of {b.rows:,} rows" for b, a in self._points(version)]
            yield xs, ys, texts


class MetricBars(pg.PlotWidget):
    """Grouped bars: for each metric, Production's value and each challenger's on the same labelled rows."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(170)
        self.setMinimumWidth(240)
        freeze_plot(self)
        plot = self.getPlotItem()
        plot.addLegend(offset=(6, 4), labelTextSize="8pt", colCount=4)  # one row above the bars
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.metrics: list[str] = []
        self.values: dict[str, list[float]] = {}
        self._series: list[tuple[str, str, dict[str, float]]] = []
        style_plot(self)

    def set_series(self, metrics: Sequence[str], series: Sequence[tuple[str, str, dict[str, float]]]) -> None:
        """`series`: (key, legend title, metric values), Production first; a missing value leaves a gap."""
        self.metrics, self._series = list(metrics), list(series)
        self._render()

    def _render(self) -> None:
        plot = self.getPlotItem()
        for bar in self.bars.values():
            plot.removeItem(bar)
        if plot.legend is not None:
            plot.legend.clear()
        self.bars.clear()
        self.values = {}
        xs = np.arange(len(self.metrics), dtype=float)
        width = 0.8 / max(len(self._series), 1)
        for i, (key, title, values) in enumerate(self._series):
            ys = np.array([values.get(m, np.nan) for m in self.metrics], dtype=float)
            self.values[key] = [float(v) for v in ys]
            color = series_color(i)
            bar = pg.BarGraphItem(x=xs - 0.4 + width * (i + 0.5), height=np.nan_to_num(ys, nan=0.0),
                                  width=width * 0.92, brush=pg.mkBrush(color), pen=pg.mkPen(None), name=title)
            plot.addItem(bar)
            self.bars[key] = bar
        plot.getAxis("bottom").setTicks([[(float(x), metric_label(m)) for x, m in zip(xs, self.metrics,
                                                                                       strict=True)]])
        finite = [v for vals in self.values.values() for v in vals if np.isfinite(v)]
        top = max(finite, default=1.0)
        plot.setXRange(-0.6, max(len(self.metrics), 1) - 0.4, padding=0)
        plot.setYRange(0.0, top * 1.3 if top > 0 else 1.0, padding=0)  # headroom for the legend row
        unit = bool(finite) and all(0.0 <= v <= 1.0 for v in finite)
        # shares stop at 1: no tick may suggest more in the legend's headroom
        plot.getAxis("left").setTicks([[(t / 5, f"{t / 5:.1f}") for t in range(6)]] if unit else None)
        self.setToolTip("\n".join(
            f"{title}: " + ", ".join(f"{metric_label(m)} {fmt_value(values.get(m))}" for m in self.metrics)
            for _key, title, values in self._series))

    def apply_theme(self) -> None:
        style_plot(self)
        if self._series:
            self._render()
