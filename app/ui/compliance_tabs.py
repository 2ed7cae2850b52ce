"""The compliance tabs of a model's details (card, findings, sign-offs, as-of) and the dialogs they open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QTabWidget, QWidget

from app.core.compliance import Finding
from app.core.entities import Model, Version
from app.services.alerts import list_alerts
from app.services.findings import list_findings, list_reviews
from app.store.workspace import Workspace
from app.ui.asof_panel import AsOfPanel
from app.ui.card_dialog import CardDialog
from app.ui.card_panel import CardPanel, empty_required
from app.ui.finding_dialogs import CloseFindingDialog, NewFindingDialog
from app.ui.findings_panel import FindingsPanel
from app.ui.signoff_dialog import SignoffDialog
from app.ui.signoffs_panel import SignoffsPanel
from app.ui.tasks import TaskRunner

__all__ = ["ComplianceTabs"]


class ComplianceTabs(QObject):
    """Adds its four tabs to `tabs`; `records_changed(name)` follows every write a dialog made."""

    records_changed = Signal(str)  # the model whose card, findings or sign-offs changed
    dialog_opened = Signal(object)

    def __init__(self, ws: Workspace, runner: TaskRunner, tabs: QTabWidget,
                 current_version: Callable[[], Version | None], parent: QWidget) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.tabs, self._current_version = ws, runner, tabs, current_version
        self.model: Model | None = None
        self.versions: list[Version] = []
        self.dialog: QDialog | None = None
        self.card_panel = CardPanel()
        self.findings_panel = FindingsPanel()
        self.signoffs_panel = SignoffsPanel()
        self.asof_panel = AsOfPanel(ws, runner)
        self.card_tab = tabs.addTab(self.card_panel, "Model card")
        self.findings_tab = tabs.addTab(self.findings_panel, "Findings")
        self.signoffs_tab = tabs.addTab(self.signoffs_panel, "Sign-offs")
        self.asof_tab = tabs.addTab(self.asof_panel, "As of…")
        tabs.setTabToolTip(self.asof_tab, "Which version was in production at a past moment, and its evidence")
        self.card_panel.edit_requested.connect(lambda: self.open_card_dialog())
        self.findings_panel.new_requested.connect(lambda: self.open_new_finding_dialog())
        self.findings_panel.close_requested.connect(lambda f: self.open_close_finding_dialog(f))
        self.signoffs_panel.record_requested.connect(lambda: self.open_signoff_dialog())

    # -- data -------------------------------------------------------------------------------------------
    def load(self, model: Model, versions: list[Version]) -> None:
        """Fast reads of the model's findings and sign-offs; the as-of question runs in the background."""
        self.model, self.versions = model, versions
        self.card_panel.show_model(model)
        self.findings_panel.set_findings(list_findings(self.ws, model.name))
        self.signoffs_panel.set_reviews(list_reviews(self.ws, model.name), model.next_review_at)
        self.asof_panel.set_model(model.name)
        gaps = len(empty_required(model))
        self.tabs.setTabText(self.card_tab, f"Model card ({gaps} empty)" if gaps else "Model card")
        open_, overdue = self.findings_panel.open_count(), self.findings_panel.overdue_count()
        late = f", {overdue} overdue" if overdue else ""
        self.tabs.setTabText(self.findings_tab, f"Findings ({open_} open{late})" if open_ else "Findings")
        reviews = self.signoffs_panel.model.rowCount()
        self.tabs.setTabText(self.signoffs_tab, f"Sign-offs ({reviews})" if reviews else "Sign-offs")

    def clear(self) -> None:
        self.model, self.versions = None, []
        self.asof_panel.set_model(None)

    # -- dialogs ----------------------------------------------------------------------------------------
    def _open(self, dialog: QDialog) -> QDialog:
        name = self.model.name
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda result: self._saved(name, result))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()  # window-modal without blocking: the event loop (and tests) keep running
        self.dialog_opened.emit(dialog)
        return dialog

    def _saved(self, name: str, result: object) -> None:
        self.records_changed.emit(name)  # the page reloads the list and these tabs
        if isinstance(result, Finding):
            self.findings_panel.select_finding(result.id)

    def _selected_number(self) -> int | None:
        version = self._current_version()
        return version.number if version else None

    def open_card_dialog(self) -> CardDialog | None:
        if self.model is None:
            return None
        return self._open(CardDialog(self.ws, self.runner, self.model, self.parent()))

    def open_signoff_dialog(self) -> SignoffDialog | None:
        if self.model is None:
            return None
        return self._open(SignoffDialog(self.ws, self.runner, self.model, self.versions,
                                        self._selected_number(), self.parent()))

    def open_new_finding_dialog(self) -> NewFindingDialog | None:
        if self.model is None:
            return None
        alerts = list_alerts(self.ws, self.model.name)
        return self._open(NewFindingDialog(self.ws, self.runner, self.model, self.versions, alerts,
                                           self._selected_number(), self.parent()))

    def open_close_finding_dialog(self, finding: Finding | None = None) -> CloseFindingDialog | None:
        finding = finding or self.findings_panel.selected()
        if self.model is None or finding is None:
            return None
        return self._open(CloseFindingDialog(self.ws, self.runner, finding, self.parent()))
