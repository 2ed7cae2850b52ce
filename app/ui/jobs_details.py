"""The selected job: what it is, where and when it ran, how it ended, and for a retrain the challenger vs champion."""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.jobs import Job, JobState
from app.ui import theme
from app.ui.forms import section_label
from app.ui.jobs_compare import RetrainComparison
from app.ui.jobs_data import RetrainOutcome
from app.ui.jobs_model import fmt_duration, job_duration, state_color

__all__ = ["JobDetails", "data_source_text"]


def _when(moment: datetime | None) -> str:
    """Local time to the second: a job's steps are seconds apart."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def data_source_text(job: Job) -> str:
    data = job.params.get("data")
    text = f"file {data}" if data else "the champion's training data plus the labelled batches scored since"
    rows = (job.result or {}).get("dataset_rows")
    if isinstance(rows, int):
        fit, held = job.result.get("train_rows", 0), job.result.get("held_out_rows", 0)
        text += f" ({rows:,} rows: {fit:,} to fit, {held:,} held out)"
    return text


def _rows(job: Job) -> list[tuple[str, str]]:
    rows = [("Submitted", f"{_when(job.created_at)} by {escape(job.created_by)}")]
    if job.started_at:
        rows.append(("Started", _when(job.started_at)))
    if job.finished_at:
        rows.append(("Finished", f"{_when(job.finished_at)}  ·  ran {fmt_duration(job_duration(job))}"))
    elif job.started_at:
        rows.append(("Running for", fmt_duration(job_duration(job))))
    if job.pid:
        rows.append(("Worker", f"process {job.pid} on {escape(job.host or '?')}"))
    if job.kind == "retrain":
        rows.append(("Training data", escape(data_source_text(job))))
    if job.cancel_requested:
        rows.append(("Cancel", f"requested by {escape(job.cancel_requested_by or '?')}"))
    if job.error:
        rows.append(("Error", f"<span style='color:{theme.color('error').name()}'>{escape(job.error)}</span>"))
    elif job.result and job.result.get("summary"):
        rows.append(("Result", escape(str(job.result["summary"]))))
    return rows


class JobDetails(QWidget):
    """Read-only; `version_requested(name, number)` comes from the comparison's button."""

    version_requested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job: Job | None = None
        self.title = section_label("Job")
        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.comparison = RetrainComparison()
        self.comparison.version_requested.connect(self.version_requested)
        self.comparison.hide()
        self.waiting_label = QLabel()
        self.waiting_label.setObjectName("Muted")
        self.waiting_label.setWordWrap(True)
        body = QWidget()
        body.setObjectName("JobBody")
        inner = QVBoxLayout(body)
        inner.setContentsMargins(0, 2, 8, 4)
        inner.setSpacing(8)
        inner.addWidget(self.summary_label)
        inner.addWidget(self.waiting_label)
        inner.addWidget(self.comparison)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # tables elide, charts shrink
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        self.show_job(None)

    def show_job(self, job: Job | None, outcome: RetrainOutcome | None = None) -> None:
        self.job = job
        if job is None:
            self.title.setText("JOB")
            self.summary_label.setText("Select a job to see its details and log.")
            self.waiting_label.hide()
            self.comparison.hide()
            return
        color = state_color(job.state).name()
        self.title.setText(f"JOB #{job.id}  ·  {job.kind.upper()}  {(job.model_name or '').upper()}")
        state = (f"<span style='color:{color}; font-weight:600'>{job.state.value.capitalize()}</span>"
                 f"  ·  {job.progress:.0%}  ·  {escape(job.message)}")
        table = "".join(f"<tr><td style='padding:2px 14px 2px 0; color:{theme.color('muted').name()}'>{label}</td>"
                        f"<td style='padding:2px 0'>{value}</td></tr>" for label, value in _rows(job))
        self.summary_label.setText(f"<p style='margin:0 0 6px 0'>{state}</p><table>{table}</table>")
        finished_retrain = job.kind == "retrain" and job.state is JobState.SUCCEEDED
        if finished_retrain and outcome is not None:
            self.waiting_label.hide()
            if self.comparison.outcome is not outcome or self.comparison.isHidden():
                self.comparison.show_outcome(outcome, job.result)  # once: a finished job's outcome never changes
            self.comparison.show()
            return
        self.comparison.hide()
        hint = {JobState.QUEUED: "Waiting for a free slot; it starts as soon as a running job ends.",
                JobState.RUNNING: "The comparison with the champion appears here when the job has finished.",
                JobState.SUCCEEDED: "Loading the comparison…" if finished_retrain else "",
                JobState.CANCELLED: "Cancelled: nothing was registered.",
                JobState.FAILED: "Failed: nothing was registered. The log says where it stopped.",
                JobState.INTERRUPTED: "Its worker process ended without recording an outcome; nothing was "
                                      "registered. Retrain again to get a challenger."}.get(job.state, "")
        self.waiting_label.setText(hint)
        self.waiting_label.setVisible(bool(hint))

    def apply_theme(self) -> None:
        self.comparison.apply_theme()
        if self.job is not None:
            outcome = self.comparison.outcome if not self.comparison.isHidden() else None
            if outcome is not None:
                self.comparison.show_outcome(outcome, self.job.result)  # the marks and changes are coloured
            self.show_job(self.job, outcome)
