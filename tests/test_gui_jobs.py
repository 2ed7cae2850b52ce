"""Jobs page, Retrain dialog, metrics across versions and closing with jobs running: real windows, real workers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.entities import Stage
from app.core.jobs import JobState
from app.services import jobs as job_service
from app.services.audit import AuditFilter, list_events
from app.services.queries import get_version, list_versions
from app.services.recipes import get_recipe, set_recipe
from app.services.register import register_model
from app.services.stages import promote_version
from app.ui.jobs_close import CloseChoice
from app.ui.jobs_data import active_jobs, cancel_jobs
from app.ui.jobs_model import PROGRESS_COLUMN, PROGRESS_ROLE, STATE_ROLE
from app.ui.main_window import JOBS, MODELS, MainWindow
from app.ui.models_page import ModelsPage
from app.ui.tasks import TaskRunner
from app.workers.launch import pid_alive
from tests.workers_helpers import SLOW_TREES, register_forest

SLOW = 60_000  # ms: a worker process imports scikit-learn and pandas before it reports
BUSY_TREES = 600  # a fit of a second or two: long enough for a poll to see the job mid-way


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it writes to


@pytest.fixture
def forest(workspace, tmp_path):
    register_forest(workspace, tmp_path / "data")  # 'forest' v1 in Production
    return workspace


def _settle(qtbot, ws) -> None:
    """Cancel whatever still runs and wait for its process to go: no worker outlives its test."""
    pids = [j.pid for j in active_jobs(ws) if j.pid]
    cancel_jobs(ws, [j.id for j in active_jobs(ws)])
    qtbot.waitUntil(lambda: not any(pid_alive(p) for p in pids), timeout=SLOW)


@pytest.fixture
def window(qtbot, forest, runner, tmp_path):
    window = MainWindow(forest, runner, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    yield window
    _settle(qtbot, forest)
    window.close_with(CloseChoice.LEAVE)


def _row(page, job_id: int) -> int:
    return page.model.row_of(job_id)


def _data(page, job_id: int, role, column: int = 0):
    row = _row(page, job_id)
    return page.model.index(row, column).data(role) if row >= 0 else None


def _submit(qtbot, window, name: str):
    """Retrain `name` through its dialog, as a person would; returns the queued Job."""
    dialog = window.open_retrain_dialog(name)
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=SLOW)
    with qtbot.waitSignal(dialog.job_submitted, timeout=SLOW) as submitted:
        dialog.start_button.click()
    return submitted.args[0]


def test_retrain_through_the_dialog_runs_a_worker_and_shows_the_gate(qtbot, window, forest):
    window.show_page(MODELS)
    window.models_page.select_model("forest")
    set_recipe(forest, "forest", params={"n_estimators": BUSY_TREES})
    window.models_page.details.retrain_button.click()
    dialog = window.retrain_dialog
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=SLOW)
    assert "v1 (Production)" in dialog.default_radio.text() and "RandomForestClassifier" in dialog.recipe_label.text()

    recipe_dialog = dialog.open_recipe_dialog()  # a minimum for ROC AUC; every change is audited
    recipe_dialog.min_fields["roc_auc"].set_value(0.5)
    recipe_dialog.seed_spin.setValue(7)
    with qtbot.waitSignal(recipe_dialog.recipe_saved, timeout=SLOW):
        recipe_dialog.save_button.click()
    recipe = get_recipe(forest, "forest")
    assert recipe.gate_min == {"roc_auc": 0.5} and recipe.seed == 7 and "≥ 0.5" in dialog.recipe_label.text()
    changed = list_events(forest, AuditFilter(action="recipe.changed"))[0]
    assert changed.actor == "alice" and set(changed.details["changes"]) == {"gate", "split"}

    with qtbot.waitSignal(dialog.job_submitted, timeout=SLOW) as submitted:
        dialog.start_button.click()
    job = submitted.args[0]
    page = window.jobs_page
    assert window.stack.currentIndex() == JOBS and page.selected_id() == job.id
    assert _data(page, job.id, STATE_ROLE) in ("queued", "running")

    qtbot.waitUntil(lambda: _data(page, job.id, STATE_ROLE) == "running"
                    and 0 < _data(page, job.id, PROGRESS_ROLE, PROGRESS_COLUMN) < 1, timeout=SLOW)
    qtbot.waitUntil(lambda: "Fitting RandomForestClassifier" in page.log_view.toPlainText(), timeout=SLOW)
    qtbot.waitUntil(lambda: _data(page, job.id, STATE_ROLE) == "succeeded", timeout=SLOW)
    assert page.model.seen_states[job.id] == ["queued", "running", "succeeded"]
    assert _data(page, job.id, PROGRESS_ROLE, PROGRESS_COLUMN) == 1.0
    qtbot.waitUntil(lambda: "Registered forest v2 in Staging" in page.log_view.toPlainText(), timeout=SLOW)
    assert page.log_view.toPlainText() == job_service.get_job(forest, job.id).log

    comparison = page.details.comparison
    qtbot.waitUntil(comparison.isVisible, timeout=SLOW)
    stored = get_version(forest, "forest", 2).evaluation["gate"]["criteria"]
    shown = comparison.criteria_shown()
    assert [(c, m) for c, m, _mark in shown] == [(c["criterion"], c["metric"]) for c in stored]
    assert [mark.startswith("✓") for _c, _m, mark in shown] == [c["passed"] for c in stored]
    assert ("min", "roc_auc") in [(c, m) for c, m, _mark in shown]
    assert comparison.chart.values["challenger"] == [get_version(forest, "forest", 2).metrics[m]
                                                     for m in comparison.chart.metrics]

    comparison.show_button.click()  # the Models page reloads as it comes up: the challenger is there
    assert window.stack.currentIndex() == MODELS
    shown = window.models_page.details.current_version()
    assert (shown.model_name, shown.number, shown.stage) == ("forest", 2, Stage.STAGING)
    assert [v.number for v in window.models_page.details.versions.records()] == [2, 1]
    qtbot.waitUntil(lambda: "0 running · 0 queued" in window.overview_page.jobs_label.text(), timeout=SLOW)


def test_cancel_from_the_page_stops_the_worker_and_registers_nothing(qtbot, window, forest):
    set_recipe(forest, "forest", params={"n_estimators": SLOW_TREES})
    job = _submit(qtbot, window, "forest")
    page = window.jobs_page
    qtbot.waitUntil(lambda: (page.model.job(job.id) or job).message.startswith("Fitting"), timeout=SLOW)
    pid = job_service.get_job(forest, job.id).pid
    box = page.request_cancel()
    assert isinstance(box, QMessageBox) and box.isVisible()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: _data(page, job.id, STATE_ROLE) == "cancelled", timeout=SLOW)
    qtbot.waitUntil(lambda: not pid_alive(pid), timeout=SLOW)
    assert [v.number for v in list_versions(forest, "forest")] == [1]
    done = job_service.get_job(forest, job.id)
    assert done.state is JobState.CANCELLED and done.cancel_requested_by == "alice"
    assert not page.cancel_button.isEnabled() and "nothing was registered" in page.details.waiting_label.text()


def test_the_metrics_chart_draws_every_versions_metrics(qtbot, workspace, classifier_files, runner, tmp_path):
    from conftest import _write_classifier

    register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target")
    for i, c in enumerate((0.01, 0.2)):
        other = _write_classifier(tmp_path / f"v{i + 2}", c=c)
        register_model(workspace, "cancer", other.model, other.train, "target", test_data=other.test)
    promote_version(workspace, "cancer", 2, "production", "best recall")
    page = ModelsPage(workspace, runner)
    qtbot.addWidget(page)
    page.show()
    page.select_model("cancer")
    chart = page.details.metrics_panel.chart
    versions = sorted(list_versions(workspace, "cancer"), key=lambda v: v.number)
    assert set(chart.curves) == set(versions[0].metrics) == {"accuracy", "f1", "roc_auc"}
    for name, curve in chart.curves.items():
        xs, ys = curve.getData()
        assert list(xs) == [1, 2, 3]
        assert list(ys) == pytest.approx([v.metrics[name] for v in versions])
    ring_x, ring_y = chart.production_points.getData()
    assert set(ring_x) == {2.0}
    assert sorted(ring_y) == pytest.approx(sorted(versions[1].metrics[m] for m in chart.curves))
    assert chart.production_band.isVisible() and chart.production_band.getRegion()[0] < 2 < \
        chart.production_band.getRegion()[1]


def _running(qtbot, window, ws, trees: int):
    set_recipe(ws, "forest", params={"n_estimators": trees})
    job = job_service.get_job(ws, job_service.submit_retrain(ws, "forest"))
    window.watcher.watch(job.id)
    window.watcher.poke()  # the window's job timer starts it, as it would any queued job
    qtbot.waitUntil(lambda: bool((j := job_service.get_job(ws, job.id, with_log=False)).state is JobState.RUNNING
                                 and j.pid and j.message.startswith("Fitting")), timeout=SLOW)
    return job_service.get_job(ws, job.id, with_log=False)


def test_closing_with_a_running_job_cancel_them_cancels_it_first(qtbot, window, forest):
    job = _running(qtbot, window, forest, SLOW_TREES)
    assert window.close_with(CloseChoice.STAY) is False and window.isVisible()
    assert window.close_with(CloseChoice.CANCEL_JOBS) is False  # not yet: the cancel runs in the background
    assert window.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=SLOW)
    assert job_service.get_job(forest, job.id).state is JobState.CANCELLED
    qtbot.waitUntil(lambda: not pid_alive(job.pid), timeout=SLOW)
    assert [v.number for v in list_versions(forest, "forest")] == [1]


def test_closing_with_a_running_job_leave_them_closes_without_touching_it(qtbot, window, forest):
    job = _running(qtbot, window, forest, SLOW_TREES)
    assert window.close_with(CloseChoice.LEAVE) is True and not window.isVisible()
    after = job_service.get_job(forest, job.id, with_log=False)
    assert after.state is JobState.RUNNING and not after.cancel_requested and pid_alive(job.pid)
    # the fixture's teardown cancels it, so no worker outlives the test


def test_closing_and_waiting_closes_when_the_job_ends(qtbot, window, forest):
    job = _running(qtbot, window, forest, BUSY_TREES)
    assert window.close_with(CloseChoice.WAIT) is False
    dialog = window.close_guard.progress_dialog
    assert dialog is not None and dialog.isVisible() and f"#{job.id}" in dialog.labelText()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=SLOW)
    assert job_service.get_job(forest, job.id).state is JobState.SUCCEEDED
