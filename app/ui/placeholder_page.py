"""A page whose feature is coming: a centred title and one sentence saying what will appear."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.ui import theme

__all__ = ["PlaceholderPage"]


class PlaceholderPage(QWidget):
    def __init__(self, title: str, sentence: str, icon_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon_name = icon_name
        self.icon_label = QLabel()
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("PlaceholderTitle")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label = QLabel(sentence)
        self.text_label.setObjectName("PlaceholderText")
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label.setWordWrap(True)
        self.text_label.setFixedWidth(520)  # a fixed width lets the wrapped height be computed right
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.icon_label)
        layout.addSpacing(6)
        layout.addWidget(self.title_label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.text_label)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.update_icon()

    def update_icon(self) -> None:
        self.icon_label.setPixmap(theme.icon(self.icon_name, role="border", size=56).pixmap(56, 56))
