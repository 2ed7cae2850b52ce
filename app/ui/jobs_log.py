"""A job's captured log: monospace, appended to as it grows, following the tail while it is scrolled to the end."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from app.ui.forms import section_label

__all__ = ["JobLog"]


class JobLog(QWidget):
    """`show_log(job_id, text)` on every poll; only the new tail is inserted, so the view keeps its place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id: int | None = None
        self.title = section_label("Log")
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText("The selected job's log appears here.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def text(self) -> str:
        return self.view.toPlainText()

    def clear(self) -> None:
        self.job_id = None
        self.view.clear()
        self.title.setText("LOG")

    def expect(self, job_id: int) -> None:
        """Another job was chosen: empty the view until its log arrives with the next read."""
        self.title.setText(f"LOG  ·  JOB #{job_id}")
        if self.job_id != job_id:
            self.job_id = None
            self.view.clear()

    def show_log(self, job_id: int, text: str) -> None:
        self.title.setText(f"LOG  ·  JOB #{job_id}")
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        current = self.view.toPlainText()
        if self.job_id == job_id and current and text.startswith(current):
            extra = text[len(current):]
            if extra:
                cursor = QTextCursor(self.view.document())
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(extra)
        elif text != current or self.job_id != job_id:
            self.view.setPlainText(text)  # another job, or the log dropped its oldest lines
            at_bottom = True
        self.job_id = job_id
        if at_bottom:
            bar.setValue(bar.maximum())
