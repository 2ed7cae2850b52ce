"""Ask why a version changes stage; an empty reason is refused in the dialog itself."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.entities import Stage, Version
from app.ui.forms import error_label, set_field_error

__all__ = ["StageChangeDialog", "describe_move"]


def describe_move(version: Version, target: Stage, production: int | None) -> tuple[str, str, str]:
    """(title, explanation, button text) for moving `version` to `target`."""
    name, n = version.model_name, version.number
    if target is Stage.PRODUCTION:
        rollback = version.stage is Stage.ARCHIVED
        title = f"Roll back '{name}' to version {n}" if rollback else f"Promote '{name}' v{n} to Production"
        text = f"Version {n} becomes the Production version of '{name}'."
        if production and production != n:
            text += f" Version {production}, now in Production, will be archived."
        return title, text, "Roll back" if rollback else "Promote"
    if target is Stage.STAGING:
        return (f"Move '{name}' v{n} to Staging",
                f"Version {n} moves from {version.stage.label} to Staging for validation.", "Move to Staging")
    return (f"Archive '{name}' v{n}",
            f"Version {n} leaves {version.stage.label}. It stays in the registry and can be rolled back to.",
            "Archive")


class StageChangeDialog(QDialog):
    """Collects the reason for one stage move; `accept()` refuses while the reason is blank."""

    def __init__(self, version: Version, target: Stage, production: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.version, self.target = version, target
        title, text, ok_text = describe_move(version, target, production)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        heading = QLabel(title)
        heading.setObjectName("PageTitle")
        self.explanation_label = explanation = QLabel(text)
        explanation.setWordWrap(True)
        explanation.setObjectName("Muted")
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setPlaceholderText("Why? e.g. 'Passed validation on the October holdout; approved by risk.'")
        self.reason_edit.setFixedHeight(84)
        self.reason_edit.setTabChangesFocus(True)
        self.error_label = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setObjectName("Primary")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason_edit.textChanged.connect(lambda: set_field_error(self.reason_edit, self.error_label, ""))
        reason_label = QLabel("Reason (kept in the stage history and the audit log)")
        layout.addWidget(heading)
        layout.addWidget(explanation)
        layout.addSpacing(4)
        layout.addWidget(reason_label)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.reason_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def reason(self) -> str:
        return self.reason_edit.toPlainText().strip()

    def accept(self) -> None:
        if not self.reason:
            set_field_error(self.reason_edit, self.error_label,
                            "Give a reason: every stage change records why it was made.")
            return
        super().accept()
