"""The Qt runtime the window depends on: fonts are installed, and PySide6 keeps Python's refcounts."""

from __future__ import annotations

import sys


def test_at_least_one_font_renders_text(qapp):
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    families = QFontDatabase.families()
    assert families, "no fonts installed: Qt would draw empty boxes (install fonts-dejavu-core)"
    width = QFontMetrics(QFont()).horizontalAdvance("Model Steward")
    assert width > 20


def test_void_qt_calls_do_not_leak_references_to_none(qapp):
    """PySide6 6.12.0 decremented None on every void call until the interpreter aborted."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    after = sys.getrefcount(None)
    assert after >= before - 50, f"None lost {before - after} references across 2000 setText calls"

