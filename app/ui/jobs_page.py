"""Jobs page: background jobs live (state, progress, duration), cancel, the selected job's log and outcome."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget,
)

from app.core.jobs import Job, JobState
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.jobs_data import JobsPulse, JobsView, RetrainOutcome, cancel_jobs, is_active, load_jobs_view
from app.ui.jobs_details import JobDetails
from app.ui.jobs_log import JobLog
from app.ui.jobs_model import DURATION_COLUMN, PROGRESS_COLUMN, STATE_COLUMN, JobProgressDelegate, JobsTableModel
from app.ui.messages import describe_error, show_error
from app.ui.tables import make_table
from app.ui.tables import RECORD_ROLE
from app.ui.tasks import TaskRunner

__all__ = ["JobsPage", "POLL_MS"]

POLL_MS = 1_000  # while a job is queued or running; an idle page does not poll at all


class JobsPage(QWidget):
    """Reads run on the page's own one-thread runner (a poll a second must not flash the window's busy
    indicator); a cancel runs through `control`, the window's job timer thread."""

    view_loaded = Signal(object)  # the JobsView now shown
    job_selected = Signal(object)  # Job or None
    version_requested = Signal(str, int)  # open this version on the Models page
    jobs_cancelled = Signal(list)  # the Jobs after a cancel from this page
    dialog_opened = Signal(object)

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.control = runner.submit  # the window hands in its job timer's `control` (one thread for the workers)
        # No Qt parent: a read finishing after the page is deleted (a workspace switch) still reaches a
        # live runner; its result handlers are bound to the page, so Qt drops them with it.
        self.poll_runner = TaskRunner(max_threads=1)
        self._stopped = False
        self.confirm_box: QMessageBox | None = None
        self.last_error = None
        self._loading = False
        self._again = False
        self._outcomes: dict[int, RetrainOutcome] = {}  # finished jobs do not change: read each once
        self._cancelling: set[int] = set()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self._build()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel("Jobs")
        title.setObjectName("PageTitle")
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        self.cancel_button = QPushButton("Cancel job…")
        self.cancel_button.setToolTip("Stop the selected queued or running job; nothing it did is registered")
        self.cancel_button.clicked.connect(self.request_cancel)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(8)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(self.cancel_button)

        self.model = JobsTableModel(self)
        self.table = make_table(self.model)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, JobProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(PROGRESS_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_row_changed)

        self.details = JobDetails()
        self.details.version_requested.connect(self.version_requested)
        self.log = JobLog()
        self.log_view = self.log.view

        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(self.details)
        bottom.addWidget(self.log)
        bottom.setStretchFactor(0, 6)
        bottom.setStretchFactor(1, 5)
        bottom.setSizes([760, 500])
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        self.split.addWidget(bottom)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 5)

        self.empty_icon = QLabel()
        self.empty_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label = QLabel(
            "<p style='font-size:15pt; font-weight:600'>No jobs yet</p>"
            "<p>Retrain a model with <b>Retrain…</b> on the Models or Monitoring page, or from a terminal:<br>"
            "<code>steward retrain NAME</code></p>"
            "<p>Jobs run in their own processes: you can keep working, or close the window, while they run.</p>")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty = QWidget()
        empty_layout = QVBoxLayout(empty)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_icon)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addStretch(2)
        self.body = QStackedWidget()
        self.body.addWidget(empty)
        self.body.addWidget(self.split)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.body, 1)
        self.update_icon()
        self._update_buttons()

    def update_icon(self) -> None:
        self.empty_icon.setPixmap(theme.icon("jobs", role="border", size=56).pixmap(56, 56))

    # -- loading ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the jobs (and the selected job's log) in the background; calls made meanwhile fold into one."""
        if self._stopped:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        selected = self.selected_id()
        self.poll_runner.submit(load_jobs_view, self.ws, selected, selected not in self._outcomes,
                                on_success=self._apply, on_error=self._load_failed)

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        message, _hint = describe_error(exc)
        self.count_label.setText(f"Could not read the jobs: {message}")  # the next poll tries again
        self._settle_timer()

    def _apply(self, view: JobsView) -> None:
        self._loading = False
        if view.outcome is not None and view.selected is not None:
            self._outcomes[view.selected.id] = view.outcome
        keep, rows = self.selected_id(), self.model.rowCount()
        self.model.set_jobs(view.jobs)  # in place: the selection stays unless the list was rebuilt
        self.body.setCurrentIndex(1 if self.model.rowCount() else 0)
        if self.model.rowCount() != rows:
            self._fit_table()
        if self.selected_id() != keep or keep is None:
            if not self.select_job(keep) and self.model.rowCount():
                self.select_job(self.model.record(0).id)  # the newest job, when nothing was chosen
        self._count(view.jobs)
        if view.selected is not None and view.selected.id == self.selected_id():
            self._show_selected(view.selected, with_log=True)
        self._update_buttons()
        self._settle_timer()
        self.view_loaded.emit(view)
        if self._again:
            self._again = False
            self.refresh()

    def _fit_table(self) -> None:
        """Columns to their contents (progress takes the rest); the table as tall as its rows (3 to 8)."""
        view, header = self.table, self.table.horizontalHeader()
        fm = view.fontMetrics()
        # states and durations change after this fit: room for the longest ones they can become
        least = {STATE_COLUMN: fm.horizontalAdvance("running · cancelling") + 12,
                 DURATION_COLUMN: fm.horizontalAdvance("waiting 59 min 59 s")}
        for col in range(self.model.columnCount()):
            if col != PROGRESS_COLUMN:
                view.resizeColumnToContents(col)
                header.resizeSection(col, min(max(header.sectionSize(col), least.get(col, 0)) + 18, 260))
        wanted = (header.sizeHint().height() + view.verticalHeader().defaultSectionSize()
                  * min(max(self.model.rowCount(), 3), 8) + 2 * view.frameWidth() + 2)
        total = sum(self.split.sizes()) or 760
        self.split.setSizes([wanted, max(total - wanted, 300)])

    def _count(self, jobs: list[Job]) -> None:
        running = sum(j.state is JobState.RUNNING for j in jobs)
        queued = sum(j.state is JobState.QUEUED for j in jobs)
        parts = [f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}"]
        if running:
            parts.append(f"{running} running")
        if queued:
            parts.append(f"{queued} queued")
        self.count_label.setText("  ·  ".join(parts))

    def _settle_timer(self) -> None:
        """Poll once a second while something is queued or running and the page is on screen."""
        wanted = self.isVisible() and any(is_active(j) for j in self.model.records())
        if wanted and not self.timer.isActive():
            self.timer.start()
        elif not wanted:
            self.timer.stop()

    def on_pulse(self, pulse: JobsPulse) -> None:
        """The window's job timer saw the workspace: a job started elsewhere (a terminal) shows up here."""
        if not self.isVisible():
            return
        known = {j.id: j.state for j in self.model.records()}
        if pulse.finished or pulse.started or any(known.get(j.id) != j.state for j in pulse.active):
            self.refresh()

    def stop(self) -> None:
        self._stopped = True
        self.timer.stop()
        self.poll_runner.wait(10_000)  # a read in flight finishes before the workspace closes

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    # -- selection --------------------------------------------------------------------------------
    def selected_id(self) -> int | None:
        job = self.selected_job()
        return job.id if job else None

    def selected_job(self) -> Job | None:
        index = self.table.currentIndex()
        return index.data(RECORD_ROLE) if index.isValid() else None

    def select_job(self, job_id: int | None) -> bool:
        row = self.model.row_of(job_id)
        if row < 0:
            return False
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def show_job(self, job: Job) -> None:
        """Show a job just submitted (as it is now) and select it; the next poll follows it."""
        rows = self.model.rowCount()
        self.model.upsert(job)
        self.body.setCurrentIndex(1)
        if self.model.rowCount() != rows:
            self._fit_table()
        self.select_job(job.id)
        self.refresh()

    def _on_row_changed(self, current, _previous) -> None:
        job = current.data(RECORD_ROLE) if current.isValid() else None
        self._show_selected(job, with_log=False)
        self._update_buttons()
        self.job_selected.emit(job)
        if job is not None:
            self.refresh()  # its log (and outcome) come with the next read

    def _show_selected(self, job: Job | None, *, with_log: bool) -> None:
        """`with_log`: `job` came from a read with its log; otherwise the log follows with the next read."""
        self.details.show_job(job, self._outcomes.get(job.id) if job else None)
        if job is None:
            self.log.clear()
        elif with_log:
            self.log.show_log(job.id, job.log)
        else:
            self.log.expect(job.id)

    # -- cancel -----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        job = self.selected_job()
        cancelling = job is not None and job.id in self._cancelling
        self.cancel_button.setEnabled(job is not None and is_active(job) and not cancelling)
        self.cancel_button.setText("Cancelling…" if cancelling else "Cancel job…")

    def request_cancel(self) -> QMessageBox | None:
        """Ask (without blocking) before cancelling the selected job."""
        job = self.selected_job()
        if job is None or not is_active(job):
            return None
        what = "It has not started yet." if job.state is JobState.QUEUED else (
            "It is asked to stop at its next checkpoint and is stopped after a few seconds if it has not.")
        box = QMessageBox(QMessageBox.Icon.Question, f"Cancel job #{job.id}",
                          f"Cancel job #{job.id} ({job.kind} {job.model_name or ''})?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setInformativeText(f"{what} Nothing it did is registered.")
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel job")
        box.button(QMessageBox.StandardButton.No).setText("Keep running")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self.cancel(job.id))
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()
        self.dialog_opened.emit(box)
        return box

    def cancel(self, job_id: int) -> None:
        self._cancelling.add(job_id)
        self._update_buttons()

        def done(found: list[Job]) -> None:
            self._cancelling.discard(job_id)
            self.refresh()
            self.jobs_cancelled.emit(found)

        def failed(exc: BaseException) -> None:
            self._cancelling.discard(job_id)
            self.last_error = show_error(self, exc, "Job not cancelled")
            self.refresh()

        self.control(cancel_jobs, self.ws, [job_id], on_success=done, on_error=failed)
        self.refresh()  # "cancel requested" shows at once

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the chart and the rich text carry theme colours
            self.details.apply_theme()
