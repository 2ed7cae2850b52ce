"""Open the workspace a command or window works on."""

from __future__ import annotations

import os

from app.core.settings import resolve_home
from app.store.workspace import Workspace, open_workspace

__all__ = ["open_home"]


def open_home(home: str | os.PathLike[str] | None = None) -> Workspace:
    """Resolve `--home` / STEWARD_HOME / the default, create and migrate it, and open it."""
    return open_workspace(resolve_home(home))
