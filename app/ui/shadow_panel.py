"""A model's shadow evaluation: Staging challengers' agreement with Production and their metrics on live labels."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QStackedWidget, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from app.core.automation import ShadowBatch
from app.core.entities import Stage
from app.ml.metrics import HIGHER_IS_BETTER
from app.services.queries import list_versions
from app.services.shadow import shadow_comparison
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.palette import fmt_value
from app.ui.formatting import fmt_time, metric_label
from app.ui.forms import section_label
from app.ui.messages import describe_error
from app.ui.shadow_charts import AgreementChart, MetricBars
from app.ui.tasks import TaskRunner

__all__ = ["ShadowPanel", "ShadowView", "load_shadow", "EMPTY_TEXT", "VALUE_ROLE"]

EMPTY_TEXT = ("No challenger in Staging — shadow scores appear when a version is in Staging while batches "
              "are scored.")
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  # the unrounded metric value behind a table cell


@dataclass(frozen=True)
class ShadowView:
    """What the panel shows for one model: its shadow batches (oldest first) and its versions' stages."""

    name: str
    batches: list[ShadowBatch]
    stages: dict[int, Stage]  # version number -> stage now
    staging: list[int]
    production: int | None

    @property
    def labelled(self) -> list[ShadowBatch]:
        """Batches with labels, newest first (the first is the default in the chooser)."""
        return [b for b in reversed(self.batches) if b.production_performance]


def load_shadow(ws: Workspace, name: str) -> ShadowView:
    versions = list_versions(ws, name)
    stages = {v.number: v.stage for v in versions}
    production = next((v.number for v in versions if v.stage is Stage.PRODUCTION), None)
    staging = sorted(v.number for v in versions if v.stage is Stage.STAGING)
    return ShadowView(name, shadow_comparison(ws, name), stages, staging, production)


