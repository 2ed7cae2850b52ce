"""A process for tests/test_kill_harness.py to kill with SIGKILL in the middle of one operation.

Usage:
  python _kill_child.py serve      a fork server: imports everything once, prints "warm", then for each
                                   JSON spec read on stdin forks a child that runs it, prints
                                   "forked PID", waits for it and prints "exit PID CODE" (CODE -9 = killed).
  python _kill_child.py gui SPEC   a fresh process with a QApplication that prints "warm", waits for
                                   "go" on stdin, then runs the spec on a TaskRunner thread, as the
                                   window does (app/ui/tasks.py).

A spec is {"op": register|promote|score|report|migrate, "home": folder, "args": {...}, "crash_at": name|null}.
The process running the operation prints "started PID" right before it and "done PID SECONDS" after
it (or "error PID MESSAGE"). The server forks so that dozens of kills cost milliseconds each instead
of an interpreter start-up each; every killed process is still a real process killed by SIGKILL.

crash_at makes the child SIGKILL itself right after a named step, so the harness also hits points
too narrow to hit with a timer. The hooks wrap functions in this child only; production code has none:
  artifact:N       after the Nth artifact file is in place under sha256/ (nothing recorded yet)
  before-commit:N  inside the Nth write transaction, after all its statements, before COMMIT
  after-commit:N   right after the Nth write transaction committed
  after-output     scoring: after the predictions file was written to tmp/
  after-render     report: after the first rendered file was staged as .part
  mid-rename       report: after the first staged file was renamed into place
  backup-unrenamed migrate: the backup copy is complete but not yet renamed to its final name
  after-backup     migrate: after the database backup was written
  before-migrate-commit  migrate: after every migration ran, before the transaction commits
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())  # one write: lines of forked children never interleave


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _preload() -> None:
    import alembic.command  # noqa: F401  (start-up imports it lazily; kills should land in the migration)
    import pandas  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    import app.drift.engine  # noqa: F401
    import app.ml.estimator  # noqa: F401
    import app.ml.metrics  # noqa: F401
    import app.ml.pickle_scan  # noqa: F401
    import app.reports.html  # noqa: F401
    import app.services.batches  # noqa: F401
    import app.services.register  # noqa: F401
    import app.services.reports  # noqa: F401
    import app.services.stages  # noqa: F401
    import app.services.workspaces  # noqa: F401


def _after_nth(owner, attr: str, n: int, *, before_return=None) -> None:
    """Wrap owner.attr so that the process dies after its nth call (or inside it, via before_return)."""
    real = getattr(owner, attr)
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if before_return is not None and calls[0] == n:
            return before_return(real, *args, **kwargs)
        result = real(*args, **kwargs)
        if calls[0] == n:
            _die()
        return result

    setattr(owner, attr, wrapper)


def _os_shim(replace, n: int):
    """A stand-in for one module's `os` whose nth os.replace call runs replace(real, ...)."""
    import types

    shim = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    _after_nth(shim, "replace", n, before_return=replace)
    return shim


def _install_crash(point: str) -> None:
    name, _, count = point.partition(":")
    n = int(count or 1)
    if name == "artifact":
        from app.store.artifacts import ArtifactStore

        _after_nth(ArtifactStore, "_write", n)
    elif name in ("before-commit", "after-commit"):
        from app.store.engine import Database

        def inside(real, db, work):
            def work_then_die(session):
                result = work(session)
                session.flush()  # every statement has run; only COMMIT is missing
                _die()
                return result

            return real(db, work_then_die)

        _after_nth(Database, "write", n, before_return=inside if name == "before-commit" else None)
    elif name == "after-output":
        import app.services.batches as batches

        _after_nth(batches, "_write_output", n)
    elif name == "after-render":
        import app.services.reports as reports

        _after_nth(reports, "_render", n)
    elif name == "mid-rename":
        import app.services.reports as reports

        reports.os = _os_shim(lambda real, *a, **kw: (real(*a, **kw), _die()), n)
    elif name == "backup-unrenamed":
        import app.store.migrate as migrate

        migrate.os = _os_shim(lambda real, *a, **kw: _die(), n)
    elif name == "after-backup":
        import app.store.migrate as migrate

        _after_nth(migrate, "_backup_sqlite", n)
    elif name == "before-migrate-commit":
        import alembic.command

        _after_nth(alembic.command, "upgrade", n)
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def run_op(spec: dict) -> float:
    """Open the workspace, run the operation, return its duration (the workspace open excluded)."""
    from app.core.settings import WorkspacePaths
    from app.store.workspace import open_workspace

    paths, args, op = WorkspacePaths(Path(spec["home"])), spec.get("args", {}), spec["op"]
    if op == "migrate":  # the start-up is the operation
        if spec.get("crash_at"):
            _install_crash(spec["crash_at"])
        _say(f"started {os.getpid()}")
        start = time.perf_counter()
        open_workspace(paths).close()
        return time.perf_counter() - start
    ws = open_workspace(paths)
    if spec.get("crash_at"):  # after the open, so that counts start with the operation
        _install_crash(spec["crash_at"])
    _say(f"started {os.getpid()}")
    start = time.perf_counter()
    OPS[op](ws, args)
    return time.perf_counter() - start


def _register(ws, a: dict) -> None:
    from app.services.register import register_model

    register_model(ws, a["name"], a["model"], a["train"], "target", test_data=a.get("test"), note="kill harness")


def _promote(ws, a: dict) -> None:
    from app.services.stages import promote_version

    promote_version(ws, a["name"], a["number"], a["stage"], "kill harness")


def _score(ws, a: dict) -> None:
    from app.services.batches import score_batch

    score_batch(ws, a["name"], a["batch"], label="kill harness")


def _report(ws, a: dict) -> None:
    from app.services.report_data import ReportScope
    from app.services.reports import export_report

    export_report(ws, ReportScope(), a["formats"], ws.paths.reports)


OPS = {"register": _register, "promote": _promote, "score": _score, "report": _report}


def _serve() -> None:
    _preload()
    _say("warm")
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                seconds = run_op(spec)
                _say(f"done {os.getpid()} {seconds:.6f}")
            except BaseException:  # noqa: BLE001 - reported to the harness, which fails the test
                _say(f"error {os.getpid()} {json.dumps(traceback.format_exc())}")
                code = 1
            os._exit(code)
        _say(f"forked {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"exit {pid} {os.waitstatus_to_exitcode(status)}")


def _gui(spec: dict) -> int:
    """The window's way: the service call on a TaskRunner thread while the Qt event loop runs."""
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.tasks import TaskRunner

    _preload()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    runner = TaskRunner()
    outcome: dict = {}

    def start() -> None:
        task = runner.submit(run_op, spec, on_success=lambda s: outcome.update(result=s),
                             on_error=lambda e: outcome.update(error=getattr(e, "__steward_traceback__", repr(e))))
        task.signals.finished.connect(QCoreApplication.quit)  # the last signal the task sends

    _say("warm")
    if sys.stdin.readline().strip() != "go":
        return 2
    QTimer.singleShot(0, start)
    app.exec()
    runner.wait()
    if outcome.get("error"):
        _say(f"error {os.getpid()} {json.dumps(outcome['error'])}")
        return 1
    _say(f"done {os.getpid()} {outcome['result']:.6f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if sys.argv[1] == "serve":
        _serve()
    elif sys.argv[1] == "gui":
        raise SystemExit(_gui(json.loads(sys.argv[2])))
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]!r}")
