"""The Approvals page: promotion requests waiting for a second person, and the decisions made on them."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStackedWidget, QVBoxLayout, QWidget,
)

from app.core.approvals import Approval, ApprovalStatus
from app.core.identity import current_actor
from app.services.approvals import approve, list_approvals, reject, withdraw
from app.services.policy import separation_of_duties
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.approvals_actions import promote_with_policy
from app.ui.approvals_dialogs import DecisionDialog
from app.ui.tables import make_table
from app.ui.approvals_table import (
    ApprovalsTableModel, criteria_html, decision_text, failed_criteria, stage_now,
)
from app.ui.formatting import fmt_time
from app.ui.messages import describe_error, show_error
from app.ui.tables import RECORD_ROLE
from app.ui.tasks import TaskRunner

__all__ = ["ApprovalsPage", "promote_with_policy", "load_approvals"]

_WIDEST = {5: 200, 6: 170}  # reason and override: the tooltip and the details card have the full text
_ACTIONS = {"approve": approve, "reject": reject, "withdraw": withdraw}


def load_approvals(ws: Workspace) -> tuple[list[Approval], bool]:
    """Every request (newest first) and whether separation of duties is on: one background read."""
    return list_approvals(ws, status="all"), separation_of_duties(ws)


def _policy_text(on: bool, actor: str) -> str:
    if on:
        text = ("<b>Separation of duties is on.</b> Every move to Production becomes a request here, and someone "
                "other than the requester approves or rejects it.")
    else:
        text = ("<b>Separation of duties is off.</b> Versions are promoted directly; requests made explicitly "
                "(<code>steward approvals request</code>) still need another person. "
                "Turn it on with <code>steward settings set policy.separation_of_duties=1</code>.")
    return f"{text} You are acting as <b>{escape(actor)}</b>."


class ApprovalsPage(QWidget):
    """Lists the requests (pending or all) and decides on the selected one through the TaskRunner."""

    approvals_changed = Signal()  # the requests differ from the last ones shown; pending_count() is current
    approvals_loaded = Signal(object)  # list[Approval] after every refresh
    decision_made = Signal(object)  # the Promotion (approve) or Approval (reject/withdraw) a decision returned
    decision_failed = Signal(object)  # the exception, already shown to the person

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self._all: list[Approval] | None = None
        self._separation: bool | None = None
        self._loading = self._again = self._deciding = False
        self.dialog: DecisionDialog | None = None

        title = QLabel("Approvals")
        title.setObjectName("PageTitle")
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        self.filter_combo = QComboBox()
        self.filter_combo.addItem("Pending requests", "pending")
        self.filter_combo.addItem("All requests", "all")
        self.filter_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setObjectName("Primary")
        self.approve_button.setToolTip("Move the version to Production (you must not be the requester)")
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setToolTip("Refuse the request with a rationale; nothing moves")
        self.withdraw_button = QPushButton("Withdraw…")
        self.withdraw_button.setToolTip("Take back a request you made")
        for button, decision in ((self.approve_button, "approve"), (self.reject_button, "reject"),
                                 (self.withdraw_button, "withdraw")):
            button.clicked.connect(lambda _c=False, d=decision: self.open_decision(d))
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(8)
        top.addWidget(self.count_label)
        top.addStretch(1)
        top.addWidget(self.filter_combo)
        top.addSpacing(12)
        top.addWidget(self.approve_button)
        top.addWidget(self.reject_button)
        top.addWidget(self.withdraw_button)

        self.policy_banner = QFrame()
        self.policy_banner.setObjectName("PolicyBanner")
        self.policy_label = QLabel("Reading the policy…")
        self.policy_label.setTextFormat(Qt.TextFormat.RichText)
        self.policy_label.setWordWrap(True)
        banner_layout = QHBoxLayout(self.policy_banner)
        banner_layout.setContentsMargins(10, 6, 10, 6)
        banner_layout.addWidget(self.policy_label)

        self.model = ApprovalsTableModel(self)
        self.table = make_table(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.details_label = QLabel()
        self.details_label.setTextFormat(Qt.TextFormat.RichText)
        self.details_label.setWordWrap(True)
        self.details_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details = QScrollArea()  # the card scrolls when a long override list does not fit
        details.setObjectName("Card")
        details.setWidgetResizable(True)
        details.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_label.setContentsMargins(12, 10, 12, 10)
        details.setWidget(self.details_label)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 170])

        self.empty_label = QLabel()
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty_label)
        self.body.addWidget(split)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.policy_banner)
        layout.addWidget(self.body, 1)
        self._restyle()
        self._show()

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the requests and the policy in the background; calls made meanwhile fold into one."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.runner.submit(load_approvals, self.ws, on_success=self._apply, on_error=self._load_failed)

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.count_label.setText(f"Could not read the requests: {describe_error(exc)[0]}")

    def _apply(self, loaded: tuple[list[Approval], bool]) -> None:
        self._loading = False
        approvals, self._separation = loaded
        changed = approvals != self._all
        self._all = approvals
        self._show()
        self.approvals_loaded.emit(approvals)
        if changed:
            self.approvals_changed.emit()
        if self._again:
            self._again = False
            self.refresh()

    def pending_count(self) -> int:
        """Requests waiting for a decision (whatever the filter shows), for a sidebar badge."""
        return sum(a.status is ApprovalStatus.PENDING for a in self._all or [])

    def approvals(self) -> list[Approval]:
        return list(self._all or [])

    # -- showing ----------------------------------------------------------------------------------
    def _show(self) -> None:
        kept = self.selected_approval()
        everything = self.filter_combo.currentData() == "all"
        shown = [a for a in self._all or [] if everything or a.status is ApprovalStatus.PENDING]
        self.model.set_approvals(shown)
        if shown:
            self.table.resizeColumnsToContents()
            header = self.table.horizontalHeader()
            for col in range(self.model.columnCount() - 1):  # long reasons must not push the rest away
                header.resizeSection(col, min(header.sectionSize(col) + 8, _WIDEST.get(col, 200)))
        self.body.setCurrentIndex(1 if shown else 0)
        self.empty_label.setText(self._empty_text(everything))
        total = len(self._all or [])
        self.count_label.setText("" if self._all is None else f"{self.pending_count()} pending  ·  {total} in all")
        if self._separation is not None:
            self.policy_label.setText(_policy_text(self._separation, current_actor()))
        if not (kept and self.select_approval(kept.id)) and shown:
            self.select_approval(shown[0].id)
        self._selection_changed()

    def _empty_text(self, everything: bool) -> str:
        if self._all is None:
            return "Reading the requests…"
        how = ("Promoting a version to Production opens a request here for another person to approve."
               if self._separation else
               "With separation of duties on, promoting a version to Production opens a request here for another "
               "person to approve.")
        if everything:
            return f"<p style='font-size:15pt; font-weight:600'>No promotion requests yet</p><p>{how}</p>"
        return ("<p style='font-size:15pt; font-weight:600'>Nothing waits for approval</p>"
                f"<p>{how}</p><p>Choose <b>All requests</b> to see the decisions made.</p>")

    def selected_approval(self) -> Approval | None:
        index = self.table.currentIndex()
        return index.data(RECORD_ROLE) if index.isValid() else None

    def select_approval(self, approval_id: int) -> bool:
        row = self.model.row_of(approval_id)
        if row < 0:
            return False
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def _selection_changed(self) -> None:
        a = self.selected_approval()
        pending = a is not None and a.status is ApprovalStatus.PENDING and not self._deciding
        mine = a is not None and a.requested_by == current_actor()
        self.approve_button.setEnabled(pending)
        self.reject_button.setEnabled(pending and not mine)
        self.withdraw_button.setEnabled(pending and mine)
        self.details_label.setText(self._details(a) if a else "")

    @staticmethod
    def _details(a: Approval) -> str:
        rows = [f"<b>Request #{a.id}</b> — <b>{escape(a.model_name)}</b> v{a.version} "
                f"({stage_now(a)} now) → Production · <b>{a.status.value}</b>",
                f"Requested by {escape(a.requested_by)} on {fmt_time(a.requested_at)}: {escape(a.reason)}"]
        gate = a.gate
        if a.override:
            failed = failed_criteria(a)
            rows.append(f"<b>Gate override:</b> {escape(a.override)}"
                        + (f"<br>Overridden gate criteria:{criteria_html(failed)}" if failed else ""))
        elif gate is not None:
            rows.append(f"Gate: {'passed' if gate.get('passed') else 'failed'}"
                        + (f" — {escape(str(gate.get('summary')))}" if gate.get("summary") else ""))
        else:
            rows.append("Gate: none recorded (the version was registered by hand).")
        if a.decided_by:
            rows.append(f"Decided by {escape(decision_text(a))}"
                        + (f": {escape(a.rationale)}" if a.rationale else ""))
        return "<br>".join(rows)

    # -- deciding ---------------------------------------------------------------------------------
    def open_decision(self, decision: str) -> DecisionDialog | None:
        """Open the rationale dialog for the selected request (non-blocking); accepting it runs the decision."""
        approval = self.selected_approval()
        if approval is None or self._deciding:
            return None
        self.dialog = DecisionDialog(approval, decision, current_actor(), self)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.accepted.connect(lambda d=self.dialog: self._decide(d.approval.id, d.decision, d.rationale))
        self.dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog.open()
        return self.dialog

    def _decide(self, approval_id: int, decision: str, rationale: str) -> None:
        self._deciding = True
        self._selection_changed()
        # the actor is read here, on the GUI thread: whoever pressed the button decides
        self.runner.submit(_ACTIONS[decision], self.ws, approval_id, rationale, actor=current_actor(),
                           on_success=self._decided, on_error=self._decision_failed)

    def _decided(self, result) -> None:
        self._deciding = False
        self.decision_made.emit(result)
        self.refresh()

    def _decision_failed(self, exc: BaseException) -> None:
        self._deciding = False
        show_error(self, exc, "Decision not recorded")
        self.decision_failed.emit(exc)
        self.refresh()  # someone else may have decided meanwhile

    # -- theme ------------------------------------------------------------------------------------
    def _restyle(self) -> None:
        self.policy_banner.setStyleSheet(theme.status_style("info", "QFrame#PolicyBanner"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: the banner's colours come from it
            self._restyle()
        super().changeEvent(event)
