"""Start a retrain: choose the data, check the recipe (and edit it), then queue the job; it runs in its own process."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QVBoxLayout,
    QWidget,
)

from app.core.jobs import Job, Recipe
from app.store.workspace import Workspace
from app.ui.forms import browse_button, error_label, section_label, set_field_error, with_error
from app.ui.jobs_data import RetrainContext, load_retrain_context, submit_retrain_job
from app.ui.messages import describe_error
from app.ui.recipe_dialog import RecipeDialog, recipe_summary
from app.ui.tasks import TaskRunner

__all__ = ["RetrainDialog"]

_DATA_FILTER = "Data files (*.csv *.parquet *.pq);;All files (*)"


class RetrainDialog(QDialog):
    """Reads the recipe in the background (made on first use), then submits; `job_submitted` carries the queued
    Job. Starting the worker is the window's job timer's business, so this dialog never waits for a process."""

    context_loaded = Signal(object)  # RetrainContext
    job_submitted = Signal(object)  # the queued Job
    submit_failed = Signal(object)  # the exception
    dialog_opened = Signal(object)  # the recipe dialog, opened without blocking

    def __init__(self, ws: Workspace, runner: TaskRunner, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.name = ws, runner, name
        self.context: RetrainContext | None = None
        self.recipe_dialog: RecipeDialog | None = None
        self.setWindowTitle(f"Retrain {name}")
        self.setMinimumWidth(620)
        self._build()
        self.runner.submit(load_retrain_context, ws, name, on_success=self._loaded, on_error=self._load_failed)

    def _build(self) -> None:
        heading = QLabel(f"Retrain {self.name}")
        heading.setObjectName("PageTitle")
        intro = QLabel("A background job fits a challenger from the model's recipe, compares it with the champion "
                       "on the same held-out rows and registers it in Staging with the gate result (only a "
                       "model's auto-promote policy takes a passing one further). You can keep working, or close "
                       "the window, while it runs.")
        intro.setWordWrap(True)
        intro.setObjectName("Muted")
        self.default_radio = QRadioButton("The champion's training data plus the labelled batches scored since")
        self.file_radio = QRadioButton("A file")
        self.source_group = QButtonGroup(self)
        self.source_group.addButton(self.default_radio)
        self.source_group.addButton(self.file_radio)
        self.default_radio.setChecked(True)
        self.default_detail = QLabel("Reading…")
        self.default_detail.setObjectName("Muted")
        self.default_detail.setWordWrap(True)
        self.default_detail.setContentsMargins(24, 0, 0, 0)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("CSV or Parquet with the recipe's features and target column")
        self.file_error = error_label()
        self.browse = browse_button(self.file_edit, _DATA_FILTER, lambda: self.file_radio.setChecked(True))
        self.file_edit.textEdited.connect(lambda _t: self.file_radio.setChecked(True))
        self.file_edit.textChanged.connect(lambda _t: set_field_error(self.file_edit, self.file_error, ""))
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_radio)
        file_row.addWidget(with_error(self.file_edit, self.file_error, self.browse), 1)

        self.recipe_label = QLabel("Reading the recipe…")
        self.recipe_label.setTextFormat(Qt.TextFormat.RichText)
        self.recipe_label.setWordWrap(True)
        self.edit_recipe_button = QPushButton("Edit recipe…")
        self.edit_recipe_button.setEnabled(False)
        self.edit_recipe_button.clicked.connect(self.open_recipe_dialog)
        recipe_head = QHBoxLayout()
        recipe_head.addWidget(section_label("Recipe"))
        recipe_head.addStretch(1)
        recipe_head.addWidget(self.edit_recipe_button)

        self.error_label = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start retraining")
        self.start_button.setObjectName("Primary")
        self.start_button.setEnabled(False)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(4)
        layout.addWidget(section_label("Training data"))
        layout.addWidget(self.default_radio)
        layout.addWidget(self.default_detail)
        layout.addLayout(file_row)
        layout.addSpacing(4)
        layout.addLayout(recipe_head)
        layout.addWidget(self.recipe_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    # -- the recipe and the data preview -------------------------------------------------------------
    def _loaded(self, context: RetrainContext) -> None:
        self.context = context
        champion = context.champion
        base = (f"{escape(context.base_name)}, {context.base_rows:,} rows" if context.base_rows is not None
                else "its registered training data")
        since = (f"plus {context.new_batches} labelled batch{'es' if context.new_batches != 1 else ''} "
                 f"({context.new_rows:,} rows) scored since" if context.new_batches else
                 "no labelled batches since (attach labels on the Monitoring page to add them)")
        self.default_radio.setText(f"Training data of v{champion.number} ({champion.stage.label}) plus the labelled "
                                   "batches scored since")
        self.default_detail.setText(f"{base}; {since}. The challenger is compared with v{champion.number}.")
        self._show_recipe(context.recipe)
        self.edit_recipe_button.setEnabled(True)
        self.start_button.setEnabled(True)
        self.adjustSize()  # the recipe's table is taller than the "Reading…" it replaces
        self.context_loaded.emit(context)

    def _load_failed(self, exc: BaseException) -> None:
        message, hint = describe_error(exc)
        self.recipe_label.setText("No recipe: this model cannot be retrained from here.")
        self.default_detail.setText("")
        self.error_label.setText(f"{message} {hint}".strip())
        self.error_label.show()

    def _show_recipe(self, recipe: Recipe) -> None:
        self.recipe_label.setText(recipe_summary(recipe))

    def open_recipe_dialog(self) -> RecipeDialog | None:
        if self.context is None:
            return None
        dialog = RecipeDialog(self.ws, self.runner, self.context.recipe, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.recipe_saved.connect(self._recipe_saved)
        dialog.finished.connect(lambda _r: setattr(self, "recipe_dialog", None))
        self.recipe_dialog = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)
        return dialog

    def _recipe_saved(self, recipe: Recipe) -> None:
        if self.context is not None:
            self.context = RetrainContext(recipe, self.context.champion, self.context.new_batches,
                                          self.context.new_rows, self.context.base_rows, self.context.base_name,
                                          self.context.versions)
        self._show_recipe(recipe)
        self.adjustSize()

    # -- submit -----------------------------------------------------------------------------------
    def data_path(self) -> str | None:
        return self.file_edit.text().strip() or None if self.file_radio.isChecked() else None

    def start(self) -> None:
        if self.context is None:
            return
        if self.file_radio.isChecked() and not self.data_path():
            set_field_error(self.file_edit, self.file_error, "Choose the file to retrain on, or use the "
                                                             "champion's training data.")
            return
        self.start_button.setEnabled(False)
        self.start_button.setText("Submitting…")
        self.error_label.hide()
        self.runner.submit(submit_retrain_job, self.ws, self.name, self.data_path(),
                           on_success=self._submitted, on_error=self._failed)

    def _submitted(self, job: Job) -> None:
        self.job_submitted.emit(job)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        message, hint = describe_error(exc)
        text = f"{message} {hint}".strip()
        if self.file_radio.isChecked():
            set_field_error(self.file_edit, self.file_error, text)
        else:
            self.error_label.setText(text)
            self.error_label.show()
        self.start_button.setEnabled(True)
        self.start_button.setText("Start retraining")
        self.submit_failed.emit(exc)
