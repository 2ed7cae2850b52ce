"""Shared look of the pyqtgraph charts: theme colours, series palette, severity colours, axis styling."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

from app.ui import theme
from app.ui.palette import (METRIC_LABELS, METRICS, THRESHOLD_KEYS, bin_edges, fmt_value, series_color,
                            severity_color, short_bin_label, translucent)

__all__ = ["PercentAxis", "bin_edges", "METRICS", "METRIC_LABELS", "THRESHOLD_KEYS", "series_color", "severity_color",
           "style_plot", "freeze_plot", "translucent", "short_bin_label", "fmt_value"]

pg.setConfigOptions(antialias=True)


class PercentAxis(pg.AxisItem):
    """Shares (0–1) shown as percentages."""

    def tickStrings(self, values, scale, spacing):
        digits = 0 if spacing * 100 >= 1 else 1
        return [f"{v * 100:.{digits}f}%" for v in values]


def freeze_plot(widget: pg.PlotWidget) -> None:
    """A chart that is read, not explored: no pan or zoom, no auto-range button, no context menu."""
    item = widget.getPlotItem()
    item.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    item.setMenuEnabled(False)


def style_plot(widget: pg.PlotWidget) -> None:
    """Background, axes and text in the current theme's colours (called again on a theme switch)."""
    widget.setBackground(theme.color("surface"))
    item = widget.getPlotItem()
    font = QFont()
    font.setPointSizeF(8.5)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(theme.color("border")))
        axis.setTextPen(pg.mkPen(theme.color("muted")))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)  # "PSI (x0.001)" reads as a different unit; plain decimals do not
    item.showGrid(x=False, y=True, alpha=0.25 if theme.current_theme() == "light" else 0.18)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(theme.color("text"))
        legend.setBrush(pg.mkBrush(translucent(theme.color("surface"), 215)))
        legend.setPen(pg.mkPen(theme.color("border")))
