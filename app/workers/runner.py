"""Entry point of a worker process: detach from the starter, open the workspace, run one job."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["run_job"]


def run_job(home: str, job_id: int, url: str | None = None) -> None:
    """Run job `job_id` of the workspace at `home` in this (freshly spawned) process.

    Imports stay inside: the parent pickles only this function's name, and a spawned child
    should pay for nothing but what the job needs (never Qt).
    """
    from app.workers.launch import output_path

    _redirect_output(output_path(Path(home), job_id))
    _leave_starters_tracker()
    if hasattr(os, "setsid"):
        try:  # own session and process group: Ctrl-C or a closed terminal of the starter do not reach us
            os.setsid()
        except OSError:
            pass
    import faulthandler

    faulthandler.enable()  # a hard crash still leaves its stack in the job's output file
    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace
    from app.workers.reporter import JobReporter

    ws = open_workspace(WorkspacePaths(Path(home)), url=url)
    try:
        reporter = JobReporter(ws, job_id)
        if reporter.attach():
            reporter.run()
    finally:
        _keep_output(ws, job_id, output_path(Path(home), job_id))
        ws.close()


def _keep_output(ws, job_id: int, path: Path) -> None:
    """Append what reached raw stdout/stderr (C-level messages, stray prints) to the log; drop the file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        path.unlink()
    except OSError:
        return
    if not text:
        return
    from sqlalchemy import update

    from app.store.orm import SqlJob

    extra = f"--- worker output ---\n{text[-20_000:]}\n--- end of worker output ---\n"
    ws.db.write(lambda s: s.execute(update(SqlJob).where(SqlJob.id == job_id).values(log=SqlJob.log + extra)))


def _redirect_output(path: Path) -> None:
    # The starter's stdout may be a pipe someone reads to the end (a test, a shell `$(...)`); a
    # worker that outlives the starter must not hold it open. Raw output goes to a file instead.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    for target, source in ((0, null), (1, fd), (2, fd)):
        try:
            os.dup2(source, target)
        except OSError:
            pass
    os.close(fd)
    os.close(null)


def _leave_starters_tracker() -> None:
    # Spawning hands the child the starter's multiprocessing resource tracker: a helper process
    # that inherited the starter's stdout/stderr and lives while anyone holds its pipe. Holding it
    # would keep `steward retrain NAME | cat` (or a test reading the output) waiting for the whole
    # job. Workers share no semaphores with anyone; a library that needs a tracker starts its own.
    try:
        from multiprocessing import resource_tracker

        tracker = resource_tracker._resource_tracker
        if getattr(tracker, "_fd", None) is not None:
            os.close(tracker._fd)
            tracker._fd = None
    except Exception:  # private machinery changed: costs only the wait described above
        pass
