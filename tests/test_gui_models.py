"""The Models page, its dialogs and the main window, driven through real widgets on a real workspace."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.entities import Stage
from app.services import queries
from app.services.audit import AuditFilter, list_events
from app.services.register import ModelCard, register_model
from app.services.stages import promote_version
from app.ui.main_window import AUDIT, JOBS, MODELS, MONITORING, MainWindow
from app.ui.models_page import ModelsPage
from app.ui.tasks import TaskRunner

SLOW = 60_000  # ms: the first registration imports scikit-learn


class _CreatesFile:
    """Unpickling this calls open(marker, 'w'): the file appears only if the pickle is ever loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it writes to


@pytest.fixture
def page(qtbot, workspace, runner):
    page = ModelsPage(workspace, runner)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


@pytest.fixture
def window(qtbot, workspace, runner, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(workspace, runner, settings)
    qtbot.addWidget(window)
    window.show()
    return window


def _register(ws, files, name: str, **card) -> None:
    register_model(ws, name, files.model, files.train, files.target, test_data=files.test,
                   card=ModelCard(**card))


def _table_names(page: ModelsPage) -> list[str]:
    return [page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount())]


def _fill_dialog(qtbot, dialog, name: str, model: Path, train: Path) -> None:
    qtbot.keyClicks(dialog.name_combo.lineEdit(), name)
    dialog.model_edit.setText(str(model))
    dialog.train_edit.setText(str(train))
    with qtbot.waitSignal(dialog.columns_loaded, timeout=SLOW):
        dialog.train_edit.editingFinished.emit()


def _accept_reason(qtbot, page: ModelsPage, reason: str) -> None:
    dialog = page.reason_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.reason_edit.setPlainText(reason)
    with qtbot.waitSignal(page.stage_changed, timeout=SLOW):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_register_through_the_dialog(qtbot, page, workspace, classifier_files):
    assert page.body.currentIndex() == 0  # the empty state, not an empty table
    dialog = page.open_register_dialog()
    _fill_dialog(qtbot, dialog, "cancer-screen", classifier_files.model, classifier_files.train)
    columns = [dialog.target_combo.itemText(i) for i in range(dialog.target_combo.count())]
    assert columns == [*classifier_files.features, "target"]
    dialog.target_combo.setCurrentIndex(columns.index("target"))
    dialog.test_edit.setText(str(classifier_files.test))
    dialog.description_edit.setPlainText("Flags samples for review.")
    dialog.owner_edit.setText("maria")
    dialog.risk_combo.setCurrentText("High")
    dialog.tags_edit.setText("health, triage")
    dialog.note_edit.setText("first cut")

    with qtbot.waitSignal(dialog.registered, timeout=SLOW) as blocker:
        qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    version = blocker.args[0]
    assert (version.model_name, version.number, version.stage) == ("cancer-screen", 1, Stage.NONE)
    qtbot.waitUntil(lambda: not dialog.isVisible())

    assert _table_names(page) == ["cancer-screen"]
    assert page.selected_name() == "cancer-screen"
    assert page.details.current_version().number == 1
    model = queries.get_model(workspace, "cancer-screen")
    assert (model.owner, model.risk_tier.value, model.tags) == ("maria", "high", ("health", "triage"))
    stored = queries.get_version(workspace, "cancer-screen", 1)
    assert stored.note == "first cut" and stored.test_dataset_sha256 is not None


def test_an_existing_name_adds_a_version_and_keeps_the_card(qtbot, page, workspace, classifier_files):
    _register(workspace, classifier_files, "cancer-screen", owner="maria")
    page.refresh()
    dialog = page.open_register_dialog()
    _fill_dialog(qtbot, dialog, "cancer-screen", classifier_files.model, classifier_files.train)
    assert not dialog.owner_edit.isEnabled()
    assert "version 2" in dialog.card_hint.text()
    with qtbot.waitSignal(dialog.registered, timeout=SLOW) as blocker:
        dialog.submit()
    assert blocker.args[0].number == 2
    assert page.details.versions.rowCount() == 2


def test_untrusted_pickle_declined_registers_nothing_and_never_loads(
        qtbot, page, workspace, classifier_files, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_CreatesFile(marker)))
    dialog = page.open_register_dialog()
    _fill_dialog(qtbot, dialog, "evil", evil, classifier_files.train)

    with qtbot.waitSignal(dialog.trust_asked, timeout=SLOW) as asked:
        qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    box: QMessageBox = asked.args[0]
    assert "open" in box.informativeText()  # the offending global is named
    assert "Trust this file and register anyway?" in box.informativeText()
    assert box.defaultButton().text() == "Don't register"
    with qtbot.waitSignal(dialog.registration_failed, timeout=SLOW):
        qtbot.mouseClick(box.defaultButton(), Qt.MouseButton.LeftButton)

    assert dialog.isVisible() and "not trusted" in dialog.status_label.text()
    assert queries.workspace_is_empty(workspace)
    assert not marker.exists()
    assert list_events(workspace, AuditFilter(action="version.registered")) == []


