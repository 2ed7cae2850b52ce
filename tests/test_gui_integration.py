"""The main window's integrations: Approvals in the sidebar, policy-aware promotion, the Shadow tab, Reproduce."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from app.core.entities import Stage
from app.core.jobs import JobState
from app.services.approvals import list_approvals
from app.services.jobs import get_job
from app.services.queries import get_version
from app.services.register import register_model
from app.services.settings import set_settings
from app.services.stages import promote
from app.ui.jobs_close import CloseChoice
from app.ui.jobs_data import active_jobs, cancel_jobs
from app.ui.main_window import APPROVALS, AUDIT, JOBS, MODELS, MONITORING, MainWindow
from app.ui.monitoring_page import SHADOW_TAB
from app.ui.tasks import TaskRunner
from app.workers.launch import pid_alive

SLOW = 60_000  # ms: background calls import scikit-learn; a worker process does so again
JOB_TIMEOUT = 180_000  # ms: a reproduction refits the model in its own process
MODEL = "cancer"


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it writes to


@pytest.fixture
def registered(workspace, classifier_files):
    f = classifier_files
    register_model(workspace, MODEL, f.model, f.train, f.target, test_data=f.test)
    return workspace


@pytest.fixture
def guarded(registered):
    set_settings(registered, "policy", {"separation_of_duties": 1})
    return registered


def _window(qtbot, ws, runner, tmp_path) -> MainWindow:
    window = MainWindow(ws, runner, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    return window


def _close(qtbot, window: MainWindow, ws) -> None:
    """Cancel whatever still runs and wait for its process to go: no worker outlives its test."""
    pids = [j.pid for j in active_jobs(ws) if j.pid]
    cancel_jobs(ws, [j.id for j in active_jobs(ws)])
    qtbot.waitUntil(lambda: not any(pid_alive(p) for p in pids), timeout=SLOW)
    window.close_with(CloseChoice.LEAVE)


def _sidebar_text(window: MainWindow, row: int) -> str:
    return window.sidebar.item(row).text()


def test_shortcuts_keep_their_pages_and_approvals_takes_the_next(qtbot, registered, runner, tmp_path):
    window = _window(qtbot, registered, runner, tmp_path)
    shortcuts = {i: a.shortcut().toString() for i, a in enumerate(window.page_actions)}
    assert shortcuts[JOBS] == "Ctrl+3" and shortcuts[AUDIT] == "Ctrl+4" and shortcuts[APPROVALS] == "Ctrl+5"
    assert [_sidebar_text(window, r) for r in (JOBS, APPROVALS, AUDIT)] == ["Jobs", "Approvals", "Audit"]
    window.page_actions[APPROVALS].trigger()
    assert window.current_page() is window.approvals_page
    window.set_theme("dark")  # every page with apply_theme follows
    window.set_theme("light")
    _close(qtbot, window, registered)


def test_the_sidebar_counts_pending_requests(qtbot, guarded, runner, tmp_path):
    promote(guarded, MODEL, 1, "production", "go live", actor="bob")  # made elsewhere before the window opened
    window = _window(qtbot, guarded, runner, tmp_path)
    qtbot.waitUntil(lambda: _sidebar_text(window, APPROVALS) == "Approvals (1)", timeout=SLOW)
    window.show_page(APPROVALS)
    qtbot.waitUntil(lambda: window.approvals_page.model.rowCount() == 1, timeout=SLOW)
    _close(qtbot, window, guarded)


def test_promoting_on_the_models_page_under_separation_of_duties_requests_approval(
        qtbot, guarded, runner, tmp_path):
    window = _window(qtbot, guarded, runner, tmp_path)
    window.show_page(MODELS)
    page = window.models_page
    page.select_model(MODEL, 1)
    qtbot.mouseClick(page.details.production_button, Qt.MouseButton.LeftButton)
    page.reason_dialog.reason_edit.setPlainText("validated by risk")
    with qtbot.waitSignal(page.promotion_requested, timeout=SLOW) as requested:
        qtbot.mouseClick(page.reason_dialog.ok_button, Qt.MouseButton.LeftButton)
    assert requested.args[0].pending
    box = page.findChild(QMessageBox, "PromotionRequestedBox")
    assert box is not None and box.isVisible() and box.text().startswith("Promotion requested")
    box.accept()

    assert get_version(guarded, MODEL, 1).stage is Stage.NONE  # nothing moved
    assert page.details.current_version().stage is Stage.NONE  # and the page says so after its refresh
    [approval] = list_approvals(guarded)
    assert (approval.model_name, approval.version, approval.requested_by) == (MODEL, 1, "alice")
    qtbot.waitUntil(lambda: _sidebar_text(window, APPROVALS) == "Approvals (1)", timeout=SLOW)
    _close(qtbot, window, guarded)


def test_the_monitoring_page_has_a_shadow_tab_for_the_chosen_model(qtbot, registered, runner, tmp_path):
    window = _window(qtbot, registered, runner, tmp_path)
    window.show_page(MONITORING)
    monitoring = window.monitoring_page
    assert monitoring.time_tabs.tabText(SHADOW_TAB) == "Shadow"
    assert monitoring.time_tabs.widget(SHADOW_TAB).widget() is monitoring.shadow_panel
    qtbot.waitUntil(lambda: monitoring.shadow_panel.name == MODEL, timeout=SLOW)
    qtbot.waitUntil(lambda: monitoring.shadow_panel.view is not None, timeout=SLOW)
    assert monitoring.shadow_panel.view.name == MODEL
    _close(qtbot, window, registered)


def test_reproduce_queues_a_job_shows_it_and_the_metrics_match(qtbot, registered, runner, tmp_path):
    window = _window(qtbot, registered, runner, tmp_path)
    window.show_page(MODELS)
    page = window.models_page
    page.select_model(MODEL, 1)
    assert page.details.reproduce_button.isEnabled()
    with qtbot.waitSignal(page.job_submitted, timeout=SLOW) as submitted:
        qtbot.mouseClick(page.details.reproduce_button, Qt.MouseButton.LeftButton)
    job = submitted.args[0]
    assert job.kind == "reproduce" and job.params["model"] == MODEL and job.params["version"] == 1
    assert window.stack.currentIndex() == JOBS and window.jobs_page.selected_id() == job.id

    qtbot.waitUntil(lambda: get_job(registered, job.id, with_log=False).state.finished, timeout=JOB_TIMEOUT)
    done = get_job(registered, job.id)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result["match"] is True and "reproduced exactly" in done.result["summary"]
    _close(qtbot, window, registered)


def test_the_window_pulse_fires_a_due_schedule_once(workspace, classifier_files):
    """While the app runs, its job timer is the scheduler: a due cron schedule submits one retrain."""
    from datetime import UTC, datetime, timedelta

    from app.services.jobs import cancel_job, list_jobs
    from app.services.register import register_model
    from app.services.schedules import set_schedule
    from app.services.stages import promote_version
    from app.ui.jobs_data import pulse

    files = classifier_files
    register_model(workspace, "cancer", files.model, files.train, "target", test_data=files.test)
    promote_version(workspace, "cancer", 1, "production", "go live")
    set_schedule(workspace, "cancer", cron="0 6 * * 1", now=datetime.now(UTC) - timedelta(days=8))
    pulse(workspace)
    pulse(workspace)  # a second tick must not fire the same due run again
    jobs = [j for j in list_jobs(workspace, limit=None) if j.kind == "retrain"]
    assert len(jobs) == 1 and jobs[0].model_name == "cancer"
    for job in jobs:
        cancel_job(workspace, job.id)
