"""Model cards, sign-offs, findings and as-of answers in the Models page, through real dialogs on a real workspace."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QDate, Qt

from app.core.compliance import FindingStatus, ReviewOutcome, ReviewRole
from app.services import queries
from app.services.alerts import list_alerts
from app.services.audit import AuditFilter, list_events
from app.services.batches import score_batch
from app.services.findings import close_finding, get_finding, list_findings, list_reviews
from app.services.register import ModelCard, register_model
from app.services.stages import promote_version
from app.ui.models_page import ModelsPage
from app.ui.tasks import TaskRunner
from monitoring_helpers import write_batch

SLOW = 60_000  # ms: the first registration imports scikit-learn
NAME = "churn"


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it writes to


@pytest.fixture
def page(qtbot, workspace, runner, classifier_files):
    """Two versions of one model, v1 in Production, the page showing it."""
    for note in ("first", "second"):
        register_model(workspace, NAME, classifier_files.model, classifier_files.train, classifier_files.target,
                       test_data=classifier_files.test, note=note,
                       card=ModelCard(description="Predicts churn.", owner="maria", intended_use="Retention offers."))
    promote_version(workspace, NAME, 1, "production", "Validated on the holdout.")
    page = ModelsPage(workspace, runner)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    page.select_model(NAME, 1)
    return page


def _save(qtbot, page: ModelsPage, dialog) -> None:
    """Press the dialog's primary button and wait until the stored result has been shown."""
    with qtbot.waitSignal(page.details.records_changed, timeout=SLOW):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.details.compliance.dialog is None)  # closed (and deleted)


def test_card_edit_stores_every_field_and_is_audited(qtbot, page, workspace):
    details = page.details
    qtbot.mouseClick(details.edit_card_button, Qt.MouseButton.LeftButton)
    dialog = details.compliance.dialog
    assert dialog.isVisible() and dialog.isModal()
    assert "Limitations" in dialog.gaps_label.text() and "Validator" in dialog.gaps_label.text()
    dialog.set_field("limitations", "Trained on 2025 subscribers only.")
    dialog.set_field("ethical_considerations", "No protected attributes are used.")
    dialog.set_field("validator", "priya")
    dialog.set_field("intended_use", "")  # cleared: allowed, but a gap in reports
    dialog.risk_combo.setCurrentIndex(dialog.risk_combo.findData("high"))
    dialog.tags_edit.setText("retention, monthly")
    dialog.set_review_date(date(2027, 3, 31))
    assert "Intended use" in dialog.gaps_label.text() and "Limitations" not in dialog.gaps_label.text()
    _save(qtbot, page, dialog)

    model = queries.get_model(workspace, NAME)
    assert model.limitations == "Trained on 2025 subscribers only."
    assert model.ethical_considerations == "No protected attributes are used."
    assert (model.validator, model.intended_use, model.risk_tier.value) == ("priya", "", "high")
    assert model.tags == ("monthly", "retention")
    assert model.next_review_at.date() == date(2027, 3, 31)
    events = list_events(workspace, AuditFilter(model=NAME, action="model.updated"))
    assert len(events) == 1
    assert {"limitations", "validator", "intended_use", "next_review_at"} <= set(events[0].details)
    assert events[0].details["intended_use"] == {"from": "Retention offers.", "to": ""}
    # The header and the card tab show what was stored; the cleared field as "Not set".
    assert "priya" in details.meta_label.text() and "2027-03-31" in details.meta_label.text()
    assert "Trained on 2025 subscribers only." in details.use_label.text()
    assert "Not set" in details.use_label.text()
    assert "Not set" in details.compliance.card_panel.values["intended_use"].text()
    assert details.tabs.tabText(details.compliance.card_tab) == "Model card (2 empty)"  # + out-of-scope use

    # Clearing the review date again, and saving an untouched card, write exactly one more event.
    dialog = details.open_card_dialog()
    dialog.set_review_date(None)
    _save(qtbot, page, dialog)
    assert queries.get_model(workspace, NAME).next_review_at is None
    dialog = details.open_card_dialog()
    assert dialog.submit()  # nothing changed: the dialog just closes
    qtbot.waitUntil(lambda: details.compliance.dialog is None)
    assert len(list_events(workspace, AuditFilter(model=NAME, action="model.updated"))) == 2


