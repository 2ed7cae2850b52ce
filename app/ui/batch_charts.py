"""Charts of one batch: its per-feature drift as sorted bars, and one feature's reference vs current shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFontMetrics

from app.ui import theme
from app.ui.chart_style import (
    METRIC_LABELS, PercentAxis, bin_edges, fmt_value, freeze_plot, series_color, severity_color, short_bin_label,
    style_plot,
)

__all__ = ["FeatureDriftBars", "DistributionChart"]


class _StaticPlot(pg.PlotWidget):
    """A plot that is read, not explored: no panning, zooming or context menu."""

    def __init__(self, parent=None, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        freeze_plot(self)
        item = self.getPlotItem()
        item.vb.setMouseEnabled(False, False)
        self.setMinimumHeight(150)


class FeatureDriftBars(_StaticPlot):
    """Horizontal bars of one batch's drift figure per feature, largest at the top, coloured by severity."""

    feature_clicked = Signal(str)
    rendered = Signal()  # bars redrawn (their number depends on the height)
    ROW_PX = 17  # below this the feature names on the axis run into each other

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.names: list[str] = []  # top to bottom
        self.values: list[float] = []  # top to bottom; a figure that was not computed counts as 0
        self.severities: list[str] = []
        self.shown = 0  # bars drawn: the largest ones that fit the height
        self.figure, self.threshold = "psi", None
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.62, width=[])
        self.threshold_line = pg.InfiniteLine(angle=90, movable=False)
        self.addItem(self.bars)
        self.addItem(self.threshold_line)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.apply_theme()

    def set_report(self, features: Sequence[dict], metric: str, threshold: float | None) -> None:
        self.figure, self.threshold = metric, threshold
        rows = sorted(((f["name"], f.get(metric) or 0.0, f.get("severity") or "none") for f in features),
                      key=lambda r: r[1], reverse=True)
        self.names = [r[0] for r in rows]
        self.values = [float(r[1]) for r in rows]
        self.severities = [r[2] for r in rows]
        self._render()

    def capacity(self) -> int:
        height = self.getPlotItem().vb.height() or max(self.height() - 50, 0)
        return max(int(height // self.ROW_PX), 3)

    def _render(self) -> None:
        n = self.shown = min(len(self.names), self.capacity())
        ys = np.arange(n - 1, -1, -1, dtype=float)  # the first (largest) bar at the top
        self.bars.setOpts(x0=np.zeros(n), y=ys, width=np.array(self.values[:n], dtype=float), height=0.62,
                          brushes=[pg.mkBrush(severity_color(s)) for s in self.severities[:n]],
                          pen=pg.mkPen(None))
        axis = self.getPlotItem().getAxis("left")
        axis.setTicks([[(float(y), self._tick(name)) for y, name in zip(ys, self.names[:n], strict=True)]])
        self.threshold_line.setVisible(self.threshold is not None)
        if self.threshold is not None:
            self.threshold_line.setPos(self.threshold)
        top = max(max(self.values, default=0.0), self.threshold or 0.0, 1e-3)
        self.setXRange(0, top * 1.08, padding=0)
        self.setYRange(-0.6, max(n, 1) - 0.4, padding=0)
        self.rendered.emit()
        self.getPlotItem().setLabel("bottom", METRIC_LABELS.get(self.figure, self.figure))

    @staticmethod
    def _tick(name: str) -> str:
        return name if len(name) <= 22 else name[:21] + "…"

    def bar_text(self, index: int) -> str:
        verdict = f"drifted ({self.severities[index]})" if self.severities[index] != "none" else "no drift"
        return f"{self.names[index]}: {METRIC_LABELS.get(self.figure, self.figure)} " \
               f"{fmt_value(self.values[index])} · {verdict}"

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "names", None) and self.capacity() != self.shown and \
                (self.shown < len(self.names) or self.capacity() < self.shown):
            self._render()

    def _index_at(self, scene_pos: QPointF) -> int | None:
        vb = self.getPlotItem().vb
        if not self.shown or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        row = self.shown - 1 - int(round(vb.mapSceneToView(scene_pos).y()))
        return row if 0 <= row < self.shown else None

    def _on_click(self, event) -> None:
        index = self._index_at(event.scenePos())
        if index is not None:
            self.feature_clicked.emit(self.names[index])

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        index = self._index_at(self.mapToScene(event.position().toPoint()))
        self.setToolTip(self.bar_text(index) if index is not None else "")

    def apply_theme(self) -> None:
        style_plot(self)
        self.getPlotItem().showGrid(x=True, y=False, alpha=0.2)
        self.threshold_line.setPen(pg.mkPen(severity_color("high"), width=1.5, style=Qt.PenStyle.DashLine))
        if self.names:
            self._render()


class DistributionChart(_StaticPlot):
    """Paired bars per bin (numeric) or category: the reference share beside the batch's share."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems={"left": PercentAxis(orientation="left")})
        self.labels: list[str] = []
        self.ref: list[float] = []
        self.cur: list[float] = []
        self.feature: dict | None = None
        self.ref_bars = pg.BarGraphItem(x=[], height=[], width=0.4)
        self.cur_bars = pg.BarGraphItem(x=[], height=[], width=0.4)
        self.addItem(self.ref_bars)
        self.addItem(self.cur_bars)
        self.apply_theme()

    def set_feature(self, feature: dict | None) -> None:
        self.feature = feature
        self.labels = list(feature.get("bin_labels") or []) if feature else []
        self.ref = [float(v) for v in (feature.get("ref_bins") or [])] if feature else []
        self.cur = [float(v) for v in (feature.get("cur_bins") or [])] if feature else []
        self._render()

    def _render(self) -> None:
        n = len(self.labels)
        xs = np.arange(n, dtype=float)
        surface = theme.color("surface")
        self.ref_bars.setOpts(x=xs - 0.2, height=np.array(self.ref, dtype=float), width=0.4,
                              brush=pg.mkBrush(self.reference_color()), pen=pg.mkPen(surface))
        self.cur_bars.setOpts(x=xs + 0.2, height=np.array(self.cur, dtype=float), width=0.4,
                              brush=pg.mkBrush(self.current_color()), pen=pg.mkPen(surface))
        self._update_ticks()
        top = max(max(self.ref, default=0.0), max(self.cur, default=0.0), 0.05)
        self.setYRange(0, top * 1.15, padding=0)
        self.setXRange(-0.6, max(n, 1) - 0.4, padding=0)

    @staticmethod
    def reference_color():
        return theme.color("muted") if theme.current_theme() == "dark" else theme.color("border").darker(125)

    @staticmethod
    def current_color():
        return series_color(0)

    def _update_ticks(self) -> None:
        """Every bin is labelled when the labels fit; otherwise every k-th (all are in the tooltip)."""
        n = len(self.labels)
        edges = bin_edges(self.labels)
        # numeric bins: their edges between the pairs; categories: their names under the pairs
        short = edges if edges is not None else [short_bin_label(label) for label in self.labels]
        offset = 0.5 if edges is not None else 0.0
        width = max(self.getPlotItem().vb.width(), 1.0)
        fm = QFontMetrics(self.getPlotItem().getAxis("bottom").style.get("tickFont") or self.font())
        widest = max((fm.horizontalAdvance(s) for s in short), default=0) + 10
        step = max(1, int(np.ceil(widest / (width / max(n, 1)))))
        major = [(i + offset, s) for i, s in enumerate(short) if i % step == 0]
        self.getPlotItem().getAxis("bottom").setTicks([major, []])
        self.setToolTip("\n".join(f"{label}: reference {r:.1%}, batch {c:.1%}"
                                  for label, r, c in zip(self.labels, self.ref, self.cur, strict=False)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "labels", None):  # pyqtgraph resizes once inside __init__, before our fields exist
            self._update_ticks()

    def apply_theme(self) -> None:
        style_plot(self)
        if self.feature is not None:
            self._render()
