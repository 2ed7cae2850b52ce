"""Closing the window while jobs run: wait for them, cancel them, leave them running, or stay."""

from __future__ import annotations

import logging
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from app.core.jobs import Job, JobState
from app.store.workspace import Workspace
from app.ui.jobs_data import JobsPulse, active_jobs, cancel_jobs
from app.ui.jobs_watcher import JobsWatcher
from app.ui.messages import show_error

__all__ = ["CloseChoice", "CloseGuard", "ask_close_choice"]

log = logging.getLogger(__name__)


class CloseChoice(StrEnum):
    WAIT = "wait"  # keep the window until they end, then close
    CANCEL_JOBS = "cancel"  # cancel each, then close
    LEAVE = "leave"  # close now; the jobs finish and record themselves
    STAY = "stay"  # do not close


def _describe(jobs: list[Job]) -> str:
    running = [j for j in jobs if j.state is JobState.RUNNING]
    queued = [j for j in jobs if j.state is JobState.QUEUED]
    parts = []
    if running:
        parts.append(f"{len(running)} job{'s are' if len(running) != 1 else ' is'} running")
    if queued:
        parts.append(f"{len(queued)} {'are' if len(queued) != 1 else 'is'} queued")
    return " and ".join(parts) or "No jobs are running"


def ask_close_choice(parent: QWidget, jobs: list[Job]) -> CloseChoice:
    """The question itself (modal: the window is closing and needs the answer before it goes)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Jobs are still running", f"{_describe(jobs)}.", parent=parent)
    lines = "\n".join(f"  #{j.id} {j.kind} {j.model_name or ''}: {j.progress:.0%} {j.message}" for j in jobs[:6])
    queued_note = (" Queued jobs wait until Model Steward next opens this workspace."
                   if any(j.state is JobState.QUEUED for j in jobs) else "")
    box.setInformativeText(f"{lines}\n\nRunning jobs are separate processes: left running, they finish and record "
                           f"their result by themselves.{queued_note}")
    wait = box.addButton("Wait for them", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel them", QMessageBox.ButtonRole.DestructiveRole)
    leave = box.addButton("Leave them running", QMessageBox.ButtonRole.AcceptRole)
    stay = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(leave)
    box.setEscapeButton(stay)
    box.exec()
    return {wait: CloseChoice.WAIT, cancel: CloseChoice.CANCEL_JOBS, leave: CloseChoice.LEAVE}.get(
        box.clickedButton(), CloseChoice.STAY)


class CloseGuard(QObject):
    """Carries out a CloseChoice. `decide` answers "may the window close now?"; for Wait and Cancel it
    answers no and emits `close_allowed` once the jobs have ended (the window then closes itself)."""

    close_allowed = Signal()
    waiting_changed = Signal(bool)

    def __init__(self, ws: Workspace, watcher: JobsWatcher, window: QWidget) -> None:
        super().__init__(window)
        self.ws, self.watcher, self.window = ws, watcher, window
        self.waiting_for: set[int] = set()
        self.progress_dialog: QProgressDialog | None = None
        self.cancelling = False
        watcher.pulsed.connect(self._on_pulse)

    def active_jobs(self) -> list[Job]:
        """Queued and running jobs right now (one quick read); the last tick's list if the read fails."""
        try:
            return active_jobs(self.ws)
        except Exception as exc:  # a busy or broken database must not trap the window open
            log.warning("Could not read the jobs before closing: %s", exc)
            return list(self.watcher.last.active) if self.watcher.last else []

    def decide(self, choice: CloseChoice, jobs: list[Job]) -> bool:
        if choice is CloseChoice.LEAVE or not jobs:
            return True
        if choice is CloseChoice.WAIT:
            self._wait(jobs)
        elif choice is CloseChoice.CANCEL_JOBS:
            self._cancel(jobs)
        return False

    # -- wait ---------------------------------------------------------------------------------------
    def _wait(self, jobs: list[Job]) -> None:
        self.waiting_for = {j.id for j in jobs}
        for job in jobs:
            self.watcher.watch(job.id)
        dialog = QProgressDialog("", "Stop waiting", 0, 100, self.window)
        dialog.setWindowTitle("Waiting for jobs")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(460)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.stop_waiting)
        self.progress_dialog = dialog
        self._show_progress(jobs)
        dialog.show()
        self.waiting_changed.emit(True)
        self.watcher.poke()

    def stop_waiting(self) -> None:
        self.waiting_for.clear()
        if self.progress_dialog is not None:
            self.progress_dialog.hide()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        self.waiting_changed.emit(False)

    def _show_progress(self, jobs: list[Job]) -> None:
        if self.progress_dialog is None:
            return
        mine = [j for j in jobs if j.id in self.waiting_for]
        self.progress_dialog.setLabelText(
            f"The window closes when {'these jobs end' if len(mine) != 1 else 'this job ends'}:\n"
            + "\n".join(f"#{j.id} {j.model_name or ''}: {j.progress:.0%} {j.message}" for j in mine[:6]))
        share = sum(j.progress for j in mine) / len(mine) if mine else 1.0
        self.progress_dialog.setValue(int(share * 100))

    def _on_pulse(self, found: JobsPulse) -> None:
        if not self.waiting_for:
            return
        still = [j for j in found.active if j.id in self.waiting_for]
        if still:
            self._show_progress(still)
            return
        self.stop_waiting()
        self.close_allowed.emit()

    # -- cancel -------------------------------------------------------------------------------------
    def _cancel(self, jobs: list[Job]) -> None:
        self.cancelling = True
        self.window.statusBar().showMessage(f"Cancelling {len(jobs)} job{'s' if len(jobs) != 1 else ''}…")

        def done(_found: list[Job]) -> None:
            self.cancelling = False
            self.close_allowed.emit()

        def failed(exc: BaseException) -> None:
            self.cancelling = False
            show_error(self.window, exc, "Jobs not cancelled")

        self.watcher.control(cancel_jobs, self.ws, [j.id for j in jobs], on_success=done, on_error=failed)
