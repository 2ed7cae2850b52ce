"""The chosen batch: sorted per-feature drift bars beside reference-vs-current shares of one feature."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from app.core.monitoring import Batch
from app.ui.batch_charts import DistributionChart, FeatureDriftBars
from app.ui.drift_panel import threshold_for
from app.ui.forms import section_label

__all__ = ["BatchDrift", "PREDICTION"]

PREDICTION = "__prediction__"  # the name the drift report gives the model's own output


class BatchDrift(QWidget):
    """The chosen batch: sorted per-feature bars (click one) beside reference-vs-current shares of a feature."""

    feature_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.batch: Batch | None = None
        self.figure, self.threshold = "psi", None
        self.bars_title = section_label("Per-feature drift")
        self.bars = FeatureDriftBars()
        self.bars.feature_clicked.connect(self._bar_clicked)
        self.bars.rendered.connect(self._update_bars_title)
        self.dist_title = section_label("Reference vs this batch")
        self.feature_combo = QComboBox()
        self.feature_combo.setMinimumWidth(180)
        self.feature_combo.currentIndexChanged.connect(self._on_feature)
        # only a person's choice moves the highlight in the timeline, not the default pick of a new batch
        self.feature_combo.activated.connect(lambda _i: self.feature_chosen.emit(self.feature_combo.currentData()))
        self.legend_label = QLabel()
        self.legend_label.setObjectName("Muted")
        self.distribution = DistributionChart()
        self.note_label = QLabel()
        self.note_label.setObjectName("Muted")
        self.note_label.setWordWrap(True)
        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(6, 6, 6, 6)
        lbox.addWidget(self.bars_title)
        lbox.addWidget(self.bars, 1)
        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(6, 6, 6, 6)
        head = QHBoxLayout()
        head.addWidget(self.dist_title)
        head.addSpacing(10)
        head.addWidget(self.legend_label)
        head.addStretch(1)
        head.addWidget(self.feature_combo)
        rbox.addLayout(head)
        rbox.addWidget(self.distribution, 1)
        rbox.addWidget(self.note_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def features(self) -> list[dict]:
        return list(self.batch.drift.get("features", [])) if self.batch else []

    def feature_report(self, name: str) -> dict | None:
        if self.batch is None:
            return None
        if name == PREDICTION:
            return self.batch.drift.get("prediction")
        return next((f for f in self.features() if f["name"] == name), None)

    def show_batch(self, batch: Batch | None, metric: str, thresholds: dict) -> None:
        self.batch, self.figure, self.threshold = batch, metric, threshold_for(thresholds, metric)
        self.bars.set_report(self.features(), metric, self.threshold)
        keep = self.feature_combo.currentData()
        self.feature_combo.blockSignals(True)
        self.feature_combo.clear()
        for name in self.bars.names:  # most drifted first, as in the bars
            self.feature_combo.addItem(name, name)
        if batch is not None and batch.drift.get("prediction"):
            self.feature_combo.addItem("Predictions", PREDICTION)
        index = self.feature_combo.findData(keep)
        self.feature_combo.setCurrentIndex(index if index >= 0 else 0)
        self.feature_combo.blockSignals(False)
        self._on_feature()
        self.update_legend()

    def _update_bars_title(self) -> None:
        batch = self.batch
        label = f" ({batch.label})" if batch and batch.label else ""
        more = f" · top {self.bars.shown} of {len(self.bars.names)}" if self.bars.shown < len(self.bars.names) else ""
        self.bars_title.setText(f"Per-feature drift · batch #{batch.id}{label}{more}".upper() if batch else
                                "PER-FEATURE DRIFT")
        self.bars_title.setToolTip("Features sorted by the figure; the ones that do not fit the height are left "
                                   "out (all are in the feature list and the timeline)." if more else "")

    def set_figure(self, metric: str, thresholds: dict) -> None:
        self.show_batch(self.batch, metric, thresholds)

    def _bar_clicked(self, name: str) -> None:
        self.choose_feature(name)
        self.feature_chosen.emit(name)

    def update_legend(self) -> None:
        ref, cur = self.distribution.reference_color().name(), self.distribution.current_color().name()
        self.legend_label.setText(f"<span style='color:{ref}'>■</span> Reference (training) &nbsp; "
                                  f"<span style='color:{cur}'>■</span> This batch")

    def choose_feature(self, name: str) -> None:
        index = self.feature_combo.findData(name)
        if index >= 0 and index != self.feature_combo.currentIndex():
            self.feature_combo.setCurrentIndex(index)

    def _on_feature(self, _index: int = 0) -> None:
        name = self.feature_combo.currentData()
        report = self.feature_report(name) if name else None
        self.distribution.set_feature(report)
        if report is None:
            self.note_label.setText("")
            return
        notes = [f"{report.get('kind', '').capitalize()}; {report.get('n_current', 0):,} values in the batch"]
        if report.get("unseen_categories"):
            notes.append("unseen: " + ", ".join(map(str, report["unseen_categories"][:5])))
        if report.get("out_of_range_share"):
            notes.append(f"{report['out_of_range_share']:.1%} outside the training range")
        if report.get("message"):
            notes.append(report["message"].rstrip("."))
        self.note_label.setText("; ".join(notes) + ".")
