"""Show errors to people: a domain error's message and hint, never a traceback."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import StewardError

__all__ = ["describe_error", "show_error"]

log = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(message, hint) for a dialog; unexpected exceptions get a plain sentence and are logged."""
    if isinstance(exc, StewardError):
        return exc.message, exc.hint or ""
    trace = getattr(exc, "__steward_traceback__", None)
    log.error("Unexpected error: %r\n%s", exc, trace or "")
    return (f"Something went wrong: {type(exc).__name__}: {exc}",
            "This is a bug in Model Steward; the details are in the log.")


def show_error(parent: QWidget | None, exc: BaseException, title: str = "Model Steward") -> QMessageBox:
    """Open a window-modal message box without blocking (tests and the event loop keep running)."""
    message, hint = describe_error(exc)
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("ErrorBox")
    if hint:
        box.setInformativeText(hint)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
