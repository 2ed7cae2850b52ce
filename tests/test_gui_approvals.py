"""The Approvals page under separation of duties: real requests, real decisions, through the real widgets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.approvals import ApprovalStatus, Promotion
from app.core.entities import Stage
from app.services.approvals import get_approval
from app.services.queries import get_version, stage_history
from app.services.register import register_model
from app.services.settings import set_settings
from app.services.stages import promote
from app.ui.approvals_page import ApprovalsPage, promote_with_policy
from app.ui.approvals_table import STATUS_COLUMN
from app.ui.tasks import TaskRunner

SLOW = 60_000  # ms: the first background call may import pandas and scikit-learn
MODEL = "cancer"


@pytest.fixture
def runner(qtbot, workspace):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it writes to


@pytest.fixture
def guarded(workspace, classifier_files):
    """One registered version (no stage yet) in a workspace with separation of duties on."""
    f = classifier_files
    register_model(workspace, MODEL, f.model, f.train, f.target, test_data=f.test)
    set_settings(workspace, "policy", {"separation_of_duties": 1})
    return workspace


def _page(qtbot, ws, runner) -> ApprovalsPage:
    page = ApprovalsPage(ws, runner)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    _reload(qtbot, page)
    return page


def _reload(qtbot, page: ApprovalsPage) -> None:
    with qtbot.waitSignal(page.approvals_loaded, timeout=SLOW):
        page.refresh()


def _box(page, name: str) -> QMessageBox | None:
    return page.findChild(QMessageBox, name)


def _status_text(page: ApprovalsPage, row: int = 0) -> str:
    return page.model.index(row, STATUS_COLUMN).data(Qt.ItemDataRole.DisplayRole)


def test_policy_off_is_stated_and_the_empty_state_explains(qtbot, workspace, runner):
    page = _page(qtbot, workspace, runner)
    assert "Separation of duties is off" in page.policy_label.text() and "alice" in page.policy_label.text()
    assert page.body.currentIndex() == 0 and "Nothing waits for approval" in page.empty_label.text()
    assert page.pending_count() == 0
    page.filter_combo.setCurrentIndex(1)
    assert "No promotion requests yet" in page.empty_label.text()
    assert not page.approve_button.isEnabled() and not page.withdraw_button.isEnabled()


def test_self_approval_is_refused_and_another_person_promotes(qtbot, guarded, runner, monkeypatch):
    page = _page(qtbot, guarded, runner)
    assert "Separation of duties is on" in page.policy_label.text()
    done: list[Promotion] = []
    with qtbot.waitSignal(page.approvals_changed, timeout=SLOW):  # the request, read back by a refresh
        promote_with_policy(page, guarded, runner, MODEL, 1, "production", "Validated on the hold-out.",
                            on_done=lambda p: (done.append(p), page.refresh()))
    [promotion] = done
    assert promotion.pending and promotion.moves == []
    box = _box(page, "PromotionRequestedBox")
    assert box is not None and box.text() == ("Promotion requested: waiting for another person's approval "
                                              f"(request #{promotion.approval.id})")
    box.close()

    assert page.pending_count() == 1 and page.model.rowCount() == 1 and page.body.currentIndex() == 1
    request = page.selected_approval()
    assert request.requested_by == "alice" and request.status is ApprovalStatus.PENDING
    assert _status_text(page) == "Pending"
    assert page.withdraw_button.isEnabled() and not page.reject_button.isEnabled()

    # alice approves her own request: refused with the service's message and hint; nothing changes
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog is not None and "You (alice) made this request" in dialog.summary_label.text()
    dialog.rationale_edit.setPlainText("Looks fine to me.")
    with qtbot.waitSignal(page.decision_failed, timeout=SLOW) as failed:
        dialog.ok_button.click()
    error = _box(page, "ErrorBox")
    assert error is not None and "cannot approve" in error.text() and "Ask a colleague" in error.informativeText()
    assert "Traceback" not in error.text() + error.informativeText()
    assert type(failed.args[0]).__name__ == "ConflictError"
    error.close()
    assert get_approval(guarded, request.id).status is ApprovalStatus.PENDING
    assert get_version(guarded, MODEL, 1).stage is Stage.NONE and stage_history(guarded, MODEL) == []

    # bob approves through the dialog: an empty rationale is refused first, then the version moves
    monkeypatch.setenv("STEWARD_ACTOR", "bob")
    _reload(qtbot, page)
    assert "bob" in page.policy_label.text()
    assert page.approve_button.isEnabled() and page.reject_button.isEnabled()
    assert not page.withdraw_button.isEnabled()
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    dialog.ok_button.click()
    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert page.approve_button.isEnabled()  # disabled while a decision runs: none was started
    dialog.rationale_edit.setPlainText("Validation pack reviewed.")
    with qtbot.waitSignals([page.decision_made, page.approvals_changed], timeout=SLOW):
        dialog.ok_button.click()
    version = get_version(guarded, MODEL, 1)
    decided = get_approval(guarded, request.id)
    assert version.stage is Stage.PRODUCTION
    assert decided.status is ApprovalStatus.APPROVED and decided.decided_by == "bob"
    assert decided.rationale == "Validation pack reviewed."
    [move] = stage_history(guarded, MODEL)
    assert move.actor == "bob" and "requested by alice" in move.reason
    assert page.pending_count() == 0 and page.body.currentIndex() == 0
    page.filter_combo.setCurrentIndex(1)
    assert _status_text(page) == "Approved" and page.model.index(0, 8).data().startswith("bob")
    assert not page.approve_button.isEnabled()


def test_reject_needs_a_rationale(qtbot, guarded, runner, monkeypatch):
    request = promote(guarded, MODEL, 1, "production", "Ready.").approval
    monkeypatch.setenv("STEWARD_ACTOR", "bob")
    page = _page(qtbot, guarded, runner)
    assert page.pending_count() == 1 and page.reject_button.isEnabled()
    qtbot.mouseClick(page.reject_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    dialog.rationale_edit.setPlainText("   ")
    dialog.ok_button.click()
    assert dialog.isVisible() and "rationale" in dialog.error_label.text() and page.reject_button.isEnabled()
    assert get_approval(guarded, request.id).status is ApprovalStatus.PENDING
    dialog.rationale_edit.setPlainText("Recall on the malignant class is too low.")
    assert not dialog.error_label.isVisible()  # typing clears the complaint
    with qtbot.waitSignals([page.decision_made, page.approvals_changed], timeout=SLOW):
        dialog.ok_button.click()
    rejected = get_approval(guarded, request.id)
    assert rejected.status is ApprovalStatus.REJECTED and rejected.decided_by == "bob"
    assert rejected.rationale == "Recall on the malignant class is too low."
    assert get_version(guarded, MODEL, 1).stage is Stage.NONE
    page.filter_combo.setCurrentIndex(1)
    assert _status_text(page) == "Rejected"
    assert "Recall on the malignant class" in page.details_label.text()


def test_the_requester_withdraws(qtbot, guarded, runner, monkeypatch):
    request = promote(guarded, MODEL, 1, "production", "Ready.").approval
    monkeypatch.setenv("STEWARD_ACTOR", "bob")
    page = _page(qtbot, guarded, runner)
    assert not page.withdraw_button.isEnabled()  # only alice may take her request back
    monkeypatch.setenv("STEWARD_ACTOR", "alice")
    _reload(qtbot, page)
    assert page.withdraw_button.isEnabled()
    qtbot.mouseClick(page.withdraw_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignals([page.decision_made, page.approvals_changed], timeout=SLOW):
        page.dialog.ok_button.click()  # the rationale is optional for a withdrawal
    withdrawn = get_approval(guarded, request.id)
    assert withdrawn.status is ApprovalStatus.WITHDRAWN and withdrawn.decided_by == "alice"
    assert page.pending_count() == 0 and page.body.currentIndex() == 0
    page.filter_combo.setCurrentIndex(1)
    assert _status_text(page) == "Withdrawn"