class ShadowPanel(QWidget):
    """Reads in the background on set_model()/refresh(); emits comparison_loaded(ShadowView) when shown."""

    comparison_loaded = Signal(object)  # the ShadowView now on screen

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.name: str | None = None
        self.view: ShadowView | None = None
        self._loading = self._again = False

        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        self.chart = AgreementChart()
        self.batch_combo = QComboBox()
        self.batch_combo.currentIndexChanged.connect(lambda _i: self._show_metrics())
        self.batch_note = QLabel()
        self.batch_note.setObjectName("Muted")
        self.metrics_table = QTableWidget(0, 0)
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metrics_table.setAlternatingRowColors(True)
        self.metrics_table.setShowGrid(False)
        self.metrics_table.verticalHeader().hide()
        header = self.metrics_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(110)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bars = MetricBars()
        self.no_labels_label = QLabel("No labels yet for a batch with shadow scores: attach labels to a batch to "
                                      "compare the versions' metrics on the same rows.")
        self.no_labels_label.setObjectName("Muted")
        self.no_labels_label.setWordWrap(True)

        metrics_head = QHBoxLayout()
        metrics_head.addWidget(section_label("Metrics on the same labelled rows"))
        metrics_head.addStretch(1)
        metrics_head.addWidget(QLabel("Batch"))
        metrics_head.addWidget(self.batch_combo)
        metrics_row = QHBoxLayout()
        metrics_row.addWidget(self.metrics_table, 3)
        metrics_row.addWidget(self.bars, 2)
        self.metrics_box = QWidget()
        metrics_layout = QVBoxLayout(self.metrics_box)
        metrics_layout.setContentsMargins(0, 0, 0, 0)
        metrics_layout.addWidget(self.batch_note)
        metrics_layout.addLayout(metrics_row, 1)
        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.summary_label)
        box.addWidget(section_label("Agreement with Production", 4))
        box.addWidget(self.chart, 3)
        box.addLayout(metrics_head)
        box.addWidget(self.metrics_box, 2)
        box.addWidget(self.no_labels_label)

        self.empty_label = QLabel("Choose a model to see its shadow evaluation.")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty_label)
        self.body.addWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.body)

    # -- loading ----------------------------------------------------------------------------------
    def set_model(self, name: str | None) -> None:
        self.name = name
        self.refresh()

    def refresh(self) -> None:
        """Read the model's shadow scores in the background; calls made meanwhile fold into one."""
        if not self.name:
            self.view = None
            self.empty_label.setText("Choose a model to see its shadow evaluation.")
            self.body.setCurrentIndex(0)
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.runner.submit(load_shadow, self.ws, self.name, on_success=self._apply, on_error=self._load_failed)

    def _settled(self) -> bool:
        """False when another read was asked for meanwhile (it is started now)."""
        self._loading = False
        if self._again:
            self._again = False
            self.refresh()
            return False
        return True

    def _load_failed(self, exc: BaseException) -> None:
        if self._settled():
            self.empty_label.setText(f"Could not read the shadow scores: {describe_error(exc)[0]}")
            self.body.setCurrentIndex(0)

    def _apply(self, view: ShadowView) -> None:
        if not self._settled() or view.name != self.name:
            return
        self.view = view
        if not view.batches:
            self.empty_label.setText(self._empty_text(view))
            self.body.setCurrentIndex(0)
        else:
            self.body.setCurrentIndex(1)
            self.summary_label.setText(self._summary(view))
            self.chart.set_batches(view.batches)
            self._fill_batches(view)
        self.comparison_loaded.emit(view)

    # -- showing ----------------------------------------------------------------------------------
    @staticmethod
    def _empty_text(view: ShadowView) -> str:
        if not view.staging:
            return EMPTY_TEXT
        who = ", ".join(f"v{n}" for n in view.staging)
        when = ("when the next batch is scored" if view.production else
                "once a version is in Production and batches are scored with it")
        return f"{who} {'is' if len(view.staging) == 1 else 'are'} in Staging: shadow scores appear {when}."

    @staticmethod
    def _summary(view: ShadowView) -> str:
        labelled = len(view.labelled)
        now = (", ".join(f"<b>v{n}</b>" for n in view.staging) + " in Staging shadow"
               + ("s" if len(view.staging) == 1 else "")
               + (f" Production <b>v{view.production}</b>" if view.production else " Production")
               + " on every scored batch.") if view.staging else "No version is in Staging now; earlier challengers:"
        return (f"{now} {len(view.batches)} batch{'es' if len(view.batches) != 1 else ''} with shadow scores, "
                f"{labelled} labelled. Agreement is the share of rows predicted as Production did.")

    def _fill_batches(self, view: ShadowView) -> None:
        keep = self.batch_combo.currentData()
        self.batch_combo.blockSignals(True)
        self.batch_combo.clear()
        for b in view.labelled:
            label = f"#{b.batch_id}{' · ' + b.label if b.label else ''}"
            self.batch_combo.addItem(f"{label}  ·  {fmt_time(b.created_at)}", b.batch_id)
        index = self.batch_combo.findData(keep)
        self.batch_combo.setCurrentIndex(index if index >= 0 else 0)
        self.batch_combo.blockSignals(False)
        has_labels = bool(view.labelled)
        self.metrics_box.setVisible(has_labels)
        self.batch_combo.setEnabled(has_labels)
        self.no_labels_label.setVisible(not has_labels)
        self._show_metrics()

    def selected_batch(self) -> ShadowBatch | None:
        if self.view is None:
            return None
        wanted = self.batch_combo.currentData()
        return next((b for b in self.view.batches if b.batch_id == wanted), None)

    def _version_title(self, number: int) -> str:
        stage = self.view.stages.get(number) if self.view else None
        return f"v{number} ({stage.label})" if stage and stage is not Stage.NONE else f"v{number}"

    def _show_metrics(self) -> None:
        batch = self.selected_batch()
        table = self.metrics_table
        table.clearContents()
        if batch is None:
            table.setRowCount(0)
            self.bars.set_series([], [])
            return
        prod = batch.production_performance or {}
        challengers = [s for s in batch.challengers if s.performance]
        metrics = list(dict.fromkeys([*prod, *(k for s in challengers for k in s.performance)]))
        headers = ["Metric", f"Production v{batch.production_version}",
                   *(self._version_title(s.version) for s in challengers)]
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.horizontalHeaderItem(0).setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        table.setRowCount(len(metrics))
        for row, name in enumerate(metrics):
            table.setItem(row, 0, QTableWidgetItem(metric_label(name)))
            table.setItem(row, 1, self._cell(prod.get(name), None, name))
            for col, s in enumerate(challengers, start=2):
                table.setItem(row, col, self._cell(s.performance.get(name), prod.get(name), name))
        self.batch_note.setText(
            f"{batch.labelled_rows or 0:,} labelled rows of {batch.rows:,} in batch #{batch.batch_id}; "
            "in brackets: the challenger's difference from Production.")
        series = [("production", f"Production v{batch.production_version}", prod),
                  *((f"v{s.version}", f"v{s.version}", s.performance) for s in challengers)]
        self.bars.set_series(self._bar_metrics(metrics, series), series)

    @staticmethod
    def _bar_metrics(metrics: list[str], series) -> list[str]:
        """Metrics on a 0–1 scale (errors in target units would flatten them); all when there are none."""
        unit = [m for m in metrics if all(0.0 <= values.get(m, 0.0) <= 1.0 for _k, _t, values in series)]
        return unit or metrics

    @staticmethod
    def _cell(value: float | None, production: float | None, name: str) -> QTableWidgetItem:
        text = fmt_value(value)
        item = QTableWidgetItem()
        item.setData(VALUE_ROLE, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if value is not None and production is not None:
            delta = value - production
            text += f"  ({delta:+.3f})"
            better = HIGHER_IS_BETTER.get(name)
            if better is not None and abs(delta) >= 0.0005:  # a difference that shows in three decimals
                good = (delta > 0) == better
                colors = theme.stage_colors("production")
                item.setForeground(colors[1] if good and colors else theme.color("error"))
        item.setText(text)
        return item

    def apply_theme(self) -> None:
        self.chart.apply_theme()
        self.bars.apply_theme()
        if self.view is not None and self.view.batches:
            self._show_metrics()
