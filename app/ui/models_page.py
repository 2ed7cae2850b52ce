"""Models page: a searchable table of models above the selected model's details and stage actions."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QSplitter, QStackedWidget, QVBoxLayout,
    QWidget,
)

from app.core.approvals import Promotion
from app.core.entities import Stage, Version
from app.core.jobs import Job
from app.services import queries
from app.services.jobs import get_job
from app.services.reproduce import submit_reproduce
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.approvals_actions import promote_with_policy
from app.ui.dropfiles import dropped_model_file
from app.ui.messages import show_error
from app.ui.model_details import ModelDetails, make_table
from app.ui.register_dialog import RegisterDialog
from app.ui.stage_dialog import StageChangeDialog
from app.ui.tables import RECORD_ROLE, ModelFilterProxy, ModelsTableModel, StageBadgeDelegate
from app.ui.tasks import TaskRunner

__all__ = ["ModelsPage", "submit_reproduce_job"]


def submit_reproduce_job(ws: Workspace, name: str, number: int) -> Job:
    """Queue a reproduction of one version and return the queued Job (off the GUI thread)."""
    return get_job(ws, submit_reproduce(ws, name, number), with_log=False)


class ModelsPage(QWidget):
    """The registry at a glance; every write goes through the TaskRunner."""

    model_selected = Signal(str)
    models_changed = Signal()  # something was registered or moved: other pages may refresh
    stage_changed = Signal(list)  # the StageChange records of one promotion
    dialog_opened = Signal(object)  # a register or reason dialog, opened without blocking
    retrain_requested = Signal(str)  # Retrain… was pressed for this model
    promotion_requested = Signal(object)  # the Promotion whose move became a pending approval request
    job_submitted = Signal(object)  # a Job this page queued (Reproduce)

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.register_dialog: RegisterDialog | None = None
        self.reason_dialog: StageChangeDialog | None = None
        self.last_error = None
        self._selecting = False
        self._height_fitted = False
        self.setAcceptDrops(True)
        self._build()
        self.refresh()

    def _build(self) -> None:
        title = QLabel("Models")
        title.setObjectName("PageTitle")
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search name, owner, tag or risk  (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(300)
        self.search_edit.addAction(QAction(theme.icon("search", size=16), "", self.search_edit),
                                   QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.textChanged.connect(self._on_search)
        self.register_button = QPushButton(theme.icon("add", role="on_accent", size=16), "Register model…")
        self.register_button.setObjectName("Primary")
        self.register_button.setToolTip("Register a fitted model file with its training data (Ctrl+N)")
        self.register_button.clicked.connect(lambda: self.open_register_dialog())
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(8)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(self.search_edit)
        top.addSpacing(6)
        top.addWidget(self.register_button)

        self.source = ModelsTableModel(self)
        self.proxy = ModelFilterProxy(self)
        self.proxy.setSourceModel(self.source)
        self.table = make_table(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setItemDelegateForColumn(2, StageBadgeDelegate(self.table))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)

        self.details = ModelDetails(self.ws, self, runner=self.runner)
        self.details.stage_change_requested.connect(self.request_stage_change)
        self.details.records_changed.connect(self._on_records_changed)
        self.details.dialog_opened.connect(self.dialog_opened)
        self.details.retrain_requested.connect(self.retrain_requested)
        self.details.reproduce_requested.connect(self.reproduce)
        self.empty_label = QLabel(
            "<p style='font-size:15pt; font-weight:600'>No models registered yet</p>"
            "<p>Register a fitted scikit-learn model with <b>Register model…</b> (Ctrl+N),<br>"
            "or drop a <code>.joblib</code> / <code>.pkl</code> file onto this window.</p>")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        self.split.addWidget(self.details)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 5)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty_label)
        self.body.addWidget(self.split)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.body, 1)

    # -- data -----------------------------------------------------------------------------------
    def refresh(self, select: str | None = None, version: int | None = None) -> None:
        """Reload the list (a fast read) and keep, or move, the selection."""
        name = select or self.selected_name()
        self.source.set_records(queries.list_models(self.ws))
        total = self.source.rowCount()
        self.count_label.setText(f"{total} model{'s' if total != 1 else ''}")
        first_fill = self.body.currentIndex() == 0
        self.body.setCurrentIndex(1 if total else 0)
        self._fit_columns()
        if first_fill and total:
            self._fit_table_height(total)
        if not self.select_model(name, version) and self.proxy.rowCount():
            self.select_model(self.proxy.index(0, 0).data(RECORD_ROLE).name)
        elif not self.proxy.rowCount():
            self.details.clear()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._height_fitted and self.source.rowCount():
            self._height_fitted = True  # sizes set before the first show are only proportions
            self._fit_table_height(self.source.rowCount())
            self.details._fit_versions_height(self.details.versions.rowCount())

    def _fit_table_height(self, rows: int) -> None:
        """Size the models table to its rows (3 to 8 visible) so the details get the remaining height."""
        view = self.table
        wanted = (view.horizontalHeader().sizeHint().height() + view.verticalHeader().defaultSectionSize()
                  * min(max(rows, 3), 8) + 2 * view.frameWidth() + 2)
        total = sum(self.split.sizes()) or 760
        self.split.setSizes([wanted, max(total - wanted, 300)])

    def _fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        self.table.resizeColumnsToContents()
        for col in range(1, header.count()):
            header.resizeSection(col, header.sectionSize(col) + 18)

    def selected_name(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(RECORD_ROLE).name if index.isValid() else None

    def select_model(self, name: str | None, version: int | None = None) -> bool:
        if not name:
            return False
        row = self.source.row_of(name)
        index = self.proxy.mapFromSource(self.source.index(row, 0)) if row >= 0 else None
        if index is None or not index.isValid():
            return False
        self._selecting = True
        try:
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._selecting = False
        self.table.scrollTo(index)
        self.details.show_model(name, version)  # reload even when the row stays: its data may have changed
        self.model_selected.emit(name)
        return True

    def _on_row_changed(self, current, _previous) -> None:
        if not current.isValid() or self._selecting:
            return
        name = current.data(RECORD_ROLE).name
        if self.details.model is None or self.details.model.name != name:
            self.details.show_model(name)
        self.model_selected.emit(name)

    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)
        shown = self.proxy.rowCount()
        total = self.source.rowCount()
        self.count_label.setText(f"{shown} of {total} models" if text.strip() else
                                 f"{total} model{'s' if total != 1 else ''}")
        if shown and not self.table.currentIndex().isValid():
            self.select_model(self.proxy.index(0, 0).data(RECORD_ROLE).name)

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    # -- stage changes ----------------------------------------------------------------------------
    def request_stage_change(self, version: Version, stage: Stage) -> StageChangeDialog:
        """Ask for a reason (non-blocking); the move runs in the background once it is given."""
        dialog = StageChangeDialog(version, stage, self.details.production_number(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._promote(version, stage, dialog.reason))
        self.reason_dialog = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)
        return dialog

    def _promote(self, version: Version, stage: Stage, reason: str) -> None:
        """Under separation of duties a move to Production becomes a request (announced by
        promote_with_policy); the page reloads either way."""
        name, number = version.model_name, version.number

        def done(promotion: Promotion) -> None:
            self.refresh(select=name, version=number)
            if promotion.pending:
                self.promotion_requested.emit(promotion)
            self.stage_changed.emit(promotion.moves)
            self.models_changed.emit()

        def failed(exc: BaseException) -> None:
            # promote_with_policy already showed the error; keep the box for callers and tests
            boxes = self.findChildren(QMessageBox, "ErrorBox")
            self.last_error = boxes[-1] if boxes else None
            self.refresh(select=name)  # the workspace may have moved on (another user, another process)

        promote_with_policy(self, self.ws, self.runner, name, number, stage, reason, on_done=done, on_error=failed)

    # -- reproduction -----------------------------------------------------------------------------
    def reproduce(self, version: Version) -> None:
        """Queue a reproduction job; `job_submitted` lets the window show it on the Jobs page."""
        self.runner.submit(submit_reproduce_job, self.ws, version.model_name, version.number,
                           on_success=self.job_submitted.emit,
                           on_error=lambda exc: self._failed(exc, version.model_name, "Reproduction not started"))

    def _failed(self, exc: BaseException, name: str | None, title: str) -> None:
        self.last_error = show_error(self, exc, title)
        self.refresh(select=name)  # the workspace may have moved on (another user, another process)

    def _on_records_changed(self, name: str) -> None:
        """A card edit, finding or sign-off was stored: owner and risk tier show in the list, the rest below."""
        self.refresh(select=name)
        self.models_changed.emit()

    # -- registration ----------------------------------------------------------------------------
    def open_register_dialog(self, model_file: str | Path | None = None,
                             model_name: str | None = None) -> RegisterDialog:
        if self.register_dialog is not None and self.register_dialog.isVisible():
            if model_file:
                self.register_dialog.model_edit.setText(str(model_file))
            self.register_dialog.raise_()
            return self.register_dialog
        existing = {m.name: m.versions for m in self.source.records()}
        dialog = RegisterDialog(self.ws, self.runner, self, existing=existing, model_file=model_file,
                                model_name=model_name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.registered.connect(self._on_registered)
        dialog.finished.connect(lambda _r: setattr(self, "register_dialog", None))
        self.register_dialog = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)
        return dialog

    def _on_registered(self, version: Version) -> None:
        self.search_edit.clear()  # otherwise a filter could hide the model just registered
        self.refresh(select=version.model_name, version=version.number)
        self.models_changed.emit()

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_model_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if dropped_model_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = dropped_model_file(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.open_register_dialog(model_file=path)
