"""Qt table models over plain entities, the search proxy, and the stage badge delegate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
)

from app.core.entities import ModelSummary, StageChange
from app.ui import theme
from app.ui.formatting import estimator_label, fmt_time, key_metrics, short_hash, stage_text

__all__ = [
    "draw_cell_background",
    "make_table",
    "Column", "RecordTableModel", "ModelsTableModel", "VersionsTableModel", "HistoryTableModel",
    "ModelFilterProxy", "StageBadgeDelegate", "RECORD_ROLE", "SORT_ROLE", "STAGE_ROLE",
]

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1  # the entity behind the row
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a value that sorts correctly (numbers, datetimes)
STAGE_ROLE = Qt.ItemDataRole.UserRole + 3  # the stage a badge delegate paints

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[Any], str]
    sort: Callable[[Any], Any] | None = None
    stage: Callable[[Any], str | None] | None = None  # set for columns painted as stage badges
    tooltip: Callable[[Any], str] | None = None
    align_right: bool = False


class RecordTableModel(QAbstractTableModel):
    """Rows are entities; columns are `Column` recipes. Replaced wholesale on refresh."""

    columns: Sequence[Column] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_records(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def records(self) -> list[Any]:
        return list(self._rows)

    def record(self, row: int) -> Any:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec, col = self._rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(rec)
        if role == SORT_ROLE:
            return col.sort(rec) if col.sort else col.text(rec).lower()
        if role == RECORD_ROLE:
            return rec
        if role == STAGE_ROLE and col.stage:
            return col.stage(rec)
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip:
            return col.tooltip(rec)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if col.align_right else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return self.extra_data(rec, col, role)

    def extra_data(self, rec: Any, col: Column, role: int):
        return None


def _stage_value(stage) -> str | None:
    return None if stage is None else str(stage.value if hasattr(stage, "value") else stage)


class ModelsTableModel(RecordTableModel):
    columns = (
        Column("Name", lambda m: m.name),
        Column("Production", lambda m: f"v{m.production_version}" if m.production_version else "—",
               sort=lambda m: m.production_version or 0),
        Column("Latest stage", lambda m: stage_text(m.latest_stage), stage=lambda m: _stage_value(m.latest_stage),
               tooltip=lambda m: f"Version {m.latest_version}" if m.latest_version else "No versions yet"),
        Column("Versions", lambda m: str(m.versions), sort=lambda m: m.versions, align_right=True),
        Column("Owner", lambda m: m.owner),
        Column("Risk tier", lambda m: m.risk_tier.value.capitalize(),
               sort=lambda m: {"low": 0, "medium": 1, "high": 2}.get(m.risk_tier.value, 0)),
        Column("Last change", lambda m: f"{fmt_time(m.last_change_at)}  ·  {m.last_change_by}",
               sort=lambda m: m.last_change_at),
    )
    RISK_COLUMN = 5

    def extra_data(self, rec: ModelSummary, col: Column, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and col is self.columns[self.RISK_COLUMN]:
            return theme.risk_color(rec.risk_tier.value)
        if role == Qt.ItemDataRole.FontRole and col is self.columns[0]:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    def row_of(self, name: str) -> int:
        return next((i for i, m in enumerate(self._rows) if m.name == name), -1)


class VersionsTableModel(RecordTableModel):
    columns = (
        Column("Version", lambda v: f"v{v.number}", sort=lambda v: v.number),
        Column("Stage", lambda v: v.stage.label, stage=lambda v: v.stage.value),
        Column("Estimator", estimator_label, tooltip=lambda v: v.estimator_class),
        Column("Key metrics", key_metrics),
        Column("Created", lambda v: fmt_time(v.created_at), sort=lambda v: v.created_at),
        Column("By", lambda v: v.created_by),
        Column("Artifact", lambda v: short_hash(v.artifact_sha256), tooltip=lambda v: f"sha256 {v.artifact_sha256}"),
    )

    def row_of(self, number: int) -> int:
        return next((i for i, v in enumerate(self._rows) if v.number == number), -1)


class HistoryTableModel(RecordTableModel):
    columns = (
        Column("When", lambda c: fmt_time(c.at), sort=lambda c: c.at),
        Column("Version", lambda c: f"v{c.version}", sort=lambda c: c.version),
        Column("Move", lambda c: f"{c.from_stage.label} → {c.to_stage.label}",
               stage=lambda c: (c.from_stage.value, c.to_stage.value),
               sort=lambda c: (c.from_stage.value, c.to_stage.value)),
        Column("Who", lambda c: c.actor),
        Column("Reason", lambda c: c.reason, tooltip=lambda c: f"{c.reason}\n(audit event #{c.audit_seq})"),
    )

    def set_records(self, rows: Sequence[StageChange]) -> None:
        # Newest first: the latest move is what people look for.
        super().set_records(sorted(rows, key=lambda c: c.id, reverse=True))


class ModelFilterProxy(QSortFilterProxyModel):
    """Sorts on SORT_ROLE; the search text matches name, owner, tags or risk tier (case-insensitive)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._needle = ""

    def set_search(self, text: str) -> None:
        needle = text.strip().lower()
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 replaces invalidateFilter()
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange()
        else:
            self._needle = needle
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._needle:
            return True
        rec: ModelSummary = self.sourceModel().record(source_row)
        haystack = " ".join([rec.name, rec.owner, rec.risk_tier.value, *rec.tags]).lower()
        return all(word in haystack for word in self._needle.split())


