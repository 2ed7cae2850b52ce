"""Promote a version in the background and say so when the policy turns the move into an approval request."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.approvals import Promotion
from app.core.entities import Stage
from app.core.identity import current_actor
from app.services.stages import promote
from app.store.workspace import Workspace
from app.ui.messages import show_error
from app.ui.tasks import Task, TaskRunner

__all__ = ["promote_with_policy", "requested_text", "show_requested"]


def requested_text(promotion: Promotion) -> str:
    return f"Promotion requested: waiting for another person's approval (request #{promotion.approval.id})"


def show_requested(parent: QWidget | None, promotion: Promotion) -> QMessageBox:
    """A non-blocking note that the move became a pending request (objectName 'PromotionRequestedBox')."""
    a = promotion.approval
    box = QMessageBox(QMessageBox.Icon.Information, "Promotion requested", requested_text(promotion),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("PromotionRequestedBox")
    box.setInformativeText(
        f"Separation of duties is on in this workspace, so version {a.version} of '{a.model_name}' stays in "
        f"{a.version_stage.label} until someone other than {a.requested_by} approves it on the Approvals page. "
        "You can withdraw the request there.")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def promote_with_policy(parent: QWidget | None, ws: Workspace, runner: TaskRunner, name: str, number: int,
                        stage: str | Stage, reason: str, override: str | None = None,
                        on_done: Callable[[Promotion], None] | None = None,
                        on_error: Callable[[BaseException], None] | None = None) -> Task:
    """Run `promote` off the GUI thread. A pending result is announced in a message box; errors are shown
    with their hint. `on_done(promotion)` runs after either outcome of a successful call; `on_error(exc)`
    after the error was shown."""
    actor = current_actor()  # read now: who pressed the button, not whoever the environment names later

    def succeeded(promotion: Promotion) -> None:
        if promotion.pending:
            show_requested(parent, promotion)
        if on_done is not None:
            on_done(promotion)

    def failed(exc: BaseException) -> None:
        show_error(parent, exc, "Promotion not made")
        if on_error is not None:
            on_error(exc)

    return runner.submit(promote, ws, name, number, stage, reason, actor=actor, override=override,
                         on_success=succeeded, on_error=failed)
