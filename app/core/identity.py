"""Who is acting: the operating-system login, recorded on every event."""

from __future__ import annotations

import getpass
import os

__all__ = ["current_actor"]


def current_actor() -> str:
    """Return the actor name; `STEWARD_ACTOR` overrides the login (scripts, tests, service accounts)."""
    override = os.environ.get("STEWARD_ACTOR", "").strip()
    if override:
        return override
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something honest
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
