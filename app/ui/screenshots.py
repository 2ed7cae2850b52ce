"""`python -m app.ui.screenshots --out DIR`: the real window on a demo workspace, saved as PNGs."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _pump(ms: int) -> None:
    """Let the event loop run (layout, paint, queued task results) for `ms` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _wait_idle(runner, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while runner.active and time.monotonic() < deadline:
        _pump(50)
    _pump(300)  # results delivered; give the views one more round of layout and paint


def _save(widget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="resources/screenshots", help="folder for the PNG files")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--size", default="1400x900", help="window size, WxH")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.theme == "light" else f"-{args.theme}"

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.settings import WorkspacePaths
    from app.services import queries
    from app.services.demo import create_demo
    from app.store.workspace import open_workspace
    from app.ui import theme
    from app.ui.main_window import AUDIT, MODELS, OVERVIEW, MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="steward-shots-"))
    try:
        ws = open_workspace(WorkspacePaths(tmp / "workspace"))
        create_demo(ws, progress=lambda f, m: print(f"  demo {f:4.0%} {m}", file=sys.stderr))
        app = QApplication.instance() or QApplication([sys.argv[0]])
        app.setApplicationName("Model Steward")
        app.setOrganizationName("ModelSteward")
        theme.apply_theme(args.theme)
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(ws, settings=settings)
        window.resize(width, height)
        window.show()
        _wait_idle(window.runner)
        window.show_page(OVERVIEW)  # the page the app opens on, with the audit log just verified
        window.overview_page.verify_button.click()
        _wait_idle(window.runner)
        _save(window, out / f"overview{suffix}.png")

        window.show_page(MODELS)
        # The model with the longest stage history shows the most of the details pane.
        name = max((m.name for m in queries.list_models(ws)), key=lambda n: len(queries.stage_history(ws, n)))
        window.models_page.select_model(name)
        _wait_idle(window.runner)
        _save(window, out / f"models{suffix}.png")

        window.open_monitoring(_MONITORED)
        _wait_idle(window.runner)
        _point_at_latest(window.monitoring_page)
        _save(window, out / f"monitoring{suffix}.png")

        window.show_page(AUDIT)
        _wait_idle(window.runner)
        _show_audit_detail(window.audit_page, ws)
        _wait_idle(window.runner)
        _save(window, out / f"audit{suffix}.png")

        window.show_page(MODELS)
        model_file, train_file = _sample_files(ws, name, tmp)
        dialog = window.models_page.open_register_dialog(model_file=model_file, model_name=name)
        dialog.train_edit.setText(str(train_file))
        dialog.note_edit.setText("Retrained on the October extract.")
        dialog.load_columns()
        _wait_idle(window.runner)
        dialog.target_combo.setCurrentText(queries.get_version(ws, name).target)
        _save(dialog, out / f"register{suffix}.png")
        dialog.reject()

        _report_shot(window, out, suffix)
        _retrain_shots(window, ws, out, suffix)
        window.close()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_MONITORED = "customer-churn"  # the demo model whose weekly batches drift


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        _pump(100)
    return predicate()


def _report_shot(window, out: Path, suffix: str) -> None:
    """File ▸ Export report… on the whole demo inventory, once the export is done (into the temporary workspace)."""
    dialog = window.open_report_dialog()
    dialog.choices.all_radio.setChecked(True)
    dialog.choices.prepared_for_edit.setText("Internal Audit")
    dialog.start()
    if not _wait_for(lambda: not dialog.running, 120):
        print("warning: the report export did not finish in time", file=sys.stderr)
    _pump(300)
    _save(dialog, out / f"report{suffix}.png")
    dialog.reject()


def _retrain_shots(window, ws, out: Path, suffix: str) -> None:
    """Retrain one model to the end while a slower retrain of another runs, and show the finished one."""
    from app.services.recipes import set_recipe
    from app.services.settings import set_settings
    from app.ui.jobs_close import CloseChoice
    from app.ui.jobs_data import active_jobs, cancel_jobs
    from app.ui.main_window import MODELS

    set_settings(ws, "workers", {"max_jobs": 2})  # both at once, whatever the machine's cores
    set_recipe(ws, _MONITORED, gate_min={"roc_auc": 0.8}, seed=7)  # another split than the demo's own retrain
    set_recipe(ws, _SLOW, params={"n_estimators": 20_000})  # still fitting when the shot is taken
    window.show_page(MODELS)
    window.models_page.select_model(_MONITORED)
    submitted: list = []

    def start(name: str, shot: str | None = None) -> int | None:
        dialog = window.open_retrain_dialog(name)
        dialog.job_submitted.connect(submitted.append)
        _wait_for(dialog.start_button.isEnabled, 60)
        if shot:
            _pump(300)
            _save(dialog, out / shot)
        count = len(submitted)
        dialog.start_button.click()
        return submitted[-1].id if _wait_for(lambda: len(submitted) > count, 60) else None

    first = start(_MONITORED, f"retrain{suffix}.png")
    second = start(_SLOW)
    page = window.jobs_page

    def ready() -> bool:
        done, running = page.model.job(first), page.model.job(second)
        return bool(done and done.state.finished and running and running.message.startswith("Fitting"))

    if first is None or second is None or not _wait_for(ready, 240):
        print("warning: the retrain jobs did not reach the expected states in time", file=sys.stderr)
    page.select_job(first)
    _wait_for(lambda: page.details.comparison.isVisible(), 30)
    _wait_idle(window.runner)
    _save(window, out / f"jobs{suffix}.png")
    cancel_jobs(ws, [j.id for j in active_jobs(ws)])  # no worker outlives the script
    window.close_with(CloseChoice.LEAVE)


_SLOW = "breast-cancer-screening"  # a random forest in Production: more trees fit for as long as needed


def _point_at_latest(page) -> None:
    """Hover the most drifted line's latest point, so the shot shows the read-out a person gets."""
    from PySide6.QtCore import QPointF

    chart = page.over_time.chart
    if not chart.curves:
        return
    name = page.batch_drift.bars.names[0] if page.batch_drift.bars.names else next(iter(chart.curves))
    xs, ys = chart.curves[name].getData()
    if xs is None or not len(xs):
        return
    chart.scene().sigMouseMoved.emit(chart.getPlotItem().vb.mapViewToScene(QPointF(xs[-1], ys[-1])))
    _pump(200)


def _show_audit_detail(page, ws) -> None:
    """Verify the chain and open the latest stage change, so the shot shows what the page is for."""
    from app.services.audit import AuditFilter, list_events

    if hasattr(page, "verify"):
        page.verify()
    latest = list_events(ws, AuditFilter(action="version.stage_changed"), limit=1)
    if latest and hasattr(page, "go_to_event"):
        page.go_to_event(latest[0].seq)


def _sample_files(ws, name: str, folder: Path) -> tuple[Path, Path]:
    """Copies of a stored model and its training data under readable names, for the dialog."""
    from app.services import queries

    version = queries.get_version(ws, name)
    dataset = queries.get_dataset(ws, version.train_dataset_sha256)
    model_file = folder / f"{name}-retrained.joblib"
    train_file = folder / f"{Path(dataset.name).stem}-october.csv"
    ws.artifacts.export(version.artifact_sha256, model_file)
    ws.artifacts.export(version.train_dataset_sha256, train_file)
    return model_file, train_file


if __name__ == "__main__":
    raise SystemExit(main())
