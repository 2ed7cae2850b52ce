"""Small form helpers shared by dialogs: section titles, inline error labels, file fields."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

__all__ = ["section_label", "error_label", "with_error", "browse_button", "set_field_error"]


def section_label(text: str, top_margin: int = 0) -> QLabel:
    """A small upper-case heading (QSS has no text-transform, so the text is upper-cased here)."""
    label = QLabel(text.upper())
    label.setObjectName("SectionTitle")
    label.setContentsMargins(0, top_margin, 0, 0)
    return label


def error_label() -> QLabel:
    """A red message shown under its field only while there is something to say."""
    label = QLabel()
    label.setObjectName("FieldError")
    label.setWordWrap(True)
    label.hide()
    return label


def set_field_error(field: QWidget, label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))
    field.setProperty("invalid", bool(text))  # the stylesheet draws a red border on invalid fields
    field.style().polish(field)


def with_error(field: QWidget, error: QLabel, button: QPushButton | None = None) -> QWidget:
    """The field (and its button) on one row, its error label below."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    if button is not None:
        row.addWidget(button)
    layout.addLayout(row)
    layout.addWidget(error)
    return box


def browse_button(edit: QLineEdit, file_filter: str, chosen: Callable[[], None] | None = None) -> QPushButton:
    """A 'Browse…' button that fills `edit` with a chosen file and then calls `chosen`."""
    button = QPushButton("Browse…")

    def browse() -> None:
        start = str(Path(edit.text()).parent) if edit.text() else ""
        path, _ = QFileDialog.getOpenFileName(edit.window(), "Choose a file", start, file_filter)
        if path:
            edit.setText(path)
            if chosen is not None:
                chosen()

    button.clicked.connect(browse)
    return button
