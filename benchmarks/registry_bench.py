"""Registry and audit benchmark: registration, promotion, list_models at 10k versions, audit verify at 1M events.

Run:  .venv/bin/python benchmarks/registry_bench.py [--events 100000,1000000] [--versions 10] [--keep DIR]

Every figure is printed next to a baseline measured in the same run on the same machine (the
floor the operation cannot beat), so the ratios mean something on any hardware. Aims:
registration well under 50 ms excluding metric computation; audit verify above 500k events/s.
This is a script, not a timed test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.audit.chain import _DOMAIN, _SEP, GENESIS, canonical_details, event_hash, payload_hash  # noqa: E402
from app.core.settings import WorkspacePaths  # noqa: E402
from app.core.timeutil import to_iso  # noqa: E402
from app.store.workspace import Workspace, open_workspace  # noqa: E402

__all__ = ["main"]

ROWS: list[tuple[str, str, str, str]] = []  # (section, what, figure, baseline / ratio)
SELECT_EVENTS = ("SELECT seq, at, actor, action, object, model, details, payload_sha256, prev_hash, hash "
                 "FROM audit_events ORDER BY seq")


def row(section: str, what: str, figure: str, note: str = "") -> None:
    ROWS.append((section, what, figure, note))
    print(f"  {what:<46} {figure:>16}   {note}", flush=True)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# --- registration --------------------------------------------------------------------------------


def _make_model_files(folder: Path, target_bytes: int = 1 << 20) -> tuple[Path, Path, list[str]]:
    """A RandomForest whose joblib file is about `target_bytes`, and its 5,000-row training CSV."""
    import joblib
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=5000, n_features=20, n_informative=8, flip_y=0.05, random_state=0)
    features = [f"f{i:02d}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=features).assign(target=y)
    train = folder / "train.csv"
    frame.to_csv(train, index=False)
    model = folder / "forest.joblib"
    probe = RandomForestClassifier(n_estimators=4, max_depth=12, random_state=0).fit(frame[features], y)
    joblib.dump(probe, model)
    per_tree = model.stat().st_size / 4
    trees = max(1, round(target_bytes / per_tree))
    est = RandomForestClassifier(n_estimators=trees, max_depth=12, random_state=0, n_jobs=1).fit(frame[features], y)
    joblib.dump(est, model)
    return model, train, features


def bench_registration(ws: Workspace, folder: Path, repeat: int) -> None:
    import inspect

    import joblib

    from app.ml.data import dtype_kind, read_table
    from app.ml.estimator import load_estimator
    from app.ml.metrics import evaluate, holdout_split
    from app.ml.pickle_scan import scan_bytes
    from app.services.register import register_model

    print("\nRegistration (RandomForest, ~1 MB joblib, 5,000-row CSV)")
    model, train, features = _make_model_files(folder)
    size = model.stat().st_size
    register_model(ws, "warm-up", model, train, "target")  # imports and first-touch costs out of the way
    totals = timed(lambda: register_model(ws, "forest", model, train, "target"), repeat)

    # The computations register_model does, timed one by one on the same data.
    data = model.read_bytes()
    frame = read_table(train)
    _, held = holdout_split(frame, "target", "classification")
    est = joblib.load(model)
    kw = {"with_errors": True} if "with_errors" in inspect.signature(evaluate).parameters else {}
    evals = timed(lambda: evaluate(est, held[features], held["target"], "classification", **kw), repeat)
    try:  # the drift reference profile (predictions on all training rows), where registration builds one
        from app.services.profiles import build_version_profile

        records = [{"name": f, "dtype": str(frame[f].dtype), "kind": dtype_kind(frame[f].dtype)} for f in features]
        profiles = timed(lambda: build_version_profile(est, frame, records, "classification"), repeat)
    except ImportError:
        profiles = [0.0]
    scans = timed(lambda: scan_bytes(data), repeat)
    loads = timed(lambda: load_estimator(data, source="forest.joblib"), repeat)
    reads = timed(lambda: read_table(train), repeat)
    hashes = timed(lambda: hashlib.sha256(data).hexdigest(), repeat)

    total, ev, prof = statistics.median(totals), statistics.median(evals), statistics.median(profiles)
    row("register", "model file size", f"{size / 1e6:.2f} MB")
    row("register", "register_model total (median)", ms(total), f"n={repeat}")
    row("register", "  of which evaluate() (metrics + std errors)", ms(ev), "measured separately, same rows")
    rest = total - ev
    row("register", "  total − evaluate", ms(rest), "aim: well under 50 ms " + ("OK" if rest < 0.05 else "MISSED"))
    if prof:
        row("register", "  of which drift profile (predict on 5,000 rows)", ms(prof), "measured separately")
        row("register", "  total − evaluate − profile (bookkeeping)", ms(rest - prof))
    row("register", "  component: pickle scan", ms(statistics.median(scans)))
    row("register", "  component: joblib load + fitted check", ms(statistics.median(loads)))
    row("register", "  component: read CSV", ms(statistics.median(reads)))
    sha = statistics.median(hashes)
    row("register", "baseline: sha256 of the model bytes", ms(sha), f"rest = {rest / sha:.0f}× hashing floor")


# --- promotion -----------------------------------------------------------------------------------


def bench_promotion(ws: Workspace, repeat: int) -> None:
    from sqlalchemy import text

    from app.services.audit import append_event
    from app.services.stages import promote_version

    print("\nPromotion")
    counter = iter(range(10**9))

    def promote() -> None:
        n = next(counter)
        promote_version(ws, "forest", 1 + n % 2, "production", f"benchmark swap {n}")  # 2 moves each

    def one_event() -> None:
        ws.db.write(lambda s: append_event(s, "benchmark.tick", "benchmark:promotion", details={"n": 1}))

    promote()
    promote()
    times = timed(promote, repeat)
    lock = timed(lambda: ws.db.write(lambda s: s.execute(text("SELECT 1"))), repeat)
    event = timed(one_event, repeat)
    p, lk, ev = statistics.median(times), statistics.median(lock), statistics.median(event)
    row("promote", "promote_version to production (2 moves)", ms(p), f"n={repeat}")
    row("promote", "baseline: BEGIN IMMEDIATE + COMMIT", ms(lk), f"promote = {p / lk:.1f}× this")
    row("promote", "baseline: transaction appending 1 audit event", ms(ev), f"promote = {p / ev:.1f}× this")


# --- list_models at 10k versions ----------------------------------------------------------------


def _fill_registry(ws: Workspace, models: int, versions: int) -> None:
    """models × versions rows written directly in one transaction, each version with its own artifact row."""
    from sqlalchemy import insert

    from app.store.orm import SqlArtifact, SqlDataset, SqlModel, SqlVersion

    now = datetime.now(UTC).replace(tzinfo=None)
    data_sha = hashlib.sha256(b"bench-dataset").hexdigest()

    def work(session) -> None:
        session.execute(insert(SqlArtifact), [{"sha256": data_sha, "size_bytes": 1000, "kind": "dataset",
                                               "created_at": now}])
        ds = session.execute(insert(SqlDataset).returning(SqlDataset.id), [{
            "sha256": data_sha, "name": "bench.csv", "format": "csv", "rows": 5000, "columns": ["a", "target"],
            "schema": {"a": "float64", "target": "int64"}, "size_bytes": 1000, "source_path": "",
            "created_at": now, "created_by": "bench"}]).scalar_one()
        session.execute(insert(SqlModel), [{
            "name": f"bulk-{m:04d}", "description": "bulk", "owner": f"owner-{m % 17}", "intended_use": "",
            "out_of_scope_use": "", "risk_tier": "medium", "tags": ["bench"], "created_at": now,
            "created_by": "bench", "updated_at": now, "updated_by": "bench"} for m in range(models)])
        ids = dict(session.execute(
            SqlModel.__table__.select().with_only_columns(SqlModel.name, SqlModel.id)
            .where(SqlModel.name.like("bulk-%"))).all())
        artifacts, rows = [], []
        for m in range(models):
            for n in range(1, versions + 1):
                sha = hashlib.sha256(f"bulk-{m}/{n}".encode()).hexdigest()
                artifacts.append({"sha256": sha, "size_bytes": 1 << 20, "kind": "model", "created_at": now})
                rows.append({
                    "model_id": ids[f"bulk-{m:04d}"], "number": n,
                    "stage": "production" if n == versions - 1 else ("archived" if n < versions - 1 else "none"),
                    "artifact_sha256": sha, "artifact_size": 1 << 20, "estimator_class": "sklearn.pipeline.Pipeline",
                    "params": {"C": 1.0}, "features": [{"name": "a", "dtype": "float64", "kind": "numeric"}],
                    "target": "target", "task": "classification", "classes": ["0", "1"],
                    "metrics": {"accuracy": 0.9}, "evaluation": {"method": "test file", "rows": 100},
                    "train_dataset_id": ds, "test_dataset_id": None, "parent_id": None,
                    "environment": {"python": "3.11"}, "provenance": {}, "note": "", "created_at": now,
                    "created_by": "bench"})
        session.execute(insert(SqlArtifact), artifacts)
        session.execute(insert(SqlVersion), rows)

    ws.db.write(work)


def bench_list_models(ws: Workspace, models: int, versions: int, repeat: int) -> None:
    from app.services.queries import list_models, list_versions

    print(f"\nlist_models at {models * versions:,} versions ({models:,} models × {versions})")
    start = time.perf_counter()
    _fill_registry(ws, models, versions)
    row("list", "fill (one transaction, incl. artifact rows)", f"{time.perf_counter() - start:.2f} s")
    found = list_models(ws)
    assert len(found) >= models and all(s.versions == versions for s in found if s.name.startswith("bulk-"))
    times = timed(lambda: list_models(ws), repeat)
    search = timed(lambda: list_models(ws, search="bulk-01"), repeat)
    one = timed(lambda: list_versions(ws, "bulk-0500"), repeat)
    con = sqlite3.connect(ws.paths.db)
    floor = timed(lambda: con.execute("SELECT * FROM models ORDER BY name").fetchall(), repeat)
    vfloor = timed(lambda: con.execute("SELECT model_id, number, stage FROM versions").fetchall(), repeat)
    con.close()
    t = statistics.median(times)
    row("list", "list_models() (median)", ms(t), f"n={repeat}, {len(found):,} rows")
    row("list", "list_models(search='bulk-01')", ms(statistics.median(search)))
    row("list", "list_versions(one model, 10 versions)", ms(statistics.median(one)))
    f, vf = statistics.median(floor), statistics.median(vfloor)
    row("list", "baseline: raw SELECT * FROM models", ms(f), f"list_models = {t / f:.1f}× this")
    row("list", "baseline: raw scan of versions (3 cols)", ms(vf), f"list_models = {t / vf:.1f}× this")


# --- audit verify --------------------------------------------------------------------------------


def _event_rows(n: int):
    """A valid chain of n events resembling the registry's own (sizes and shapes of details)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=730) / n
    prev = GENESIS
    actors = ("alice", "bob", "carol", "ci-bot")
    for seq in range(1, n + 1):
        model = f"model-{seq % 300:03d}"
        number = 1 + seq % 40
        if seq % 3:
            action, obj = "version.stage_changed", f"version:{model}/{number}"
            details = {"version": number, "from": "staging", "to": "production", "reason": f"weekly review {seq}"}
        else:
            action, obj = "version.registered", f"version:{model}/{number}"
            details = {"version": number, "artifact_sha256": f"{seq:064x}", "estimator": "sklearn.pipeline.Pipeline",
                       "task": "classification", "target": "churned", "metrics": {"accuracy": 0.91, "f1": 0.83},
                       "parent_version": number - 1, "note": "nightly retrain"}
        at = to_iso(start + step * seq)
        actor = actors[seq % len(actors)]
        text = canonical_details(details)
        payload = payload_hash(text)
        digest = event_hash(seq, at, actor, action, obj, model, payload, prev)
        yield seq, at, actor, action, obj, model, text, payload, prev, digest
        prev = digest


