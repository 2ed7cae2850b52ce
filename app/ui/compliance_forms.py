"""Shared pieces of the compliance dialogs: an optional date field and a dialog that saves in the background."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDateEdit, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QWidget,
)

from app.ui import theme
from app.ui.forms import error_label
from app.ui.messages import describe_error
from app.ui.tasks import TaskRunner

__all__ = ["OptionalDateEdit", "SavingDialog", "text_edit", "REQUIRED_MARK", "required_label"]

# A small muted dot beside a field's label: filled in or not, the save goes through, but an empty
# required field shows up as a gap in every audit report.
REQUIRED_MARK = "●"
REQUIRED_TIP = "Required for reports: an empty field is listed as a gap in every audit report."


def required_label(text: str, required: bool) -> QLabel:
    muted = theme.color("muted").name()
    label = QLabel(f"{text} <span style='color: {muted}; font-size: small'>{REQUIRED_MARK}</span>"
                   if required else text)
    label.setTextFormat(Qt.TextFormat.RichText)
    if required:
        label.setToolTip(REQUIRED_TIP)
    return label


def text_edit(placeholder: str = "", height: int = 60) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)  # Tab moves to the next field, as in every other form
    return edit


class OptionalDateEdit(QWidget):
    """A calendar date with a "No date" box: `value()` is a date, or None while the box is ticked."""

    changed = Signal()

    def __init__(self, value: date | datetime | None = None, *, none_text: str = "No date",
                 minimum: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        if minimum is not None:
            self.date_edit.setMinimumDate(QDate(minimum.year, minimum.month, minimum.day))
        self.none_box = QCheckBox(none_text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.date_edit)
        layout.addSpacing(8)
        layout.addWidget(self.none_box)
        layout.addStretch(1)
        self.none_box.toggled.connect(self._toggled)
        self.date_edit.dateChanged.connect(lambda _d: self.changed.emit())
        self.set_value(value)

    def _toggled(self, none: bool) -> None:
        self.date_edit.setEnabled(not none)
        self.changed.emit()

    def set_value(self, value: date | datetime | None) -> None:
        if isinstance(value, datetime):
            value = value.date()
        if value is not None:
            self.date_edit.setDate(QDate(value.year, value.month, value.day))
        else:  # the calendar opens on today when the box is unticked
            self.date_edit.setDate(QDate.currentDate())
        self.none_box.setChecked(value is None)
        self.date_edit.setEnabled(value is not None)

    def value(self) -> date | None:
        if self.none_box.isChecked():
            return None
        d = self.date_edit.date()
        return date(d.year(), d.month(), d.day())

    def text(self) -> str:
        """'YYYY-MM-DD', or '' for no date (the form the services take)."""
        chosen = self.value()
        return chosen.isoformat() if chosen else ""


class SavingDialog(QDialog):
    """A form whose primary button runs one service call on the TaskRunner and stays open on failure.

    Subclasses implement `validate()` (inline field errors; True when the form may be sent) and
    `save_call()` -> (fn, args, kwargs). `saved` carries the call's result; the dialog then closes.
    """

    saved = Signal(object)
    failed = Signal(str)  # the message shown inline

    def __init__(self, runner: TaskRunner, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.busy = False
        self.save_error = error_label()
        self.save_error.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setObjectName("Primary")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

    # -- for subclasses ---------------------------------------------------------------------------
    def validate(self) -> bool:
        return True

    def save_call(self) -> tuple[Callable[..., Any], tuple, dict] | None:
        """The call to run, or None when there is nothing to save (the dialog just closes)."""
        raise NotImplementedError

    # -- behaviour ----------------------------------------------------------------------------------
    def submit(self) -> bool:
        """Validate, then save in the background; returns whether a save was started (or nothing was needed)."""
        if self.busy:
            return False
        self._show_error("")
        if not self.validate():
            return False
        call = self.save_call()
        if call is None:
            self.accept()
            return True
        fn, args, kwargs = call
        self._set_busy(True)
        self.runner.submit(fn, *args, on_success=self._on_saved, on_error=self._on_failed, **kwargs)
        return True

    def _on_saved(self, result: Any) -> None:
        self._set_busy(False)
        self.saved.emit(result)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        message, hint = describe_error(exc)
        text = f"{message} {hint}".strip()
        self._show_error(text)
        self.failed.emit(text)

    def _show_error(self, text: str) -> None:
        self.save_error.setText(text)
        self.save_error.setVisible(bool(text))

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.ok_button.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not busy)
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def reject(self) -> None:
        if not self.busy:  # the save finishes (or fails) first; nothing is left half-done
            super().reject()
