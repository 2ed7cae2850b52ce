"""A model's alerts: open ones or all, with the Acknowledge… and Resolve… buttons for the selected one."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.core.monitoring import Alert, AlertStatus
from app.ui.tables import make_table
from app.ui.monitoring_tables import AlertsTableModel
from app.ui.tables import RECORD_ROLE

__all__ = ["AlertsPanel"]


class AlertsPanel(QWidget):
    """The buttons follow the selection: Acknowledge… for open alerts, Resolve… for any unresolved one."""

    selection_changed = Signal(object)  # the selected Alert or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = AlertsTableModel(self)
        self.table = make_table(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.filter_combo = QComboBox()
        self.filter_combo.addItem("Open alerts", False)
        self.filter_combo.addItem("All alerts", True)
        self.filter_combo.currentIndexChanged.connect(self._on_filter)
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setToolTip("Say that someone is looking into it (an optional note is audited)")
        self.resolve_button = QPushButton("Resolve…")
        self.resolve_button.setToolTip("Close it with a decision: retrain, accept the risk until a date, or retire")
        head = QHBoxLayout()
        head.addWidget(self.filter_combo)
        head.addStretch(1)
        head.addWidget(self.ack_button)
        head.addWidget(self.resolve_button)
        box = QVBoxLayout(self)
        box.addLayout(head)
        box.addWidget(self.table, 1)
        self._selection_changed()

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        kept = self.selected_alert()
        self.model.set_alerts(alerts)
        self.table.resizeColumnsToContents()
        if kept is None or not self.select_alert(kept.id):
            self._selection_changed()

    def open_count(self, alerts: Sequence[Alert]) -> int:
        return sum(1 for a in alerts if a.status is not AlertStatus.RESOLVED)

    def show_open(self) -> None:
        self.filter_combo.setCurrentIndex(0)

    def selected_alert(self) -> Alert | None:
        index = self.table.currentIndex()
        return index.data(RECORD_ROLE) if index.isValid() else None

    def select_alert(self, alert_id: int) -> bool:
        row = self.model.row_of(alert_id)
        if row < 0:
            return False
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._selection_changed()
        return True

    def _on_filter(self, _index: int) -> None:
        kept = self.selected_alert()
        self.model.set_show_resolved(bool(self.filter_combo.currentData()))
        if kept is None or not self.select_alert(kept.id):
            self._selection_changed()

    def _selection_changed(self) -> None:
        alert = self.selected_alert()
        status = alert.status if alert else None
        self.ack_button.setEnabled(status is AlertStatus.OPEN)
        self.resolve_button.setEnabled(status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))
        self.selection_changed.emit(alert)
