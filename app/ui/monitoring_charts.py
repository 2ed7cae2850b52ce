"""Charts over time: the hover read-out they share, and per-feature drift across batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal

from app.core.monitoring import FeaturePoint
from app.ui import theme
from app.ui.chart_style import METRIC_LABELS, fmt_value, series_color, severity_color, style_plot, translucent
from app.ui.formatting import fmt_time

__all__ = ["HoverPlot", "DriftTimeline", "epoch"]

_HOVER_RADIUS_PX = 12


def epoch(moment: datetime) -> float:
    return moment.timestamp()


class HoverPlot(pg.PlotWidget):
    """A time chart that names the point nearest the mouse (within a few pixels) in a floating label."""

    point_hovered = Signal(str)  # the label's text; "" when the mouse leaves every point

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setMinimumHeight(160)
        self.getPlotItem().setMouseEnabled(x=True, y=False)  # zoom in time only: the y scale carries meaning
        self.getPlotItem().hideButtons()
        self.hover_text = ""
        self.hover_label = pg.TextItem(anchor=(0, 1))
        self.hover_label.setZValue(100)
        self.hover_label.hide()
        self.addItem(self.hover_label, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _hover_sources(self) -> Iterable[tuple[np.ndarray, np.ndarray, Sequence[str]]]:
        """(x, y, texts) of every group of points that can be hovered."""
        return ()

    def nearest_point(self, scene_pos: QPointF) -> tuple[str, float, float] | None:
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        mouse = vb.mapSceneToView(scene_pos)
        px, py = vb.viewPixelSize()
        best: tuple[float, str, float, float] | None = None
        for xs, ys, texts in self._hover_sources():
            if not len(xs):
                continue
            dist = ((xs - mouse.x()) / px) ** 2 + ((ys - mouse.y()) / py) ** 2
            dist = np.where(np.isfinite(dist), dist, np.inf)
            i = int(np.argmin(dist))
            if dist[i] <= _HOVER_RADIUS_PX ** 2 and (best is None or dist[i] < best[0]):
                best = (float(dist[i]), texts[i], float(xs[i]), float(ys[i]))
        return best[1:] if best else None

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        found = self.nearest_point(scene_pos)
        text = found[0] if found else ""
        if found:
            self.hover_label.setText(text, color=theme.color("text"))
            self.hover_label.fill = pg.mkBrush(translucent(theme.color("surface"), 235))
            self.hover_label.border = pg.mkPen(theme.color("border"))
            # keep the label inside the plot: flip it to the left of points in the right half
            vb = self.getPlotItem().vb
            (x0, x1), (y0, y1) = vb.viewRange()
            self.hover_label.setAnchor((1 if found[1] > (x0 + x1) / 2 else 0,
                                        0 if found[2] > (y0 + y1) / 2 else 1))
            self.hover_label.setPos(found[1], found[2])
            self.hover_label.show()
        else:
            self.hover_label.hide()
        if text != self.hover_text:
            self.hover_text = text
            self.point_hovered.emit(text)

    def _fit_x(self, xs: np.ndarray) -> None:
        if not len(xs):
            return
        lo, hi = float(np.min(xs)), float(np.max(xs))
        pad = max((hi - lo) * 0.04, 43_200.0)  # at least half a day, so a single batch is not a sliver
        self.setXRange(lo - pad, hi + pad, padding=0)


class DriftTimeline(HoverPlot):
    """One line per feature of a drift figure against batch time, the threshold as a shaded band,
    markers where a feature drifted (coloured by severity) and triangles on batches that opened alerts."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.figure = "psi"
        self.threshold: float | None = None
        self.highlighted: str | None = None
        self._history: list[FeaturePoint] = []
        self._alert_batches: dict[int, tuple[int, ...]] = {}
        self._colors: dict[str, int] = {}
        self.band = pg.LinearRegionItem(orientation="horizontal", movable=False)
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False)
        self.drift_markers = pg.ScatterPlotItem(size=11, pxMode=True)
        self.alert_markers = pg.ScatterPlotItem(symbol="t", size=14, pxMode=True)
        for item, z in ((self.band, -10), (self.threshold_line, -5), (self.drift_markers, 20),
                        (self.alert_markers, 30)):
            item.setZValue(z)
            self.addItem(item, ignoreBounds=item in (self.band, self.threshold_line))
        self.getPlotItem().setLabel("left", METRIC_LABELS[self.figure])
        self.apply_theme()

    # -- data -------------------------------------------------------------------------------------
    def set_history(self, history: Sequence[FeaturePoint], alert_batches: dict[int, tuple[int, ...]],
                    metric: str, threshold: float | None, order: Sequence[str] | None = None) -> None:
        """`order`: the features in the order colours are handed out (a feature keeps its colour later)."""
        self._history = list(history)
        self._alert_batches = {k: v for k, v in alert_batches.items() if v}
        self.figure, self.threshold = metric, threshold
        for name in [*(order or ()), *self.feature_names()]:
            self._colors.setdefault(name, len(self._colors))
        self._render()

    def reset_colors(self) -> None:
        self._colors.clear()

    def set_figure(self, metric: str, threshold: float | None) -> None:
        self.figure, self.threshold = metric, threshold
        self._render()

    def feature_names(self) -> list[str]:
        return list(dict.fromkeys(p.feature for p in self._history))

    def color_of(self, feature: str):
        return series_color(self._colors.get(feature, 0))

    def values(self, feature: str) -> list[float | None]:
        return [getattr(p, self.figure) for p in self._history if p.feature == feature]

    def set_visible_features(self, names: Iterable[str]) -> None:
        shown = set(names)
        for name, curve in self.curves.items():
            curve.setVisible(name in shown)
        self._render_markers()

    def visible_features(self) -> list[str]:
        return [name for name, curve in self.curves.items() if curve.isVisible()]

    def highlight(self, feature: str | None) -> None:
        self.highlighted = feature if feature in self.curves else None
        self._restyle_curves()

    # -- drawing ----------------------------------------------------------------------------------
    def _points(self, feature: str) -> list[FeaturePoint]:
        return [p for p in self._history if p.feature == feature]

    def _render(self) -> None:
        names = self.feature_names()
        for gone in set(self.curves) - set(names):
            self.removeItem(self.curves.pop(gone))
        for name in names:
            points = self._points(name)
            xs = np.array([epoch(p.at) for p in points], dtype=float)
            ys = np.array([np.nan if getattr(p, self.figure) is None else getattr(p, self.figure)
                           for p in points], dtype=float)
            curve = self.curves.get(name)
            if curve is None:
                curve = self.curves[name] = pg.PlotDataItem(connect="finite", symbol="o", symbolSize=5,
                                                            name=name)
                self.addItem(curve)
            if np.isnan(ys).all():  # e.g. no KS statistic for a categorical feature: nothing to draw
                xs, ys = xs[:0], ys[:0]
            curve.setData(xs, ys)
        self._restyle_curves()
        self.getPlotItem().setLabel("left", METRIC_LABELS.get(self.figure, self.figure))
        self._render_threshold()
        self._render_markers()
        self._fit_x(np.array([epoch(p.at) for p in self._history], dtype=float))

    def _restyle_curves(self) -> None:
        for name, curve in self.curves.items():
            color = self.color_of(name)
            faded = self.highlighted is not None and name != self.highlighted
            if faded:
                color = translucent(color, 60)
            width = 3.0 if name == self.highlighted else 1.8
            curve.setPen(pg.mkPen(color, width=width))
            curve.setSymbolBrush(pg.mkBrush(color))
            curve.setSymbolPen(pg.mkPen(color))
            curve.setZValue(10 if name == self.highlighted else 0)

    def _render_threshold(self) -> None:
        shown = self.threshold is not None
        self.band.setVisible(shown)
        self.threshold_line.setVisible(shown)
        if shown:
            # The band reaches far above any plotted value; it is left out of the autorange.
            self.band.setRegion((self.threshold, self.threshold * 1000 + 1000))
            self.threshold_line.setPos(self.threshold)

    def _visible_values(self) -> np.ndarray:
        arrays = [c.getData()[1] for c in self.curves.values() if c.isVisible() and c.getData()[1] is not None]
        values = np.concatenate(arrays) if arrays else np.array([])
        return values[np.isfinite(values)]

    def _render_markers(self) -> None:
        visible = set(self.visible_features())
        spots = [{"pos": (epoch(p.at), getattr(p, self.figure)), "brush": pg.mkBrush(severity_color(p.severity)),
                  "pen": pg.mkPen(theme.color("surface"), width=1.5), "data": (p.batch_id, p.feature)}
                 for p in self._history
                 if p.drifted and p.feature in visible and getattr(p, self.figure) is not None]
        self.drift_markers.setData(spots)
        values = self._visible_values()
        top = max(float(values.max()) if len(values) else 0.0, self.threshold or 0.0, 1e-3)
        times = {p.batch_id: epoch(p.at) for p in self._history}
        alert_ids = [b for b in self._alert_batches if b in times]
        self.alert_markers.setData(
            x=[times[b] for b in alert_ids], y=[top * 1.1] * len(alert_ids), data=alert_ids,
            brush=pg.mkBrush(severity_color("high")), pen=pg.mkPen(theme.color("surface")))
        self.setYRange(0, top * 1.2, padding=0)

    def apply_theme(self) -> None:
        style_plot(self)
        line = severity_color("high")
        self.threshold_line.setPen(pg.mkPen(line, width=1.5, style=Qt.PenStyle.DashLine))
        self.band.setBrush(pg.mkBrush(translucent(line, 22)))
        for edge in self.band.lines:
            edge.setPen(pg.mkPen(None))
        if self._history:
            self._render()

    # -- hover ------------------------------------------------------------------------------------
    def point_text(self, point: FeaturePoint) -> str:
        value = getattr(point, self.figure)
        verdict = f"drifted ({point.severity})" if point.drifted else "no drift"
        label = f" · {point.label}" if point.label else ""
        return (f"Batch #{point.batch_id}{label} · v{point.version}\n{fmt_time(point.at)}\n"
                f"{point.feature}: {METRIC_LABELS.get(self.figure, self.figure)} {fmt_value(value)} · {verdict}")

    def _hover_sources(self):
        visible = set(self.visible_features())
        for name in self.curves:
            if name not in visible:
                continue
            points = self._points(name)
            xs, ys = self.curves[name].getData()
            if xs is not None:
                yield xs, ys, [self.point_text(p) for p in points]
        xs, ys = self.alert_markers.getData()
        ids = list(self.alert_markers.data["data"])
        if len(ids):
            yield xs, ys, [f"Batch #{b} opened alert " + ", ".join(f"#{a}" for a in self._alert_batches[b])
                           for b in ids]
