"""Decide on a promotion request: approve or reject with a rationale (refused while empty), or withdraw it."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.approvals import Approval
from app.ui.approvals_table import criteria_html, failed_criteria, stage_now
from app.ui.forms import error_label, set_field_error

__all__ = ["DecisionDialog", "DECISIONS"]

# decision -> (verb for the title, button text, placeholder, whether a rationale is required)
DECISIONS = {
    "approve": ("Approve", "Approve and promote",
                "Why may it go to Production? e.g. 'Validation pack reviewed; metrics hold on the hold-out.'", True),
    "reject": ("Reject", "Reject", "Why not? e.g. 'Recall on the minority class is below what risk signed off.'",
               True),
    "withdraw": ("Withdraw", "Withdraw", "Optional, e.g. 'Superseded by the next retrain.'", False),
}


def _summary(approval: Approval, decision: str, actor: str) -> str:
    a = approval
    text = (f"<b>{escape(a.model_name)}</b> v{a.version} ({stage_now(a)}) → Production, "
            f"requested by <b>{escape(a.requested_by)}</b>.<br>Reason: {escape(a.reason)}")
    if a.override:
        failed = failed_criteria(a)
        text += (f"<br><b>Gate override:</b> {escape(a.override)}"
                 + (f"<br>It overrides these failed gate criteria:{criteria_html(failed)}" if failed else ""))
    if decision == "approve":
        text += ("<br><br>Approving moves the version to Production now; the current Production version, if any, "
                 "is archived in the same step.")
        if actor == a.requested_by:
            text += (f"<br><br><span style='font-weight:600'>You ({escape(actor)}) made this request:</span> "
                     "separation of duties needs another person to approve it.")
    return text


class DecisionDialog(QDialog):
    """Collects the rationale for one decision; `accept()` refuses a blank one where it is required."""

    def __init__(self, approval: Approval, decision: str, actor: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        verb, ok_text, placeholder, self.required = DECISIONS[decision]
        self.approval, self.decision = approval, decision
        self.setWindowTitle(f"{verb} request #{approval.id}")
        self.setMinimumWidth(500)
        heading = QLabel(f"{verb} promotion request #{approval.id}")
        heading.setObjectName("PageTitle")
        self.summary_label = summary = QLabel(_summary(approval, decision, actor))
        summary.setTextFormat(Qt.TextFormat.RichText)
        summary.setWordWrap(True)
        self.rationale_edit = QPlainTextEdit()
        self.rationale_edit.setPlaceholderText(placeholder)
        self.rationale_edit.setFixedHeight(84)
        self.rationale_edit.setTabChangesFocus(True)
        self.rationale_edit.textChanged.connect(lambda: set_field_error(self.rationale_edit, self.error_label, ""))
        self.error_label = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setObjectName("Primary")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(summary)
        layout.addSpacing(4)
        layout.addWidget(QLabel("Rationale (kept in the audit log)" if self.required
                                else "Rationale (optional, kept in the audit log)"))
        layout.addWidget(self.rationale_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.rationale_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def rationale(self) -> str:
        return self.rationale_edit.toPlainText().strip()

    def accept(self) -> None:
        if self.required and not self.rationale:
            set_field_error(self.rationale_edit, self.error_label,
                            f"Write a rationale: every {'approval' if self.decision == 'approve' else 'rejection'} "
                            "records why it was made.")
            return
        super().accept()
