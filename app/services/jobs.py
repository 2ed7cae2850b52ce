"""Background jobs as the window and the command line use them: submit, start, follow, cancel, recover."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.core.errors import InvalidInputError
from app.core.identity import current_actor
from app.core.jobs import Job, Recipe
from app.services.settings import effective_settings
from app.store.workspace import Workspace
from app.workers import control, launch
from app.workers.records import get_job, list_jobs, submit_job

__all__ = ["submit_retrain", "start_queued", "max_jobs", "wait_for_job", "get_job", "list_jobs", "cancel_job",
           "scan_jobs", "submit_job"]

cancel_job = control.cancel_job
scan_jobs = control.scan_jobs
SCAN_EVERY_SECONDS = 2.0
MIN_TRAINING_ROWS = 10  # app.ml.training.split_frame refuses fewer


def max_jobs(ws: Workspace) -> int:
    """The concurrency limit: the workspace setting workers.max_jobs, or cores − 1 (at least 1) when it is 0."""
    configured = int(effective_settings(ws, "workers").get("max_jobs", 0) or 0)
    return configured if configured > 0 else launch.default_max_jobs()


def start_queued(ws: Workspace, limit: int | None = None) -> list[int]:
    """Settle dead jobs first (they hold slots), then start queued jobs up to the limit."""
    control.scan_jobs(ws)
    return launch.start_queued(ws, limit or max_jobs(ws))


def submit_retrain(ws: Workspace, name: str, data: str | Path | None = None, *, actor: str | None = None) -> int:
    """Queue a retrain of `name` (on `data`, or its training data plus labelled batches since); returns
    the job id. The recipe is created here on first use, so its problems show before any process starts."""
    from app.services.recipes import get_recipe

    actor = actor or current_actor()
    recipe = get_recipe(ws, name, actor=actor)
    params: dict = {"model": name, "data": None}
    if data:
        path = Path(data).expanduser().resolve()  # the worker may start later, elsewhere: no relative paths
        _check_data_file(ws, recipe, path)
        params["data"] = str(path)
    return submit_job(ws, "retrain", params, model=name, actor=actor)


def _check_data_file(ws: Workspace, recipe: Recipe, path: Path) -> None:
    """Refuse a file the worker would fail on, before a job is queued: unreadable, lacking the recipe's
    columns, too few labelled rows, or values the model cannot take (the recipe's source version must
    be able to predict on them: the same types a refit needs)."""
    from app.ml.data import first_line, read_table
    from app.services.queries import load_model

    frame = read_table(path, what="training data")
    needed = (*recipe.features, recipe.target, *([recipe.time_column] if recipe.time_column else []))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"'{path.name}' lacks column(s) the recipe needs: {', '.join(missing)}.")
    labelled = int(frame[recipe.target].notna().sum())
    if labelled < MIN_TRAINING_ROWS:
        raise InvalidInputError(f"'{path.name}' has {labelled} labelled row(s); a retrain needs at least "
                                f"{MIN_TRAINING_ROWS}.", hint="Choose the full training data file.")
    model = load_model(ws, recipe.model_name, recipe.source_version)
    try:
        model.predict(frame[list(recipe.features)])
    except Exception as exc:
        raise InvalidInputError(
            f"'{path.name}' holds values the model cannot use: {type(exc).__name__}: {first_line(exc)}",
            hint="Check that the columns hold the same kinds of values the model was trained on.") from None


def wait_for_job(ws: Workspace, job_id: int, *, timeout: float | None = None, poll: float = 0.2,
                 on_update: Callable[[Job], None] | None = None) -> Job:
    """Follow a job until it finishes, starting queued jobs as slots free up and settling dead ones.

    Returns the finished job (with its log); on `timeout` returns it as it is then.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last_scan = 0.0
    limit = max_jobs(ws)
    while True:
        now = time.monotonic()
        if now - last_scan >= SCAN_EVERY_SECONDS:
            control.scan_jobs(ws)
            last_scan = now
        launch.start_queued(ws, limit)
        job = get_job(ws, job_id, with_log=False)
        if on_update is not None:
            on_update(job)
        if job.state.finished:
            return get_job(ws, job_id)
        if deadline is not None and now >= deadline:
            return get_job(ws, job_id)
        time.sleep(poll)
