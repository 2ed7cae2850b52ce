"""The window's job timer: starts queued jobs and settles dead workers while the app runs, and says what changed."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.jobs import JobState
from app.store.workspace import Workspace
from app.ui.jobs_data import JobsPulse, pulse
from app.ui.tasks import TaskRunner

__all__ = ["JobsWatcher", "FAST_MS", "SLOW_MS"]

log = logging.getLogger(__name__)

FAST_MS = 2_000  # while a job is queued or running: a free slot is filled within two seconds
SLOW_MS = 30_000  # otherwise: only jobs queued from a terminal, or workers that died, are left to notice


class JobsWatcher(QObject):
    """Every tick runs `pulse` (scan_jobs + start_queued + counts) on its own one-thread runner, so a tick
    never waits on the GUI thread and never shows in the window's busy indicator.

    Cancels go through `control` onto the same thread: the worker layer's bookkeeping of the processes
    this one started (app.workers.launch reaps them) is not meant to be used by two threads at once."""

    pulsed = Signal(object)  # JobsPulse
    job_finished = Signal(object)  # a Job that was queued or running at the previous tick and is not now
    job_started = Signal(int)  # a job this window started a worker process for

    def __init__(self, ws: Workspace, parent: QObject | None = None, *, fast_ms: int = FAST_MS,
                 slow_ms: int = SLOW_MS) -> None:
        super().__init__(parent)
        self.ws = ws
        self.fast_ms, self.slow_ms = fast_ms, slow_ms
        self.runner = TaskRunner(max_threads=1)  # no Qt parent: see JobsPage.poll_runner
        self.last: JobsPulse | None = None
        self._watched: tuple[int, ...] = ()
        self._busy = False
        self._again = False
        self._stopped = True
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.poke)

    def start(self) -> None:
        self._stopped = False
        self.poke()

    def stop(self) -> None:
        self._stopped = True
        self.timer.stop()
        self.runner.wait(30_000)  # a tick in flight (a spawn, a scan) ends before the workspace closes

    def control(self, fn, *args, on_success=None, on_error=None):
        """Run `fn(*args)` (a cancel) on the tick's thread, after any tick in flight."""
        return self.runner.submit(fn, *args, on_success=on_success, on_error=on_error)

    def watch(self, job_id: int) -> None:
        """Report `job_id` in `job_finished` when it ends (jobs seen active at a tick are watched anyway)."""
        if job_id not in self._watched:
            self._watched = (*self._watched, job_id)

    def poke(self) -> None:
        """Tick now (e.g. right after a submit: the new job starts without waiting for the timer)."""
        if self._stopped:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.timer.stop()
        asked = self._watched
        self.runner.submit(pulse, self.ws, asked, on_success=lambda p: self._pulsed(p, asked), on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        log.warning("Job timer tick failed: %s", exc)  # e.g. the database was busy; the next tick retries
        self._schedule(self.last is not None and bool(self.last.active))

    def _pulsed(self, found: JobsPulse, asked: tuple[int, ...]) -> None:
        self._busy = False
        if self._stopped:
            return
        self.last = found
        added_meanwhile = [i for i in self._watched if i not in asked]
        self._watched = tuple(dict.fromkeys([*(j.id for j in found.active), *added_meanwhile]))
        for job_id in found.started:
            self.job_started.emit(job_id)
        self.pulsed.emit(found)
        for job in found.finished:
            self.job_finished.emit(job)
        if self._again:
            self._again = False
            self.poke()
            return
        self._schedule(bool(found.active))

    def _schedule(self, active: bool) -> None:
        if not self._stopped:
            self.timer.start(self.fast_ms if active else self.slow_ms)

    @property
    def active_count(self) -> int:
        return len(self.last.active) if self.last else 0

    def running_ids(self) -> list[int]:
        return [j.id for j in self.last.active if j.state is JobState.RUNNING] if self.last else []
