"""The model card in full (the "Model card" tab) and the compact summary lines of the details header."""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.core.compliance import CARD_FIELDS, past_due
from app.core.entities import Model
from app.core.timeutil import utcnow
from app.ui import theme
from app.ui.formatting import fmt_time

__all__ = ["CardPanel", "not_set", "review_text", "header_lines", "empty_required"]

_ELIDE = 64  # characters of a card field in the header (one line for two); the Model card tab has the rest


def not_set(text: str = "Not set") -> str:
    return f"<i style='color:{theme.color('muted').name()}'>{text}</i>"


def empty_required(model: Model) -> list[str]:
    return [f.label for f in CARD_FIELDS if f.required and not (getattr(model, f.key) or "").strip()]


def review_text(moment: datetime | None) -> str:
    """The next review date as rich text: 'Not set', the date, or the date in red when it has passed."""
    if moment is None:
        return not_set()
    day = moment.date().isoformat()
    if past_due(moment, utcnow()):
        return f"<b style='color:{theme.color('error').name()}'>{day} (overdue)</b>"
    return escape(day)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= _ELIDE else text[:_ELIDE - 1].rstrip() + "…")


def header_lines(model: Model) -> tuple[str, str, str, str]:
    """(meta, purpose, uses, uses tooltip) for the details header; long fields are shortened to keep it
    to three lines, the out-of-scope use is in the tooltip and the Model card tab."""
    tags = "  ".join(f"#{escape(t)}" for t in model.tags)
    meta = (f"Owner {escape(model.owner) if model.owner else not_set()}   ·   Validator "
            f"{escape(model.validator) if model.validator else not_set()}   ·   Next review "
            f"{review_text(model.next_review_at)}   ·   created {fmt_time(model.created_at)} by "
            f"{escape(model.created_by)}" + (f"   ·   {tags}" if tags else ""))
    purpose = escape(model.description) if model.description else not_set("Purpose not set")
    uses = "&nbsp;&nbsp;&nbsp;&nbsp;".join(
        f"<b>{label}:</b> {_short(value) if value else not_set()}"
        for label, value in (("Intended use", model.intended_use), ("Limitations", model.limitations)))
    tooltip = "\n\n".join(f"{label}: {value or 'not set'}" for label, value in (
        ("Intended use", model.intended_use), ("Out of scope", model.out_of_scope_use),
        ("Limitations", model.limitations)))
    return meta, purpose, uses, tooltip


def _value_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


class CardPanel(QWidget):
    """Every card field, read-only; `edit_requested` opens the card dialog."""

    edit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setWordWrap(True)
        self.edit_button = QPushButton("Edit card…")
        self.edit_button.setToolTip("Edit the model card: purpose, uses, limitations, owner, validator, review date")
        self.edit_button.clicked.connect(self.edit_requested)
        head = QHBoxLayout()
        head.addWidget(self.status_label, 1)
        head.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows = [(f.key, f.label) for f in CARD_FIELDS] + [
            ("risk_tier", "Risk tier"), ("tags", "Tags"), ("next_review_at", "Next review")]
        for key, label in rows:
            self.values[key] = _value_label()
            name = QLabel(label)
            name.setObjectName("Muted")
            form.addRow(name, self.values[key])
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 8, 0)
        body_layout.addLayout(form)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 8, 8)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)

    def show_model(self, model: Model) -> None:
        for field in CARD_FIELDS:
            value = (getattr(model, field.key) or "").strip()
            self.values[field.key].setText(escape(value).replace("\n", "<br>") if value else not_set())
        self.values["risk_tier"].setText(model.risk_tier.value.capitalize())
        self.values["tags"].setText(escape(", ".join(model.tags)) if model.tags else not_set("None"))
        self.values["next_review_at"].setText(review_text(model.next_review_at))
        empty = empty_required(model)
        self.status_label.setText(
            f"<span style='color:{theme.color('error').name()}'>{len(empty)} required field"
            f"{'s' if len(empty) > 1 else ''} empty</span> "
            f"<span style='color:{theme.color('muted').name()}'>(gaps in audit reports): {', '.join(empty)}</span>"
            if empty else "Every required field is filled in.")
