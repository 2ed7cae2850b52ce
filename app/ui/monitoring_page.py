"""Monitoring page: a model's drift over time, its batches, live performance and alerts, with the actions on them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout,
    QWidget,
)

from app.core.entities import ModelSummary
from app.core.monitoring import Alert, Batch
from app.services import queries
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.alerts_panel import AlertsPanel
from app.ui.batch_panel import BatchDrift
from app.ui.drift_panel import DriftOverTime
from app.ui.messages import describe_error
from app.ui.model_details import make_table
from app.ui.monitoring_actions import AlertActions, BatchActions
from app.ui.monitoring_data import MonitoringData, load_monitoring
from app.ui.monitoring_tables import BatchesTableModel
from app.ui.performance_panel import PerformancePanel
from app.ui.shadow_panel import ShadowPanel
from app.ui.tables import RECORD_ROLE
from app.ui.tasks import TaskRunner

__all__ = ["MonitoringPage", "BATCHES_TAB", "ALERTS_TAB", "DRIFT_TAB", "PERFORMANCE_TAB", "SHADOW_TAB"]

BATCHES_TAB, ALERTS_TAB = 0, 1
DRIFT_TAB, PERFORMANCE_TAB, SHADOW_TAB = 0, 1, 2
_SETTINGS_KEY = "monitoring/model"


class MonitoringPage(QWidget):
    """One model at a time (chosen at the top, remembered); every read and write runs in the background."""

    data_loaded = Signal(object)  # MonitoringData now shown
    models_loaded = Signal(list)  # names in the model chooser
    model_changed = Signal(str)
    data_changed = Signal()  # a batch, labels or an alert decision was written: other pages may refresh
    models_changed = Signal()  # a retirement archived a Production version
    dialog_opened = Signal(object)
    load_failed = Signal(object)
    retrain_requested = Signal(str)  # Retrain… was pressed for the model shown

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.settings = ws, runner, settings
        self.data: MonitoringData | None = None
        self._seq = 0
        self._pending_batch: int | None = None
        self._requested: str | None = None  # asked for before the model list had arrived
        self._sized = False
        self._build()
        self.alert_actions = AlertActions(self)
        self.batch_actions = BatchActions(self)
        self.refresh()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel("Monitoring")
        title.setObjectName("PageTitle")
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(240)
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        self.info_label = QLabel()
        self.info_label.setObjectName("Muted")
        self.score_button = QPushButton(theme.icon("add", role="on_accent", size=16), "Score batch…")
        self.score_button.setObjectName("Primary")
        self.score_button.setToolTip("Predict a batch file with the Production version and record its drift")
        self.record_button = QPushButton("Record batch…")
        self.record_button.setToolTip("Record a batch scored elsewhere (its predictions optional)")
        self.labels_button = QPushButton("Attach labels…")
        self.labels_button.setToolTip("Attach the true outcomes of the selected batch")
        self.retrain_button = QPushButton("Retrain…")
        self.retrain_button.setToolTip("Fit a challenger on the training data plus the labelled batches, in a "
                                       "background job; it is registered in Staging")
        self.retrain_button.clicked.connect(lambda: self.current_model() and
                                            self.retrain_requested.emit(self.current_model()))
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(12)
        top.addWidget(self.model_combo)
        top.addSpacing(8)
        top.addWidget(self.info_label, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addStretch(1)
        for button in (self.retrain_button, self.labels_button, self.record_button, self.score_button):
            top.addWidget(button)

        self.over_time = DriftOverTime()
        self.performance_panel = PerformancePanel()
        self.performance = self.performance_panel.chart
        self.time_tabs = QTabWidget()
        self.time_tabs.addTab(self.over_time, "Drift over time")
        self.time_tabs.addTab(self.performance_panel, "Performance over time")
        self.shadow_panel = ShadowPanel(self.ws, self.runner, self)
        # In a scroll area: its tables would otherwise set the whole page's minimum height (466 px).
        shadow_area = QScrollArea()
        shadow_area.setWidgetResizable(True)
        shadow_area.setFrameShape(QFrame.Shape.NoFrame)
        shadow_area.setWidget(self.shadow_panel)
        self.time_tabs.addTab(shadow_area, "Shadow")
        self.data_changed.connect(self.shadow_panel.refresh)  # a scored batch may carry new shadow scores

        self.batch_drift = BatchDrift()
        self.batch_drift.feature_chosen.connect(self._on_feature_chosen)
        self.over_time.figure_changed.connect(lambda m: self.batch_drift.set_figure(m, self._thresholds()))
        self.over_time.feature_highlighted.connect(lambda f: f and self.batch_drift.choose_feature(f))

        self.batches_model = BatchesTableModel(self)
        self.batches_table = make_table(self.batches_model)
        self.batches_table.selectionModel().currentRowChanged.connect(self._on_batch_row)
        self.alerts_panel = AlertsPanel()
        # short names for the parts the actions and tests reach for
        self.alerts_model, self.alerts_table = self.alerts_panel.model, self.alerts_panel.table
        self.alert_filter = self.alerts_panel.filter_combo
        self.ack_button, self.resolve_button = self.alerts_panel.ack_button, self.alerts_panel.resolve_button
        self.table_tabs = QTabWidget()
        self.table_tabs.addTab(self.batches_table, "Batches")
        self.table_tabs.addTab(self.alerts_panel, "Alerts")

        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        for widget, stretch in ((self.time_tabs, 9), (self.batch_drift, 7), (self.table_tabs, 7)):
            self.split.addWidget(widget)
            self.split.setStretchFactor(self.split.count() - 1, stretch)
        self.table_tabs.setMinimumHeight(190)  # the filter row plus three rows of a table
        self.empty_label = QLabel()
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty_label)
        self.body.addWidget(self.split)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.body, 1)
        self._show_empty("Loading…")

    # -- loading ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the model list, then the chosen model's data."""
        self.runner.submit(queries.list_models, self.ws, on_success=self._models_loaded, on_error=self._load_error)

    def reload(self, select_batch: int | None = None) -> None:
        name = self.current_model()
        if name:
            self.load(name, select_batch)

    def load(self, name: str, select_batch: int | None = None) -> None:
        if name != self.shadow_panel.name:
            self.shadow_panel.set_model(name)
        self._seq += 1
        seq, self._pending_batch = self._seq, select_batch
        self.runner.submit(load_monitoring, self.ws, name, on_success=lambda d: self._apply(d, seq),
                           on_error=self._load_error)

    def _models_loaded(self, models: list[ModelSummary]) -> None:
        names = sorted(m.name for m in models)
        wanted = self._requested or self.current_model() or (
            str(self.settings.value(_SETTINGS_KEY, "")) if self.settings else "")
        self._requested = None
        if wanted not in names:  # the first model with a Production version is the one likely to have batches
            wanted = next((m.name for m in sorted(models, key=lambda m: m.name) if m.production_version),
                          names[0] if names else "")
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(names)
        self.model_combo.setCurrentIndex(max(self.model_combo.findText(wanted), 0))
        self.model_combo.blockSignals(False)
        self.models_loaded.emit(names)
        if not names:
            self._show_empty("<p style='font-size:15pt; font-weight:600'>No models yet</p>"
                             "<p>Register a model on the Models page and promote a version to Production;<br>"
                             "then score batches here to follow its drift over time.</p>")
            return
        self.load(self.current_model())

    def _load_error(self, exc: BaseException) -> None:
        message, hint = describe_error(exc)
        self._show_empty(f"<p style='font-size:13pt; font-weight:600'>Could not load monitoring data</p>"
                         f"<p>{message}<br>{hint}</p>")
        self.load_failed.emit(exc)

    def current_model(self) -> str | None:
        return self.model_combo.currentText() or None

    def show_model(self, name: str, tab: int | None = None) -> None:
        """Switch to model `name` (and to the batches or alerts tab)."""
        if tab is not None:
            self.table_tabs.setCurrentIndex(tab)
        index = self.model_combo.findText(name)
        if index < 0:
            self._requested = name  # the list is still loading (or the model is new): chosen when it arrives
            self.refresh()
            return
        if index == self.model_combo.currentIndex():
            self.load(name)
        else:
            self.model_combo.setCurrentIndex(index)

    def show_alerts(self, name: str | None = None) -> None:
        self.alerts_panel.show_open()
        self.table_tabs.setCurrentIndex(ALERTS_TAB)
        if name:
            self.show_model(name)

    def _on_model_chosen(self, _index: int) -> None:
        name = self.current_model()
        if not name:
            return
        if self.settings is not None:
            self.settings.setValue(_SETTINGS_KEY, name)
        self.model_changed.emit(name)
        self.load(name)

    # -- showing ----------------------------------------------------------------------------------
    def _show_empty(self, html: str) -> None:
        self.empty_label.setText(html)
        self.body.setCurrentIndex(0)

    def _thresholds(self) -> dict:
        return self.data.thresholds if self.data else {}

    def _apply(self, data: MonitoringData, seq: int) -> None:
        if seq != self._seq or data.model != self.current_model():
            return  # a newer request is on its way, or the person moved on
        keep = self._pending_batch or self.selected_batch_id()
        self.data = data
        production = data.production
        open_alerts = self.alerts_panel.open_count(data.alerts)
        self.info_label.setText(
            f"{'Production v%d' % production if production else 'No Production version'}  ·  "
            f"{len(data.batches)} batch{'es' if len(data.batches) != 1 else ''}  ·  "
            f"{open_alerts} open alert{'s' if open_alerts != 1 else ''}")
        self.score_button.setEnabled(bool(data.versions))
        self.record_button.setEnabled(bool(data.versions))
        self.retrain_button.setEnabled(bool(data.versions))
        self.alerts_panel.set_alerts(data.alerts)
        self.table_tabs.setTabText(ALERTS_TAB, f"Alerts ({open_alerts} open)")
        self.table_tabs.setTabText(BATCHES_TAB, f"Batches ({len(data.batches)})")
        if not data.batches:
            self.batches_model.set_records([])
            self.batch_drift.show_batch(None, self.over_time.figure, data.thresholds)
            self._show_empty(
                f"<p style='font-size:15pt; font-weight:600'>No batches yet for {data.model}</p>"
                f"<p>Score one with <b>Score batch…</b>, or from a terminal:<br>"
                f"<code>steward score {data.model} --input batch.csv --label 2026-W48</code></p>"
                + ("" if production else "<p>A batch is scored with the Production version: promote one "
                                         "first on the Models page.</p>"))
            self.labels_button.setEnabled(False)
            self.data_loaded.emit(data)
            return
        self.body.setCurrentIndex(1)
        self.over_time.set_history(data.model, data.history, data.batches, data.thresholds)
        self._show_performance(data)
        self.batches_model.set_records(data.batches)
        self.batches_table.resizeColumnsToContents()
        if not self.select_batch(keep):
            self.select_batch(data.batches[-1].id)
        self.data_loaded.emit(data)

    def _show_performance(self, data: MonitoringData) -> None:
        labelled = [b for b in data.batches if b.performance]
        self.performance_panel.set_batches(data.batches,
                                           data.version(labelled[-1].version if labelled else data.production))

    def selected_batch(self) -> Batch | None:
        index = self.batches_table.currentIndex()
        return index.data(RECORD_ROLE) if index.isValid() else None

    def selected_batch_id(self) -> int | None:
        batch = self.selected_batch()
        return batch.id if batch else None

    def select_batch(self, batch_id: int | None) -> bool:
        row = self.batches_model.row_of(batch_id) if batch_id is not None else -1
        if row < 0:
            return False
        index = self.batches_model.index(row, 0)
        self.batches_table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.batches_table.scrollTo(index)
        self._show_batch(self.batches_model.record(row))
        return True

    def _on_batch_row(self, current, _previous) -> None:
        if current.isValid():
            self._show_batch(current.data(RECORD_ROLE))

    def _show_batch(self, batch: Batch) -> None:
        if self.batch_drift.batch is batch:
            return
        self.batch_drift.show_batch(batch, self.over_time.figure, self._thresholds())
        self.labels_button.setEnabled(not batch.labels_sha256)
        self.labels_button.setToolTip(f"Attach the true outcomes of batch #{batch.id}" if not batch.labels_sha256
                                      else f"Batch #{batch.id} already has labels")

    def _on_feature_chosen(self, name: str) -> None:
        current = self.over_time.feature_list.currentItem()
        if name in self.over_time.chart.curves and (current is None or current.text() != name):
            self.over_time.highlight(name)

    # -- alerts -----------------------------------------------------------------------------------
    def selected_alert(self) -> Alert | None:
        return self.alerts_panel.selected_alert()

    def select_alert(self, alert_id: int) -> bool:
        return self.alerts_panel.select_alert(alert_id)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True  # sizes set before the first show are only proportions
            total = sum(self.split.sizes()) or 780
            self.split.setSizes([int(total * 0.40), int(total * 0.31), total - int(total * 0.40) - int(total * 0.31)])

    # -- theme ------------------------------------------------------------------------------------
    def apply_theme(self) -> None:
        self.shadow_panel.apply_theme()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme switched: charts are not styled by QSS
            for chart in (self.over_time.chart, self.performance, self.batch_drift.bars,
                          self.batch_drift.distribution):
                chart.apply_theme()
            if self.data is not None:
                self.over_time.set_history(self.data.model, self.data.history, self.data.batches,
                                           self.data.thresholds)