def test_signoff_needs_a_note_then_is_listed(qtbot, page, workspace):
    details = page.details
    details.select_version(2)
    details.show_tab(details.compliance.signoffs_panel)
    qtbot.mouseClick(details.compliance.signoffs_panel.record_button, Qt.MouseButton.LeftButton)
    dialog = details.compliance.dialog
    assert dialog.version_combo.currentData() == 2  # the version selected in the details
    assert not dialog.submit()  # no note
    assert dialog.isVisible() and dialog.note_error.isVisible() and "note" in dialog.note_error.text()
    assert list_reviews(workspace, NAME) == []

    dialog.outcome_combo.setCurrentIndex(dialog.outcome_combo.findData("approved_with_conditions"))
    dialog.note_edit.setPlainText("Validated v2 on the holdout; recheck calibration in Q2.")
    assert not dialog.note_error.isVisible()  # typing clears the error
    dialog.next_review.set_value(date(2027, 6, 30))
    _save(qtbot, page, dialog)

    [review] = list_reviews(workspace, NAME)
    assert (review.role, review.outcome, review.version, review.reviewer) == (
        ReviewRole.VALIDATOR, ReviewOutcome.APPROVED_WITH_CONDITIONS, 2, "alice")
    assert queries.get_model(workspace, NAME).next_review_at.date() == date(2027, 6, 30)
    panel = details.compliance.signoffs_panel
    assert panel.model.rowCount() == 1
    assert panel.model.index(0, 2).data() == "Approved with conditions"
    assert "recheck calibration" in panel.note_label.text()
    assert "2027-06-30" in panel.status_label.text()
    assert details.tabs.tabText(details.compliance.signoffs_tab) == "Sign-offs (1)"


def test_open_a_finding_then_close_it_with_a_corrective_action(qtbot, page, workspace):
    details = page.details
    details.show_tab(details.compliance.findings_panel)
    qtbot.mouseClick(details.compliance.findings_panel.new_button, Qt.MouseButton.LeftButton)
    dialog = details.compliance.dialog
    assert not dialog.submit()  # title and description missing
    assert dialog.title_error.isVisible() and dialog.description_error.isVisible()
    assert list_findings(workspace, NAME) == []
    assert not dialog.alert_combo.isEnabled()  # the model has no alerts to link

    dialog.title_edit.setText("Calibration drifts on new sign-ups")
    dialog.description_edit.setPlainText("Predicted churn is 8 points high for customers under 3 months.")
    dialog.severity_combo.setCurrentIndex(dialog.severity_combo.findData("high"))
    dialog.set_versions({1, 2})
    dialog.due_date.set_value(date(2020, 1, 31))  # already past: the finding is overdue at once
    _save(qtbot, page, dialog)

    [finding] = list_findings(workspace, NAME)
    assert (finding.severity, finding.versions, finding.status) == ("high", (1, 2), FindingStatus.OPEN)
    assert finding.due_at.date() == date(2020, 1, 31)
    panel = details.compliance.findings_panel
    assert panel.selected().id == finding.id
    row = panel.model.row_of(finding.id)
    assert panel.model.index(row, 3).data() == "Open · overdue"
    assert panel.model.index(row, 6).data() == "v1, v2"
    assert "1 open, 1 overdue" in details.tabs.tabText(details.compliance.findings_tab)
    assert panel.close_button.isEnabled()

    qtbot.mouseClick(panel.close_button, Qt.MouseButton.LeftButton)
    close = details.compliance.dialog
    assert close is not None and close.finding.id == finding.id
    assert not close.submit()  # no corrective action
    assert close.action_error.isVisible()
    assert get_finding(workspace, finding.id).status is FindingStatus.OPEN

    close.action_edit.setPlainText("v3 retrained with tenure buckets; calibration within 1 point.")
    close.root_cause_edit.setPlainText("New sign-up promotion changed the tenure mix.")
    _save(qtbot, page, close)
    stored = get_finding(workspace, finding.id)
    assert stored.status is FindingStatus.CLOSED and stored.closed_by == "alice"
    assert stored.corrective_action.startswith("v3 retrained")
    assert stored.root_cause == "New sign-up promotion changed the tenure mix."
    row = panel.model.row_of(finding.id)
    assert panel.model.index(row, 3).data() == "Closed"
    assert panel.model.index(row, 7).data().startswith("v3 retrained")
    assert "v3 retrained" in panel.detail_label.text()
    assert not panel.close_button.isEnabled()
    assert details.tabs.tabText(details.compliance.findings_tab) == "Findings"
    actions = [e.action for e in list_events(workspace, AuditFilter(model=NAME, action="finding."))]
    assert sorted(actions) == ["finding.closed", "finding.opened"]


