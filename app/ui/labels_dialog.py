"""Attach ground truth to a recorded batch; its live performance is computed in the background."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, \
    QPushButton, QVBoxLayout, QWidget

from app.core.monitoring import Batch
from app.services.labels import attach_labels
from app.services.register import preview_columns
from app.store.workspace import Workspace
from app.ui.forms import browse_button, error_label, set_field_error, with_error
from app.ui.messages import describe_error
from app.ui.monitoring_tables import performance_text
from app.ui.score_dialog import TABLE_FILTER
from app.ui.tasks import Task, TaskRunner

__all__ = ["AttachLabelsDialog"]

_BY_ROW = "Row order (the labels file lists the batch's rows in the same order)"


class AttachLabelsDialog(QDialog):
    """Labels file, optional id column to match rows, and the label column (the version's target by default)."""

    labels_attached = Signal(object)  # the Batch, now with .performance
    columns_loaded = Signal(list)
    run_failed = Signal(object)

    def __init__(self, ws: Workspace, runner: TaskRunner, batch: Batch, *, target: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.batch, self.target = ws, runner, batch, target
        self.task: Task | None = None
        self.result: Batch | None = None
        self.setWindowTitle(f"Attach labels — batch #{batch.id}")
        self.setMinimumWidth(600)
        heading = QLabel(f"Attach labels to batch #{batch.id}" + (f" ({batch.label})" if batch.label else ""))
        heading.setObjectName("PageTitle")
        intro = QLabel(f"The true outcomes of the batch's {batch.rows:,} rows, once known. Live metrics are "
                       "compared with the version's validation metrics; a drop opens a performance alert.")
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        self.labels_edit = QLineEdit(placeholderText="CSV or Parquet file with the label column")
        self.labels_error = error_label()
        self.labels_edit.textChanged.connect(lambda _t: set_field_error(self.labels_edit, self.labels_error, ""))
        self.labels_edit.editingFinished.connect(self.load_columns)
        self.id_combo = QComboBox()
        self.id_combo.addItem(_BY_ROW, None)
        self.target_combo = QComboBox()
        self.target_combo.setEditable(True)
        if target:
            self.target_combo.addItem(target)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Labels file", with_error(self.labels_edit, self.labels_error,
                                              browse_button(self.labels_edit, TABLE_FILTER, self.load_columns)))
        form.addRow("Match rows by", self.id_combo)
        form.addRow("Label column", self.target_combo)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)  # attach_labels reports no fractions: a busy bar
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Attach labels")
        self.start_button.setObjectName("Primary")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.close_button = QPushButton("Cancel")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_bar, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)

    def load_columns(self) -> None:
        path = self.labels_edit.text().strip()
        if path:
            self.runner.submit(preview_columns, path, on_success=self._fill_columns,
                               on_error=lambda exc: set_field_error(self.labels_edit, self.labels_error,
                                                                    describe_error(exc)[0]))

    def _fill_columns(self, columns: list[str]) -> None:
        self.id_combo.clear()
        self.id_combo.addItem(_BY_ROW, None)
        for name in columns:
            self.id_combo.addItem(f"Id column: {name}", name)
        current = self.target_combo.currentText()
        self.target_combo.clear()
        self.target_combo.addItems(columns)
        self.target_combo.setCurrentText(current if current in columns else (self.target or current))
        self.columns_loaded.emit(columns)

    def start(self) -> Task | None:
        path = self.labels_edit.text().strip()
        if not path or not Path(path).is_file():
            set_field_error(self.labels_edit, self.labels_error,
                            "Choose the labels file." if not path else f"No file at {path}.")
            return None
        self.result_label.setText("")
        self.progress_bar.show()
        self.start_button.setEnabled(False)
        target = self.target_combo.currentText().strip() or None
        self.task = self.runner.submit(attach_labels, self.ws, self.batch.id, path,
                                       id_column=self.id_combo.currentData(), target_column=target,
                                       on_success=self._succeeded, on_error=self._failed)
        return self.task

    def _succeeded(self, batch: Batch) -> None:
        self.task, self.result = None, batch
        self.progress_bar.hide()
        alert = f" Performance alert #{batch.alerts[0]} opened." if batch.alerts else ""
        rows = int((batch.performance or {}).get("labelled_rows", 0))
        self.result_label.setText(f"<b>Labels attached</b> to {rows:,} rows: {performance_text(batch, 3)}.{alert}")
        self.close_button.setText("Close")
        self.labels_attached.emit(batch)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.progress_bar.hide()
        self.start_button.setEnabled(True)
        message, hint = describe_error(exc)
        self.result_label.setText(f"<b>Not attached.</b> {message}" + (f"<br>{hint}" if hint else ""))
        self.run_failed.emit(exc)

    def reject(self) -> None:
        if self.task is None:  # attaching is one short transaction: it is let finish, not interrupted
            super().reject()
