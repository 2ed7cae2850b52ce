"""What a compliance report covers and where it goes: scope, period, formats, folder; validated inline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QDateEdit, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from app.services.report_data import ReportScope
from app.ui.forms import error_label, section_label, set_field_error

__all__ = ["ReportChoices", "period_bounds"]


def period_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days, as the CLI's --since/--until read a bare date: the report states its period in UTC."""
    return (datetime.combine(since, time.min, tzinfo=UTC) if since else None,
            datetime.combine(until, time.max, tzinfo=UTC) if until else None)


class ReportChoices(QWidget):
    """The form of the Export report dialog; `validity_changed` says whether an export can start."""

    validity_changed = Signal(bool)

    def __init__(self, models: list[str], folder: Path, model: str | None = None, *, selected_scope: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._enabled = True
        self._build(models, model, folder)
        self._wire()
        if model and selected_scope:
            self.selected_radio.setChecked(True)
        self.validate()

    def _build(self, models: list[str], model: str | None, folder: Path) -> None:
        self.all_radio = QRadioButton("Whole inventory", checked=True)
        self.selected_radio = QRadioButton("Selected models")
        self.scope_group = QButtonGroup(self)
        self.scope_group.addButton(self.all_radio)
        self.scope_group.addButton(self.selected_radio)
        self.model_list = QListWidget()
        for name in models:
            item = QListWidgetItem(name, self.model_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name == model else Qt.CheckState.Unchecked)
        row = self.model_list.sizeHintForRow(0) if models else self.model_list.fontMetrics().height() + 4
        rows = row * max(3, min(len(models), 6))  # a long inventory scrolls
        self.model_list.setFixedHeight(rows + 2 * self.model_list.frameWidth() + 4)
        self.scope_error = error_label()

        today = QDate.currentDate()
        self.from_check, self.to_check = QCheckBox("From"), QCheckBox("To")
        self.from_edit, self.to_edit = self._date_edit(today.addYears(-1)), self._date_edit(today)
        self.last_90_button = QPushButton("Last 90 days")
        self.last_year_button = QPushButton("Last 12 months")
        self.all_time_button = QPushButton("All time")
        self.period_error = error_label()
        self.period_note = QLabel(objectName="Muted")  # the period in words: unticked dates are open-ended

        self.pdf_check, self.html_check, self.json_check = (QCheckBox(t, checked=True) for t in ("PDF", "HTML", "JSON"))
        self.json_check.setToolTip("The evidence itself: verify the report, or check a later log, against it")
        self.formats_error = error_label()
        self.folder_edit = QLineEdit(str(folder))
        self.folder_button = QPushButton("Choose…")
        self.folder_error = error_label()
        self.prepared_for_edit = QLineEdit(placeholderText="Optional: e.g. Internal Audit, Q3 model review")

        scope_row = self._row(self.all_radio, self.selected_radio, None)
        dates = self._row(self.from_check, self.from_edit, 16, self.to_check, self.to_edit, None,
                          self.last_90_button, self.last_year_button, self.all_time_button)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Formats", self._stack(self._row(self.pdf_check, self.html_check, self.json_check, None),
                                           self.formats_error))
        folder_row = self._row(self.folder_edit, self.folder_button)
        folder_row.setStretch(0, 1)
        form.addRow("Folder", self._stack(folder_row, self.folder_error))
        form.addRow("Prepared for", self.prepared_for_edit)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for part in (section_label("Scope", 6), scope_row, self.model_list, self.scope_error,
                     section_label("Period", 6), dates, self.period_error, self.period_note,
                     section_label("Output", 6), form):
            if isinstance(part, QWidget):
                layout.addWidget(part)
            else:
                layout.addLayout(part)

    @staticmethod
    def _date_edit(day: QDate) -> QDateEdit:
        edit = QDateEdit(day, calendarPopup=True, enabled=False)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    @staticmethod
    def _row(*parts: QWidget | int | None) -> QHBoxLayout:
        """Widgets left to right; an int is a gap, None a stretch."""
        row = QHBoxLayout()
        for part in parts:
            if part is None:
                row.addStretch(1)
            elif isinstance(part, int):
                row.addSpacing(part)
            else:
                row.addWidget(part)
        return row

    @staticmethod
    def _stack(row: QHBoxLayout, error: QLabel) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(error)
        return box

    def _wire(self) -> None:
        self.scope_group.buttonToggled.connect(lambda *_: self.validate())
        self.model_list.itemChanged.connect(lambda _item: self.validate())
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            check.toggled.connect(lambda _on: self.validate())
            edit.dateChanged.connect(lambda _d: self.validate())
        self.last_90_button.clicked.connect(lambda: self.set_period(QDate.currentDate().addDays(-90)))
        self.last_year_button.clicked.connect(lambda: self.set_period(QDate.currentDate().addYears(-1)))
        self.all_time_button.clicked.connect(lambda: self.set_period(None))
        for box in (self.pdf_check, self.html_check, self.json_check):
            box.toggled.connect(lambda _on: self.validate())
        self.folder_edit.textChanged.connect(lambda _t: self.validate())
        self.folder_button.clicked.connect(self._choose_folder)

    # -- reading and setting ----------------------------------------------------------------------
    def set_period(self, since: QDate | None, until: QDate | None = None) -> None:
        """From `since` to `until` (today when not given); None: all time."""
        if since is not None:
            self.from_edit.setDate(since)
            self.to_edit.setDate(until or QDate.currentDate())
        self.from_check.setChecked(since is not None)
        self.to_check.setChecked(since is not None)

    def checked_models(self) -> list[str]:
        items = (self.model_list.item(i) for i in range(self.model_list.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    def formats(self) -> list[str]:
        return [fmt for fmt, box in (("pdf", self.pdf_check), ("html", self.html_check), ("json", self.json_check))
                if box.isChecked()]

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def scope(self) -> ReportScope:
        since = self.from_edit.date().toPython() if self.from_check.isChecked() else None
        until = self.to_edit.date().toPython() if self.to_check.isChecked() else None
        since_at, until_at = period_bounds(since, until)
        models = tuple(self.checked_models()) if self.selected_radio.isChecked() else ()
        return ReportScope(models=models, since=since_at, until=until_at,
                           prepared_for=self.prepared_for_edit.text().strip())

    def set_enabled(self, enabled: bool) -> None:
        """Everything is read-only while an export runs (it reads the choices once, at the start)."""
        self._enabled = enabled
        for widget in (self.all_radio, self.selected_radio, self.from_check, self.to_check, self.last_90_button,
                       self.last_year_button, self.all_time_button, self.pdf_check, self.html_check,
                       self.json_check, self.folder_edit, self.folder_button, self.prepared_for_edit):
            widget.setEnabled(enabled)
        self.validate()

    def validate(self) -> bool:
        """Show what stops the export under its field; True when nothing does."""
        selected = self.selected_radio.isChecked()
        self.model_list.setEnabled(selected and self._enabled)
        self.from_edit.setEnabled(self.from_check.isChecked() and self._enabled)
        self.to_edit.setEnabled(self.to_check.isChecked() and self._enabled)
        set_field_error(self.model_list, self.scope_error,
                        "Tick at least one model, or export the whole inventory."
                        if selected and not self.checked_models() else "")
        backwards = (self.from_check.isChecked() and self.to_check.isChecked()
                     and self.from_edit.date() > self.to_edit.date())
        set_field_error(self.from_edit, self.period_error,
                        "The period starts after it ends: 'From' must be on or before 'To'." if backwards else "")
        self.period_note.setText(self._period_words())
        self.period_note.setVisible(not backwards)
        set_field_error(self.pdf_check, self.formats_error, "" if self.formats() else "Choose at least one format.")
        set_field_error(self.folder_edit, self.folder_error,
                        "" if self.folder_edit.text().strip() else "Choose the folder the report is written to.")
        ok = not any(label.text() for label in (self.scope_error, self.period_error, self.formats_error,
                                                self.folder_error))
        self.validity_changed.emit(ok)
        return ok

    def _period_words(self) -> str:
        since = self.from_edit.date().toString("yyyy-MM-dd") if self.from_check.isChecked() else ""
        until = self.to_edit.date().toString("yyyy-MM-dd") if self.to_check.isChecked() else ""
        if not since and not until:
            return "All time: every event up to the export."
        start = f"From the start of {since}" if since else "From the first event"
        return f"{start} to {f'the end of {until}' if until else 'the export'} (days in UTC)."

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Write the report to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
