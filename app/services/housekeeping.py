"""Start-up tidying that needs the services' knowledge: half-exported reports and the signing key's temp file."""

# app.store.workspace.open_workspace already removes temp files, backup copies and unrecorded
# artifact files of dead processes. What is left for here are files whose fate depends on the audit
# log: a report export writes `.<id>.<fmt>.<pid>.part` files, records `report.exported`, then renames
# them. A process killed before the record leaves parts to delete; one killed after it leaves
# complete parts that the log already vouches for, so they are moved into place (rolled forward)
# once their content is checked against the recorded SHA-256s. Only the workspace's own reports/
# folder is known; reports exported elsewhere keep their .part files for the user to see.

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from sqlalchemy import select

from app.audit.checkpoint import KEY_FILE
from app.store.artifacts import pid_alive
from app.store.orm import SqlArtifact, SqlAuditEvent
from app.store.workspace import Workspace

__all__ = ["tidy_after_crash", "check_artifacts"]

_PART = re.compile(r"\.(?P<id>MS-[0-9A-Za-z-]+)\.(?P<fmt>pdf|html|json)\.(?P<pid>\d+)\.part")
_KEY_TMP = re.compile(rf"\.{re.escape(KEY_FILE)}\.(?P<pid>\d+)\.tmp")


def tidy_after_crash(ws: Workspace) -> list[str]:
    """Finish or remove report files and remove key temp files of dead processes; one sentence each."""
    return [*_tidy_reports(ws, ws.paths.reports), *_tidy_key_temp(ws.paths.keys)]


def _tidy_reports(ws: Workspace, folder: Path) -> list[str]:
    lines: list[str] = []
    if not folder.is_dir():
        return lines
    for part in sorted(folder.iterdir()):
        found = _PART.fullmatch(part.name)
        if found is None or pid_alive(found["pid"]):
            continue  # not a staging file, or its export is still running
        report_id, fmt = found["id"], found["fmt"]
        final = folder / f"{report_id}.{fmt}"
        recorded = _exported(ws, report_id)
        if recorded is None:
            part.unlink(missing_ok=True)
            lines.append(f"removed unfinished report file {part.name} (the export of {report_id} was never "
                         "recorded in the audit log)")
        elif not final.exists() and _matches(part, fmt, recorded):
            os.replace(part, final)
            lines.append(f"finished the export of report {report_id}: its {fmt.upper()} file was complete and "
                         f"the export is in the audit log, so it was moved into place as {final.name}")
        else:
            part.unlink(missing_ok=True)
            lines.append(f"removed report file {part.name}: it does not match what the audit log recorded for "
                         f"{report_id}" if not final.exists() else
                         f"removed report file {part.name}: {final.name} is already in place")
    return lines


def _exported(ws: Workspace, report_id: str) -> dict | None:
    with ws.db.read() as session:
        text = session.scalars(select(SqlAuditEvent.details).where(
            SqlAuditEvent.action == "report.exported", SqlAuditEvent.object == f"report:{report_id}")).first()
    return json.loads(text) if text is not None else None


def _matches(part: Path, fmt: str, recorded: dict) -> bool:
    """The staged file is the one the export recorded (its hash, or for JSON its evidence digest)."""
    if fmt != "json":
        want = (recorded.get("rendered") or {}).get(fmt, {}).get("sha256")
        return want is not None and _sha256(part) == want
    try:
        evidence = json.loads(part.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    integrity = evidence.get("integrity") if isinstance(evidence, dict) else None
    return isinstance(integrity, dict) and integrity.get("evidence_sha256") == recorded.get("evidence_sha256")


def _tidy_key_temp(folder: Path) -> list[str]:
    lines: list[str] = []
    if folder.is_dir():
        for path in folder.iterdir():
            found = _KEY_TMP.fullmatch(path.name)
            if found and not pid_alive(found["pid"]):
                # Never linked into place (the key is linked only once complete): nothing signed with it.
                path.unlink(missing_ok=True)
                lines.append(f"removed unfinished signing-key file {path.name}")
    return lines


def check_artifacts(ws: Workspace, *, verify_hashes: bool = True) -> list[str]:
    """Problems with recorded artifacts: files missing, or (reading every file) changed on disk."""
    with ws.db.read() as session:
        rows = session.execute(select(SqlArtifact.sha256, SqlArtifact.kind)).all()
    problems = []
    for sha, kind in rows:
        path = ws.artifacts.root / sha
        if not path.is_file():
            problems.append(f"artifact {sha[:12]}… ({kind}) is missing from {ws.artifacts.root}")
        elif verify_hashes and _sha256(path) != sha:
            problems.append(f"artifact {sha[:12]}… ({kind}) was changed on disk: its content no longer has its hash")
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
