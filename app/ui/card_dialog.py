"""Edit every field of a model card; empty required fields may be saved but are named as report gaps."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.compliance import CARD_FIELDS
from app.core.entities import Model, RiskTier
from app.services.cards import set_model_card
from app.store.workspace import Workspace
from app.ui.compliance_forms import REQUIRED_MARK, OptionalDateEdit, SavingDialog, required_label, text_edit
from app.ui.tasks import TaskRunner

__all__ = ["CardDialog", "card_values"]

_MAX_LINE = 128  # the service refuses longer owner / validator names


def card_values(model: Model) -> dict[str, object]:
    """The model's card in the form `set_model_card` takes, to compare the edited form against."""
    values: dict[str, object] = {f.key: getattr(model, f.key) or "" for f in CARD_FIELDS}
    values["risk_tier"] = model.risk_tier.value
    values["tags"] = ", ".join(model.tags)
    values["next_review_at"] = model.next_review_at.date().isoformat() if model.next_review_at else ""
    return values


class CardDialog(SavingDialog):
    """Saves only the fields that changed (someone else may have edited others meanwhile)."""

    def __init__(self, ws: Workspace, runner: TaskRunner, model: Model, parent: QWidget | None = None) -> None:
        super().__init__(runner, "Save card", parent)
        self.ws, self.model = ws, model
        self.original = card_values(model)
        self.setWindowTitle(f"Model card · {model.name}")
        self.setMinimumWidth(640)
        heading = QLabel(f"Model card of '{model.name}'")
        heading.setObjectName("PageTitle")
        intro = QLabel(f"Fields marked {REQUIRED_MARK} are required for audit reports. You can save with some "
                       "of them empty; each empty one is listed as a gap in every report until it is filled in.")
        intro.setObjectName("Muted")
        intro.setWordWrap(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setVerticalSpacing(6)
        self.fields: dict[str, QPlainTextEdit | QLineEdit] = {}
        for field in CARD_FIELDS:
            value = str(self.original[field.key])
            if field.multiline:
                widget: QPlainTextEdit | QLineEdit = text_edit(height=54)
                widget.setPlainText(value)
                widget.textChanged.connect(self._update_gaps)
            else:
                widget = QLineEdit(value)
                widget.setMaxLength(_MAX_LINE)
                widget.textChanged.connect(self._update_gaps)
            self.fields[field.key] = widget
            form.addRow(required_label(field.label, field.required), widget)
        self.risk_combo = QComboBox()
        for tier in RiskTier:
            self.risk_combo.addItem(tier.value.capitalize(), tier.value)
        self.risk_combo.setCurrentIndex(self.risk_combo.findData(model.risk_tier.value))
        self.tags_edit = QLineEdit(str(self.original["tags"]))
        self.tags_edit.setPlaceholderText("Comma-separated, e.g. healthcare, triage")
        self.review_date = OptionalDateEdit(model.next_review_at)
        self.review_date.setToolTip("When the model is next due for a periodic review; a past date is a report gap")
        form.addRow("Risk tier", self.risk_combo)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Next review", self.review_date)

        self.gaps_label = QLabel()
        self.gaps_label.setWordWrap(True)
        self.gaps_label.setObjectName("Muted")
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(2)
        layout.addLayout(form)
        layout.addWidget(self.gaps_label)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)
        self._update_gaps()
        next(iter(self.fields.values())).setFocus()

    # -- values -------------------------------------------------------------------------------------
    def set_field(self, key: str, text: str) -> None:
        widget = self.fields[key]
        if isinstance(widget, QPlainTextEdit):
            widget.setPlainText(text)
        else:
            widget.setText(text)

    def field_text(self, key: str) -> str:
        widget = self.fields[key]
        return (widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()).strip()

    def values(self) -> dict[str, object]:
        values: dict[str, object] = {key: self.field_text(key) for key in self.fields}
        values["risk_tier"] = self.risk_combo.currentData()
        values["tags"] = ", ".join(t.strip() for t in self.tags_edit.text().split(",") if t.strip())
        values["next_review_at"] = self.review_date.text()
        return values

    def changes(self) -> dict[str, object]:
        return {k: v for k, v in self.values().items() if v != self.original.get(k)}

    def empty_required(self) -> list[str]:
        return [f.label for f in CARD_FIELDS if f.required and not self.field_text(f.key)]

    def set_review_date(self, day: date | None) -> None:
        self.review_date.set_value(day)

    # -- behaviour ----------------------------------------------------------------------------------
    def _update_gaps(self) -> None:
        empty = self.empty_required()
        self.gaps_label.setText(
            f"Empty required field{'s' if len(empty) > 1 else ''} (gaps in reports): {', '.join(empty)}."
            if empty else "Every required field is filled in.")

    def save_call(self):
        changes = self.changes()
        if not changes:
            return None  # nothing edited: closing is all there is to do
        return set_model_card, (self.ws, self.model.name, changes), {}
