"""Start worker processes (spawn, one per job) for claimed jobs; probe and stop processes by pid."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

from app.core.jobs import JobState
from app.store.workspace import Workspace
from app.workers.records import claim_queued, set_pid, transition

__all__ = ["default_max_jobs", "start_queued", "pid_alive", "terminate", "exit_description", "reap_children",
           "output_path"]

# Workers this process started and has not reaped yet, and the exit codes of those it has.
_STARTED: dict[int, multiprocessing.process.BaseProcess] = {}
_EXIT_CODES: dict[int, int] = {}
# The window polls from a background thread while a user action may cancel from another: one
# thread must not close a process object the other is still asking is_alive().
_LOCK = threading.RLock()


def default_max_jobs() -> int:
    """Cores minus one (the window and the user keep one), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def output_path(home: Path, job_id: int) -> Path:
    """Where a worker's raw stdout/stderr go (crash output a logging handler cannot catch)."""
    return Path(home) / "tmp" / f"job-{job_id}.out"


def reap_children() -> None:
    """Collect exit codes of our finished workers, so that none lingers as a zombie that looks alive."""
    with _LOCK:
        _reap_locked()


def _reap_locked() -> None:
    for job_id, proc in list(_STARTED.items()):
        if not proc.is_alive():  # is_alive() waits for the child without blocking
            _EXIT_CODES[pid_key(proc)] = proc.exitcode if proc.exitcode is not None else 0
            _STARTED.pop(job_id, None)
            try:
                proc.close()
            except ValueError:
                pass


def pid_key(proc) -> int:
    return proc.pid or -1


def exit_description(pid: int | None) -> str:
    """', killed by SIGKILL' / ', exit code 1' when this process started the worker and saw it end."""
    with _LOCK:
        for proc in list(_STARTED.values()):
            if proc.pid == pid:
                # It may have died after the last reap: its main thread shows as a zombie a moment
                # before the kernel lets the parent collect it (other threads are still exiting).
                proc.join(1.0)
    reap_children()
    code = _EXIT_CODES.get(pid or -1)
    if code is None:
        return ""
    if code < 0:
        try:
            return f", killed by {signal.Signals(-code).name}"
        except ValueError:
            return f", killed by signal {-code}"
    return f", exit code {code}"


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` on this host still runs (a zombie does not count)."""
    if not pid or pid <= 0:
        return False
    reap_children()
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows; the heartbeat decides there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    try:  # an exited child whose parent has not waited for it still answers kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _signal(pid: int, sig: int) -> None:
    # Workers lead their own process group (see runner), so the group signal also reaches
    # anything they started themselves (e.g. joblib's worker processes for n_jobs=-1).
    try:
        if os.name == "posix" and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def terminate(pid: int, *, grace: float = 2.0) -> str:
    """SIGTERM, then SIGKILL if it is still there after `grace` seconds; returns what it took."""
    if not pid_alive(pid):
        return "already gone"
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, grace):
        return "SIGTERM"
    _signal(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    _wait_gone(pid, 5.0)
    return "SIGKILL"


def _detach(proc) -> None:
    # multiprocessing joins every non-daemon child when its parent exits (util._exit_function), so
    # `steward retrain` without --wait would stay until the job ended. A job must outlive whoever
    # started it (a CLI call, a closed window), so the child leaves that bookkeeping; we reap it
    # ourselves while we live (reap_children), and init does once we are gone.
    children = getattr(multiprocessing.process, "_children", None)
    if children is not None:
        children.discard(proc)


def spawn_worker(ws: Workspace, job_id: int) -> int:
    """Start one worker process for a claimed job; returns its pid."""
    from app.workers.runner import run_job

    url = None if ws.db.url == ws.paths.url else ws.db.url
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks, threads or Qt state
    proc = ctx.Process(target=run_job, args=(str(ws.root), job_id, url), name=f"steward-job-{job_id}")
    proc.start()
    _detach(proc)
    with _LOCK:
        _STARTED[job_id] = proc
    return proc.pid


def start_queued(ws: Workspace, limit: int | None = None) -> list[int]:
    """Claim as many queued jobs as free slots allow and start a worker process for each.

    Safe to call from several processes at once (see claim_queued). Returns the started job ids.
    """
    reap_children()
    started = []
    for job_id in claim_queued(ws, limit or default_max_jobs()):
        try:
            pid = spawn_worker(ws, job_id)
        except Exception as exc:  # no process could be made (resources, frozen build): say so on the job
            message = f"Could not start a worker process: {type(exc).__name__}: {exc}"
            ws.db.write(lambda s, j=job_id, m=message: transition(
                s, j, JobState.FAILED, action="job.failed", details={"error": m}, error=m, message=m))
            continue
        set_pid(ws, job_id, pid)
        started.append(job_id)
    return started
