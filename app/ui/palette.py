"""Colours, figure names and number formats shared by charts and tables (no pyqtgraph: cheap to import)."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor

from app.ui import theme

__all__ = ["bin_edges", "METRICS", "METRIC_LABELS", "THRESHOLD_KEYS", "series_color", "severity_color",
           "translucent", "short_bin_label", "fmt_value"]

# The per-feature drift figures a chart can show, in the order of the selector. Widgets call the chosen one
# their `figure`: an attribute named `metric` would shadow QWidget.metric(), which Qt calls while painting
# (shiboken then calls the string and crashes, e.g. in grab()).
METRICS = ("psi", "js_distance", "wasserstein_norm", "ks_statistic")
METRIC_LABELS = {"psi": "PSI", "js_distance": "JS distance", "wasserstein_norm": "Wasserstein ÷ σ",
                 "ks_statistic": "KS statistic"}
# The drift setting that is each metric's threshold. The KS statistic has none: its p-value is
# the significance guard, so no line can honestly be drawn on the statistic itself.
THRESHOLD_KEYS = {"psi": "psi", "js_distance": "js_distance", "wasserstein_norm": "wasserstein_norm",
                  "ks_statistic": None}

# Distinguishable in both themes (and for the common colour-vision deficiencies, as far as ten allow).
_SERIES = {
    "light": ("#2f6fde", "#e8710a", "#1e8e3e", "#9334e6", "#d01884", "#12a4b8", "#8a5a00", "#5f6368",
              "#c5221f", "#174ea6"),
    "dark": ("#7fb0ff", "#ffa657", "#7ee2a0", "#c9a2ff", "#ff8fc7", "#6fe0f0", "#e3b341", "#b8c0c9",
             "#ff7b72", "#a5c8ff"),
}
_SEVERITY = {
    "light": {"none": "#8a939e", "low": "#e3a008", "medium": "#e8710a", "high": "#d93025"},
    "dark": {"none": "#7d8590", "low": "#ffd166", "medium": "#ffa657", "high": "#ff7b72"},
}


def series_color(index: int) -> QColor:
    palette = _SERIES[theme.current_theme()]
    return QColor(palette[index % len(palette)])


def severity_color(severity: str | None) -> QColor:
    table = _SEVERITY[theme.current_theme()]
    return QColor(table.get(str(severity or "none"), table["none"]))


def translucent(color: QColor, alpha: int) -> QColor:
    out = QColor(color)
    out.setAlpha(alpha)
    return out


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def _short_number(text: str) -> str:
    value = float(text)
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"


def short_bin_label(label: str) -> str:
    """'[37.78, 47.96)' → '37.8–48', '< 37.78' → '< 37.8'; category names are cut at 14 characters."""
    numbers = _NUMBER.findall(label)
    if label.startswith("[") and len(numbers) == 2:
        return f"{_short_number(numbers[0])}–{_short_number(numbers[1])}"
    if label[:1] in "<≥>≤" and len(numbers) == 1:
        return f"{label[0]} {_short_number(numbers[0])}"
    return label if len(label) <= 14 else label[:13] + "…"


def bin_edges(labels: list[str]) -> list[str] | None:
    """The n-1 inner edges of numeric bins labelled '< a', '[a, b)', …, '≥ z' (None for categories).

    A histogram reads best with its edges on the axis: short numbers that never crowd each other.
    """
    if len(labels) < 2 or labels[0][:1] != "<" or labels[-1][:1] != "≥":
        return None
    edges = []
    for label in labels[:-1]:
        numbers = _NUMBER.findall(label)
        if not numbers:
            return None
        edges.append(_short_number(numbers[-1]))
    return edges


def fmt_value(value: float | None) -> str:
    if value is None or value != value:  # NaN: the figure was not computed for this batch
        return "—"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.4g}"
