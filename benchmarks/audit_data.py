"""Build a workspace with a large, correctly chained audit log fast (raw sqlite3, one transaction)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.audit.chain import GENESIS, canonical_details, event_hash, payload_hash
from app.core.settings import WorkspacePaths
from app.core.timeutil import to_iso
from app.store.workspace import Workspace, open_workspace

__all__ = ["build_big_workspace"]

_ACTORS = ("alice", "bob", "carol", "dmitri", "erin", "ci-bot")
_STAGES = ("staging", "production", "archived")


def _event(rng: random.Random, i: int, models: list[str]) -> tuple[str, str, str | None, dict]:
    """One plausible (action, object, model, details); the mix resembles a busy registry."""
    model = models[rng.randrange(len(models))]
    number = rng.randint(1, 40)
    roll = rng.random()
    if roll < 0.45:
        return "version.registered", f"version:{model}/{number}", model, {
            "version": number, "estimator": "Pipeline", "task": "classification", "target": "target",
            "artifact_sha256": f"{rng.getrandbits(256):064x}", "metrics": {"accuracy": round(rng.random(), 4)},
            "note": f"nightly retrain #{i}"}
    if roll < 0.80:
        a, b = rng.sample(_STAGES, 2)
        return "version.stage_changed", f"version:{model}/{number}", model, {
            "version": number, "from": a, "to": b, "reason": f"replaced by v{number + 1}"}
    if roll < 0.92:
        sha = f"{rng.getrandbits(256):064x}"
        return "dataset.registered", f"dataset:{sha}", model, {
            "name": f"{model}-train.csv", "format": "csv", "rows": rng.randint(100, 10**6), "sha256": sha}
    if roll < 0.98:
        return "model.updated", f"model:{model}", model, {"owner": {"from": "alice", "to": "bob"}}
    return "model.created", f"model:{model}", model, {"owner": "alice", "risk_tier": "medium", "tags": []}


def build_big_workspace(root: Path, events: int = 1_000_000, *, seed: int = 7) -> Workspace:
    """Open (creating if needed) a workspace at `root` holding exactly `events` chained events.

    A workspace already holding that many events is reused, so repeated runs are quick.
    """
    ws = open_workspace(WorkspacePaths(root))
    con = sqlite3.connect(ws.paths.db)
    try:
        have = con.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        if have == events:
            return ws
        if have:
            raise SystemExit(f"{root} already holds {have} events; use an empty folder.")
        rng = random.Random(seed)
        models = [f"model-{k:03d}" for k in range(200)]
        start = datetime(2024, 1, 1, tzinfo=UTC)
        step = timedelta(days=730) / events  # two years of history
        prev = GENESIS

        def rows():
            nonlocal prev
            for seq in range(1, events + 1):
                action, obj, model, details = _event(rng, seq, models)
                at = to_iso(start + step * seq)
                actor = _ACTORS[rng.randrange(len(_ACTORS))]
                text = canonical_details(details)
                payload = payload_hash(text)
                digest = event_hash(seq, at, actor, action, obj, model, payload, prev)
                yield seq, at, actor, action, obj, model, text, payload, prev, digest
                prev = digest

        with con:
            con.executemany(
                "INSERT INTO audit_events (seq, at, actor, action, object, model, details, payload_sha256,"
                " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)", rows())
        con.execute("ANALYZE")
    finally:
        con.close()
    return ws
