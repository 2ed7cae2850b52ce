"""kill -9 in the middle of a registration, a promotion, a scoring run, a report export and a migration.

Each operation is killed at many points: at fractions of its measured duration, and right after named
steps (tests/_kill_child.py). After every kill the workspace is opened as the CLI and the window open it,
then: integrity_check is ok, the audit log verifies, no half version or batch exists, every recorded
artifact has its file (and every file is recorded), nothing half-written is left, the operation
happened whole or not at all, start-up said what it cleaned, and the same operation runs again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kill_helpers import ROOT, ForkServer, GuiChild, check_recovered, facts

pytestmark = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "fork"), reason="SIGKILL and fork are POSIX")

# Fractions of the un-killed duration at which the timed kills land (0 = as it starts).
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0)
CRASH_POINTS = {
    "register": ("artifact:1", "artifact:4", "before-commit:1", "after-commit:1"),
    "promote": ("before-commit:1", "after-commit:1"),
    "score": ("after-output", "artifact:1", "before-commit:1", "after-commit:1"),
    "report": ("after-render", "before-commit:1", "after-commit:1", "mid-rename"),
    "migrate": ("backup-unrenamed", "after-backup", "before-migrate-commit"),
}
# What start-up must say after a kill at a named point (a fragment of one ws.cleaned line).
EXPECTED_CLEANUP = {
    ("register", "artifact:1"): "that no record uses",
    ("register", "before-commit:1"): "that no record uses",
    ("score", "after-output"): "removed unfinished scoring output",
    ("score", "before-commit:1"): "that no record uses",
    ("report", "after-render"): "removed unfinished report file",
    ("report", "before-commit:1"): "removed unfinished report file",
    ("report", "after-commit:1"): "finished the export of report",
    ("report", "mid-rename"): "finished the export of report",
    ("migrate", "backup-unrenamed"): "removed unfinished database backup",
}


def _pdf_available() -> bool:
    try:
        import app.reports.pdf  # noqa: F401
    except Exception:  # noqa: BLE001 - being written by someone else: test without it
        return False
    return True


def _child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "STEWARD_HOME": str(home), "STEWARD_ACTOR": "alice", "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# --- the workspaces the operations start from --------------------------------------------------------
def _files(folder: Path) -> dict[str, Path]:
    """Two fitted pipelines, their data, a batch in the template and a bigger batch for the scoring op."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder.mkdir(parents=True, exist_ok=True)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    X.columns = [c.replace(" ", "_") for c in X.columns]
    frame = X.assign(target=y)
    train, test = frame.iloc[:450], frame.iloc[450:]
    out = {"train": folder / "train.csv", "test": folder / "test.csv", "test2": folder / "test2.csv"}
    train.to_csv(out["train"], index=False)
    test.to_csv(out["test"], index=False)
    test.iloc[::-1].to_csv(out["test2"], index=False)  # same rows, other bytes: a new dataset
    out["train_big"] = folder / "train_big.csv"  # copying it in keeps a registration busy between its
    pd.concat([train] * 40).to_csv(out["train_big"], index=False)  # first artifact and its commit
    for key, c in (("model1", 1.0), ("model2", 0.5), ("model3", 0.25)):
        out[key] = folder / f"{key}.joblib"
        joblib.dump(make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000)).fit(
            train[X.columns], train["target"]), out[key])
    rng = np.random.default_rng(7)
    for key, rows in (("batch_a", 500), ("batch_b", 6000)):
        sample = X.sample(rows, replace=True, random_state=int(rng.integers(1 << 30)))
        out[key] = folder / f"{key}.csv"
        (sample * rng.normal(1.0, 0.05, sample.shape)).to_csv(out[key], index=False)
    return out


