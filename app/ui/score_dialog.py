"""Score a batch file with a model (or record one scored elsewhere) in the background, with progress and Cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QVBoxLayout, QWidget,
)

from app.services.batches import BatchOutcome, ScoringCancelled, record_batch, score_batch
from app.services.register import preview_columns
from app.store.workspace import Workspace
from app.ui.forms import browse_button, error_label, set_field_error, with_error
from app.ui.messages import describe_error
from app.ui.tasks import Task, TaskRunner

__all__ = ["BatchDialog", "run_batch", "Throttled", "batch_summary", "TABLE_FILTER"]

TABLE_FILTER = "Data files (*.csv *.parquet *.pq);;All files (*)"
PROGRESS_INTERVAL_S = 0.05  # at most 20 progress updates a second reach the window


class Throttled:
    """Passes progress on at most every `interval` seconds (and always the first and the final call).

    Drift and prediction report per chunk and per column; every report is a queued signal and a repaint
    on the GUI thread, so a fast loop could flood the event queue. Called from the worker thread only.
    """

    def __init__(self, progress: Callable[[float, str], None], interval: float = PROGRESS_INTERVAL_S) -> None:
        self._progress, self._interval, self._last = progress, interval, float("-inf")

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last >= self._interval:
            self._last = now
            self._progress(fraction, message)


def run_batch(ws: Workspace, name: str, input_path: str | Path, *, mode: str, cancel: threading.Event,
              progress: Callable[[float, str], None], output: str | None = None, version: int | None = None,
              label: str = "", predictions_column: str | None = None) -> BatchOutcome:
    """Score (mode 'score') or record (mode 'record') a batch; `cancel` set means stop, recording nothing."""
    throttled = Throttled(progress)
    if mode == "score":
        return score_batch(ws, name, input_path, output=output or None, version=version, label=label,
                           progress=throttled, is_cancelled=cancel.is_set)
    return record_batch(ws, name, input_path, predictions_column=predictions_column, version=version, label=label,
                        progress=throttled, is_cancelled=cancel.is_set)


def batch_summary(outcome: BatchOutcome) -> str:
    """What a person wants to know once a batch is in: rows, what drifted, which alerts it raised."""
    batch = outcome.batch
    drifted = [f for f in batch.drift.get("features", []) if f.get("drifted")]
    lines = [f"<b>Batch #{batch.id}</b> recorded: {batch.rows:,} rows scored with v{batch.version}."]
    if drifted:
        lines.append("Drifted features: " + ", ".join(f"{f['name']} ({f.get('severity')})" for f in drifted) + ".")
    else:
        lines.append("No feature drifted.")
    for alert in outcome.alerts:
        repeat = alert.batch_id is not None and alert.batch_id != batch.id
        lines.append(f"Alert #{alert.id} {'seen again' if repeat else 'opened'}: {alert.title}")
    if not outcome.alerts:
        lines.append("No alert opened.")
    if outcome.output_path:
        lines.append(f"Predictions written to {outcome.output_path}.")
    lines.extend(f"Note: {w}" for w in outcome.warnings)
    return "<br>".join(lines)


def _iso_week() -> str:
    year, week, _ = date.today().isocalendar()
    return f"{year}-W{week:02d}"


class BatchDialog(QDialog):
    """Collects a batch file and a label, then runs the scoring without blocking the window.

    Modeless: the window stays usable while a big batch is scored; Cancel stops the run and nothing is recorded.
    """

    batch_recorded = Signal(object)  # BatchOutcome
    run_cancelled = Signal()
    run_failed = Signal(object)  # the exception
    columns_loaded = Signal(list)

    def __init__(self, ws: Workspace, runner: TaskRunner, model: str, *, mode: str = "score",
                 versions: list[int] | None = None, production: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.model, self.mode = ws, runner, model, mode
        self.task: Task | None = None
        self.outcome: BatchOutcome | None = None
        self._cancel = threading.Event()
        verb = "Score" if mode == "score" else "Record"
        self.setWindowTitle(f"{verb} a batch — {model}")
        self.setMinimumWidth(620)
        heading = QLabel(f"{verb} a batch for '{model}'")
        heading.setObjectName("PageTitle")
        intro = QLabel("Predictions are made with the chosen version, then the batch is compared with the "
                       "version's training data; drift and alerts are recorded with it." if mode == "score" else
                       "Record a batch scored outside Model Steward: its features (and predictions, if the file "
                       "has them) are compared with the version's training data.")
        intro.setObjectName("Muted")
        intro.setWordWrap(True)

        self.input_edit = QLineEdit(placeholderText="CSV or Parquet file with the model's feature columns")
        self.input_error = error_label()
        self.input_edit.textChanged.connect(lambda _t: set_field_error(self.input_edit, self.input_error, ""))
        self.input_edit.editingFinished.connect(self._load_columns)
        self.output_edit = QLineEdit(placeholderText="Optional: also write the predictions to this file")
        self.output_button = QPushButton("Choose…")
        self.output_button.clicked.connect(self._choose_output)
        self.predictions_combo = QComboBox()
        self.predictions_combo.addItem("None: the file has no predictions", None)
        self.label_edit = QLineEdit(_iso_week(), placeholderText="e.g. 2026-W48")
        self.version_combo = QComboBox()
        if production:
            self.version_combo.addItem(f"Production (v{production})", None)
        for number in sorted(versions or [], reverse=True):
            if number != production:
                self.version_combo.addItem(f"v{number}", number)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Batch file", with_error(self.input_edit, self.input_error,
                                             browse_button(self.input_edit, TABLE_FILTER, self._load_columns)))
        if mode == "score":
            output_row = QWidget()
            row = QHBoxLayout(output_row)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.output_edit, 1)
            row.addWidget(self.output_button)
            form.addRow("Predictions file", output_row)
        else:
            form.addRow("Predictions column", self.predictions_combo)
        form.addRow("Label", self.label_edit)
        form.addRow("Version", self.version_combo)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.status_label = QLabel("")
        self.status_label.setObjectName("Muted")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        self.start_button = QPushButton(verb)
        self.start_button.setObjectName("Primary")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_bar, 1)
        buttons.addSpacing(8)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(4)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.progress_bar.hide()

    # -- state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None

    def _set_running(self, running: bool) -> None:
        for field in (self.input_edit, self.output_edit, self.output_button, self.predictions_combo,
                      self.label_edit, self.version_combo, self.start_button):
            field.setEnabled(not running)
        self.progress_bar.setVisible(running or self.progress_bar.value() > 0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel" if running or self.outcome is None else "Close")

    def _load_columns(self) -> None:
        path = self.input_edit.text().strip()
        if self.mode != "record" or not path:
            return
        self.runner.submit(preview_columns, path, on_success=self._fill_columns,
                           on_error=lambda exc: set_field_error(self.input_edit, self.input_error,
                                                                describe_error(exc)[0]))

    def _fill_columns(self, columns: list[str]) -> None:
        self.predictions_combo.clear()
        self.predictions_combo.addItem("None: the file has no predictions", None)
        for name in columns:
            self.predictions_combo.addItem(name, name)
        guess = next((c for c in columns if c.lower() in ("prediction", "predictions", "score", "pred")), None)
        if guess:
            self.predictions_combo.setCurrentIndex(self.predictions_combo.findData(guess))
        self.columns_loaded.emit(columns)

    def _choose_output(self) -> None:
        start = self.output_edit.text() or str(Path(self.input_edit.text() or Path.home()).with_name("predictions.csv"))
        path, _ = QFileDialog.getSaveFileName(self, "Write predictions to", start,
                                              "CSV (*.csv);;Parquet (*.parquet)")
        if path:
            self.output_edit.setText(path)

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> Task | None:
        if self.running:
            return self.task
        path = self.input_edit.text().strip()
        if not path:
            set_field_error(self.input_edit, self.input_error, "Choose the batch file to score.")
            return None
        if not Path(path).is_file():
            set_field_error(self.input_edit, self.input_error, f"No file at {path}.")
            return None
        self._cancel = threading.Event()
        self.outcome = None
        self.result_label.hide()
        self.progress_bar.setValue(0)
        self.status_label.setText("Starting…")
        self.task = self.runner.submit(
            run_batch, self.ws, self.model, path, mode=self.mode, cancel=self._cancel,
            output=self.output_edit.text().strip() or None, version=self.version_combo.currentData(),
            label=self.label_edit.text().strip(), predictions_column=self.predictions_combo.currentData(),
            on_success=self._succeeded, on_error=self._failed, on_progress=self._progressed)
        self._set_running(True)
        return self.task

    def cancel(self) -> None:
        """While running: ask the run to stop (it stops at its next check). Otherwise: close."""
        if not self.running:
            self.reject()
            return
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.status_label.setText("Cancelling…")

    def _progressed(self, fraction: float, message: str) -> None:
        if self.running and not self._cancel.is_set():
            self.progress_bar.setValue(int(fraction * 1000))
            self.status_label.setText(message)

    def _succeeded(self, outcome: BatchOutcome) -> None:
        self.task, self.outcome = None, outcome
        self.progress_bar.setValue(1000)
        self.status_label.setText("")
        self.result_label.setText(batch_summary(outcome))
        self.result_label.show()
        self._set_running(False)
        self.batch_recorded.emit(outcome)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.progress_bar.setValue(0)
        self._set_running(False)
        if self._cancel.is_set() and isinstance(exc, ScoringCancelled):
            self.status_label.setText("Cancelled: nothing was recorded.")
            self.run_cancelled.emit()
            return
        message, hint = describe_error(exc)
        self.status_label.setText("")
        self.result_label.setText(f"<span style='color:{self._error_color()}'><b>Not recorded.</b> "
                                  f"{message}</span>" + (f"<br>{hint}" if hint else ""))
        self.result_label.show()
        self.run_failed.emit(exc)

    @staticmethod
    def _error_color() -> str:
        from app.ui import theme

        return theme.color("error").name()

    def reject(self) -> None:
        if self.running:  # closing the window while it runs means cancel; the run reports when it stopped
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.running:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)
