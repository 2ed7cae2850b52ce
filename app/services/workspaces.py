"""Open the workspace a command or window works on."""

from __future__ import annotations

import logging
import os

from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import StewardError
from app.core.settings import resolve_home
from app.store.workspace import Workspace, open_workspace

__all__ = ["open_home"]

log = logging.getLogger(__name__)


def open_home(home: str | os.PathLike[str] | None = None) -> Workspace:
    """Resolve `--home` / STEWARD_HOME / the default, create and migrate it, and open it.

    Start-up also cleans up after processes that died mid-operation (a crash, kill -9, a reboot) and
    says what it did in `ws.cleaned`: open_workspace removes their temp files and unrecorded artifact
    files; here jobs whose worker died are marked interrupted (so none shows "running" forever), and
    half-exported reports are finished or removed (app.services.housekeeping).
    """
    ws = open_workspace(resolve_home(home))
    from app.services.housekeeping import tidy_after_crash
    from app.workers.control import scan_jobs

    try:
        for finding in scan_jobs(ws):
            ws.cleaned.append(f"job #{finding.job_id} marked {finding.state.value}: {finding.reason}")
    except StewardError as exc:  # a busy database must not stop the workspace from opening
        log.warning("Could not check background jobs: %s", exc)
    try:
        ws.cleaned.extend(tidy_after_crash(ws))
    except (StewardError, SQLAlchemyError, OSError) as exc:
        log.warning("Could not tidy leftover report files: %s", exc)
    for line in ws.cleaned:
        log.info("Start-up cleanup: %s", line)
    return ws