def _audit_workspace(root: Path, events: int) -> Workspace:
    ws = open_workspace(WorkspacePaths(root))
    con = sqlite3.connect(ws.paths.db, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO audit_events (seq, at, actor, action, object, model, details, "
                        "payload_sha256, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)", _event_rows(events))
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return ws


def _read_floor(db: Path, text_factory=str) -> tuple[float, int]:
    """Seconds to step through every row of the verify query and build its Python values, nothing else."""
    con = sqlite3.connect(db)
    con.text_factory = text_factory
    start = time.perf_counter()
    n = 0
    for _ in con.execute(SELECT_EVENTS):
        n += 1
    seconds = time.perf_counter() - start
    con.close()
    return seconds, n


def _str_path(db: Path) -> float:
    """verify_rows fed str rows: the decode-then-encode path verify_log used before it asked for bytes."""
    from app.audit.chain import verify_rows

    con = sqlite3.connect(db)
    start = time.perf_counter()
    result = verify_rows(con.execute(SELECT_EVENTS))
    seconds = time.perf_counter() - start
    con.close()
    assert result.ok
    return seconds


def _hash_floors(db: Path) -> tuple[float, float]:
    """(seconds to hash pre-encoded bytes, seconds to join+encode+hash) over the same rows as verify."""
    con = sqlite3.connect(db)
    rows = con.execute(SELECT_EVENTS).fetchall()
    con.close()
    join, sha = _SEP.join, hashlib.sha256
    start = time.perf_counter()
    for seq, at, actor, action, obj, model, details, payload, prev, _h in rows:
        sha(details.encode()).hexdigest()
        sha(join((_DOMAIN, str(seq), at, actor, action, obj, model or "", payload, prev)).encode()).hexdigest()
    encode_and_hash = time.perf_counter() - start
    encoded = [(r[6].encode(), join((_DOMAIN, str(r[0]), r[1], r[2], r[3], r[4], r[5] or "", r[7], r[8])).encode())
               for r in rows]
    del rows
    start = time.perf_counter()
    for d, t in encoded:
        sha(d).hexdigest()
        sha(t).hexdigest()
    return time.perf_counter() - start, encode_and_hash


def _verify_segment(job: tuple[str, int, int]):
    """One process's share of a parallel verify: rows a..b, starting from row a's stored link."""
    from app.audit.chain import verify_rows

    db, a, b = job
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.text_factory = bytes
    try:
        link = con.execute("SELECT prev_hash FROM audit_events WHERE seq = ?", (a,)).fetchone()
        start = link[0].decode("ascii", "replace") if link and isinstance(link[0], bytes) else GENESIS
        rows = con.execute(SELECT_EVENTS.replace("ORDER BY", "WHERE seq BETWEEN ? AND ? ORDER BY"), (a, b))
        return verify_rows(rows, utf8_bytes=True, first_seq=a, prev_hash=start), start
    finally:
        con.close()


def parallel_verify(db: Path, workers: int):
    """Prototype (not in app/): verify seq ranges in `workers` processes, then stitch the links.

    Exact only when seqs are 1..n without gaps (count == max); otherwise the caller would fall
    back to the sequential verify, which also gives the diagnosis."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from app.core.entities import VerifyResult

    with sqlite3.connect(db) as con:
        low, high, count = con.execute("SELECT min(seq), max(seq), count(*) FROM audit_events").fetchone()
    if not count or low != 1 or count != high:
        return None
    step = -(-high // workers)
    jobs = [(str(db), a, min(a + step - 1, high)) for a in range(1, high + 1, step)]
    with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_verify_segment, jobs))
    head, total = GENESIS, 0
    for (a, _b, ), (result, link) in zip([j[1:] for j in jobs], parts):
        if link != head:
            return VerifyResult(ok=False, events=total, first_bad_seq=a, problem="previous-hash link broken")
        if not result.ok:
            return VerifyResult(ok=False, events=total + result.events, first_bad_seq=result.first_bad_seq,
                                problem=result.problem)
        head, total = result.head_hash, total + result.events
    return VerifyResult(ok=True, events=total, head_hash=head)


def bench_verify(base: Path, events: int, repeat: int) -> None:
    from app.services.audit import verify_log

    print(f"\nAudit verify at {events:,} events")
    start = time.perf_counter()
    root = base / f"audit-{events}"
    if (root / "steward.db").exists():  # --keep: reuse the log built by an earlier run
        ws = open_workspace(WorkspacePaths(root))
    else:
        ws = _audit_workspace(root, events)
    row(f"verify {events}", "generate chain (raw sqlite3, one transaction)", f"{time.perf_counter() - start:.1f} s",
        f"{ws.paths.db.stat().st_size / 1e6:.0f} MB file")
    try:
        results = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            results.append((verify_log(ws), time.perf_counter() - t0))
        assert all(r.ok and r.events == events for r, _ in results), results[0][0]
        wall = min(s for _, s in results)
        read, n = min((_read_floor(ws.paths.db, bytes) for _ in range(repeat)), key=lambda x: x[0])
        read_str, _ = min((_read_floor(ws.paths.db, str) for _ in range(repeat)), key=lambda x: x[0])
        assert n == events
        str_path = min(_str_path(ws.paths.db) for _ in range(repeat))
        hash_only, encode_hash = _hash_floors(ws.paths.db)
        rate = events / wall
        row(f"verify {events}", "verify_log (best of %d)" % repeat, f"{rate:,.0f} ev/s",
            f"{wall:.2f} s; aim > 500,000 ev/s " + ("OK" if rate > 500_000 else "MISSED"))
        row(f"verify {events}", "  same rows as str (previous path)", f"{events / str_path:,.0f} ev/s",
            f"{str_path:.2f} s; bytes path is {str_path / wall:.2f}× faster")
        row(f"verify {events}", "baseline: read floor (bytes, as verify reads)", f"{events / read:,.0f} ev/s",
            f"{read:.2f} s = {read / wall:.0%} of verify")
        row(f"verify {events}", "baseline: read floor (str)", f"{events / read_str:,.0f} ev/s", f"{read_str:.2f} s")
        row(f"verify {events}", "baseline: hash floor (2×sha256, bytes ready)", f"{events / hash_only:,.0f} ev/s",
            f"{hash_only:.2f} s = {hash_only / wall:.0%} of verify")
        row(f"verify {events}", "baseline: join+encode+2×sha256", f"{events / encode_hash:,.0f} ev/s",
            f"{encode_hash:.2f} s = {encode_hash / wall:.0%} of verify")
        import os

        workers = os.cpu_count() or 1
        if workers > 1:
            reference = results[0][0]
            par = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                got = parallel_verify(ws.paths.db, workers)
                par.append(time.perf_counter() - t0)
                assert got is not None and (got.ok, got.events, got.head_hash) == (
                    reference.ok, reference.events, reference.head_hash)
            pw = min(par)
            row(f"verify {events}", f"prototype: {workers} processes, seq ranges", f"{events / pw:,.0f} ev/s",
                f"{pw:.2f} s incl. process start; {wall / pw:.2f}× verify_log")
        row(f"verify {events}", "ratio verify / (read floor + hash floor)",
            f"{wall / (read + hash_only):.2f}×", "1.00× = nothing beyond reading and hashing")
    finally:
        ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="100000,1000000", help="comma-separated audit log sizes")
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=9, help="repetitions of the quick measurements")
    parser.add_argument("--verify-repeat", type=int, default=3, help="repetitions of each audit verify")
    parser.add_argument("--no-registry", action="store_true", help="only the audit verify part")
    parser.add_argument("--keep", metavar="DIR", help="build workspaces in DIR and keep them")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="steward-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"Model Steward registry benchmark — Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"work folder {base}")
    try:
        if not args.no_registry:
            ws = open_workspace(WorkspacePaths(base / "registry"))
            try:
                bench_registration(ws, base, args.repeat)
                bench_promotion(ws, max(args.repeat, 25))
                bench_list_models(ws, args.models, args.versions, args.repeat)
            finally:
                ws.close()
        for n in (int(x) for x in args.events.split(",") if x.strip()):
            bench_verify(base, n, args.verify_repeat)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    print("\nSummary")
    width = max(len(r[1]) for r in ROWS)
    for section, what, figure, note in ROWS:
        print(f"{section:<16} {what:<{width}} {figure:>16}  {note}")
    if args.json:
        Path(args.json).write_text(json.dumps([dict(zip(("section", "what", "figure", "note"), r)) for r in ROWS],
                                              indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