def _downgrade(paths, revision: str) -> None:
    from alembic import command

    from app.store.engine import Database
    from app.store.migrate import alembic_config

    db = Database(paths.url)
    try:
        with db.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """'base': clf v1 in Production, v2 in Staging, one scored batch. 'old': the same without the Staging
    version (an older release had no shadow scoring to keep), stamped two revisions back."""
    from alembic.script import ScriptDirectory

    from app.core.settings import WorkspacePaths
    from app.services.batches import score_batch
    from app.services.register import register_model
    from app.services.stages import promote_version
    from app.store.migrate import alembic_config
    from app.store.workspace import open_workspace

    root = tmp_path_factory.mktemp("kill-templates")
    files = _files(root / "files")
    base, old = WorkspacePaths(root / "base"), WorkspacePaths(root / "old")
    for paths in (old, base):
        ws = open_workspace(paths)
        register_model(ws, "clf", files["model1"], files["train"], "target")
        promote_version(ws, "clf", 1, "production", "live")
        register_model(ws, "clf", files["model2"], files["train"], "target", test_data=files["test"])
        if paths is base:
            promote_version(ws, "clf", 2, "staging", "shadow it")
        score_batch(ws, "clf", files["batch_a"], label="first")
        ws.close()
        shutil.rmtree(paths.artifacts / "claims")  # this process's claims would protect files in every copy
    revisions = [s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    _downgrade(old, revisions[min(2, len(revisions) - 1)])
    return {"base": base.root, "old": old.root, "files": files, "old_revision": facts(old.db).revision}


def _spec(op: str, home: Path, files: dict, formats: list[str]) -> dict:
    args = {
        "register": {"name": "clf", "model": str(files["model3"]), "train": str(files["train"]),
                     "test": str(files["test2"])},
        "promote": {"name": "clf", "number": 2, "stage": "production"},
        "score": {"name": "clf", "batch": str(files["batch_b"])},
        "report": {"formats": formats},
        "migrate": {},
    }[op]
    return {"op": op, "home": str(home), "args": args}


# --- whole or nothing ---------------------------------------------------------------------------------
def _happened(op: str, before, raw, after, ws) -> bool:
    """Whether the killed operation happened (whole); asserts it is not half there. `raw`: the database
    as the kill left it; `after`: after start-up."""
    from app.services.reports import verify_report

    delta = {k: after.counts.get(k, 0) - before.counts.get(k, 0) for k in after.counts}
    if op == "register":
        assert delta["versions"] in (0, 1) and delta["reference_profiles"] == delta["versions"]
        return delta["versions"] == 1
    if op == "promote":
        moved = after.stages == {**before.stages, 1: "archived", 2: "production"}
        assert moved or after.stages == before.stages, after.stages
        assert delta["stage_changes"] == (2 if moved else 0)
        return moved
    if op == "score":
        assert delta["batches"] in (0, 1)
        return delta["batches"] == 1
    if op == "report":
        exported = after.events.get("report.exported", 0) - before.events.get("report.exported", 0)
        assert exported in (0, 1)
        reports = sorted(p for p in ws.paths.reports.iterdir()) if ws.paths.reports.is_dir() else []
        if exported:  # every format in place, and the report verifies against the log
            assert {p.suffix for p in reports} == {f".{f}" for f in _formats()}
            check = verify_report(next(p for p in reports if p.suffix == ".json"), ws)
            assert check.ok, check.to_dict()
        else:
            assert reports == []
        return exported == 1
    if op == "migrate":  # the open that followed finished it; nothing may be lost on the way
        for table, n in before.counts.items():
            assert after.counts[table] == n, table
        return raw.revision == _head()
    raise AssertionError(op)


def _formats() -> list[str]:
    return ["json", "html", "pdf"] if _pdf_available() else ["json", "html"]


def _run_again(op: str, ws, files: dict, whole: bool) -> None:
    """The cleaned workspace is usable: the same operation runs to completion."""
    from app.services.batches import score_batch
    from app.services.register import register_model
    from app.services.report_data import ReportScope
    from app.services.reports import export_report
    from app.services.stages import promote_version

    if op == "register":
        register_model(ws, "clf", files["model3"], files["train"], "target", test_data=files["test2"])
    elif op in ("promote", "migrate"):
        promote_version(ws, "clf", 1 if whole and op == "promote" else 2, "production", "again")
    elif op == "score":
        score_batch(ws, "clf", files["batch_b"], label="again")
    elif op == "report":  # no PDF here: it would make a QGuiApplication inside the test process
        export_report(ws, ReportScope(), ["json", "html"], ws.paths.reports)


def _prepare(op: str, templates, home: Path):
    """A fresh copy of the operation's starting workspace: (spec, facts before)."""
    shutil.copytree(templates["old" if op == "migrate" else "base"], home)
    return _spec(op, home, templates["files"], _formats()), facts(home / "steward.db")


def _crash_and_recover(server, op: str, templates, home: Path, *, crash_at=None, kill_after=None) -> dict:
    spec, before = _prepare(op, templates, home)
    outcome = server.run(spec | {"crash_at": crash_at}, kill_after=kill_after)
    return _recover(op, templates, home, before, outcome)


def _recover(op: str, templates, home: Path, before, outcome) -> dict:
    """Open the killed workspace as start-up does and check everything; then run the operation again."""
    from app.services.workspaces import open_home

    assert outcome.done or outcome.code == -signal.SIGKILL, outcome
    raw = facts(home / "steward.db")  # as the crash left it, before any start-up tidying
    if op == "migrate":  # whole or nothing at the schema level too
        assert raw.revision in (templates["old_revision"], _head())
        assert raw.schema == before.schema or raw.revision == _head()
        for backup in (home / "backups").glob("*.db"):  # a backup is a complete copy or does not exist
            assert facts(backup).counts == before.counts
    ws = open_home(home)
    try:
        after = check_recovered(ws, before)
        whole = _happened(op, before, raw, after, ws)
        assert whole or not outcome.done, "the operation returned but is not in the workspace"
        cleaned = list(ws.cleaned)
        _run_again(op, ws, templates["files"], whole)
        check_recovered(ws, facts(ws.paths.db))
    finally:
        ws.close()
    return {"whole": whole, "cleaned": cleaned, "seconds": outcome.seconds}


def _head() -> str:
    from app.store.migrate import SCHEMA_HEAD

    return SCHEMA_HEAD


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ForkServer(_child_env(tmp_path_factory.mktemp("kill-home")))
    yield srv
    srv.close()


@pytest.mark.slow
@pytest.mark.parametrize("op", ["register", "promote", "score", "report", "migrate"])
def test_kill_9_at_many_points_leaves_a_consistent_workspace(op, server, templates, tmp_path):
    baseline = _crash_and_recover(server, op, templates, tmp_path / "baseline")
    assert baseline["whole"] and baseline["seconds"] > 0
    duration = baseline["seconds"]
    results = []
    for i, fraction in enumerate(FRACTIONS):
        results.append(_crash_and_recover(server, op, templates, tmp_path / f"t{i}", kill_after=duration * fraction))
    for point in CRASH_POINTS[op]:
        result = _crash_and_recover(server, op, templates, tmp_path / point.replace(":", "-"), crash_at=point)
        expected = EXPECTED_CLEANUP.get((op, point))
        if expected:
            assert any(expected in line for line in result["cleaned"]), result["cleaned"]
        assert result["whole"] == (point.startswith(("after-commit", "mid-rename"))), (point, result)
        results.append(result)
    if duration > 0.1:  # long enough that a timer lands inside it even on a busy machine
        assert any(not r["whole"] for r in results[:len(FRACTIONS)]), "no timed kill landed inside the operation"
    _summary(op, duration, results)


def _summary(op: str, duration: float, results: list[dict]) -> None:
    kinds: dict[str, int] = {}
    for line in (line for r in results for line in r["cleaned"]):
        key = " ".join(line.split(" ")[:3])
        kinds[key] = kinds.get(key, 0) + 1
    print(f"\n{op}: {duration * 1000:.0f} ms un-killed; {len(results)} kills: {sum(r['whole'] for r in results)} "
          f"whole, {sum(not r['whole'] for r in results)} not at all; start-up cleaned {kinds}")


@pytest.mark.slow
def test_kill_9_of_the_window_mid_registration(templates, tmp_path):
    """The window runs the registration on a TaskRunner thread inside its QApplication; kill that process."""
    env = _child_env(tmp_path / "home")
    spec, before = _prepare("register", templates, tmp_path / "baseline")
    baseline = _recover("register", templates, tmp_path / "baseline", before, GuiChild(spec, env).run())
    assert baseline["whole"]
    duration = baseline["seconds"]
    plans = [(0.5, None), (None, "artifact:2"), (None, "before-commit:1")]
    runs = []
    for i, (fraction, crash_at) in enumerate(plans):  # all started at once: their imports overlap
        spec, before = _prepare("register", templates, tmp_path / f"k{i}")
        runs.append((fraction, tmp_path / f"k{i}", before, GuiChild(spec | {"crash_at": crash_at}, env)))
    results = []
    for fraction, home, before, child in runs:
        outcome = child.run(kill_after=None if fraction is None else duration * fraction)
        results.append(_recover("register", templates, home, before, outcome))
    assert [r["whole"] for r in results[1:]] == [False, False]
    assert all(any("that no record uses" in line for line in r["cleaned"]) for r in results[1:])
    _summary("register in a window", duration, results)


@pytest.mark.slow
def test_kill_9_of_the_command_line_mid_registration(templates, tmp_path):
    """`steward model register` killed as its first artifact file is claimed, and a little later; then
    `steward init` says what it cleaned and `steward audit verify` passes."""
    from tests.kill_helpers import Outcome

    env = _child_env(tmp_path / "home")
    files = templates["files"]

    def steward(home: Path, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app", "--home", str(home), *args], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    runs = []
    for i, delay in enumerate((0.0, 0.04)):  # both start at once: their imports overlap
        spec, before = _prepare("register", templates, tmp_path / f"cli{i}")
        home = Path(spec["home"])
        proc = steward(home, "model", "register", "clf", "--model-file", str(files["model3"]), "--train-data",
                       str(files["train_big"]), "--test-data", str(files["test2"]), "--target", "target")
        runs.append({"home": home, "before": before, "proc": proc, "delay": delay, "kill_at": None})
    while any(r["proc"].poll() is None and r["kill_at"] is None or
              r["kill_at"] is not None and r["proc"].returncode is None for r in runs):
        for r in runs:
            proc = r["proc"]
            if r["kill_at"] is None and (proc.poll() is not None or
                                         any((r["home"] / "artifacts" / "claims").glob(f"*.{proc.pid}"))):
                r["kill_at"] = time.monotonic() + r["delay"]  # its first artifact file is being written
            if r["kill_at"] is not None and proc.returncode is None and time.monotonic() >= r["kill_at"]:
                proc.kill()
                proc.wait()
        time.sleep(0.0005)
    for r in runs:
        assert r["proc"].returncode in (0, -signal.SIGKILL), r["proc"].stderr.read()
    for step in (("init",), ("audit", "verify")):  # start-up cleans and says so; then the log verifies
        procs = [steward(r["home"], *step) for r in runs]
        for r, proc in zip(runs, procs):
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, (step, out, err)
            r[step[0]] = out
    results = []
    for r in runs:
        code = r["proc"].returncode
        result = _recover("register", templates, r["home"], r["before"], Outcome(r["proc"].pid, code, code == 0))
        if not result["whole"]:
            assert "cleaned up: removed" in r["init"], r["init"]
        results.append(result)
    assert not results[0]["whole"], "killed as its first artifact was written, yet the version was recorded"
    print("\n" + "\n".join(r["init"] for r in runs))


# --- start-up cleanup, one rule at a time ------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_start_up_removes_unrecorded_artifacts_only_when_their_writer_is_gone_or_long_silent(tmp_path):
    import socket

    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace

    paths = WorkspacePaths(tmp_path / "ws")
    ws = open_workspace(paths)
    dead_claimed, fresh, old, live_claimed = (ws.artifacts.put_bytes(b)[0] for b in (b"dead", b"fresh", b"old", b"live"))
    ws.close()
    shutil.rmtree(ws.artifacts.claims)  # as if another process had written them:
    host = socket.gethostname()
    (ws.artifacts.claims).mkdir()
    (ws.artifacts.claims / f"{host}.{_dead_pid()}").write_text(dead_claimed + "\n")  # killed before its commit
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        (ws.artifacts.claims / f"{host}.{live.pid}").write_text(live_claimed + "\n")  # still about to commit
        _age(ws.artifacts.root / old, 3600)  # nobody's claim, an hour old: an older release's leftover
        _age(ws.artifacts.root / live_claimed, 3600)
        _age(paths.artifacts / ".last-full-sweep", 2 * 86400)  # the daily full pass is due
        ws = open_workspace(paths)
        ws.close()
    finally:
        live.communicate(b"")
    left = {p.name for p in ws.artifacts.root.iterdir()}
    assert left == {fresh, live_claimed}  # fresh and unclaimed: may be a writer we cannot see
    assert any(dead_claimed[:12] in line and "stopped before recording it" in line for line in ws.cleaned)
    assert any(old[:12] in line and "recorded nowhere for over 10 minutes" in line for line in ws.cleaned)
    assert len(ws.cleaned) == 2 and ws.problems == []
    assert [p.name for p in ws.artifacts.claims.iterdir()] == [f"{host}.{live.pid}"]  # the dead one is settled


def test_between_daily_full_passes_start_up_only_settles_dead_writers_claims(tmp_path):
    import socket

    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace

    paths = WorkspacePaths(tmp_path / "ws")
    ws = open_workspace(paths)  # a full pass: the day's first opening
    dead_claimed, old = (ws.artifacts.put_bytes(b)[0] for b in (b"dead", b"old"))
    ws.close()
    shutil.rmtree(ws.artifacts.claims)
    ws.artifacts.claims.mkdir()
    (ws.artifacts.claims / f"{socket.gethostname()}.{_dead_pid()}").write_text(dead_claimed + "\n")
    _age(ws.artifacts.root / old, 3600)
    ws = open_workspace(paths)
    ws.close()
    assert {p.name for p in ws.artifacts.root.iterdir()} == {old}  # the unclaimed one waits for the daily pass
    assert len(ws.cleaned) == 1 and dead_claimed[:12] in ws.cleaned[0]


def test_a_sweep_gives_a_file_back_when_a_writer_reuses_or_records_it_meanwhile(tmp_path):
    from app.store.artifacts import ArtifactStore

    store = ArtifactStore(tmp_path / "artifacts", tmp_path / "tmp")
    reused, recorded, orphan = (store.put_bytes(b)[0] for b in (b"reused", b"recorded", b"orphan"))
    shutil.rmtree(store.claims)
    for sha in (reused, recorded, orphan):
        _age(store.root / sha, 3600)
    calls = []

    def referenced(shas):
        calls.append(None if shas is None else set(shas))
        if shas is None:  # between the listing and the renames, a writer stores `reused` again
            os.utime(store.root / reused)
            return set()
        return {recorded} & set(shas)  # and another commits a row for `recorded`

    result = store.sweep(referenced)
    assert [sha for sha, _ in result.removed] == [orphan]
    assert {p.name for p in store.root.iterdir()} == {reused, recorded}
    assert calls == [None, {recorded, orphan}]  # `reused` went back at once, before the second query
    assert list(store.tmp.iterdir()) == []


def test_start_up_reports_recorded_artifacts_whose_file_is_missing(tmp_path, classifier_files):
    from app.core.settings import WorkspacePaths
    from app.services.housekeeping import check_artifacts
    from app.services.register import register_model
    from app.services.workspaces import open_home

    ws = open_home(tmp_path / "ws")
    version = register_model(ws, "clf", classifier_files.model, classifier_files.train, "target")
    ws.close()
    (ws.artifacts.root / version.artifact_sha256).unlink()
    _age(ws.paths.artifacts / ".last-full-sweep", 2 * 86400)  # found by the daily full pass
    ws = open_home(WorkspacePaths(tmp_path / "ws").root)
    try:
        assert len(ws.problems) == 1 and version.artifact_sha256[:12] in ws.problems[0]
        assert "(model)" in ws.problems[0] and "restore it from a backup" in ws.problems[0]
        assert ws.cleaned == [f"could not repair: {ws.problems[0]}"]
        assert check_artifacts(ws) == [f"artifact {version.artifact_sha256[:12]}… (model) is missing from "
                                       f"{ws.artifacts.root}"]
    finally:
        ws.close()


def test_start_up_removes_staging_key_and_backup_files_of_dead_processes_and_says_so(tmp_path):
    from app.core.settings import WorkspacePaths
    from app.services.workspaces import open_home
    from app.store.workspace import open_workspace

    paths = WorkspacePaths(tmp_path / "ws")
    ws = open_workspace(paths)
    held = ws.artifacts.put_bytes(b"judged by a sweep that died")[0]
    ws.close()
    dead = _dead_pid()
    os.replace(ws.artifacts.root / held, paths.tmp / f"swept-{dead}-{held}")
    for folder in (paths.reports, paths.keys, paths.backups):
        folder.mkdir(exist_ok=True)
    leftovers = [paths.reports / f".MS-20250101-120000-abcdef.html.{dead}.part",
                 paths.keys / f".checkpoint-ed25519.pem.{dead}.tmp",
                 paths.backups / f".steward-0004-20250101T120000Z.db.{dead}.part",
                 paths.tmp / f"output-{dead}-x1y2.csv"]
    for path in leftovers:
        path.write_text("half")
    live = paths.reports / f".MS-20250101-120000-abcdef.html.{os.getpid()}.part"  # an export still running
    live.write_text("being written")
    ws = open_home(paths.root)
    ws.close()
    assert (paths.artifacts / "sha256" / held).is_file()  # back where it was, to be judged again
    assert not any(p.exists() for p in leftovers) and live.exists()
    assert sorted(ws.cleaned) == sorted([
        f"removed unfinished scoring output output-{dead}-x1y2.csv",
        f"removed unfinished database backup .steward-0004-20250101T120000Z.db.{dead}.part",
        f"removed unfinished report file .MS-20250101-120000-abcdef.html.{dead}.part (the export of "
        "MS-20250101-120000-abcdef was never recorded in the audit log)",
        f"removed unfinished signing-key file .checkpoint-ed25519.pem.{dead}.tmp",
    ])
