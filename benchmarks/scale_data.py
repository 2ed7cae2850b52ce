"""Build a large, internally consistent workspace fast: 1,000 models × 10 versions, 10,000 scored batches
with per-feature drift, alerts, and 1,000,000 hash-chained audit events.

Rows are written with plain SQL in a few transactions (the services would take hours at this size);
every row a service would write has its audit event, every referenced artifact has its file, and
the chain verifies. Filler events (card edits, settings, job records) make up the rest of the
million, spread over two years.

    python benchmarks/scale_data.py DIR [--models 1000] [--versions 10] [--batches 10000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audit.chain import GENESIS, canonical_details, event_hash, payload_hash  # noqa: E402
from app.core.settings import WorkspacePaths  # noqa: E402
from app.core.timeutil import to_iso  # noqa: E402
from app.store.workspace import open_workspace  # noqa: E402

__all__ = ["build_scale_workspace"]

ACTORS = ("alice", "bob", "carol", "dmitri", "erin", "farid", "ci-bot")
FEATURES = [{"name": f"f{i}", "dtype": "float64", "kind": "numeric"} for i in range(8)]
START = datetime(2024, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


class _Log:
    """Collects events with their times; seq numbers are given once everything is sorted by time."""

    def __init__(self) -> None:
        self.events: list[tuple[datetime, str, str, str, str | None, dict, object]] = []

    def add(self, at: datetime, actor: str, action: str, obj: str, model: str | None, details: dict,
            ref: object = None) -> None:
        self.events.append((at, actor, action, obj, model, details, ref))


def _blob(ws, kind: str, content: bytes, rows: list) -> str:
    sha = hashlib.sha256(content).hexdigest()
    path = ws.artifacts.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    rows.append((sha, len(content), kind, _naive(START)))
    return sha


def build_scale_workspace(root: Path, *, models: int = 1000, versions: int = 10, batches: int = 10_000,
                          events: int = 1_000_000, seed: int = 11, quiet: bool = False) -> Path:
    """Create the workspace at `root` (must be new or already built with the same sizes)."""
    say = (lambda *_a: None) if quiet else (lambda *a: print(*a, flush=True))
    ws = open_workspace(WorkspacePaths(root))
    con = sqlite3.connect(ws.paths.db)
    try:
        have = con.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        if have:
            if have >= events:  # built before (later runs may have added report exports): reuse it
                return root
            raise SystemExit(f"{root} already holds {have} events; use an empty folder.")
        started = time.perf_counter()
        rng = random.Random(seed)
        log = _Log()
        artifact_rows: list = []
        model_rows, dataset_rows, version_rows, change_rows, batch_rows, drift_rows, alert_rows = ([] for _ in range(7))
        version_id = dataset_id = batch_id = alert_id = change_id = 0
        per_model_batches = max(1, batches // models)
        for m in range(1, models + 1):
            name = f"model-{m:04d}"
            owner = ACTORS[m % len(ACTORS)]
            born = START + SPAN * (m / (models * 4))
            model_rows.append((m, name, f"Scores case type {m % 17} for team {m % 9}.", owner,
                               "Prioritising reviews.", "Not for automated decisions.", ("low", "medium", "high")[m % 3],
                               json.dumps([f"team-{m % 9}"]), _naive(born), owner, _naive(born), owner,
                               "" if m % 4 else "Trained on one region.", "", "", None))
            log.add(born, owner, "model.created", f"model:{name}", name, {"owner": owner})
            dataset_id += 1
            data_sha = _blob(ws, "dataset", f"f0,f1,target\n{m},{m + 1},0\n".encode(), artifact_rows)
            dataset_rows.append((dataset_id, data_sha, f"{name}-train.csv", "csv", 5000 + m, json.dumps(["f0", "f1"]),
                                 json.dumps({"f0": "float64"}), 40, "", _naive(born), owner,
                                 "" if m % 3 else "Case extract.", "" if m % 3 else "warehouse", ""))
            log.add(born, owner, "dataset.registered", f"dataset:{data_sha}", name,
                    {"name": f"{name}-train.csv", "rows": 5000 + m, "sha256": data_sha})
            first_version = version_id + 1
            for v in range(1, versions + 1):
                version_id += 1
                at = born + timedelta(days=7 * v, hours=rng.random() * 8)
                actor = ACTORS[(m + v) % len(ACTORS)]
                art_sha = _blob(ws, "model", f"model {m} version {v}".encode(), artifact_rows)
                stage = "production" if v == versions else "archived"
                metrics = {"accuracy": round(0.7 + rng.random() * 0.25, 4), "f1": round(0.6 + rng.random() * 0.3, 4)}
                version_rows.append((version_id, m, v, stage, art_sha, 20, "sklearn.pipeline.Pipeline", "{}",
                                     json.dumps(FEATURES), "target", "classification", json.dumps(["0", "1"]),
                                     json.dumps(metrics), json.dumps({"method": "seeded hold-out split", "rows": 1000}),
                                     dataset_id, None, version_id - 1 if v > 1 else None,
                                     json.dumps({"python": "3.11", "scikit-learn": "1.9"}), "{}", f"retrain {v}",
                                     _naive(at), actor))
                log.add(at, actor, "version.registered", f"version:{name}/{v}", name,
                        {"version": v, "artifact_sha256": art_sha, "metrics": metrics})
                # into production, then archived by the next version's promotion
                promoted = at + timedelta(hours=2)
                change_id += 1
                change_rows.append([change_id, m, version_id, "none", "production", f"v{v} validated", actor,
                                    _naive(promoted), None])
                log.add(promoted, actor, "version.stage_changed", f"version:{name}/{v}", name,
                        {"version": v, "from": "none", "to": "production", "reason": f"v{v} validated"},
                        ref=change_rows[-1])
                if v > 1:
                    change_id += 1
                    change_rows.append([change_id, m, version_id - 1, "production", "archived",
                                        f"replaced in production by version {v}", actor, _naive(promoted), None])
                    log.add(promoted, actor, "version.stage_changed", f"version:{name}/{v - 1}", name,
                            {"version": v - 1, "from": "production", "to": "archived"}, ref=change_rows[-1])
            live = first_version + versions - 1
            live_at = born + timedelta(days=7 * versions + 1)
            for b in range(per_model_batches):
                batch_id += 1
                at = live_at + timedelta(days=7 * b, hours=rng.random() * 8)
                actor = ACTORS[(m + b) % len(ACTORS)]
                in_sha = _blob(ws, "batch-input", f"batch {batch_id} in".encode(), artifact_rows)
                out_sha = _blob(ws, "batch-output", f"batch {batch_id} out".encode(), artifact_rows)
                shifts = [rng.random() * (0.4 if b % 5 == 4 else 0.1) for _ in FEATURES]
                drifted = [s > 0.2 for s in shifts]
                share = sum(drifted) / len(FEATURES)
                report = {"drift_share": share, "dataset_drift": share >= 0.5, "n_rows": 2000, "features": []}
                batch_rows.append((batch_id, m, live, "scored", f"week {b + 1}", f"week{b + 1}.csv", in_sha, out_sha,
                                   "prediction", 2000, share, share >= 0.5, json.dumps(report), None, None,
                                   _naive(at), actor))
                for f, psi, flag in zip(FEATURES, shifts, drifted):
                    drift_rows.append((batch_id, f["name"], "numeric", psi, psi / 3, psi / 4, psi / 2, 0.5, None,
                                       flag, "medium" if flag else "none", 0.0, 0.0, 0.0))
                log.add(at, actor, "batch.scored", f"batch:{batch_id}", name,
                        {"batch": batch_id, "version": versions, "rows": 2000, "input_sha256": in_sha,
                         "output_sha256": out_sha, "drift_share": share})
                if share >= 0.5:
                    alert_id += 1
                    resolved = alert_id % 3 != 0
                    alert_rows.append((alert_id, m, live, batch_id, "drift", "medium", "resolved" if resolved else "open",
                                       f"{sum(drifted)} of 8 features drifted", "{}", _naive(at), None, None, None,
                                       _naive(at + timedelta(days=2)) if resolved else None, owner if resolved else None,
                                       "accept_risk" if resolved else None, "Seasonal." if resolved else None,
                                       _naive(at + timedelta(days=30)) if resolved else None, None, None))
                    log.add(at, actor, "alert.opened", f"alert:{alert_id}", name, {"alert": alert_id, "kind": "drift"})
            if not quiet and m % 100 == 0:
                say(f"  {m} models prepared ({time.perf_counter() - started:.0f} s)")
        real = len(log.events)
        filler = max(0, events - real)
        say(f"{real:,} events from the records, {filler:,} filler events")
        names = [r[1] for r in model_rows]
        for i in range(filler):
            at = START + SPAN * rng.random()
            name = names[rng.randrange(len(names))]
            roll = rng.random()
            if roll < 0.5:
                log.add(at, ACTORS[i % len(ACTORS)], "model.updated", f"model:{name}", name,
                        {"tags": {"from": [], "to": [f"review-{i % 50}"]}})
            elif roll < 0.8:
                log.add(at, "ci-bot", "job.succeeded", f"job:{i}", name, {"job": i, "kind": "evaluate"})
            else:
                log.add(at, ACTORS[i % len(ACTORS)], "settings.changed", "settings:drift", name,
                        {"psi": round(0.1 + (i % 20) / 100, 2)})
        log.events.sort(key=lambda e: e[0])
        say(f"prepared in {time.perf_counter() - started:.0f} s; writing")

        def audit_rows():
            prev = GENESIS
            for seq, (at, actor, action, obj, model, details, ref) in enumerate(log.events, start=1):
                stamp = to_iso(at)
                text = canonical_details(details)
                payload = payload_hash(text)
                digest = event_hash(seq, stamp, actor, action, obj, model, payload, prev)
                if ref is not None:
                    ref[8] = seq  # the stage change's audit_seq
                yield seq, stamp, actor, action, obj, model, text, payload, prev, digest
                prev = digest

        with con:
            con.execute("PRAGMA foreign_keys = OFF")
            con.executemany("INSERT INTO audit_events (seq, at, actor, action, object, model, details, payload_sha256,"
                            " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)", audit_rows())
            con.executemany("INSERT OR IGNORE INTO artifacts VALUES (?,?,?,?)", artifact_rows)
            con.executemany("INSERT INTO models (id, name, description, owner, intended_use, out_of_scope_use, "
                            "risk_tier, tags, created_at, created_by, updated_at, updated_by, limitations, "
                            "ethical_considerations, validator, next_review_at) VALUES "
                            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", model_rows)
            con.executemany("INSERT INTO datasets (id, sha256, name, format, rows, columns, schema, size_bytes, "
                            "source_path, created_at, created_by, description, source, limitations) VALUES "
                            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", dataset_rows)
            con.executemany("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", version_rows)
            con.executemany("INSERT INTO stage_changes VALUES (?,?,?,?,?,?,?,?,?)", change_rows)
            con.executemany("INSERT INTO batches VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch_rows)
            con.executemany("INSERT INTO feature_drift (batch_id, feature, kind, psi, js_distance, wasserstein_norm, "
                            "ks_statistic, ks_pvalue, chi2_pvalue, drifted, severity, missing_rate, "
                            "out_of_range_share, unseen_share) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", drift_rows)
            con.executemany("INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", alert_rows)
        con.execute("PRAGMA foreign_keys = ON")
        bad = con.execute("PRAGMA foreign_key_check").fetchall()
        if bad:
            raise SystemExit(f"foreign key problems: {bad[:5]}")
        con.execute("ANALYZE")
        say(f"built in {time.perf_counter() - started:.0f} s: {models} models, {len(version_rows)} versions, "
            f"{len(batch_rows)} batches, {len(log.events):,} events")
    finally:
        con.close()
        ws.close()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    build_scale_workspace(args.dir, models=args.models, versions=args.versions, batches=args.batches,
                          events=args.events)


if __name__ == "__main__":
    main()
