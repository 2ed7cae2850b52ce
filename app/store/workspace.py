"""Open a workspace folder: create its layout, migrate its database, expose store and artifacts."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app.core.errors import InvalidInputError, WorkspaceBusyError
from app.core.settings import WorkspacePaths
from app.store.artifacts import ArtifactStore, pid_alive
from app.store.engine import Database, is_lock_error
from app.store.migrate import BACKUP_PART, upgrade
from app.store.orm import SqlArtifact

__all__ = ["Workspace", "open_workspace", "tidy_store"]

log = logging.getLogger(__name__)


@dataclass
class Workspace:
    paths: WorkspacePaths
    db: Database
    artifacts: ArtifactStore
    backup: Path | None = None
    # What start-up tidied after an earlier crash, one sentence each (shown by `steward init`).
    cleaned: list[str] = field(default_factory=list)
    # What start-up found wrong and could not repair (also in `cleaned`, so no display misses it).
    problems: list[str] = field(default_factory=list)

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
    ws = Workspace(paths=paths, db=db, artifacts=artifacts, backup=backup)
    tidy_store(ws)
    return ws


FULL_SWEEP_EVERY_SECONDS = 24 * 3600


def tidy_store(ws: Workspace) -> None:
    """Remove what a process killed mid-write left in the workspace; note each removal in ws.cleaned.

    Temp files and backup copies of dead processes, and artifact files no row records (see
    app.store.artifacts for why a live writer's files are safe). Recorded artifacts whose file is
    gone cannot be repaired here: they are reported in ws.problems and as a warning.
    """
    for path in ws.artifacts.remove_tmp_leftovers():
        what = "scoring output" if path.name.startswith("output-") else "artifact file"
        ws.cleaned.append(f"removed unfinished {what} {path.name}")
    for path in _dead_backup_parts(ws.paths.backups):
        ws.cleaned.append(f"removed unfinished database backup {path.name}")
    # Listing every artifact file costs ~0.2 s at 30,000 files, so a full pass (unclaimed orphans,
    # recorded files gone missing) runs once a day; other start-ups check only dead writers' claims.
    marker = ws.paths.artifacts / ".last-full-sweep"
    try:
        full = time.time() - marker.stat().st_mtime > FULL_SWEEP_EVERY_SECONDS
    except OSError:
        full = True
    try:
        swept = ws.artifacts.sweep(lambda shas: _recorded(ws.db, shas), full=full)
        if full:
            marker.touch()
        kinds = _kinds(ws.db, swept.missing) if swept.missing else {}
    except (SQLAlchemyError, OSError) as exc:  # a busy or unreadable store must not stop the opening
        log.warning("Could not check the artifact files: %s", exc)
        return
    for sha, why in swept.removed:
        ws.cleaned.append(f"removed artifact file {sha[:12]}… that no record uses ({why})")
    problems = [f"artifact {sha[:12]}… ({kinds.get(sha, 'artifact')}) is recorded but its file is missing from "
                f"{ws.artifacts.root}; restore it from a backup of the workspace" for sha in swept.missing[:5]]
    if len(swept.missing) > 5:
        problems.append(f"{len(swept.missing) - 5} more recorded artifact files are missing from {ws.artifacts.root}")
    for problem in problems:
        log.warning("%s", problem)
        ws.problems.append(problem)
        ws.cleaned.append(f"could not repair: {problem}")


def _dead_backup_parts(folder: Path) -> list[Path]:
    removed = []
    if folder.is_dir():
        for path in folder.glob(BACKUP_PART.format(name="*", pid="*")):
            pid = path.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not pid_alive(pid):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _recorded(db: Database, shas) -> set[str]:
    with db.read() as session:
        if shas is None:
            return set(session.scalars(select(SqlArtifact.sha256)))
        shas, found = list(shas), set()
        for start in range(0, len(shas), 500):  # stay far below SQLite's bound-parameter limit
            found.update(session.scalars(select(SqlArtifact.sha256).where(
                SqlArtifact.sha256.in_(shas[start:start + 500]))))
        return found


def _kinds(db: Database, shas: list[str]) -> dict[str, str]:
    with db.read() as session:
        rows = session.execute(select(SqlArtifact.sha256, SqlArtifact.kind).where(SqlArtifact.sha256.in_(shas[:500])))
        return {sha: kind for sha, kind in rows}