def test_inline_validation_names_each_missing_field(qtbot, page, tmp_path):
    dialog = page.open_register_dialog()
    assert dialog.submit() is False
    for label in (dialog.name_error, dialog.model_error, dialog.train_error):
        assert label.isVisible() and label.text().startswith(("Give", "Choose"))
    assert not dialog.target_error.isVisible()  # the target waits for the training data
    assert page.runner.active == 0  # nothing was started

    dialog.name_combo.lineEdit().setText("bad\tname")  # a control character cannot be part of a name
    assert dialog.submit() is False
    assert "not a usable model name" in dialog.name_error.text()

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("caf\xe9,target\n1,0\n".encode("latin-1"))
    dialog.train_edit.setText(str(latin1))
    dialog.load_columns()
    qtbot.waitUntil(lambda: dialog.train_error.isVisible(), timeout=SLOW)
    assert "UTF-8" in dialog.train_error.text()
    assert dialog.target_combo.count() == 0


def test_a_file_that_is_not_a_model_is_reported_in_the_dialog(qtbot, page, workspace, classifier_files, tmp_path):
    fake = tmp_path / "notes.joblib"
    fake.write_text("just some text, not a pickle")
    dialog = page.open_register_dialog()
    _fill_dialog(qtbot, dialog, "fake", fake, classifier_files.train)
    with qtbot.waitSignal(dialog.registration_failed, timeout=SLOW):
        dialog.submit()
    assert dialog.form_error.isVisible()
    assert "not a model file" in dialog.form_error.text()
    assert "Traceback" not in dialog.form_error.text()
    assert dialog.register_button.isEnabled() and dialog.isVisible()
    assert queries.workspace_is_empty(workspace)


def test_promote_archive_and_roll_back_through_the_page(qtbot, page, workspace, classifier_files):
    _register(workspace, classifier_files, "churn")
    _register(workspace, classifier_files, "churn")
    page.refresh(select="churn", version=1)
    details = page.details
    assert details.current_version().number == 1

    qtbot.mouseClick(details.staging_button, Qt.MouseButton.LeftButton)
    _accept_reason(qtbot, page, "validation pack submitted")
    assert page.selected_name() == "churn" and details.current_version().number == 1  # selection kept
    assert details.current_version().stage is Stage.STAGING

    qtbot.mouseClick(details.production_button, Qt.MouseButton.LeftButton)
    _accept_reason(qtbot, page, "approved by risk")
    details.select_version(2)
    qtbot.mouseClick(details.production_button, Qt.MouseButton.LeftButton)
    assert "Version 1, now in Production, will be archived." in page.reason_dialog.explanation_label.text()
    _accept_reason(qtbot, page, "better recall")
    assert details.current_version().number == 2

    details.select_version(1)
    assert details.current_version().stage is Stage.ARCHIVED
    assert details.production_button.text() == "Roll back to this version"
    qtbot.mouseClick(details.production_button, Qt.MouseButton.LeftButton)
    _accept_reason(qtbot, page, "v2 misbehaves")

    moves = [details.history_model.index(r, 2).data() for r in range(details.history_model.rowCount())]
    reasons = [details.history_model.index(r, 4).data() for r in range(details.history_model.rowCount())]
    # Newest first; a promotion to Production is listed above the archiving it caused.
    assert moves == ["Archived → Production", "Production → Archived", "— → Production",
                     "Production → Archived", "Staging → Production", "— → Staging"]
    assert reasons[0] == "v2 misbehaves" and reasons[1] == "replaced in production by version 1"
    assert reasons[-1] == "validation pack submitted"
    assert [v.stage for v in queries.list_versions(workspace, "churn")] == [Stage.ARCHIVED, Stage.PRODUCTION]
    assert page.proxy.index(0, 1).data() == "v1"  # the table's Production column followed


def test_an_empty_reason_is_refused(qtbot, page, workspace, classifier_files):
    _register(workspace, classifier_files, "churn")
    page.refresh()
    qtbot.mouseClick(page.details.production_button, Qt.MouseButton.LeftButton)
    dialog = page.reason_dialog
    dialog.reason_edit.setPlainText("   ")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error_label.isVisible() and "reason" in dialog.error_label.text()
    dialog.reject()
    assert queries.stage_history(workspace, "churn") == []
    assert page.runner.active == 0


def test_a_domain_error_is_shown_as_a_message_not_raised(qtbot, page, workspace, classifier_files):
    _register(workspace, classifier_files, "churn")
    page.refresh()
    # Someone else moves the version meanwhile; this page still shows it without a stage.
    promote_version(workspace, "churn", 1, "staging", "from the CLI")
    assert page.details.staging_button.isEnabled()
    qtbot.mouseClick(page.details.staging_button, Qt.MouseButton.LeftButton)
    page.reason_dialog.reason_edit.setPlainText("me too")
    qtbot.mouseClick(page.reason_dialog.ok_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: page.last_error is not None and page.last_error.isVisible(), timeout=SLOW)
    box = page.last_error
    assert "already in Staging" in box.text()
    assert "Traceback" not in box.text() + box.informativeText()
    assert page.details.current_version().stage is Stage.STAGING  # the page caught up with the change
    box.accept()


