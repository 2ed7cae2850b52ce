"""Run slow calls off the GUI thread and deliver results (or domain errors) back on it."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

__all__ = ["Task", "TaskRunner"]


class _Signals(QObject):
    progress_changed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception instance
    finished = Signal()


class Task(QRunnable):
    """One background call. `fn` receives `progress(fraction, message)` when `wants_progress`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, wants_progress: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.signals = _Signals()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._wants_progress = wants_progress
        self.setAutoDelete(False)  # the runner keeps it alive until its signals have been delivered

    @Slot()
    def run(self) -> None:
        try:
            if self._wants_progress:
                self._kwargs["progress"] = self.signals.progress_changed.emit
            result = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # delivered to the GUI thread, which shows it
            exc.__steward_traceback__ = traceback.format_exc()
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.finished.emit()


class TaskRunner(QObject):
    """Owns a thread pool; `submit` returns the task so callers can connect to its signals.

    Signals are emitted from the worker thread and, because the receivers live on the GUI thread,
    Qt queues them: handlers always run on the GUI thread.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._live: set[Task] = set()

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        **kwargs: Any,
    ) -> Task:
        task = Task(fn, *args, wants_progress=on_progress is not None, **kwargs)
        if on_success:
            task.signals.succeeded.connect(on_success)
        if on_error:
            task.signals.failed.connect(on_error)
        if on_progress:
            task.signals.progress_changed.connect(on_progress)
        task.signals.finished.connect(lambda t=task: self._done(t))
        self._live.add(task)
        if len(self._live) == 1:
            self.busy_changed.emit(True)
        self.pool.start(task)
        return task

    def _done(self, task: Task) -> None:
        self._live.discard(task)
        if not self._live:
            self.busy_changed.emit(False)

    @property
    def active(self) -> int:
        return len(self._live)

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)
