"""Export report dialog, File ▸ Export report…, and the Audit page's "Verify checkpoint…", on real workspaces."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QDate, QSettings, Qt, QUrl  # noqa: E402

from app.services.audit import AuditFilter, list_events  # noqa: E402
from app.services.register import ModelCard, register_model  # noqa: E402
from app.services.report_data import ReportScope  # noqa: E402
from app.services.reports import export_report, verify_report  # noqa: E402
from app.services.stages import promote_version  # noqa: E402
from app.ui.audit_page import AuditPage  # noqa: E402
from app.ui.main_window import AUDIT, MODELS, MainWindow  # noqa: E402
from app.ui.report_choices import period_bounds  # noqa: E402
from app.ui.report_dialog import ExportReportDialog  # noqa: E402
from app.ui.tasks import TaskRunner  # noqa: E402
from tests._store_helpers import drop_append_only_triggers  # noqa: E402

SLOW = 120_000  # ms: the first export imports the renderers; the PDF takes a few seconds


@pytest.fixture
def runner(qtbot):
    tasks = TaskRunner()
    yield tasks
    tasks.wait(SLOW)  # no export may outlive the workspace it writes to


@pytest.fixture
def ws(workspace, classifier_files):
    """Two models, one of them in Production with a reason."""
    for name in ("credit-risk", "churn"):
        register_model(workspace, name, classifier_files.model, classifier_files.train, classifier_files.target,
                       test_data=classifier_files.test,
                       card=ModelCard(description=f"{name} model", owner="alice", risk_tier="medium"))
    promote_version(workspace, "credit-risk", 1, "production", "Validated on the holdout")
    return workspace


def exported_events(ws):
    return list_events(ws, AuditFilter(action="report.exported"))


def make_dialog(qtbot, ws, runner, folder, model=None) -> ExportReportDialog:
    dialog = ExportReportDialog(ws, runner, model)
    qtbot.addWidget(dialog)
    dialog.choices.folder_edit.setText(str(folder))
    dialog.show()
    return dialog


def export(qtbot, dialog: ExportReportDialog):
    """Click Export and wait for the run to end; a failure fails the test with what the dialog says."""
    dialog.export_button.click()
    assert dialog.running and not dialog.export_button.isEnabled() and dialog.progress_bar.isVisible()
    qtbot.waitUntil(lambda: not dialog.running, timeout=SLOW)
    assert dialog.result is not None, dialog.error_box.text()
    return dialog.result


def test_export_writes_every_format_records_the_event_and_shows_the_result(qtbot, ws, runner, tmp_path):
    out = tmp_path / "out"
    dialog = make_dialog(qtbot, ws, runner, out)
    assert dialog.choices.all_radio.isChecked() and dialog.choices.formats() == ["pdf", "html", "json"]
    fresh = ExportReportDialog(ws, runner)
    qtbot.addWidget(fresh)
    assert fresh.choices.folder_edit.text() == str(ws.paths.reports)  # the default folder

    result = export(qtbot, dialog)

    assert set(result.files) == {"pdf", "html", "json"}
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{result.report_id}.{f}" for f in ("html", "json", "pdf"))
    assert all(p.stat().st_size > 0 for p in result.files.values())
    assert result.files["pdf"].read_bytes().startswith(b"%PDF")
    events = exported_events(ws)
    assert [e.details["report_id"] for e in events] == [result.report_id]
    # the done state: id, gaps, checkpoint, and what the buttons would open
    assert dialog.done_frame.isVisible() and not dialog.progress_bar.isVisible()
    text = dialog.done_label.text()
    assert result.report_id in text and result.checkpoint.root[:16] in text
    assert f"{result.checkpoint.events:,} events" in text
    assert (f"{result.gaps} gap(s)" if result.gaps else "No gaps") in text
    assert dialog.cancel_button.text() == "Close" and dialog.export_button.isEnabled()
    assert dialog.report_url() == QUrl.fromLocalFile(str(result.files["pdf"]))
    assert dialog.folder_url() == QUrl.fromLocalFile(str(out))
    assert dialog.open_report_button.text() == "Open PDF"
    assert verify_report(result.files["json"], ws).ok

    again = export(qtbot, dialog)  # a second report names the first and checks the log still extends it
    assert again.report_id != result.report_id and not dialog.error_box.isVisible()
    assert f"Previous report {result.report_id}" in dialog.done_label.text()
    assert "extends the checkpoint" in dialog.done_label.text()


def test_selected_models_scope_exports_only_those(qtbot, ws, runner, tmp_path):
    dialog = make_dialog(qtbot, ws, runner, tmp_path / "out", model="churn")
    assert dialog.choices.selected_radio.isChecked() and dialog.choices.checked_models() == ["churn"]
    dialog.choices.prepared_for_edit.setText("Internal Audit")
    dialog.choices.html_check.setChecked(False)  # only the chosen formats are written
    result = export(qtbot, dialog)
    assert set(result.files) == {"pdf", "json"}
    assert dialog.report_url() == QUrl.fromLocalFile(str(result.files["pdf"]))
    evidence = json.loads(result.files["json"].read_text(encoding="utf-8"))
    assert evidence["metadata"]["scope"]["models"] == ["churn"]
    assert [m["name"] for m in evidence["inventory"]] == ["churn"]
    assert evidence["metadata"]["prepared_for"] == "Internal Audit"
    assert exported_events(ws)[0].details["models"] == ["churn"]


def test_period_and_choices_are_validated_inline(qtbot, ws, runner, tmp_path):
    dialog = make_dialog(qtbot, ws, runner, tmp_path / "out")
    form = dialog.choices
    assert dialog.export_button.isEnabled() and not form.from_edit.isEnabled()  # all time by default
    assert form.period_note.text().startswith("All time")

    form.from_check.setChecked(True)
    form.to_check.setChecked(True)
    form.from_edit.setDate(QDate(2025, 6, 1))
    form.to_edit.setDate(QDate(2025, 5, 1))
    assert form.period_error.isVisible() and "starts after it ends" in form.period_error.text()
    assert not dialog.export_button.isEnabled() and dialog.start() is None
    form.to_edit.setDate(QDate(2025, 6, 30))
    assert not form.period_error.isVisible() and dialog.export_button.isEnabled()
    assert form.period_note.text() == "From the start of 2025-06-01 to the end of 2025-06-30 (days in UTC)."
    scope = form.scope()
    assert (scope.since.date(), scope.until.date()) == (date(2025, 6, 1), date(2025, 6, 30))
    assert scope.until.hour == 23 and scope.since.utcoffset().total_seconds() == 0  # whole UTC days

    form.last_90_button.click()
    assert form.from_edit.date() == QDate.currentDate().addDays(-90) and form.to_edit.date() == QDate.currentDate()
    form.all_time_button.click()
    assert not form.from_check.isChecked() and not form.to_check.isChecked()
    assert form.scope().since is None and form.scope().until is None

    for box in (form.pdf_check, form.html_check, form.json_check):
        box.setChecked(False)
    assert form.formats_error.isVisible() and not dialog.export_button.isEnabled()
    form.json_check.setChecked(True)
    form.selected_radio.setChecked(True)
    assert form.scope_error.isVisible() and not dialog.export_button.isEnabled()  # no model ticked
    form.model_list.item(0).setCheckState(Qt.CheckState.Checked)
    assert not form.scope_error.isVisible() and dialog.export_button.isEnabled()
    form.folder_edit.clear()
    assert form.folder_error.isVisible() and not dialog.export_button.isEnabled()
    assert dialog.start() is None and not exported_events(ws)


def test_period_bounds_are_whole_utc_days():
    since, until = period_bounds(date(2025, 1, 1), None)
    assert since.isoformat() == "2025-01-01T00:00:00+00:00" and until is None


def test_cancel_writes_nothing(qtbot, ws, runner, tmp_path):
    out = tmp_path / "out"
    dialog = make_dialog(qtbot, ws, runner, out)
    with qtbot.waitSignal(dialog.export_cancelled, timeout=SLOW):
        dialog.export_button.click()
        dialog.cancel_button.click()  # at once: the export stops at its next step
        assert dialog.status_label.text() == "Cancelling…" and not dialog.cancel_button.isEnabled()
    assert "nothing was recorded" in dialog.status_label.text()
    assert not out.exists() or not list(out.iterdir())
    assert not exported_events(ws)
    assert not dialog.done_frame.isVisible() and dialog.export_button.isEnabled()
    assert dialog.cancel_button.text() == "Close"


def test_a_file_as_the_output_folder_is_reported_inline_and_writes_nothing(qtbot, ws, runner, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    dialog = make_dialog(qtbot, ws, runner, blocker)
    with qtbot.waitSignal(dialog.export_failed, timeout=SLOW):
        dialog.export_button.click()
    assert dialog.error_box.isVisible()
    assert "is a file, not a folder" in dialog.error_box.text()
    assert "Choose a folder for the report." in dialog.error_box.text()  # the hint
    assert blocker.read_text(encoding="utf-8") == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["report.txt"]
    assert not exported_events(ws) and dialog.isVisible()

    dialog.choices.folder_edit.setText(str(blocker / "reports"))  # a folder that cannot be made: inside a file
    with qtbot.waitSignal(dialog.export_failed, timeout=SLOW):
        dialog.export_button.click()
    text = dialog.error_box.text()
    assert "Could not write the report" in text and "Choose a folder you can write to" in text and "bug" not in text
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["report.txt"]
    assert not exported_events(ws)


def test_file_menu_exports_for_the_selected_model_and_the_audit_page_shows_it(qtbot, ws, runner, tmp_path):
    window = MainWindow(ws, runner, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.show_page(MODELS)
    qtbot.waitUntil(lambda: window.models_page.select_model("credit-risk"), timeout=SLOW)
    assert window.export_action.shortcut().toString() == "Ctrl+E"
    window.export_action.trigger()
    dialog = window.report_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal  # open(), not exec()
    assert dialog.choices.selected_radio.isChecked() and dialog.choices.checked_models() == ["credit-risk"]
    dialog.choices.folder_edit.setText(str(tmp_path / "out"))
    result = export(qtbot, dialog)

    window.show_page(AUDIT)
    page = window.audit_page

    def newest_is_the_export() -> bool:
        event = page.model.event_at(0)
        return event is not None and event.action == "report.exported"

    qtbot.waitUntil(newest_is_the_export, timeout=SLOW)
    assert page.model.event_at(0).details["report_id"] == result.report_id
    dialog.cancel_button.click()  # "Close" once done
    assert window.report_dialog is None
    window.close()


# -- the Audit page's "Verify checkpoint…" ------------------------------------------------------------
@pytest.fixture
def audit_page(qtbot, ws, runner):
    page = AuditPage(ws, runner)
    qtbot.addWidget(page)
    page.show()
    return page


def check(qtbot, page: AuditPage, path):
    with qtbot.waitSignal(page.checkpoint_checked, timeout=SLOW) as signal:
        page.verify_checkpoint_file(path)
        assert not page.checkpoint_button.isEnabled()
    assert page.checkpoint_button.isEnabled() and page.verify_button.isEnabled()
    return signal.args[0]


def test_a_fresh_report_checkpoint_is_extended(qtbot, ws, runner, audit_page, tmp_path):
    result = export_report(ws, ReportScope(), ["json"], tmp_path / "out")
    verdict = check(qtbot, audit_page, result.files["json"])
    assert verdict.ok and verdict.check.status == "extends"  # the export's own event came after it
    banner = audit_page.banner
    assert banner.kind == "ok" and banner.isVisible()
    assert "extends the checkpoint" in banner.label.text() and result.report_id in banner.label.text()
    assert not banner.goto_button.isVisible()


def test_deleted_newest_events_turn_the_banner_red(qtbot, ws, runner, audit_page, tmp_path):
    result = export_report(ws, ReportScope(), ["json"], tmp_path / "out")
    drop_append_only_triggers(ws.paths.db)
    con = sqlite3.connect(ws.paths.db)
    with con:
        con.execute("DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 3 FROM audit_events)")
    con.close()
    verdict = check(qtbot, audit_page, result.files["json"])
    assert verdict.chain.ok  # the chain alone cannot see it
    assert not verdict.ok and verdict.check.status == "truncated"
    text = audit_page.banner.label.text()
    assert audit_page.banner.kind == "broken"
    assert "does not match the checkpoint" in text and "newest 2 event(s) were deleted" in text


def test_a_file_that_is_not_a_checkpoint_is_explained_in_the_banner(qtbot, ws, runner, audit_page, tmp_path):
    junk = tmp_path / "notes.json"
    junk.write_text("these are not the events you are looking for", encoding="utf-8")
    banner = audit_page.banner
    audit_page.verify_checkpoint_file(junk)
    qtbot.waitUntil(lambda: "is not a JSON checkpoint" in banner.label.text(), timeout=SLOW)
    text = banner.label.text()
    assert banner.kind == "broken" and "notes.json" in text
    assert "Give a report's .json file" in text  # the hint
    assert audit_page.checkpoint_button.isEnabled() and audit_page.verify_button.isEnabled()

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    audit_page.verify_checkpoint_file(other)
    qtbot.waitUntil(lambda: "holds no usable checkpoint" in banner.label.text(), timeout=SLOW)
    assert banner.kind == "broken"


@pytest.mark.slow
def test_the_demo_workspace_exports_a_verifiable_report(qtbot, workspace, runner, tmp_path):
    from app.services.demo import create_demo

    create_demo(workspace)
    dialog = make_dialog(qtbot, workspace, runner, tmp_path / "out")
    result = export(qtbot, dialog)
    evidence = json.loads(result.files["json"].read_text(encoding="utf-8"))
    assert len(evidence["inventory"]) == dialog.choices.model_list.count() > 1
    assert result.gaps == len(evidence["conclusions"]["gaps"])
    assert verify_report(result.files["json"], workspace).ok
