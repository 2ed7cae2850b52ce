"""The jobs table: rows updated in place on every poll, state colours, and the progress bar delegate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.core.jobs import Job, JobState
from app.ui import theme
from app.ui.formatting import fmt_time
from app.ui.tables import Column, RecordTableModel, draw_cell_background

__all__ = ["JobsTableModel", "JobProgressDelegate", "PROGRESS_ROLE", "STATE_ROLE", "MESSAGE_ROLE", "state_color",
           "fmt_duration", "job_duration", "PROGRESS_COLUMN", "STATE_COLUMN", "DURATION_COLUMN"]

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 10  # float 0..1 the delegate draws
STATE_ROLE = Qt.ItemDataRole.UserRole + 11  # the JobState value
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 12  # the job's latest progress message
STATE_COLUMN, PROGRESS_COLUMN, DURATION_COLUMN = 3, 4, 5

_Index = QModelIndex | QPersistentModelIndex

_STATE_COLORS = {
    "light": {"queued": "#5c6570", "running": "#2f6fde", "succeeded": "#1e8e3e", "failed": "#c62828",
              "cancelled": "#8a939e", "interrupted": "#e8710a"},
    "dark": {"queued": "#9aa3ae", "running": "#7fb0ff", "succeeded": "#7ee2a0", "failed": "#ff7b72",
             "cancelled": "#7d8590", "interrupted": "#ffa657"},
}


def state_color(state: JobState | str) -> QColor:
    return QColor(_STATE_COLORS[theme.current_theme()].get(str(getattr(state, "value", state)), "#8a939e"))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def job_duration(job: Job, now: datetime | None = None) -> float | None:
    """Run time (still counting while it runs); None for a job that never started."""
    if job.started_at is None:
        return None
    end = job.finished_at or now or datetime.now(UTC)
    return (end - job.started_at).total_seconds()


def _duration_text(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return f"waiting {fmt_duration((datetime.now(UTC) - job.created_at).total_seconds())}"
    return fmt_duration(job_duration(job))


def _state_text(job: Job) -> str:
    if job.state is JobState.RUNNING and job.cancel_requested:
        return "running · cancelling"
    return job.state.value


def _progress_text(job: Job) -> str:
    return f"{job.progress:.0%}  {job.message}" if job.message else f"{job.progress:.0%}"


class JobsTableModel(RecordTableModel):
    """Newest job first. `set_jobs` keeps rows (and so the selection) and only repaints what changed."""

    columns = (
        Column("Job", lambda j: f"#{j.id}", sort=lambda j: j.id),
        Column("Model", lambda j: j.model_name or "—"),
        Column("Kind", lambda j: j.kind.capitalize()),
        Column("State", _state_text, tooltip=lambda j: j.error or j.message),
        Column("Progress", _progress_text, tooltip=lambda j: j.message),
        Column("Duration", _duration_text, tooltip=lambda j: f"Submitted {fmt_time(j.created_at)}"
               + (f", started {fmt_time(j.started_at)}" if j.started_at else "")
               + (f", finished {fmt_time(j.finished_at)}" if j.finished_at else "")),
        Column("Started by", lambda j: j.created_by),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.seen_states: dict[int, list[str]] = {}  # every state this table has shown each job in, in order

    def _remember(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            states = self.seen_states.setdefault(job.id, [])
            if not states or states[-1] != job.state.value:
                states.append(job.state.value)

    def set_jobs(self, jobs: Sequence[Job]) -> None:
        jobs = list(jobs)
        self._remember(jobs)
        old_ids, new_ids = [j.id for j in self._rows], [j.id for j in jobs]
        if old_ids and len(new_ids) >= len(old_ids) and new_ids[len(new_ids) - len(old_ids):] == old_ids:
            fresh = len(new_ids) - len(old_ids)  # new jobs arrive at the top
            if fresh:
                self.beginInsertRows(QModelIndex(), 0, fresh - 1)
                self._rows[:0] = jobs[:fresh]
                self.endInsertRows()
            changed = [row for row in range(fresh, len(jobs))
                       if self._rows[row] != jobs[row] or jobs[row].state in (JobState.QUEUED, JobState.RUNNING)]
            for row in changed:  # active rows repaint every poll: their duration keeps counting
                self._rows[row] = jobs[row]
            if changed:
                self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(self.columns) - 1))
            return
        self.set_records(jobs)

    def upsert(self, job: Job) -> None:
        """Show one job now (e.g. just submitted), before the next poll brings the whole list."""
        row = self.row_of(job.id)
        if row >= 0:
            self._rows[row] = job
            self._remember([job])
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))
            return
        self.set_jobs(sorted([*self._rows, job], key=lambda j: j.id, reverse=True))

    def row_of(self, job_id: int | None) -> int:
        return next((i for i, j in enumerate(self._rows) if j.id == job_id), -1)

    def job(self, job_id: int) -> Job | None:
        row = self.row_of(job_id)
        return self._rows[row] if row >= 0 else None

    def extra_data(self, rec: Job, col: Column, role: int):
        if role == PROGRESS_ROLE:
            return float(rec.progress)
        if role == STATE_ROLE:
            return rec.state.value
        if role == MESSAGE_ROLE:
            return rec.message
        if col is self.columns[STATE_COLUMN]:
            if role == Qt.ItemDataRole.ForegroundRole:
                return state_color(rec.state)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setWeight(QFont.Weight.DemiBold)
                return font
        return None



class JobProgressDelegate(QStyledItemDelegate):
    """A slim bar in the job's state colour, with the percentage and the latest message beside it."""

    BAR_WIDTH = 96

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt, _text = draw_cell_background(self, painter, option, index)
        progress = float(index.data(PROGRESS_ROLE) or 0.0)
        color = state_color(index.data(STATE_ROLE) or "queued")
        rect = opt.rect.adjusted(8, 0, -6, 0)
        bar = QRectF(rect.left(), rect.center().y() - 3.5, self.BAR_WIDTH, 7)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color("border"))
        painter.drawRoundedRect(bar, 3.5, 3.5)
        if progress > 0:
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(bar.left(), bar.top(), max(bar.width() * min(progress, 1.0), 7), 7),
                                    3.5, 3.5)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.setPen(theme.color("selection_text") if selected else theme.color("text"))
        text_rect = QRectF(bar.right() + 10, rect.top(), max(rect.right() - bar.right() - 10, 0), rect.height())
        message = index.data(MESSAGE_ROLE) or ""
        text = f"{progress:.0%}" + (f"  ·  {message}" if message else "")
        painter.setFont(opt.font)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         QFontMetrics(opt.font).elidedText(text, Qt.TextElideMode.ElideRight, int(text_rect.width())))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index):
        size = super().sizeHint(option, index)
        size.setWidth(max(size.width() + self.BAR_WIDTH + 24, 320))
        return size
