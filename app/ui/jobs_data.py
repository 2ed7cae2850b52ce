"""What the Jobs page, the retrain dialog and the job timer read and write (plain functions, off the GUI thread)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core.entities import Stage, Version
from app.core.errors import ConflictError, StewardError
from app.core.jobs import Job, JobState, Recipe
from app.services import jobs as job_service
from app.services import queries, schedules
from app.services.monitoring_queries import performance_history
from app.services.recipes import get_recipe
from app.store.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["ACTIVE", "JobCounts", "JobsPulse", "RetrainOutcome", "JobsView", "RetrainContext", "is_active",
           "job_counts", "active_jobs", "pulse", "load_jobs_view", "load_outcome", "load_retrain_context",
           "submit_retrain_job", "cancel_jobs", "production_of", "RECENT_DAYS", "LIST_LIMIT"]

ACTIVE = (JobState.QUEUED, JobState.RUNNING)
RECENT_DAYS = 7  # "failed or interrupted lately" on the Overview: a week is what a person still remembers
LIST_LIMIT = 200  # rows on the Jobs page; older jobs stay in the database and the audit log


def is_active(job: Job) -> bool:
    return job.state in ACTIVE


@dataclass(frozen=True)
class JobCounts:
    running: int = 0
    queued: int = 0
    failed_recent: int = 0  # failed or interrupted in the last RECENT_DAYS days


@dataclass(frozen=True)
class JobsPulse:
    """One tick of the window's job timer: what runs now, what ended since the last tick, the counts."""

    active: tuple[Job, ...]
    finished: tuple[Job, ...]  # jobs the caller watched that are no longer queued or running
    started: tuple[int, ...]  # jobs this tick started a worker process for
    counts: JobCounts


@dataclass(frozen=True)
class RetrainOutcome:
    """A finished retrain's challenger and the champion it was compared with (as stored in the registry)."""

    challenger: Version | None
    champion: Version | None
    error: str = ""


@dataclass(frozen=True)
class JobsView:
    jobs: list[Job]
    selected: Job | None  # with its log
    outcome: RetrainOutcome | None


@dataclass(frozen=True)
class RetrainContext:
    """What the retrain dialog shows before anything is submitted."""

    recipe: Recipe
    champion: Version
    new_batches: int = 0  # labelled batches scored after the champion's data (a preview; the job decides)
    new_rows: int = 0
    base_rows: int | None = None
    base_name: str = ""
    versions: list[int] = field(default_factory=list)


def _recent_failures(ws: Workspace, now: datetime) -> int:
    since = now - timedelta(days=RECENT_DAYS)
    count = 0
    for state in (JobState.FAILED, JobState.INTERRUPTED):
        count += sum(1 for j in job_service.list_jobs(ws, state=state.value, limit=LIST_LIMIT)
                     if (j.finished_at or j.created_at) >= since)
    return count


def job_counts(ws: Workspace, active: list[Job] | None = None) -> JobCounts:
    active = active_jobs(ws) if active is None else active
    return JobCounts(running=sum(j.state is JobState.RUNNING for j in active),
                     queued=sum(j.state is JobState.QUEUED for j in active),
                     failed_recent=_recent_failures(ws, datetime.now(UTC)))


def active_jobs(ws: Workspace) -> list[Job]:
    """Queued and running jobs, oldest first (a quick read)."""
    found = [*job_service.list_jobs(ws, state=JobState.RUNNING.value, limit=None),
             *job_service.list_jobs(ws, state=JobState.QUEUED.value, limit=None)]
    return sorted(found, key=lambda j: j.id)


def pulse(ws: Workspace, watched: tuple[int, ...] = ()) -> JobsPulse:
    """Fire due schedules, settle dead workers, start queued jobs in free slots, then report (the
    window's timer calls this: while the app runs it is the scheduler; `steward run-due` when not)."""
    try:
        schedules.run_due(ws, start=False)
    except StewardError as exc:  # one bad schedule must not stop the jobs from being watched
        log.warning("Scheduled retrains could not be fired: %s", exc)
    started = tuple(job_service.start_queued(ws))
    active = active_jobs(ws)
    ids = {j.id for j in active}
    finished = []
    for job_id in watched:
        if job_id not in ids:
            try:
                finished.append(job_service.get_job(ws, job_id, with_log=False))
            except StewardError:
                continue  # another workspace's id after a switch; nothing to report
    return JobsPulse(tuple(active), tuple(finished), started, job_counts(ws, active))