def draw_cell_background(delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem,
                         index) -> tuple[QStyleOptionViewItem, str]:
    """Background and selection as for any other cell, without the text; returns the option and that text
    for a delegate that draws the content itself (badges, bars)."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    text, opt.text = opt.text, ""
    style = opt.widget.style() if opt.widget else None
    if style is not None:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
    return opt, text


class StageBadgeDelegate(QStyledItemDelegate):
    """Paints a stage as a rounded, coloured pill (or two with an arrow for a move); no stage is a dash."""

    _GAP = 6

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        value = index.data(STAGE_ROLE)
        stages = value if isinstance(value, tuple) else (value,)
        if not any(theme.stage_colors(s) for s in stages if s):
            super().paint(painter, option, index)
            return
        opt, _text = draw_cell_background(self, painter, option, index)
        font = self._font(opt.font)
        fm = QFontMetrics(font)
        height = min(fm.height() + 6, opt.rect.height() - 4)
        x = opt.rect.left() + 6
        top = opt.rect.center().y() - height / 2 + 0.5
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(font)
        for i, stage in enumerate(stages):
            if i:
                arrow = QRectF(x, top, fm.horizontalAdvance("→") + 2 * self._GAP, height)
                painter.setPen(theme.color("muted"))
                painter.drawText(arrow, Qt.AlignmentFlag.AlignCenter, "→")
                x = arrow.right()
            x = self._pill(painter, stage, x, top, height, fm)
        painter.restore()

    @staticmethod
    def _font(base: QFont) -> QFont:
        font = QFont(base)
        font.setPointSizeF(max(base.pointSizeF() - 0.5, 7.5))
        font.setWeight(QFont.Weight.DemiBold)
        return font

    @staticmethod
    def _pill(painter: QPainter, stage: str | None, x: float, top: float, height: float, fm: QFontMetrics) -> float:
        """Draw one badge starting at x; returns where it ends."""
        label = stage_text(stage)
        colors = theme.stage_colors(stage) if stage else None
        width = fm.horizontalAdvance(label) + 16
        rect = QRectF(x, top, width, height)
        if colors is None:
            painter.setPen(theme.color("muted"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
            return rect.right()
        bg, fg = colors
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(fg)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
        return rect.right()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index):
        size = super().sizeHint(option, index)
        value = index.data(STAGE_ROLE)
        stages = value if isinstance(value, tuple) else (value,)
        fm = QFontMetrics(self._font(option.font))
        width = sum(fm.horizontalAdvance(stage_text(s)) + 16 for s in stages) + 12
        width += (len(stages) - 1) * (fm.horizontalAdvance("→") + 2 * self._GAP)
        size.setWidth(max(size.width(), width + 8))
        return size


def make_table(model, *, stretch_last: bool = True) -> QTableView:
    """A read-only, row-selecting table with the look every table in the window shares."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(30)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(stretch_last)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setMinimumSectionSize(48)
    # Fitting columns to their contents looks at this many rows, not all of them: a thousand-row
    # table would otherwise measure (and paint offscreen) every row each time it refreshes.
    header.setResizeContentsPrecision(200)
    return view