def test_a_service_refusal_is_shown_in_the_dialog(qtbot, page, workspace):
    """Someone else closed the finding while the dialog was open: the conflict is said inline."""
    details = page.details
    dialog = details.compliance.open_new_finding_dialog()
    dialog.title_edit.setText("Missing datasheet")
    dialog.description_edit.setPlainText("The training set has no source.")
    _save(qtbot, page, dialog)
    finding = details.compliance.findings_panel.selected()
    close = details.compliance.open_close_finding_dialog(finding)
    close_finding(workspace, finding.id, "Datasheet written.", actor="bob")
    close.action_edit.setPlainText("Wrote the datasheet.")
    with qtbot.waitSignal(close.failed, timeout=SLOW) as failed:
        qtbot.mouseClick(close.ok_button, Qt.MouseButton.LeftButton)
    assert "already closed" in failed.args[0]
    assert close.isVisible() and close.save_error.isVisible() and close.ok_button.isEnabled()
    assert get_finding(workspace, finding.id).corrective_action == "Datasheet written."
    close.reject()


def test_as_of_answers_before_registration_and_today(qtbot, page, workspace, classifier_files, tmp_path):
    features, _labels = write_batch(classifier_files, tmp_path / "batches", "week-1", rows=120)
    score_batch(workspace, NAME, features, label="week 1")
    details = page.details
    panel = details.compliance.asof_panel
    with qtbot.waitSignal(panel.answered, timeout=SLOW) as answered:
        details.show_tab(panel)  # asks about today when it is first shown
    today = answered.args[0]
    assert today.version == 1 and "still is" in panel.message_label.text()
    assert panel.body.currentIndex() == 1
    assert panel.fact["Version"].text().startswith("<b>v1</b>")
    assert today.artifact_sha256[:16] in panel.fact["Artifact"].text()
    assert panel.fact["Artifact"].toolTip().endswith(today.artifact_sha256)
    assert "Validated on the holdout." in panel.fact["Reason"].text()
    assert "No approval recorded" in panel.fact["Approval"].text()
    assert "train.csv" in panel.fact["Training data"].text()
    assert panel.batches.rowCount() == 1 and panel.batches_title.text().endswith("·  1")
    assert panel.batches.index(0, 4).data() == "120"

    with qtbot.waitSignal(panel.answered, timeout=SLOW) as answered:
        panel.set_moment(QDate.currentDate().addDays(-3))  # answered on a date change, no Ask needed
    assert answered.args[0].version is None
    assert "was not registered yet" in panel.message_label.text()
    assert panel.body.currentIndex() == 0  # the message alone

    # A finding can be linked to any of the model's alerts (the drift check may or may not have opened one).
    alerts = list_alerts(workspace, NAME)
    dialog = details.compliance.open_new_finding_dialog()
    assert dialog.alert_combo.count() == len(alerts) + 1 and dialog.alert_combo.isEnabled() == bool(alerts)
    dialog.reject()

