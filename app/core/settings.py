"""Where the workspace lives and what it holds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorkspacePaths", "default_home", "resolve_home"]

DB_FILENAME = "steward.db"


@dataclass(frozen=True, slots=True)
class WorkspacePaths:
    """Every path inside one workspace folder; the folder is the unit users copy or back up."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_FILENAME

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def keys(self) -> Path:
        # The checkpoint signing key: outside the database, so rebuilding the log cannot re-sign it.
        return self.root / "keys"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def tmp(self) -> Path:
        # Temp files live inside the workspace so that the final rename never crosses filesystems.
        return self.root / "tmp"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"


def default_home() -> Path:
    """The per-user data folder, e.g. ~/.local/share/ModelSteward on Linux."""
    from platformdirs import user_data_path

    return user_data_path("ModelSteward", appauthor=False)


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> WorkspacePaths:
    """`--home` wins, then `STEWARD_HOME`, then the per-user default."""
    if explicit:
        root = Path(explicit)
    elif os.environ.get("STEWARD_HOME"):
        root = Path(os.environ["STEWARD_HOME"])
    else:
        root = default_home()
    return WorkspacePaths(root.expanduser().resolve())
