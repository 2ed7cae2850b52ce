"""A process for tests/test_concurrency_minute.py: the window or a command-line user working on a shared workspace.

Usage: python _minute_child.py ROLE HOME JSON_ARGS
ROLE "cli": a seeded loop of real `steward` commands (register, score, promote, retrain, audit verify), each a
subprocess, recording exit code and stderr. ROLE "gui": a real MainWindow (offscreen) whose timers run, driven
by a QTimer through its pages and dialogs, recording every error it shows. Both print "ready", wait for "go"
on stdin, work for args["seconds"], then print one JSON line with what they did. Exit 0 unless something
unexpected happened in the child itself (what the app did is judged by the test, from the JSON).

Module level imports only the standard library: worker processes the window spawns re-import this file.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path

COMMAND_TIMEOUT = 120  # seconds; a command that takes longer is reported as hung


def _wait_for_go() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go signal")


# -- command-line user ------------------------------------------------------------------------------------
def _steward(home: Path, *argv: str) -> dict:
    start, used = time.monotonic(), _children_cpu()
    try:
        done = subprocess.run([sys.executable, "-m", "app", "--home", str(home), *argv], capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = "timeout", exc.stdout or "", f"hung for {COMMAND_TIMEOUT} s\n{exc.stderr or ''}"
    data = None
    if code == 0 and out.strip().startswith(("{", "[")):
        try:
            data = json.loads(out)
        except ValueError:
            data = None
    return {"code": code, "stderr": err.strip()[-2000:], "data": data, "seconds": round(time.monotonic() - start, 2),
            "cpu": round(_children_cpu() - used, 2), "at": round(time.time(), 2)}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _version_numbers(home: Path, name: str) -> list[int]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(f"file:{home / 'steward.db'}?mode=ro", uri=True, timeout=30)) as conn:
        return [n for (n,) in conn.execute("SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id "
                                           "WHERE m.name = ?", (name,))]


def _cli(home: Path, args: dict) -> dict:
    rng = random.Random(args["seed"])
    me = args["id"]
    names = list(args["names"])
    new_models = 0
    retrains = 0
    ops: list[dict] = []
    # Each kind once first, in a seeded order, so that even a short run exercises every path; then at random.
    first = [0.05, 0.2, 0.5, 0.7, 0.95]
    rng.shuffle(first)
    _wait_for_go()
    deadline = time.monotonic() + args["seconds"]
    i = 0
    while time.monotonic() < deadline:
        i += 1
        tag = f"{me}-op{i}"
        left = deadline - time.monotonic()
        roll = first.pop() if first else rng.random()
        name = rng.choice(names)
        # Retrains only while there is time for the queue to drain within the test's budget.
        if roll < 0.10 and retrains < args["max_retrains"] and left > args["seconds"] * 0.3:
            retrains += 1
            r = _steward(home, "retrain", name, "--json")
            op = {"kind": "retrain", "name": name, **r}
            if r["code"] == 0 and r["data"]:
                op["job"] = r["data"]["id"]
        elif roll < 0.40:
            if rng.random() < 0.15 and new_models < 2:
                new_models += 1
                name = f"{me}-model{new_models}"
            r = _steward(home, "model", "register", name, "--model-file", rng.choice(args["models"]),
                         "--train-data", args["train"], "--target", "target", "--note", tag, "--json")
            op = {"kind": "register", "name": name, "note": tag, **r}
            if r["code"] == 0 and r["data"]:
                op["version"] = r["data"]["number"]
                if name not in names:
                    names.append(name)  # this user now works on the model they created
        elif roll < 0.62:
            r = _steward(home, "score", name, "--input", args["batch"], "--label", tag, "--json")
            op = {"kind": "score", "name": name, "label": tag, **r}
            if r["code"] == 0 and r["data"]:
                op["batch"] = r["data"]["batch_id"]
        elif roll < 0.90:
            # A version this user knows of (read straight from the file: cheaper than a `model show`); by
            # the time the command runs another process may have moved it already (a conflict).
            number = rng.choice(_version_numbers(home, name) or [1])
            stage = rng.choice(["staging", "production", "production", "archived"])
            r = _steward(home, "model", "promote", name, str(number), "--stage", stage, "--reason", tag, "--json")
            op = {"kind": "promote", "name": name, "version": number, "stage": stage, **r}
            if r["code"] == 0 and isinstance(r["data"], list):
                op["moves"] = [m["id"] for m in r["data"]]
        else:
            r = _steward(home, "audit", "verify", "--json")
            op = {"kind": "verify", **r}
            if r["code"] == 0 and r["data"]:
                op["ok"], op["events"] = r["data"]["ok"], r["data"]["events"]
        op.pop("data", None)
        ops.append(op)
    return {"role": "cli", "id": me, "ops": ops}


# -- the window -------------------------------------------------------------------------------------------
def _gui(home: Path, args: dict) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import logging

    from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.core.errors import StewardError

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    shown: list[dict] = []  # every error the window showed (dialog box or inline), with its exception type
    boxes: list[dict] = []  # every message box that appeared
    logged: list[dict] = []  # warnings and errors the app logged (background polls report there, not in a box)
    hooked: list[str] = []  # exceptions that escaped a slot

    # Hooks go in before the rest of app.ui is imported: modules bind these names at import.
    import app.ui.messages as messages

    real_describe, real_show = messages.describe_error, messages.show_error

    def describe_error(exc):
        shown.append({"type": type(exc).__name__, "domain": isinstance(exc, StewardError), "message": str(exc)})
        return real_describe(exc)

    def show_error(parent, exc, title="Model Steward"):
        box = real_show(parent, exc, title)
        shown[-1]["title"] = title
        return box

    messages.describe_error, messages.show_error = describe_error, show_error

    from app.core.entities import Stage
    from app.core.settings import WorkspacePaths
    from app.services import queries
    from app.services.cards import set_model_card
    from app.store.workspace import open_workspace
    from app.ui import approvals_actions
    from app.ui.jobs_close import CloseChoice
    from app.ui.main_window import AUDIT, JOBS, MODELS, OVERVIEW, MainWindow
    from app.ui.tasks import TaskRunner

    assert approvals_actions.show_error is show_error, "the error hook went in too late"

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append({"level": record.levelname, "logger": record.name, "message": record.getMessage()[:500]})

    logging.getLogger().addHandler(Recorder(logging.WARNING))

    def excepthook(exc_type, exc, tb) -> None:  # as the real app does (app.ui.main): log it, show it
        hooked.append("".join(traceback.format_exception(exc_type, exc, tb))[-3000:])
        show_error(QApplication.activeWindow(), exc)

    sys.excepthook = excepthook

    class BoxWatcher(QObject):
        """Notes every message box shown, then presses OK on it a moment later, as a person would."""

        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.Show and isinstance(obj, QMessageBox) and obj.property("seen") is None:
                obj.setProperty("seen", True)
                boxes.append({"name": obj.objectName(), "title": obj.windowTitle(), "text": obj.text(),
                              "hint": obj.informativeText()})
                QTimer.singleShot(300, obj.accept)
            return False

    watcher = BoxWatcher()
    qapp.installEventFilter(watcher)

    ws = open_workspace(WorkspacePaths(home))
    runner = TaskRunner()
    settings = QSettings(str(Path(args["tmp"]) / "gui-settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(ws, runner, settings)
    # The watcher looks for jobs queued from terminals every 30 s when it knows of none; every 3 s here, so
    # within a minute the window really competes with the command line for starting workers.
    window.watcher.slow_ms = 3_000
    window.show()
    qapp.processEvents()

    rng = random.Random(args["seed"])
    done = {"steps": 0, "refreshes": 0, "audit_fetches": 0, "verifies": [], "promote_moves": [],
            "promotes_ok": 0, "promote_requests": 0, "scores_ok": [], "score_failures": 0, "cards_ok": [],
            "card_failures": 0, "jobs_finished": 0}
    state = {"busy": False, "dialog": None, "i": 0}
    window.models_page.stage_changed.connect(
        lambda moves: (done["promote_moves"].extend(m.id for m in moves), done.__setitem__(
            "promotes_ok", done["promotes_ok"] + 1)))
    window.audit_page.verify_finished.connect(lambda r: done["verifies"].append([r.ok, r.events, r.summary]))
    window.watcher.job_finished.connect(lambda _job: done.__setitem__("jobs_finished", done["jobs_finished"] + 1))
    # The Audit page words its own inline errors (no describe_error): note them from the page's signal and label.
    window.audit_page.model.load_failed.connect(lambda exc: shown.append(
        {"type": type(exc).__name__, "domain": isinstance(exc, StewardError), "message": str(exc),
         "title": "Audit page"}))

    def audit_status() -> None:
        label = window.audit_page.status_label
        if label.objectName() == "FieldError" and label.isVisible() and label.text() not in audit_errors:
            audit_errors.append(label.text())
            shown.append({"type": "AuditStatus", "domain": False, "message": label.text(), "title": "Audit page"})

    audit_errors: list[str] = []

    def pick_model() -> str | None:
        names = [m.name for m in queries.list_models(ws)]
        return rng.choice(names) if names else None

    def models_step() -> None:
        window.show_page(MODELS)
        window.models_page.refresh()
        name = pick_model()
        if name:
            window.models_page.select_model(name)
        done["refreshes"] += 1

    def promote_step(tag: str) -> None:
        window.show_page(MODELS)
        name = pick_model()
        if not name or not window.models_page.select_model(name):
            return
        versions = queries.list_versions(ws, name)
        if not versions:
            return
        version = rng.choice(versions)
        stage = rng.choice([Stage.STAGING, Stage.PRODUCTION, Stage.PRODUCTION, Stage.ARCHIVED])
        dialog = window.models_page.request_stage_change(version, stage)
        dialog.reason_edit.setPlainText(f"{tag}: user-like move to {stage.value}")
        dialog.accept()  # the move runs on the window's runner; errors are shown with show_error
        done["promote_requests"] += 1
        state["busy"] = True

    def score_step(tag: str) -> None:
        name = pick_model()
        if not name:
            return
        window.open_monitoring(name)
        actions = window.monitoring_page.batch_actions
        if actions.batch_dialog is not None and actions.batch_dialog.isVisible():
            actions.batch_dialog.cancel()  # the last run's result was read: close it (the button says Close)
        dialog = actions.open_batch_dialog("score")
        if dialog is None or dialog.property("driven"):
            return  # still open from the last run (closing it did not take): nothing new to press
        dialog.setProperty("driven", True)
        dialog.input_edit.setText(args["batch"])
        dialog.label_edit.setText(tag)

        def recorded(outcome) -> None:
            done["scores_ok"].append(outcome.batch.id)
            QTimer.singleShot(100, dialog.cancel)  # the Cancel button says Close once the run is over

        def failed(_exc) -> None:
            done["score_failures"] += 1
            QTimer.singleShot(100, dialog.cancel)

        dialog.batch_recorded.connect(recorded)
        dialog.run_failed.connect(failed)
        if dialog.start() is None:
            dialog.cancel()
            return
        state["busy"], state["dialog"] = True, dialog

    def card_step(tag: str) -> None:
        name = pick_model()
        if not name:
            return

        def saved(_changes) -> None:
            done["cards_ok"].append(tag)
            window.models_page.refresh(select=name)

        def failed(exc) -> None:
            done["card_failures"] += 1
            show_error(window, exc, "Card not saved")

        window.runner.submit(set_model_card, ws, name, {"description": f"{tag}: edited in the window",
                                                        "intended_use": f"scoring ({tag})"},
                             on_success=saved, on_error=failed)
        state["busy"] = True

    def audit_step() -> None:
        window.show_page(AUDIT)
        window.audit_page.refresh()
        done["audit_fetches"] += 1
        if rng.random() < 0.3:
            window.audit_page.verify()

    deadline = None
    finished = []

    def step() -> None:
        if time.monotonic() >= deadline:
            finish()
            return
        dialog = state["dialog"]
        if state["busy"] and (window.runner.active or (dialog is not None and dialog.running)):
            timer.start(50)  # this person waits for their last action before the next one
            return
        state["busy"], state["dialog"] = False, None
        audit_status()
        state["i"] += 1
        tag = f"gui-op{state['i']}"
        roll = rng.random()
        try:
            if roll < 0.2:
                models_step()
            elif roll < 0.45:
                promote_step(tag)
            elif roll < 0.65:
                score_step(tag)
            elif roll < 0.8:
                card_step(tag)
            elif roll < 0.95:
                audit_step()
            else:
                window.show_page(rng.choice([OVERVIEW, JOBS]))
        except Exception:  # a step of the driver itself failed on the GUI thread: the app let an error through
            hooked.append(traceback.format_exc()[-3000:])
        done["steps"] += 1
        timer.start(rng.randint(100, 400))

    def finish() -> None:
        if finished:
            return
        finished.append(True)
        # Let the last action end (as a person would before closing), then close leaving the jobs running.
        runner.wait(60_000)
        qapp.processEvents()
        audit_status()
        window.close_with(CloseChoice.LEAVE)
        qapp.quit()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(step)
    _wait_for_go()
    deadline = time.monotonic() + args["seconds"]
    timer.start(0)
    qapp.exec()
    qapp.removeEventFilter(watcher)
    return {"role": "gui", "done": done, "shown": shown, "boxes": boxes, "logged": logged, "hooked": hooked}


def main() -> int:
    role, home, raw = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    try:
        result = {"cli": _cli, "gui": _gui}[role](home, raw)
    except BaseException:
        traceback.print_exc()
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
