"""Open a finding (an incident or review finding) on a model, or close one with its corrective action."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGridLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from app.core.compliance import Finding
from app.core.entities import Model, Version
from app.core.monitoring import Alert, AlertStatus
from app.services.findings import close_finding, open_finding
from app.store.workspace import Workspace
from app.ui.compliance_forms import OptionalDateEdit, SavingDialog, text_edit
from app.ui.formatting import fmt_time
from app.ui.forms import error_label, set_field_error, with_error
from app.ui.tasks import TaskRunner

__all__ = ["NewFindingDialog", "CloseFindingDialog", "SEVERITIES"]

SEVERITIES = ("low", "medium", "high")


def _alert_text(alert: Alert) -> str:
    status = "resolved" if alert.status is AlertStatus.RESOLVED else alert.status.value
    return f"#{alert.id}  ·  {alert.severity.value} {alert.kind.value}  ·  {alert.title}  ({status})"


class NewFindingDialog(SavingDialog):
    """Title and description are required; versions, due date, root cause and a linked alert are optional."""

    def __init__(self, ws: Workspace, runner: TaskRunner, model: Model, versions: list[Version],
                 alerts: list[Alert], selected: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, "Open finding", parent)
        self.ws, self.model = ws, model
        self.setWindowTitle(f"New finding · {model.name}")
        self.setMinimumWidth(620)
        heading = QLabel(f"New finding on '{model.name}'")
        heading.setObjectName("PageTitle")
        self.title_edit = QLineEdit()
        self.title_edit.setMaxLength(300)
        self.title_edit.setPlaceholderText("e.g. Recall below target on small tumours")
        self.title_error = error_label()
        self.description_edit = text_edit("What was found, where, and how it shows.", 76)
        self.description_error = error_label()
        self.severity_combo = QComboBox()
        for severity in SEVERITIES:
            self.severity_combo.addItem(severity.capitalize(), severity)
        self.severity_combo.setCurrentIndex(1)
        # One box per version, four to a row: a model rarely has more than two rows of them.
        self.version_boxes: dict[int, QCheckBox] = {}
        self.versions_box = QWidget()
        grid = QGridLayout(self.versions_box)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setHorizontalSpacing(18)
        for i, v in enumerate(sorted(versions, key=lambda v: v.number, reverse=True)):
            stage = f" ({v.stage.label})" if v.stage.value != "none" else ""
            box = QCheckBox(f"v{v.number}{stage}")
            box.setChecked(v.number == selected)
            self.version_boxes[v.number] = box
            grid.addWidget(box, i // 4, i % 4)
        grid.setColumnStretch(4, 1)
        self.versions_box.setToolTip("The versions affected; with none ticked the finding is on the model as a whole")
        if not versions:
            grid.addWidget(QLabel("No versions yet: the finding is on the whole model."), 0, 0)
        self.due_date = OptionalDateEdit(None)
        self.root_cause_edit = text_edit("Optional: the cause, if already known.", 50)
        self.alert_combo = QComboBox()
        self.alert_combo.addItem("No linked alert", None)
        for alert in alerts:
            self.alert_combo.addItem(_alert_text(alert), alert.id)
        self.alert_combo.setEnabled(bool(alerts))
        # Alert titles can be long: the combo must not push the form's labels out of view.
        self.alert_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.alert_combo.setMinimumContentsLength(30)
        self.alert_combo.setToolTip("The monitoring alert this finding follows from, if any")
        self.title_edit.textChanged.connect(lambda: set_field_error(self.title_edit, self.title_error, ""))
        self.description_edit.textChanged.connect(
            lambda: set_field_error(self.description_edit, self.description_error, ""))

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(14)
        form.addRow("Title", with_error(self.title_edit, self.title_error))
        form.addRow("Description", with_error(self.description_edit, self.description_error))
        form.addRow("Severity", self.severity_combo)
        form.addRow("Versions", self.versions_box)
        form.addRow("Due", self.due_date)
        form.addRow("Root cause", self.root_cause_edit)
        form.addRow("Linked alert", self.alert_combo)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)
        self.title_edit.setFocus()

    def checked_versions(self) -> tuple[int, ...]:
        """The versions ticked; none means the finding is on the model as a whole."""
        return tuple(sorted(n for n, box in self.version_boxes.items() if box.isChecked()))

    def set_versions(self, numbers) -> None:
        for n, box in self.version_boxes.items():
            box.setChecked(n in numbers)

    def validate(self) -> bool:
        ok = True
        if not self.title_edit.text().strip():
            set_field_error(self.title_edit, self.title_error, "Give the finding a short title.")
            ok = False
        if not self.description_edit.toPlainText().strip():
            set_field_error(self.description_edit, self.description_error, "Describe what was found.")
            ok = False
        return ok

    def save_call(self):
        return open_finding, (self.ws, self.model.name, self.title_edit.text().strip(),
                              self.description_edit.toPlainText().strip()), {
            "severity": self.severity_combo.currentData(), "versions": self.checked_versions(),
            "due": self.due_date.text() or None, "alert_id": self.alert_combo.currentData(),
            "root_cause": self.root_cause_edit.toPlainText().strip()}


class CloseFindingDialog(SavingDialog):
    """Closing needs the corrective action taken; the root cause can be given or corrected here."""

    def __init__(self, ws: Workspace, runner: TaskRunner, finding: Finding, parent: QWidget | None = None) -> None:
        super().__init__(runner, "Close finding", parent)
        self.ws, self.finding = ws, finding
        self.setWindowTitle(f"Close finding #{finding.id}")
        self.setMinimumWidth(540)
        heading = QLabel(f"Close finding #{finding.id}")
        heading.setObjectName("PageTitle")
        versions = ", ".join(f"v{n}" for n in finding.versions) or "the whole model"
        summary = QLabel(f"<b>{escape(finding.title)}</b><br>{finding.severity.capitalize()} severity, on "
                         f"{versions}; opened {fmt_time(finding.opened_at)} by {escape(finding.opened_by)}.")
        summary.setTextFormat(Qt.TextFormat.RichText)
        summary.setWordWrap(True)
        self.action_edit = text_edit("What was done about it, e.g. 'v4 retrained with oversampled small tumours; "
                                     "recall 0.95 on the Q3 holdout.'", 90)
        self.action_error = error_label()
        self.action_edit.textChanged.connect(lambda: set_field_error(self.action_edit, self.action_error, ""))
        self.root_cause_edit = text_edit("The cause, as far as it is known.", 56)
        self.root_cause_edit.setPlainText(finding.root_cause)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(summary)
        layout.addSpacing(4)
        layout.addWidget(QLabel("Corrective action (required; kept in the audit log)"))
        layout.addWidget(self.action_edit)
        layout.addWidget(self.action_error)
        layout.addWidget(QLabel("Root cause"))
        layout.addWidget(self.root_cause_edit)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)
        self.action_edit.setFocus()

    @property
    def corrective_action(self) -> str:
        return self.action_edit.toPlainText().strip()

    def validate(self) -> bool:
        if not self.corrective_action:
            set_field_error(self.action_edit, self.action_error,
                            "Describe the corrective action: a finding is closed by what was done about it.")
            return False
        return True

    def save_call(self):
        return close_finding, (self.ws, self.finding.id, self.corrective_action), {
            "root_cause": self.root_cause_edit.toPlainText().strip()}
