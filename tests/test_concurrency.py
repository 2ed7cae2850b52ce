"""Several real OS processes on one workspace at once: no lock errors, nothing lost, history and chain whole."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.settings import WorkspacePaths
from app.services.audit import verify_log
from app.store.migrate import SCHEMA_HEAD
from app.store.workspace import open_workspace

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("_concurrency_child.py")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> dict:
    """Two small fitted LogisticRegressions and their 60-row training CSV, shared by every child."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["target"] = (frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.3, size=60) > 0).astype(int)
    train = folder / "train.csv"
    frame.to_csv(train, index=False)
    models = []
    for c in (1.0, 0.1):
        path = folder / f"lr-{c}.joblib"
        joblib.dump(LogisticRegression(C=c).fit(frame[["a", "b", "c"]], frame["target"]), path)
        models.append(str(path))
    return {"train": str(train), "models": models}


def _start(role: str, home: Path, args: dict) -> subprocess.Popen:
    env = {**os.environ, "STEWARD_ACTOR": f"{role}-{args.get('id', '')}", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(CHILD), role, str(home), json.dumps(args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)


def _run_together(procs: list[subprocess.Popen], followers: tuple[subprocess.Popen, ...] = (),
                  timeout: float = 120) -> list[tuple[int, dict | None, str]]:
    """Barrier: wait until every child said "ready", then tell them all "go" at once; collect results.

    `followers` (a subset of `procs`, listed last) are told "stop" once all the others have finished.
    """
    for p in procs:
        line = p.stdout.readline().strip()
        if line != "ready":
            out, err = p.communicate(timeout=timeout)
            pytest.fail(f"child did not get ready: {line!r} {out} {err}")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        if p is (followers[0] if followers else None):
            for f in followers:
                f.stdin.write("stop\n")
                f.stdin.flush()
        out, err = p.communicate(timeout=timeout)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        results.append((p.returncode, json.loads(lines[-1]) if lines else None, err))
    return results


def _query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_two_writers_and_a_verifier_on_one_workspace(tmp_path, tiny_files):
    home = tmp_path / "shared"
    open_workspace(WorkspacePaths(home)).close()  # created and migrated before the race
    names = ["churn", "fraud", "credit"]
    writers = [
        _start("writer", home, {"id": f"w{i}", "seed": 100 + i, "ops": 100, "names": names, **tiny_files})
        for i in range(2)
    ]
    verifier = _start("verifier", home, {})
    results = _run_together([*writers, verifier], followers=(verifier,))

    for code, result, err in results:
        assert code == 0, err
        assert "database is locked" not in err.lower() and "Traceback" not in err, err
        assert result is not None
    done = [r for _, r, _ in results[:2]]
    registered = sum(d["registered"] for d in done)
    moves = sum(d["moves"] for d in done)
    updated = sum(d["updated"] for d in done)
    assert all(d["ops"] == 100 for d in done)
    assert registered >= 40 and moves >= 20 and updated >= 10  # the mix really exercised every path

    db = home / "steward.db"
    assert _query(db, "SELECT count(*) FROM versions") == [(registered,)]
    # Version numbers are gap-free per model: no number lost or taken twice in the race.
    for model_id, count, top in _query(db, "SELECT model_id, count(*), max(number) FROM versions GROUP BY model_id"):
        assert count == top, model_id
    assert all(n <= 1 for (n,) in _query(
        db, "SELECT count(*) FROM versions WHERE stage = 'production' GROUP BY model_id"))
    assert _query(db, "SELECT count(*) FROM stage_changes") == [(moves,)]
    # Each version's stage is where its last recorded move took it.
    last_moves = dict(_query(db, "SELECT version_id, to_stage FROM stage_changes s WHERE id = "
                                 "(SELECT max(id) FROM stage_changes WHERE version_id = s.version_id)"))
    for vid, stage in _query(db, "SELECT id, stage FROM versions"):
        assert stage == last_moves.get(vid, "none"), vid
    n_models = _query(db, "SELECT count(*) FROM models")[0][0]
    n_datasets = _query(db, "SELECT count(*) FROM datasets")[0][0]
    assert n_models == len(names) and n_datasets == 1
    kinds = dict(_query(db, "SELECT kind, count(*) FROM artifacts GROUP BY kind"))
    assert (kinds["model"], kinds["dataset"]) == (2, 1)  # two model files, one CSV: each stored once
    files = {p.name for p in (home / "artifacts" / "sha256").iterdir()}
    assert files == {sha for (sha,) in _query(db, "SELECT sha256 FROM artifacts")}

    ws = open_workspace(WorkspacePaths(home))
    try:
        result = verify_log(ws)
    finally:
        ws.close()
    assert result.ok, result.summary
    assert result.events == n_models + n_datasets + registered + moves + updated

    seen = results[2][1]
    assert seen["problems"] == []  # every snapshot the verifier read was a whole chain
    assert seen["events"] == sorted(seen["events"]) and seen["events"][-1] == result.events
    assert len(set(seen["events"])) >= 3  # it really read the log while it was growing


def test_processes_opening_a_new_workspace_at_once_migrate_it_once(tmp_path, tiny_files):
    home = tmp_path / "brand-new"
    procs = [_start("opener", home, {"id": f"o{i}", "name": f"model-{i}", **tiny_files}) for i in range(3)]
    results = _run_together(procs)
    for code, result, err in results:
        assert code == 0, err
        assert "database is locked" not in err.lower(), err
        assert result == {"backup": None, "number": 1}
    db = home / "steward.db"
    assert _query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert _query(db, "SELECT count(*) FROM versions") == [(3,)]
    assert not (home / "backups").exists()
    ws = open_workspace(WorkspacePaths(home))
    try:
        assert verify_log(ws).ok and verify_log(ws).events == 3 + 1 + 3  # models + dataset + versions
    finally:
        ws.close()
