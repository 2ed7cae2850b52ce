"""Drift over time of one model: the figure's timeline beside a checkable, highlightable feature list."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from app.core.monitoring import Batch, FeaturePoint
from app.ui.palette import METRIC_LABELS, METRICS, THRESHOLD_KEYS, fmt_value
from app.ui.forms import section_label
from app.ui.monitoring_charts import DriftTimeline

__all__ = ["DriftOverTime", "threshold_for"]

_DEFAULT_SHOWN = 6  # more lines than this turn the chart into spaghetti; the rest wait in the list


def _swatch(color: QColor) -> QIcon:
    pix = QPixmap(QSize(12, 12))
    pix.fill(color)
    return QIcon(pix)


def threshold_for(thresholds: dict, metric: str) -> float | None:
    key = THRESHOLD_KEYS.get(metric)
    value = thresholds.get(key) if key else None
    return float(value) if value is not None else None


class DriftOverTime(QWidget):
    """The metric selector, the timeline, a hover read-out and a checkable, highlightable feature list."""

    figure_changed = Signal(str)
    feature_highlighted = Signal(str)  # "" when nothing is highlighted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thresholds: dict = {}
        self._hidden: dict[str, set[str]] = {}  # per model: features the person unchecked
        self.model: str | None = None
        self.figure_combo = QComboBox()
        for key in METRICS:
            self.figure_combo.addItem(METRIC_LABELS[key], key)
        self.figure_combo.currentIndexChanged.connect(self._on_figure)
        self.hover_label = QLabel("Point at a marker to read its batch and value.")
        self.hover_label.setObjectName("Muted")
        self.threshold_label = QLabel()
        self.threshold_label.setObjectName("Muted")
        self.chart = DriftTimeline()
        self.chart.point_hovered.connect(self._on_hover)
        self.feature_list = QListWidget()
        self.feature_list.setFixedWidth(220)
        self.feature_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.feature_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.feature_list.itemChanged.connect(self._on_item_changed)
        self.feature_list.currentItemChanged.connect(self._on_current)
        self.feature_list.itemDoubleClicked.connect(self.show_only)
        self.feature_list.itemClicked.connect(self._on_clicked)
        self._current_changed = False  # did the click that just happened move the highlight?
        self.all_button = QPushButton("All")
        self.none_button = QPushButton("None")
        for button, state in ((self.all_button, True), (self.none_button, False)):
            button.setFlat(True)
            button.clicked.connect(lambda _=False, s=state: self.check_all(s))

        top = QHBoxLayout()
        top.addWidget(QLabel("Figure"))
        top.addWidget(self.figure_combo)
        top.addSpacing(10)
        top.addWidget(self.threshold_label)
        top.addStretch(1)
        side = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(section_label("Features"))
        head.addStretch(1)
        head.addWidget(self.all_button)
        head.addWidget(self.none_button)
        side.addLayout(head)
        side.addWidget(self.feature_list, 1)
        hint = QLabel("Tick to show, click to highlight\n(again to let go), double-click\nto show only that one.")
        hint.setObjectName("Muted")
        side.addWidget(hint)
        chart_box = QVBoxLayout()
        chart_box.addLayout(top)
        chart_box.addWidget(self.chart, 1)
        chart_box.addWidget(self.hover_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 6, 6, 6)
        row.addLayout(chart_box, 1)
        row.addLayout(side)

    @property
    def figure(self) -> str:
        return self.figure_combo.currentData()

    def set_figure(self, metric: str) -> None:
        self.figure_combo.setCurrentIndex(self.figure_combo.findData(metric))

    def set_history(self, model: str, history: Sequence[FeaturePoint], batches: Sequence[Batch],
                    thresholds: dict) -> None:
        if model != self.model:
            self.chart.reset_colors()
        self.model, self.thresholds = model, dict(thresholds)
        alerts = {b.id: b.alerts for b in batches if b.alerts}
        self.chart.set_history(history, alerts, self.figure, threshold_for(self.thresholds, self.figure),
                               order=self._ordered(history))
        self._fill_list(history)
        self._update_threshold_label()

    def _ordered(self, history: Sequence[FeaturePoint]) -> list[str]:
        """Features drifted in the latest batch first, then by the figure's latest value."""
        latest: dict[str, FeaturePoint] = {p.feature: p for p in history}  # oldest first: the last one wins
        return sorted(latest, key=lambda n: (not latest[n].drifted, -(getattr(latest[n], self.figure) or 0.0)))

    def _fill_list(self, history: Sequence[FeaturePoint]) -> None:
        latest: dict[str, FeaturePoint] = {p.feature: p for p in history}
        names = self._ordered(history)
        hidden = self._hidden.setdefault(self.model or "", set(names[_DEFAULT_SHOWN:]) - {
            n for n in names if latest[n].drifted})
        current = self.feature_list.currentItem().text() if self.feature_list.currentItem() else None
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        for name in names:
            item = QListWidgetItem(_swatch(self.chart.color_of(name)), name, self.feature_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if name in hidden else Qt.CheckState.Checked)
            point = latest[name]
            item.setToolTip(f"Latest batch: {METRIC_LABELS[self.figure]} {fmt_value(getattr(point, self.figure))}"
                            + (f", drifted ({point.severity})" if point.drifted else ", no drift"))
            if name == current:
                self.feature_list.setCurrentItem(item)
        self.feature_list.blockSignals(False)
        self.chart.set_visible_features(n for n in names if n not in hidden)
        self.chart.highlight(current if current in names else None)

    def checked_features(self) -> list[str]:
        return [self.feature_list.item(i).text() for i in range(self.feature_list.count())
                if self.feature_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Sequence[str]) -> None:
        wanted = set(names)
        self.feature_list.blockSignals(True)
        for i in range(self.feature_list.count()):
            item = self.feature_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.feature_list.blockSignals(False)
        self._sync_visibility()

    def check_all(self, state: bool) -> None:
        self.set_checked([self.feature_list.item(i).text() for i in range(self.feature_list.count())] if state else [])

    def show_only(self, item: QListWidgetItem) -> None:
        self.set_checked([item.text()])

    def highlight(self, feature: str | None) -> None:
        """Select `feature` in the list (showing it if it was unticked) and draw its line on top."""
        items = self.feature_list.findItems(feature or "", Qt.MatchFlag.MatchExactly) if feature else []
        if items:
            if items[0].checkState() != Qt.CheckState.Checked:
                items[0].setCheckState(Qt.CheckState.Checked)
            self.feature_list.setCurrentItem(items[0])
        else:
            self.feature_list.setCurrentItem(None)
            self.chart.highlight(None)

    def _on_item_changed(self, _item: QListWidgetItem) -> None:
        self._sync_visibility()

    def _sync_visibility(self) -> None:
        checked = set(self.checked_features())
        self._hidden[self.model or ""] = {self.feature_list.item(i).text() for i in range(self.feature_list.count())
                                          } - checked
        self.chart.set_visible_features(checked)

    def _on_clicked(self, _item: QListWidgetItem) -> None:
        if not self._current_changed:  # a second click on the highlighted feature lets go of it
            self.feature_list.setCurrentItem(None)
            self.feature_list.clearSelection()
        self._current_changed = False

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        self._current_changed = current is not None
        name = current.text() if current is not None else None
        self.chart.highlight(name)
        self.feature_highlighted.emit(name or "")

    def _on_figure(self, _index: int) -> None:
        self.chart.set_figure(self.figure, threshold_for(self.thresholds, self.figure))
        self._update_threshold_label()
        self.figure_changed.emit(self.figure)

    def _update_threshold_label(self) -> None:
        value = threshold_for(self.thresholds, self.figure)
        if value is None:
            alpha = self.thresholds.get("alpha", 0.01)
            self.threshold_label.setText(f"No threshold line: KS decides through its p-value (α = {alpha:g}).")
        else:
            self.threshold_label.setText(f"Shaded: at or above the threshold {fmt_value(value)}; "
                                         "markers: drifted (by severity), ▼ opened an alert.")

    def _on_hover(self, text: str) -> None:
        self.hover_label.setText(text.replace("\n", "  ·  ") if text else
                                 "Point at a marker to read its batch and value.")
