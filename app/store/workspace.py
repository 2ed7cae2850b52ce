"""Open a workspace folder: create its layout, migrate its database, expose store and artifacts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from app.core.errors import InvalidInputError, WorkspaceBusyError
from app.core.settings import WorkspacePaths
from app.store.artifacts import ArtifactStore
from app.store.engine import Database, is_lock_error
from app.store.migrate import upgrade

__all__ = ["Workspace", "open_workspace"]

log = logging.getLogger(__name__)


@dataclass
class Workspace:
    paths: WorkspacePaths
    db: Database
    artifacts: ArtifactStore
    backup: Path | None = None
    cleaned: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.paths.root

    def close(self) -> None:
        self.db.dispose()


def open_workspace(paths: WorkspacePaths, *, url: str | None = None) -> Workspace:
    """Create the folder layout if missing, migrate the schema (backing up first) and return it."""
    root = paths.root
    if root.exists() and not root.is_dir():
        raise InvalidInputError(f"The workspace path {root} is a file, not a folder.")
    for folder in (root, paths.artifacts, paths.tmp):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot create the workspace folder {folder}: {exc.strerror}.",
                hint="Choose another folder with --home or STEWARD_HOME.",
            ) from None
    db = Database(url or paths.url)
    try:
        old, backup = upgrade(db, paths.backups)
    except DBAPIError as exc:
        db.dispose()
        if is_lock_error(exc):
            raise WorkspaceBusyError("Another process held the workspace database locked while it was being opened.",
                                     hint="Try again in a moment.") from None
        raise InvalidInputError(
            f"{paths.db} cannot be opened as a Model Steward database: {exc.orig}.",
            hint="Choose another folder with --home, or restore steward.db from the backups/ folder.",
        ) from None
    if backup is not None:
        log.info("Database upgraded from %s; backup at %s", old, backup)
    artifacts = ArtifactStore(paths.artifacts, paths.tmp)
    cleaned = [f"removed unfinished artifact file {p.name}" for p in artifacts.remove_tmp_leftovers()]
    return Workspace(paths=paths, db=db, artifacts=artifacts, backup=backup, cleaned=cleaned)