def test_search_narrows_the_table(qtbot, page, workspace, classifier_files, regressor_files):
    _register(workspace, classifier_files, "churn-classifier", owner="priya", tags=("marketing",))
    _register(workspace, regressor_files, "house-prices", owner="james")
    page.refresh()
    assert _table_names(page) == ["churn-classifier", "house-prices"]
    qtbot.keyClicks(page.search_edit, "churn")
    assert _table_names(page) == ["churn-classifier"]
    assert page.count_label.text() == "1 of 2 models"
    page.search_edit.setText("JAMES")
    assert _table_names(page) == ["house-prices"]
    page.search_edit.setText("marketing")
    assert _table_names(page) == ["churn-classifier"]
    page.search_edit.setText("nobody")
    assert _table_names(page) == []
    page.search_edit.clear()
    assert len(_table_names(page)) == 2


def _drop(widget, *paths: Path) -> bool:
    """Drag `paths` over `widget` and drop them; returns whether the drag was accepted.

    The handlers are called directly: QApplication only routes drop events that come from a
    real drag session, which the offscreen platform cannot start.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with warnings.catch_warnings():  # PySide marks the only QDragEnterEvent constructor it offers as deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(20, 20), *args)
    enter.ignore()
    widget.dragEnterEvent(enter)
    if enter.isAccepted():
        widget.dropEvent(QDropEvent(QPointF(20, 20), *args))
    return enter.isAccepted()


def test_dropping_a_model_file_opens_the_register_dialog_prefilled(qtbot, page, window, classifier_files):
    assert not _drop(page, classifier_files.train)  # a CSV alone is not a model: refused
    assert page.register_dialog is None
    assert _drop(page, classifier_files.model)
    dialog = page.register_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.model_edit.text() == str(classifier_files.model)
    dialog.reject()

    window.show_page(AUDIT)
    assert _drop(window, classifier_files.model)
    assert window.stack.currentIndex() == MODELS
    assert window.models_page.register_dialog.model_edit.text() == str(classifier_files.model)
    window.models_page.register_dialog.reject()


def test_main_window_pages_shortcuts_title_and_theme(qtbot, window, workspace, tmp_path):
    assert workspace.root.name in window.windowTitle()
    assert str(workspace.root) in window.path_label.text()
    for index in (MONITORING, JOBS, AUDIT, MODELS):
        window.page_actions[index].trigger()
        assert window.stack.currentIndex() == index
    assert window.page_actions[JOBS].shortcut().toString() == "Ctrl+3"
    window.show_page(MONITORING)
    qtbot.waitUntil(lambda: "drift" in window.monitoring_page.empty_label.text().lower())
    window.search_action.trigger()
    assert window.stack.currentIndex() == MODELS

    window.set_theme("dark")
    assert window.settings.value("view/theme") == "dark"
    assert QApplication.instance().property("steward_theme") == "dark"
    window.set_theme("light")

    window.register_action.trigger()
    assert window.models_page.register_dialog.isVisible()
    window.models_page.register_dialog.reject()


def test_open_workspace_switches_folders(qtbot, window, workspace, classifier_files, tmp_path):
    _register(workspace, classifier_files, "kept-here")
    window.models_page.refresh()
    other = tmp_path / "other-team"
    with qtbot.waitSignal(window.workspace_changed, timeout=SLOW):
        window.open_workspace_folder(other)
    assert window.ws.root == other.resolve()
    assert "other-team" in window.windowTitle()
    assert window.models_page.source.rowCount() == 0  # the new, empty workspace
    assert window.settings.value("workspace/last") == str(other.resolve())
    assert window.first_run_dialog.isVisible()  # an empty workspace offers the demo again
    window.first_run_dialog.reject()


def test_busy_indicator_follows_the_runner(qtbot, window):
    # Other pages start their own loads at any time, so the runner's signal is driven directly.
    window.runner.busy_changed.emit(True)
    assert window.busy_bar.isVisible() and window.busy_label.text() == "Working…"
    window.runner.busy_changed.emit(False)
    assert not window.busy_bar.isVisible()


def test_first_run_offers_the_demo_and_start_empty_leaves_it_empty(qtbot, window, workspace):
    window.offer_demo_if_empty()
    dialog = window.first_run_dialog
    assert dialog.isVisible()
    qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and window.demo_loader is None
    assert queries.workspace_is_empty(workspace)


@pytest.mark.slow
def test_first_run_loads_the_demo_in_the_background(qtbot, window, workspace):
    window.offer_demo_if_empty()
    with qtbot.waitSignal(window.demo_loaded, timeout=180_000):
        qtbot.mouseClick(window.first_run_dialog.demo_button, Qt.MouseButton.LeftButton)
    assert window.models_page.source.rowCount() >= 3
    assert not window.demo_loader.dialog.isVisible()
    assert window.models_page.details.history_model.rowCount() > 0
