"""As-of questions: which version was in production at a moment, how it got there, and what it scored."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDateEdit, QFormLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStackedWidget,
    QTimeEdit, QVBoxLayout, QWidget,
)

from app.services.asof import AsOf, as_of
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.asof_tables import BatchesModel, CriteriaModel
from app.ui.formatting import fmt_metric, fmt_time, metric_label, short_hash
from app.ui.forms import section_label
from app.ui.messages import describe_error
from app.ui.tables import make_table
from app.ui.tasks import TaskRunner

__all__ = ["AsOfPanel"]


def _time(iso: str | None) -> str:
    return fmt_time(datetime.fromisoformat(iso.replace("Z", "+00:00"))) if iso else "—"


def _dataset(d: dict | None) -> tuple[str, str]:
    if not d:
        return "—", ""
    rows = f"{d['rows']:,} rows" if d.get("rows") is not None else "rows unknown"
    return f"{escape(d.get('name') or '?')}  ·  {rows}  ·  sha256 {short_hash(d.get('sha256'))}", \
        f"sha256 {d.get('sha256')}" + (f"\n{d['description']}" if d.get("description") else "")


def _clearance(answer: AsOf) -> str:
    c = answer.clearance or {}
    kind = c.get("gate")
    summary = escape(str(c.get("gate_summary") or "").removeprefix("passed: "))
    if kind == "passed":
        return f"Gate passed{f' ({summary})' if summary else ''}"
    if kind == "rollback":
        return "Rollback to a version that was in production before (no gate needed)"
    if kind == "overridden":
        failed = "; ".join(escape(str(x)) for x in c.get("failed_criteria") or [])
        return (f"<b style='color:{theme.color('error').name()}'>Gate overridden</b> — rationale: "
                f"{escape(str(c.get('override') or ''))}" + (f"<br>Failed: {failed}" if failed else ""))
    return f"<i style='color:{theme.color('muted').name()}'>No gate result (registered by hand)</i>"


def _approval(answer: AsOf) -> str:
    a = answer.approval
    if not a:
        return f"<i style='color:{theme.color('muted').name()}'>No approval recorded</i>"
    text = f"Approved by <b>{escape(a.get('approved_by') or '?')}</b> on {_time(a.get('approved_at'))}"
    if a.get("rationale"):
        text += f": {escape(a['rationale'])}"
    if a.get("requested_by"):
        text += f"<br>Requested by {escape(a['requested_by'])} on {_time(a.get('requested_at'))}"
    return text


class AsOfPanel(QWidget):
    """Ask about the end of a day (UTC) or, with "At time" ticked, a local moment; answers arrive in the background."""

    answered = Signal(object)  # the AsOf shown
    failed = Signal(str)

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.name: str | None = None
        self.answer: AsOf | None = None
        self._token = 0
        self._asked_for: tuple | None = None
        self._debounce = QTimer(self, singleShot=True, interval=300, timeout=self.ask)
        self.date_edit = QDateEdit(QDate.currentDate())
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setMaximumDate(QDate.currentDate())
        self.time_box = QCheckBox("At time")
        self.time_edit = QTimeEdit(QTime(12, 0))
        self.time_edit.setDisplayFormat("HH:mm")
        self.time_edit.setEnabled(False)
        self.ask_button = QPushButton("Ask")
        self.ask_button.setObjectName("Primary")
        self.hint_label = QLabel()
        self.hint_label.setObjectName("Muted")
        self.date_edit.dateChanged.connect(lambda _d: self._debounce.start())
        self.time_edit.timeChanged.connect(lambda _t: self.time_box.isChecked() and self._debounce.start())
        self.time_box.toggled.connect(self._time_toggled)
        self.ask_button.clicked.connect(self.ask)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("In production on"))
        bar.addWidget(self.date_edit)
        bar.addSpacing(6)
        bar.addWidget(self.time_box)
        bar.addWidget(self.time_edit)
        bar.addWidget(self.ask_button)
        bar.addSpacing(8)
        bar.addWidget(self.hint_label, 1)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setStyleSheet("font-weight: 600;")
        self.body = QStackedWidget()
        self.body.addWidget(QWidget())  # nothing to show beyond the message
        self.body.addWidget(self._build_details())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.body, 1)
        self._time_toggled(False)

    def _build_details(self) -> QWidget:
        self.facts = QFormLayout()
        self.facts.setHorizontalSpacing(14)
        self.facts.setVerticalSpacing(6)
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fact: dict[str, QLabel] = {}
        for key in ("Version", "Artifact", "Registered", "In production", "Entered by", "Reason", "Clearance",
                    "Approval", "Training data", "Test data", "Validation"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            name = QLabel(key)
            name.setObjectName("Muted")
            self.facts.addRow(name, label)
            self.fact[key] = label
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 4, 8, 0)
        left_layout.addLayout(self.facts)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(left)
        self.criteria = CriteriaModel(self)
        self.criteria_view = make_table(self.criteria)
        self.criteria_title = section_label("Gate criteria")
        self.batches = BatchesModel(self)
        self.batches_view = make_table(self.batches)
        self.batches_title = section_label("Batches scored")
        self.no_batches_label = QLabel("No batch was scored with this version while it was in production.")
        self.no_batches_label.setObjectName("Muted")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 4, 0, 0)
        right_layout.addWidget(self.criteria_title)
        right_layout.addWidget(self.criteria_view)
        right_layout.addSpacing(6)
        right_layout.addWidget(self.batches_title)
        right_layout.addWidget(self.no_batches_label)
        right_layout.addWidget(self.batches_view, 1)
        right_layout.addStretch(0)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(0, 2)  # the tables need the width more than the facts, which wrap
        split.setStretchFactor(1, 3)
        split.setSizes([420, 630])
        return split

    # -- asking ---------------------------------------------------------------------------------------
    def set_model(self, name: str | None) -> None:
        """Show `name`; the question is asked again when the panel is (or becomes) visible."""
        if name != self.name:
            self.name, self.answer = name, None
            self.message_label.setText("")
            self.body.setCurrentIndex(0)
        self._asked_for = None  # the records may have changed: the answer is asked for again
        if self.isVisible():
            self.ask()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.name and self._asked_for is None:
            self.ask()

    def set_moment(self, day: QDate, at: QTime | None = None) -> None:
        self.date_edit.setDate(day)
        self.time_box.setChecked(at is not None)
        if at is not None:
            self.time_edit.setTime(at)

    def _time_toggled(self, on: bool) -> None:
        self.time_edit.setEnabled(on)
        self.hint_label.setText("local time" if on else "end of that day (UTC); today means now")
        if self.name and self._asked_for is not None:
            self._debounce.start()

    def when(self) -> str | datetime:
        """What `as_of` is asked about: the day as 'YYYY-MM-DD', now for today, or a local time."""
        day = self.date_edit.date()
        if self.time_box.isChecked():
            local = QDateTime(day, self.time_edit.time()).toPython()
            return local.astimezone().astimezone(UTC)
        if day == QDate.currentDate():
            return datetime.now(UTC)  # today in local time may already be tomorrow in UTC
        return day.toString("yyyy-MM-dd")

    def ask(self) -> None:
        self._debounce.stop()
        if not self.name:
            return
        self._token += 1
        token, name, when = self._token, self.name, self.when()
        self._asked_for = (name, when)
        self.message_label.setStyleSheet("font-weight: 600;")
        self.message_label.setText("Looking it up…")
        self.runner.submit(as_of, self.ws, name, when,
                           on_success=lambda a: self._on_answer(token, a),
                           on_error=lambda e: self._on_error(token, e))

    def _on_error(self, token: int, exc: BaseException) -> None:
        if token != self._token:
            return  # a newer question was asked meanwhile
        message, hint = describe_error(exc)
        text = f"{message} {hint}".strip()
        self.answer = None
        self.message_label.setStyleSheet(f"font-weight: 600; color: {theme.color('error').name()};")
        self.message_label.setText(text)
        self.body.setCurrentIndex(0)
        self.failed.emit(text)

    def _on_answer(self, token: int, answer: AsOf) -> None:
        if token != self._token:
            return
        self.answer = answer
        self.message_label.setText(answer.message)
        self.body.setCurrentIndex(1 if answer.version is not None else 0)
        if answer.version is not None:
            self._fill(answer)
        self.answered.emit(answer)

    # -- showing ----------------------------------------------------------------------------------------
    def _fill(self, a: AsOf) -> None:
        estimator = (a.estimator or "").rsplit(".", 1)[-1]
        f = self.fact
        f["Version"].setText(f"<b>v{a.version}</b>  ·  {escape(estimator)}")
        f["Artifact"].setText(f"sha256 {short_hash(a.artifact_sha256, 16)}")
        f["Artifact"].setToolTip(f"sha256 {a.artifact_sha256}")
        f["Registered"].setText(f"{_time(a.registered_at)} by {escape(a.registered_by or '?')}")
        until = (f"until {_time(a.left_at)} ({escape(a.left_by or '?')})"
                 + (f", replaced by v{a.replaced_by}" if a.replaced_by else "") if a.left_at else "and still is")
        f["In production"].setText(f"from {_time(a.entered_at)} {until}")
        f["Entered by"].setText(escape(a.entered_by or "—"))
        f["Reason"].setText(escape(a.entry_reason or "—"))
        f["Clearance"].setText(_clearance(a))
        f["Approval"].setText(_approval(a))
        for key, data in (("Training data", a.train_dataset), ("Test data", a.test_dataset)):
            text, tip = _dataset(data)
            f[key].setText(text)
            f[key].setToolTip(tip)
        f["Validation"].setText("  ·  ".join(f"{metric_label(k)} {fmt_metric(v)}" for k, v in a.metrics.items())
                                or "—")
        criteria = (a.gate or {}).get("criteria") or []
        self.criteria.set_records(criteria)
        self.criteria_title.setText(
            f"GATE CRITERIA  ·  {'PASSED' if a.gate.get('passed') else 'FAILED'}" if a.gate
            else "GATE CRITERIA  ·  NONE RECORDED (REGISTERED BY HAND)")
        self.criteria_view.setVisible(bool(criteria))
        self.batches.set_records(a.batches)
        self.batches_view.setVisible(bool(a.batches))
        self.no_batches_label.setVisible(not a.batches)
        self.batches_title.setText(f"BATCHES SCORED UNTIL REPLACED  ·  {len(a.batches)}" if a.left_at
                                   else f"BATCHES SCORED SINCE ENTERING PRODUCTION  ·  {len(a.batches)}")
        for view in (self.criteria_view, self.batches_view):
            view.resizeColumnsToContents()
        # A gate has a handful of criteria: show them all, give the batches the rest of the height.
        view = self.criteria_view
        view.setFixedHeight(view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth()
                            + view.verticalHeader().defaultSectionSize() * len(criteria)
                            + view.horizontalScrollBar().sizeHint().height())
