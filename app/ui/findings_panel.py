"""A model's findings: a table with severity badges and overdue rows marked, the selected one in full below."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import QItemSelectionModel, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QStyledItemDelegate,
    QStyleOptionViewItem, QVBoxLayout, QWidget,
)

from app.core.compliance import Finding, FindingStatus, past_due
from app.core.timeutil import utcnow
from app.ui import theme
from app.ui.palette import severity_color, translucent
from app.ui.formatting import fmt_time
from app.ui.tables import RECORD_ROLE, Column, RecordTableModel, draw_cell_background, make_table

__all__ = ["FindingsPanel", "FindingsTableModel", "SeverityBadgeDelegate", "OverdueRowDelegate", "is_overdue"]

_RANK = {"low": 0, "medium": 1, "high": 2}


def is_overdue(finding: Finding) -> bool:
    """Open past its due date: the same rule the audit report uses for a finding_overdue gap."""
    return finding.status is FindingStatus.OPEN and past_due(finding.due_at, utcnow())


def _day(moment) -> str:
    return moment.date().isoformat() if moment else "—"


def _status(f: Finding) -> str:
    if f.status is FindingStatus.CLOSED:
        return "Closed"
    return "Open · overdue" if is_overdue(f) else "Open"


class FindingsTableModel(RecordTableModel):
    columns = (
        Column("#", lambda f: f"#{f.id}", sort=lambda f: f.id),
        Column("Severity", lambda f: f.severity.capitalize(), sort=lambda f: _RANK.get(f.severity, 0)),
        Column("Title", lambda f: f.title, tooltip=lambda f: f"{f.title}\n\n{f.description}"),
        Column("Status", _status,
               tooltip=lambda f: f"Closed {fmt_time(f.closed_at)} by {f.closed_by}" if f.closed_at else ""),
        Column("Opened", lambda f: fmt_time(f.opened_at), sort=lambda f: f.opened_at,
               tooltip=lambda f: f"by {f.opened_by}"),
        Column("Due", lambda f: _day(f.due_at), sort=lambda f: f.due_at.isoformat() if f.due_at else ""),
        Column("Versions", lambda f: ", ".join(f"v{n}" for n in f.versions) or "Whole model"),
        Column("Corrective action", lambda f: f.corrective_action or "—", tooltip=lambda f: f.corrective_action),
    )
    SEVERITY_COLUMN, STATUS_COLUMN, DUE_COLUMN = 1, 3, 5

    def row_of(self, finding_id: int) -> int:
        return next((i for i, f in enumerate(self._rows) if f.id == finding_id), -1)

    def extra_data(self, rec: Finding, col: Column, role: int):
        overdue = is_overdue(rec)
        if role == Qt.ItemDataRole.ForegroundRole:
            if overdue and col in (self.columns[self.STATUS_COLUMN], self.columns[self.DUE_COLUMN]):
                return theme.color("error")
            if rec.status is FindingStatus.CLOSED and col is not self.columns[self.SEVERITY_COLUMN]:
                return theme.color("muted")
        if role == Qt.ItemDataRole.FontRole and overdue and col is self.columns[self.STATUS_COLUMN]:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None


class OverdueRowDelegate(QStyledItemDelegate):
    """Tints the rows of overdue findings (the stylesheet's item rule hides a model's BackgroundRole)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.tint(painter, option, index)
        super().paint(painter, option, index)

    @staticmethod
    def tint(painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        record = index.data(RECORD_ROLE)
        if isinstance(record, Finding) and is_overdue(record):
            painter.fillRect(option.rect, translucent(theme.color("error"), 30))


class SeverityBadgeDelegate(OverdueRowDelegate):
    """Paints 'Low' / 'Medium' / 'High' as a pill tinted with the severity colour the alerts use."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.tint(painter, option, index)
        opt, text = draw_cell_background(self, painter, option, index)
        record = index.data(RECORD_ROLE)
        tint: QColor = severity_color(getattr(record, "severity", None))
        font = QFont(opt.font)
        font.setWeight(QFont.Weight.DemiBold)
        fm = QFontMetrics(font)
        height = min(fm.height() + 6, opt.rect.height() - 4)
        rect = QRectF(opt.rect.left() + 6, opt.rect.center().y() - height / 2 + 0.5,
                      fm.horizontalAdvance(text) + 16, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(font)
        painter.setPen(tint)
        painter.setBrush(translucent(tint, 40))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(tint.darker(135) if theme.current_theme() == "light" else tint)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option, index):
        size = super().sizeHint(option, index)
        size.setWidth(size.width() + 24)
        return size


class FindingsPanel(QWidget):
    """Emits new_requested / close_requested(Finding); the details pane opens the dialogs."""

    new_requested = Signal()
    close_requested = Signal(object)  # the open Finding selected

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = FindingsTableModel(self)
        self._all: list[Finding] = []
        self.table = make_table(self.model)
        self.table.setItemDelegate(OverdueRowDelegate(self.table))
        self.table.setItemDelegateForColumn(FindingsTableModel.SEVERITY_COLUMN, SeverityBadgeDelegate(self.table))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.table.doubleClicked.connect(lambda _i: self.close_button.isEnabled() and self.close_button.click())
        self.summary_label = QLabel()
        self.summary_label.setObjectName("Muted")
        self.filter_combo = QComboBox()
        self.filter_combo.addItem("All findings", False)
        self.filter_combo.addItem("Open findings", True)
        self.filter_combo.currentIndexChanged.connect(lambda _i: self._apply())
        self.new_button = QPushButton("New finding…")
        self.new_button.setToolTip("Record an incident or review finding on this model (audited)")
        self.close_button = QPushButton("Close finding…")
        self.close_button.setToolTip("Close the selected open finding with the corrective action taken")
        self.new_button.clicked.connect(self.new_requested)
        self.close_button.clicked.connect(lambda: self.selected() and self.close_requested.emit(self.selected()))
        head = QHBoxLayout()
        head.addWidget(self.filter_combo)
        head.addSpacing(8)
        head.addWidget(self.summary_label, 1)
        head.addWidget(self.new_button)
        head.addWidget(self.close_button)
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextFormat(Qt.TextFormat.RichText)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setContentsMargins(4, 4, 4, 4)
        detail = QScrollArea()
        detail.setWidgetResizable(True)
        detail.setFrameShape(QScrollArea.Shape.NoFrame)
        detail.setWidget(self.detail_label)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([240, 130])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(head)
        layout.addWidget(split, 1)
        self._selection_changed()

    # -- data -----------------------------------------------------------------------------------------
    def set_findings(self, findings: Sequence[Finding]) -> None:
        self._all = list(findings)
        open_ = [f for f in self._all if f.status is FindingStatus.OPEN]
        overdue = sum(1 for f in open_ if is_overdue(f))
        self.summary_label.setText(
            f"{len(open_)} open{f', {overdue} overdue' if overdue else ''}  ·  {len(self._all)} in all"
            if self._all else "No findings recorded.")
        self._apply()

    def open_count(self) -> int:
        return sum(1 for f in self._all if f.status is FindingStatus.OPEN)

    def overdue_count(self) -> int:
        return sum(1 for f in self._all if is_overdue(f))

    def _apply(self) -> None:
        kept = self.selected()
        only_open = bool(self.filter_combo.currentData())
        self.model.set_records([f for f in self._all if not only_open or f.status is FindingStatus.OPEN])
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.resizeSection(2, min(header.sectionSize(2), 320))  # long titles are in the tooltip and below
        if not (kept and self.select_finding(kept.id)) and self.model.rowCount():
            self.select_finding(self.model.record(0).id)
        self._selection_changed()

    def selected(self) -> Finding | None:
        index = self.table.currentIndex()
        return index.data(RECORD_ROLE) if index.isValid() else None

    def select_finding(self, finding_id: int) -> bool:
        row = self.model.row_of(finding_id)
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        return row >= 0

    def _selection_changed(self) -> None:
        finding = self.selected()
        self.close_button.setEnabled(finding is not None and finding.status is FindingStatus.OPEN)
        self.detail_label.setText(_detail_html(finding) if finding else
                                  "<span>Select a finding to read it in full.</span>" if self._all else "")


def _detail_html(f: Finding) -> str:
    muted = theme.color("muted").name()
    rows = [f"<b>#{f.id} {escape(f.title)}</b> &nbsp;<span style='color:{muted}'>{f.severity} severity · "
            f"opened {fmt_time(f.opened_at)} by {escape(f.opened_by)}"
            + (f" · due {_day(f.due_at)}" if f.due_at else "")
            + (f" · from alert #{f.alert_id}" if f.alert_id else "") + "</span>",
            escape(f.description).replace("\n", "<br>")]
    if f.root_cause:
        rows.append(f"<b>Root cause:</b> {escape(f.root_cause)}")
    if f.status is FindingStatus.CLOSED:
        rows.append(f"<b>Corrective action</b> <span style='color:{muted}'>(closed {fmt_time(f.closed_at)} by "
                    f"{escape(f.closed_by or '')})</span>: {escape(f.corrective_action)}")
    elif is_overdue(f):
        rows.append(f"<span style='color:{theme.color('error').name()}'><b>Overdue:</b> open past its due date "
                    f"{_day(f.due_at)}; audit reports list it as a gap.</span>")
    return "".join(f"<p style='margin: 0 0 5px 0'>{row}</p>" for row in rows)
