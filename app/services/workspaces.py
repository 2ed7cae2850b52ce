"""Open the workspace a command or window works on."""

from __future__ import annotations

import logging
import os

from app.core.errors import StewardError
from app.core.settings import resolve_home
from app.store.workspace import Workspace, open_workspace

__all__ = ["open_home"]

log = logging.getLogger(__name__)


def open_home(home: str | os.PathLike[str] | None = None) -> Workspace:
    """Resolve `--home` / STEWARD_HOME / the default, create and migrate it, and open it.

    Jobs whose worker process died (a crash, kill -9, a reboot) are marked interrupted here, so
    that no job shows "running" forever to whoever opens the workspace next.
    """
    ws = open_workspace(resolve_home(home))
    from app.workers.control import scan_jobs

    try:
        for finding in scan_jobs(ws):
            ws.cleaned.append(f"job #{finding.job_id} marked {finding.state.value}: {finding.reason}")
    except StewardError as exc:  # a busy database must not stop the workspace from opening
        log.warning("Could not check background jobs: %s", exc)
    return ws
