"""What the Monitoring page's buttons do: open a dialog, run the write in the background, refresh."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from app.core.monitoring import Alert, Batch, Decision
from app.services.alerts import acknowledge_alert, resolve_alert
from app.services.batches import BatchOutcome
from app.ui.alert_dialogs import AcknowledgeDialog, ResolveDialog
from app.ui.labels_dialog import AttachLabelsDialog
from app.ui.messages import show_error
from app.ui.score_dialog import BatchDialog

if TYPE_CHECKING:
    from app.ui.monitoring_page import MonitoringPage

__all__ = ["AlertActions", "BatchActions"]


class AlertActions(QObject):
    """Acknowledge… and Resolve… for the selected alert."""

    alert_updated = Signal(object)  # the Alert as stored after the action

    def __init__(self, page: MonitoringPage) -> None:
        super().__init__(page)
        self.page = page
        self.dialog: AcknowledgeDialog | ResolveDialog | None = None
        self.last_error = None
        page.ack_button.clicked.connect(lambda: self.acknowledge())
        page.resolve_button.clicked.connect(lambda: self.resolve())
        page.alerts_table.doubleClicked.connect(lambda _i: self._default_action())

    def _default_action(self) -> None:
        alert = self.page.selected_alert()
        if alert is not None and alert.status.value == "open":
            self.acknowledge(alert)
        elif alert is not None and alert.status.value == "acknowledged":
            self.resolve(alert)

    def _open(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()  # window-modal but not blocking: the event loop (and tests) keep running
        self.page.dialog_opened.emit(dialog)

    def acknowledge(self, alert: Alert | None = None) -> AcknowledgeDialog | None:
        alert = alert or self.page.selected_alert()
        if alert is None:
            return None
        dialog = AcknowledgeDialog(alert, self.page)
        dialog.accepted.connect(lambda: self._run(acknowledge_alert, alert, "Alert not acknowledged", dialog.note))
        self._open(dialog)
        return dialog

    def resolve(self, alert: Alert | None = None) -> ResolveDialog | None:
        alert = alert or self.page.selected_alert()
        data = self.page.data
        if alert is None:
            return None
        dialog = ResolveDialog(alert, versions=[v.number for v in data.versions] if data else [],
                               production=data.production if data else None, parent=self.page)
        dialog.accepted.connect(lambda: self._run(
            resolve_alert, alert, "Alert not resolved", dialog.decision.value, dialog.rationale,
            expires=dialog.expires, linked_version=dialog.linked_version))
        self._open(dialog)
        return dialog

    def _run(self, fn, alert: Alert, title: str, *args, **kwargs) -> None:
        def done(updated: Alert) -> None:
            self.page.reload()
            self.page.data_changed.emit()
            if updated.decision is Decision.RETIRE:
                self.page.models_changed.emit()
            self.alert_updated.emit(updated)

        def failed(exc: BaseException) -> None:
            self.last_error = show_error(self.page, exc, title)
            self.page.reload()  # someone else may have acted on it meanwhile

        self.page.runner.submit(fn, self.page.ws, alert.id, *args, on_success=done, on_error=failed, **kwargs)


class BatchActions(QObject):
    """Score batch…, Record batch… and Attach labels…; one dialog of each kind at a time."""

    batch_recorded = Signal(object)  # BatchOutcome
    labels_attached = Signal(object)  # Batch

    def __init__(self, page: MonitoringPage) -> None:
        super().__init__(page)
        self.page = page
        self.batch_dialog: BatchDialog | None = None
        self.labels_dialog: AttachLabelsDialog | None = None
        page.score_button.clicked.connect(lambda: self.open_batch_dialog("score"))
        page.record_button.clicked.connect(lambda: self.open_batch_dialog("record"))
        page.labels_button.clicked.connect(lambda: self.open_labels_dialog())

    def open_batch_dialog(self, mode: str = "score") -> BatchDialog | None:
        if self.batch_dialog is not None and self.batch_dialog.isVisible():
            self.batch_dialog.raise_()  # one run at a time keeps the window's state easy to follow
            self.batch_dialog.activateWindow()
            return self.batch_dialog
        data = self.page.data
        name = self.page.current_model()
        if not name:
            return None
        dialog = BatchDialog(self.page.ws, self.page.runner, name, mode=mode,
                             versions=[v.number for v in data.versions] if data and data.model == name else [],
                             production=data.production if data and data.model == name else None,
                             parent=self.page)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "batch_dialog", None))
        dialog.batch_recorded.connect(self._recorded)
        self.batch_dialog = dialog
        dialog.show()  # modeless: the window stays usable while a big batch is scored
        self.page.dialog_opened.emit(dialog)
        return dialog

    def _recorded(self, outcome: BatchOutcome) -> None:
        if outcome.batch.model_name == self.page.current_model():
            self.page.reload(select_batch=outcome.batch.id)
        self.page.data_changed.emit()
        self.batch_recorded.emit(outcome)

    def open_labels_dialog(self, batch: Batch | None = None) -> AttachLabelsDialog | None:
        batch = batch or self.page.selected_batch()
        if batch is None:
            return None
        data = self.page.data
        version = data.version(batch.version) if data else None
        dialog = AttachLabelsDialog(self.page.ws, self.page.runner, batch,
                                    target=version.target if version else None, parent=self.page)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "labels_dialog", None))
        dialog.labels_attached.connect(self._labelled)
        self.labels_dialog = dialog
        dialog.open()
        self.page.dialog_opened.emit(dialog)
        return dialog

    def _labelled(self, batch: Batch) -> None:
        self.page.reload(select_batch=batch.id)
        self.page.data_changed.emit()
        self.labels_attached.emit(batch)
