"""A model's sign-offs (validations and owner attestations), newest first, with the next review date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.core.compliance import Review, ReviewOutcome, ReviewRole
from app.core.timeutil import utcnow
from app.ui import theme
from app.ui.palette import severity_color
from app.ui.formatting import fmt_time
from app.ui.signoff_dialog import OUTCOME_TEXT, ROLE_TEXT
from app.ui.tables import RECORD_ROLE, Column, RecordTableModel, make_table

__all__ = ["SignoffsPanel", "ReviewsTableModel"]


class ReviewsTableModel(RecordTableModel):
    columns = (
        Column("When", lambda r: fmt_time(r.at), sort=lambda r: r.at),
        Column("Role", lambda r: ROLE_TEXT[r.role]),
        Column("Outcome", lambda r: OUTCOME_TEXT[r.outcome]),
        Column("Version", lambda r: f"v{r.version}" if r.version is not None else "Whole model"),
        Column("Reviewer", lambda r: r.reviewer),
        Column("Note", lambda r: r.note.replace("\n", " "), tooltip=lambda r: r.note),
    )
    OUTCOME_COLUMN = 2

    def extra_data(self, rec: Review, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[self.OUTCOME_COLUMN]:
            if rec.outcome is ReviewOutcome.REJECTED:
                return severity_color("high")
            if rec.outcome is ReviewOutcome.APPROVED_WITH_CONDITIONS:
                return severity_color("medium")
            return theme.risk_color("low")  # the theme's green
        return None


class SignoffsPanel(QWidget):
    """`record_requested` asks the details pane to open the sign-off dialog."""

    record_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ReviewsTableModel(self)
        self.table = make_table(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setWordWrap(True)
        self.record_button = QPushButton("Record sign-off…")
        self.record_button.setToolTip("Record a validator's validation or an owner's attestation (audited)")
        self.record_button.clicked.connect(self.record_requested)
        head = QHBoxLayout()
        head.addWidget(self.status_label, 1)
        head.addWidget(self.record_button, 0, Qt.AlignmentFlag.AlignTop)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.RichText)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label.setContentsMargins(4, 4, 4, 4)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(self.note_label)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(head)
        layout.addWidget(split, 1)

    def set_reviews(self, reviews: Sequence[Review], next_review_at: datetime | None) -> None:
        self.model.set_records(reviews)
        self.table.resizeColumnsToContents()
        muted, error = theme.color("muted").name(), theme.color("error").name()
        if next_review_at is None:
            due = f"Next review: <span style='color:{muted}'>not set</span>"
        elif next_review_at < utcnow():
            due = (f"Next review: <span style='color:{error}'><b>{next_review_at.date().isoformat()} "
                   "(overdue)</b></span>")
        else:
            due = f"Next review: <b>{next_review_at.date().isoformat()}</b>"
        validation = next((r for r in reviews if r.role is ReviewRole.VALIDATOR), None)
        last = (f"last validation {OUTCOME_TEXT[validation.outcome].lower()} by {escape(validation.reviewer)} "
                f"on {fmt_time(validation.at)}" if validation else
                f"<span style='color:{muted}'>never validated</span>")
        self.status_label.setText(f"{due} &nbsp;·&nbsp; {last} &nbsp;·&nbsp; {len(reviews)} sign-off"
                                  f"{'' if len(reviews) == 1 else 's'}")
        if reviews:
            self.table.selectRow(0)
        self._show_selected()

    def _show_selected(self) -> None:
        index = self.table.currentIndex()
        review: Review | None = index.data(RECORD_ROLE) if index.isValid() else None
        if review is None:
            self.note_label.setText("" if self.model.rowCount() else
                                    "No sign-offs yet. A validator's sign-off is what audit reports look for.")
            return
        muted = theme.color("muted").name()
        version = f"v{review.version}" if review.version is not None else "the whole model"
        self.note_label.setText(
            f"<b>{ROLE_TEXT[review.role]} sign-off on {version}: {OUTCOME_TEXT[review.outcome].lower()}</b> "
            f"<span style='color:{muted}'>by {escape(review.reviewer)}, {fmt_time(review.at)}</span><br>"
            + escape(review.note).replace("\n", "<br>"))