def load_outcome(ws: Workspace, job: Job) -> RetrainOutcome | None:
    """The challenger and champion versions of a succeeded retrain (None for anything else)."""
    if job.kind != "retrain" or job.state is not JobState.SUCCEEDED or not job.result or not job.model_name:
        return None
    result = job.result
    try:
        challenger = queries.get_version(ws, job.model_name, int(result["version"]))
    except (StewardError, KeyError, TypeError, ValueError) as exc:
        return RetrainOutcome(None, None, f"The registered version could not be read: {exc}")
    champion = None
    parent = result.get("parent_version")
    if parent is not None:
        try:
            champion = queries.get_version(ws, job.model_name, int(parent))
        except StewardError:
            champion = None
    return RetrainOutcome(challenger, champion)


def load_jobs_view(ws: Workspace, selected_id: int | None, with_outcome: bool = True) -> JobsView:
    """The newest jobs, the selected one with its log, and (when asked) its retrain outcome."""
    found = job_service.list_jobs(ws, limit=LIST_LIMIT)
    selected = None
    if selected_id is not None:
        try:
            selected = job_service.get_job(ws, selected_id, with_log=True)
        except StewardError:
            selected = None
    outcome = load_outcome(ws, selected) if selected is not None and with_outcome else None
    return JobsView(found, selected, outcome)


def load_retrain_context(ws: Workspace, name: str) -> RetrainContext:
    """The recipe (built on first use, which is audited) and a preview of the data a retrain would use."""
    recipe = get_recipe(ws, name)
    champion = queries.get_version(ws, name)  # Production, else the newest: what the job compares with
    inherited = champion.provenance.get("training_data") or {}
    seen = set(inherited.get("batches") or [])
    since = champion.created_at
    if inherited.get("since"):
        try:
            since = datetime.fromisoformat(str(inherited["since"]).replace("Z", "+00:00"))
        except ValueError:
            pass
    batches = [b for b in performance_history(ws, name) if b.id not in seen and b.created_at > since]
    rows = sum(int((b.performance or {}).get("labelled_rows", 0) or 0) for b in batches)
    base_rows, base_name = None, ""
    try:
        dataset = queries.get_dataset(ws, champion.train_dataset_sha256)
        base_rows, base_name = dataset.rows, Path(dataset.name).name
    except StewardError:
        pass
    versions = [v.number for v in queries.list_versions(ws, name)]
    return RetrainContext(recipe, champion, len(batches), rows, base_rows, base_name, versions)


def submit_retrain_job(ws: Workspace, name: str, data: str | None = None) -> Job:
    """Queue a retrain (the recipe's problems and a bad file show here, before any process starts)."""
    job_id = job_service.submit_retrain(ws, name, data or None)
    return job_service.get_job(ws, job_id, with_log=False)


def cancel_jobs(ws: Workspace, ids: list[int] | tuple[int, ...]) -> list[Job]:
    """Ask every job to stop first (they stop in parallel), then enforce each one's grace period."""
    for job_id in ids:
        try:
            job_service.cancel_job(ws, job_id, wait=False)
        except ConflictError:
            continue  # it finished meanwhile: nothing to cancel
    out = []
    for job_id in ids:
        job = job_service.get_job(ws, job_id, with_log=False)
        if not job.state.finished:
            try:
                job = job_service.cancel_job(ws, job_id)
            except ConflictError:
                job = job_service.get_job(ws, job_id, with_log=False)
        out.append(job)
    return out


def production_of(versions: list[Version]) -> int | None:
    return next((v.number for v in versions if v.stage is Stage.PRODUCTION), None)
