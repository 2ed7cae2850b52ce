"""Export a compliance report in the background, with progress and Cancel, then offer to open it."""

from __future__ import annotations

import threading
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.services.queries import list_models
from app.services.reports import ExportResult, ReportCancelled, export_report
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.messages import describe_error
from app.ui.report_choices import ReportChoices
from app.ui.tasks import Task, TaskRunner

__all__ = ["ExportReportDialog"]

_OPEN_ORDER = ("pdf", "html", "json")  # "Open report" opens the first of these that was written


class ExportReportDialog(QDialog):
    """Collects what the report covers (`choices`), then exports it without blocking the window.

    Cancel (or closing the dialog) while it runs stops the export at its next step; nothing is written.
    """

    report_exported = Signal(object)  # ExportResult
    export_cancelled = Signal()
    export_failed = Signal(object)  # the exception

    def __init__(self, ws: Workspace, runner: TaskRunner, model: str | None = None, *,
                 selected_scope: bool | None = None, parent: QWidget | None = None) -> None:
        """`model` is ticked in the list; the scope is "Selected models" when `selected_scope` (default: a
        model was given)."""
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.task: Task | None = None
        self.result: ExportResult | None = None
        self.last_url: QUrl | None = None
        self._cancel = threading.Event()
        self.setWindowTitle("Export report")
        self.setMinimumWidth(720)
        self.choices = ReportChoices([m.name for m in list_models(ws)], ws.paths.reports, model,
                                     selected_scope=bool(model) if selected_scope is None else selected_scope)
        self._build()
        self.choices.validity_changed.connect(lambda ok: self.export_button.setEnabled(ok and not self.running))
        self.choices.validate()

    def _build(self) -> None:
        heading = QLabel("Export a compliance report", objectName="PageTitle")
        intro = QLabel("The report gathers the evidence on the models in scope (cards, history, validation, "
                       "monitoring, findings, sign-offs) and carries a signed checkpoint of the audit log. "
                       "The export itself is recorded in the audit log.", objectName="Muted", wordWrap=True)
        self.progress_bar = QProgressBar(textVisible=False)
        self.progress_bar.setRange(0, 1000)
        self.status_label = QLabel(objectName="Muted", wordWrap=True)
        self.error_box = QLabel(objectName="FieldError", wordWrap=True,
                                textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.done_frame = QFrame(objectName="reportDone")
        self.done_label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_report_button = QPushButton("Open report")
        self.open_folder_button = QPushButton("Open folder")
        done = QHBoxLayout(self.done_frame)
        done.setContentsMargins(10, 8, 10, 8)
        done.addWidget(self.done_label, 1)
        links = QVBoxLayout()
        links.addWidget(self.open_report_button)
        links.addWidget(self.open_folder_button)
        links.addStretch(1)
        done.addLayout(links)
        self.export_button = QPushButton("Export", objectName="Primary", default=True)
        self.cancel_button = QPushButton("Cancel")
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_bar, 1)
        buttons.addStretch(0)  # with the bar hidden the buttons keep their size, on the right
        buttons.addSpacing(8)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        for widget in (heading, intro, self.choices):
            layout.addWidget(widget)
        layout.addSpacing(4)
        layout.addStretch(1)  # room a taller window gains goes here, not between the sections
        for widget in (self.done_frame, self.error_box, self.status_label):
            layout.addWidget(widget)
            widget.hide()
        layout.addLayout(buttons)
        self.progress_bar.hide()
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_report_button.clicked.connect(lambda: self.open_url(self.report_url()))
        self.open_folder_button.clicked.connect(lambda: self.open_url(self.folder_url()))

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self) -> Task | None:
        if self.running or not self.choices.validate():
            return self.task
        self._cancel = threading.Event()
        self.result = None
        self.done_frame.hide()
        self.error_box.hide()
        self.progress_bar.setValue(0)
        self._set_status("Starting…")
        self.task = self.runner.submit(
            export_report, self.ws, self.choices.scope(), self.choices.formats(), self.choices.folder(),
            is_cancelled=self._cancel.is_set, on_success=self._succeeded, on_error=self._failed,
            on_progress=self._progressed)
        self._set_running(True)
        return self.task

    def cancel(self) -> None:
        """While exporting: stop at the next step, writing nothing. Otherwise: close."""
        if not self.running:
            self.reject()
            return
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self._set_status("Cancelling…")

    def _set_running(self, running: bool) -> None:
        self.progress_bar.setVisible(running)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel" if running else "Close")
        self.choices.set_enabled(not running)  # re-validates: Export follows

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def _progressed(self, fraction: float, message: str) -> None:
        if self.running and not self._cancel.is_set():
            self.progress_bar.setValue(int(fraction * 1000))
            self._set_status(f"{message}…")

    def _succeeded(self, result: ExportResult) -> None:
        self.task, self.result = None, result
        self._set_status("")
        self.done_frame.setStyleSheet(theme.status_style("ok", "QFrame#reportDone"))  # the theme of now
        self.done_label.setText(self.summary())
        self.open_report_button.setText(f"Open {self._report_format().upper()}")
        self.done_frame.show()
        self._set_running(False)
        self._fit()
        self.report_exported.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self._set_running(False)
        if isinstance(exc, ReportCancelled):
            self._set_status("Cancelled: no report was written and nothing was recorded.")
            self.export_cancelled.emit()
            return
        self._set_status("")
        message, hint = describe_error(exc)  # disk errors arrive as InvalidInputError from export_report
        self.error_box.setText(f"<b>No report was written.</b> {escape(message, quote=False)}"
                               + (f"<br>{escape(hint, quote=False)}" if hint else ""))
        self.error_box.show()
        self._fit()
        self.export_failed.emit(exc)

    def _fit(self) -> None:
        """Grow to show the result: a top-level window's minimum ignores its wrapped labels' heights."""
        self.resize(self.width(), max(self.height(), self.heightForWidth(self.width()),
                                      self.sizeHint().height()))

    # -- the result ---------------------------------------------------------------------------------
    def summary(self) -> str:
        result = self.result
        if result is None:
            return ""
        cp = result.checkpoint
        kinds = ", ".join(fmt.upper() for fmt in _OPEN_ORDER if fmt in result.files)
        lines = [f"<b>Report {escape(result.report_id, quote=False)} exported</b> ({kinds}).",
                 f"Folder: {escape(str(self._folder()), quote=False)}",
                 f"{result.gaps} gap(s) in the evidence: the report's conclusions list them." if result.gaps
                 else "No gaps in the evidence.",
                 f"Checkpoint: {cp.events:,} events, Merkle root <tt>{cp.root[:16]}…</tt>, signed."]
        if result.previous:
            check = result.previous.get("check") or {}
            lines.append(f"Previous report {escape(str(result.previous.get('report_id')), quote=False)}: "
                         f"{escape(check.get('message', ''), quote=False)}")
        return "<br>".join(lines)

    def _report_format(self) -> str:
        files = self.result.files if self.result else {}
        return next((fmt for fmt in _OPEN_ORDER if fmt in files), "")

    def _folder(self) -> Path:
        files = self.result.files if self.result else {}
        return next(iter(files.values())).parent if files else self.choices.folder()

    def report_url(self) -> QUrl | None:
        """The PDF, else the HTML, else the JSON of the last export."""
        fmt = self._report_format()
        return QUrl.fromLocalFile(str(self.result.files[fmt])) if fmt else None

    def folder_url(self) -> QUrl:
        return QUrl.fromLocalFile(str(self._folder()))

    def open_url(self, url: QUrl | None) -> None:
        """Everything this dialog opens goes through here, so tests can see what would open."""
        if url is None:
            return
        self.last_url = url
        QDesktopServices.openUrl(url)

    # -- closing while it runs means cancel -----------------------------------------------------------
    def reject(self) -> None:
        if self.running:
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.running:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)
