"""Acknowledge an alert (with an optional note) or resolve it with a decision and a rationale."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit,
    QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from app.core.monitoring import Alert, Decision
from app.core.timeutil import parse_user_date
from app.ui.formatting import fmt_time
from app.ui.forms import error_label, set_field_error

__all__ = ["AcknowledgeDialog", "ResolveDialog", "DEFAULT_ACCEPT_DAYS"]

DEFAULT_ACCEPT_DAYS = 90  # a quarter: long enough to act, short enough that the risk is looked at again


def _heading(alert: Alert, verb: str) -> tuple[QLabel, QLabel]:
    title = QLabel(f"{verb} alert #{alert.id}")
    title.setObjectName("PageTitle")
    text = QLabel(f"<b>{alert.title}</b><br>{alert.severity.value.capitalize()} {alert.kind.value} alert on "
                  f"'{alert.model_name}' v{alert.version}, opened {fmt_time(alert.opened_at)}.")
    text.setWordWrap(True)
    text.setTextFormat(Qt.TextFormat.RichText)
    return title, text


def _text_edit(placeholder: str, height: int = 76) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)
    return edit


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setObjectName("Primary")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class AcknowledgeDialog(QDialog):
    """Says "someone is looking at this"; the note is optional."""

    def __init__(self, alert: Alert, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alert = alert
        self.setWindowTitle(f"Acknowledge alert #{alert.id}")
        self.setMinimumWidth(480)
        title, text = _heading(alert, "Acknowledge")
        self.note_edit = _text_edit("Optional note, e.g. 'Looking into the October price change.'")
        self.buttons = _buttons(self, "Acknowledge")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addSpacing(4)
        layout.addWidget(QLabel("Note (kept in the audit log)"))
        layout.addWidget(self.note_edit)
        layout.addWidget(self.buttons)
        self.note_edit.setFocus()

    @property
    def note(self) -> str:
        return self.note_edit.toPlainText().strip()


class ResolveDialog(QDialog):
    """Closes an alert with a decision. Accepting the risk needs an expiry date; every decision a rationale."""

    def __init__(self, alert: Alert, *, versions: list[int] | None = None, production: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alert = alert
        self.setWindowTitle(f"Resolve alert #{alert.id}")
        self.setMinimumWidth(540)
        title, text = _heading(alert, "Resolve")

        self.retrain_radio = QRadioButton("Retrain: a new version will address it")
        self.accept_radio = QRadioButton("Accept the risk until a date")
        self.retire_radio = QRadioButton("Retire the model")
        self.decision_group = QButtonGroup(self)
        for i, radio in enumerate((self.retrain_radio, self.accept_radio, self.retire_radio)):
            self.decision_group.addButton(radio, i)
        self.retrain_radio.setChecked(True)

        self.version_combo = QComboBox()
        self.version_combo.addItem("No version yet", None)
        for number in sorted(versions or [], reverse=True):
            self.version_combo.addItem(f"v{number}", number)
        self.expiry_edit = QDateEdit()
        self.expiry_edit.setCalendarPopup(True)
        self.expiry_edit.setDisplayFormat("yyyy-MM-dd")
        # The minimum (today) stands for "no date chosen yet": accepting a risk for ever is not an option,
        # so the person picks the day consciously; the calendar opens on today's month.
        today = QDate.currentDate()
        self.expiry_edit.setMinimumDate(today)
        self.expiry_edit.setSpecialValueText("Choose a date…")
        self.expiry_edit.setDate(today)
        self.expiry_quick = QPushButton(f"In {DEFAULT_ACCEPT_DAYS} days")
        self.expiry_quick.clicked.connect(lambda: self.expiry_edit.setDate(today.addDays(DEFAULT_ACCEPT_DAYS)))
        expiry_row = QWidget()
        row = QHBoxLayout(expiry_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.expiry_edit, 1)
        row.addWidget(self.expiry_quick)
        self.expiry_error = error_label()
        where = f"its Production version (v{production})" if production else "its Production version, if any,"
        self.retire_warning = QLabel(f"Retiring archives {where} of '{alert.model_name}' in the same step. "
                                     "No batch can be scored for it until a version is promoted again.")
        self.retire_warning.setObjectName("FieldError")
        self.retire_warning.setWordWrap(True)
        self.rationale_edit = _text_edit("Why? e.g. 'Price change of 1 Oct is permanent; v3 retrained on "
                                         "October data is in review.'", 90)
        self.rationale_error = error_label()
        self.buttons = _buttons(self, "Resolve")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Linked version", self.version_combo)
        form.addRow("Accept until", expiry_row)
        form.addRow("", self.expiry_error)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addSpacing(6)
        layout.addWidget(QLabel("Decision"))
        for radio in (self.retrain_radio, self.accept_radio, self.retire_radio):
            layout.addWidget(radio)
        layout.addLayout(form)
        layout.addWidget(self.retire_warning)
        layout.addSpacing(4)
        layout.addWidget(QLabel("Rationale (required; kept in the audit log)"))
        layout.addWidget(self.rationale_edit)
        layout.addWidget(self.rationale_error)
        layout.addWidget(self.buttons)
        self.decision_group.idToggled.connect(lambda *_: self._decision_changed())
        self.rationale_edit.textChanged.connect(lambda: set_field_error(self.rationale_edit, self.rationale_error, ""))
        self.expiry_edit.dateChanged.connect(lambda _d: set_field_error(self.expiry_edit, self.expiry_error, ""))
        self._decision_changed()
        self.rationale_edit.setFocus()

    # -- values -----------------------------------------------------------------------------------
    @property
    def decision(self) -> Decision:
        return (Decision.RETRAIN, Decision.ACCEPT_RISK, Decision.RETIRE)[max(self.decision_group.checkedId(), 0)]

    def set_decision(self, decision: Decision | str) -> None:
        index = (Decision.RETRAIN, Decision.ACCEPT_RISK, Decision.RETIRE).index(Decision(decision))
        self.decision_group.button(index).setChecked(True)

    @property
    def rationale(self) -> str:
        return self.rationale_edit.toPlainText().strip()

    @property
    def expires(self) -> datetime | None:
        """The end of the chosen day (UTC) when accepting the risk and a day was chosen; otherwise None."""
        chosen = self.expiry_edit.date()
        if self.decision is not Decision.ACCEPT_RISK or chosen <= QDate.currentDate():
            return None
        return parse_user_date(chosen.toString("yyyy-MM-dd"), end_of_day=True)

    def set_expiry(self, day: date) -> None:
        self.expiry_edit.setDate(QDate(day.year, day.month, day.day))

    @property
    def linked_version(self) -> int | None:
        return self.version_combo.currentData() if self.decision is Decision.RETRAIN else None

    # -- behaviour --------------------------------------------------------------------------------
    def _decision_changed(self) -> None:
        decision = self.decision
        self.version_combo.setEnabled(decision is Decision.RETRAIN)
        self.expiry_edit.setEnabled(decision is Decision.ACCEPT_RISK)
        self.expiry_quick.setEnabled(decision is Decision.ACCEPT_RISK)
        self.retire_warning.setVisible(decision is Decision.RETIRE)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "Retire model" if decision is Decision.RETIRE else "Resolve")
        set_field_error(self.expiry_edit, self.expiry_error, "")

    def validate(self) -> bool:
        ok = True
        if not self.rationale:
            set_field_error(self.rationale_edit, self.rationale_error,
                            "Write a rationale: the decision and its reason are kept in the audit log.")
            ok = False
        if self.decision is Decision.ACCEPT_RISK and self.expires is None:
            set_field_error(self.expiry_edit, self.expiry_error,
                            "Choose the date until which the risk is accepted (after today).")
            ok = False
        return ok

    def accept(self) -> None:
        if self.validate():
            super().accept()
