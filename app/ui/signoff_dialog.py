"""Record a sign-off: a validator's validation or an owner's attestation, with a required note."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.core.compliance import ReviewOutcome, ReviewRole
from app.core.entities import Model, Version
from app.core.identity import current_actor
from app.services.findings import record_review
from app.store.workspace import Workspace
from app.ui.compliance_forms import OptionalDateEdit, SavingDialog, text_edit
from app.ui.forms import error_label, set_field_error
from app.ui.tasks import TaskRunner

__all__ = ["SignoffDialog", "OUTCOME_TEXT", "ROLE_TEXT"]

ROLE_TEXT = {ReviewRole.VALIDATOR: "Validator", ReviewRole.OWNER: "Owner"}
OUTCOME_TEXT = {ReviewOutcome.APPROVED: "Approved", ReviewOutcome.APPROVED_WITH_CONDITIONS: "Approved with conditions",
                ReviewOutcome.REJECTED: "Rejected"}


class SignoffDialog(SavingDialog):
    """The version defaults to the one selected in the details; "Whole model" signs off the model itself."""

    def __init__(self, ws: Workspace, runner: TaskRunner, model: Model, versions: list[Version],
                 selected: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, "Record sign-off", parent)
        self.ws, self.model = ws, model
        self.setWindowTitle(f"Record sign-off · {model.name}")
        self.setMinimumWidth(520)
        heading = QLabel(f"Sign off '{model.name}'")
        heading.setObjectName("PageTitle")
        intro = QLabel("A validator records an independent validation; an owner attests that the card and the "
                       "model's use are right. Both are kept in the audit log and appear in reports.")
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        self.role_combo = QComboBox()
        for role, text in ROLE_TEXT.items():
            self.role_combo.addItem(text, role.value)
        if current_actor() == model.owner and current_actor() != model.validator:
            self.role_combo.setCurrentIndex(self.role_combo.findData(ReviewRole.OWNER.value))
        self.outcome_combo = QComboBox()
        for outcome, text in OUTCOME_TEXT.items():
            self.outcome_combo.addItem(text, outcome.value)
        self.version_combo = QComboBox()
        self.version_combo.addItem("Whole model", None)
        for v in sorted(versions, key=lambda v: v.number, reverse=True):
            stage = f"  ·  {v.stage.label}" if v.stage.value != "none" else ""
            self.version_combo.addItem(f"v{v.number}{stage}", v.number)
        index = self.version_combo.findData(selected) if selected is not None else 0
        self.version_combo.setCurrentIndex(max(index, 0))
        self.note_edit = text_edit("What was reviewed, on what evidence, and any conditions, e.g. 'Validated v3 "
                                   "on the Q3 holdout; recall on small tumours to be re-checked by June.'", 96)
        self.note_error = error_label()
        self.note_edit.textChanged.connect(lambda: set_field_error(self.note_edit, self.note_error, ""))
        self.next_review = OptionalDateEdit(None, none_text="Leave unchanged")
        self.next_review.setToolTip("Optionally set the model's next periodic review date")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Role", self.role_combo)
        form.addRow("Outcome", self.outcome_combo)
        form.addRow("Version", self.version_combo)
        form.addRow("Next review", self.next_review)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(QLabel("Note (required; kept in the audit log)"))
        layout.addWidget(self.note_edit)
        layout.addWidget(self.note_error)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)
        self.note_edit.setFocus()

    @property
    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def validate(self) -> bool:
        if not self.note:
            set_field_error(self.note_edit, self.note_error,
                            "Write a note: what was reviewed and on what evidence.")
            return False
        return True

    def save_call(self):
        next_review = self.next_review.text() or None
        return record_review, (self.ws, self.model.name, self.role_combo.currentData(),
                               self.outcome_combo.currentData(), self.note), {
            "version": self.version_combo.currentData(), "next_review": next_review}
