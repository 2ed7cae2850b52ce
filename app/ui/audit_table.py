"""Table view of the audit log: columns fitted to the first page, middle-elided objects, tooltips when cut."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QHelpEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QToolTip, QWidget,
)

from app.ui.audit_model import COLUMNS, AuditTableModel

__all__ = ["AuditTableView"]

SEQ, TIME, ACTOR, ACTION, OBJECT, MODEL, DETAILS = range(len(COLUMNS))
# Widths below are in "n" widths of the view's font (about one average character of an id).
# When the fitted columns leave the summary less than _SUMMARY_N, these give up width, in this
# order, down to their floor; the cut text stays in the tooltip (and the details panel).
_SHRINK_TO = ((OBJECT, 22), (MODEL, 15))
_SUMMARY_N = 24
# Never wider than this: actors and actions are short (the limit guards against an odd long one);
# object ids can be 70-character dataset hashes that are no use whole in a table.
_LIMIT_N = {ACTOR: 16, ACTION: 21, OBJECT: 32, MODEL: 24}
_START_N = (4, 16, 11, 22, 20, 14)  # until the first page arrives and the columns are fitted to it


class _AuditDelegate(QStyledItemDelegate):
    """Elides object ids in the middle (the version number at the end matters) and shows a tooltip
    only where it adds something: text that is cut off, or the UTC time behind a local one."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if index.column() == OBJECT:
            option.textElideMode = Qt.TextElideMode.ElideMiddle

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() == QEvent.Type.ToolTip and index.isValid() and index.column() != TIME:
            if not self._is_cut(view, option, index):
                QToolTip.hideText()
                return True
        return super().helpEvent(event, view, option, index)

    def _is_cut(self, view: QWidget, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> bool:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = view.style()
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, view)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        return opt.fontMetrics.horizontalAdvance(opt.text) > rect.width() - 2 * margin


class AuditTableView(QTableView):
    """Rows of an AuditTableModel. The columns are fitted once, to the first page that has rows, when
    the view is first on screen (measuring a lazy model on every page would be slow and would undo
    a person's own widths); after that they are plain interactive columns, and the summary column
    takes the rest."""

    def __init__(self, model: AuditTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(_AuditDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        # Fixed row heights: the view never measures rows, which matters with a million of them.
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setStretchLastSection(True)
        head.setHighlightSections(False)
        head.setMinimumSectionSize(self._n(4))
        for column, n in enumerate(_START_N):
            self.setColumnWidth(column, self._n(n))
        self.columns_fitted = False
        self._fit_pending = False
        model.page_loaded.connect(self._page_loaded)

    def fit_columns(self) -> None:
        """Size every column but the summary to its contents on the loaded rows, then take width back
        from the long-valued columns until the summary has room (the window may be small)."""
        self._fit_pending = False
        self.columns_fitted = True
        for column in range(DETAILS):
            self.resizeColumnToContents(column)
        for column, limit in _LIMIT_N.items():
            self.setColumnWidth(column, min(self.columnWidth(column), self._n(limit)))
        excess = sum(self.columnWidth(c) for c in range(DETAILS)) + self._n(_SUMMARY_N) - self._room()
        for column, floor in _SHRINK_TO:
            if excess <= 0:
                break
            give = max(0, min(excess, self.columnWidth(column) - self._n(floor)))
            self.setColumnWidth(column, self.columnWidth(column) - give)
            excess -= give

    def _room(self) -> int:
        """Width for the columns, less the vertical scroll bar even if it is not shown yet
        (the rows were inserted a moment ago)."""
        width = self.viewport().width()
        overflows = self.model().rowCount() * self.verticalHeader().defaultSectionSize() > self.viewport().height()
        if overflows and not self.verticalScrollBar().isVisible():
            width -= self.verticalScrollBar().sizeHint().width()
        return width

    def _n(self, count: int) -> int:
        return self.fontMetrics().horizontalAdvance("n" * count)

    def _page_loaded(self, page: int) -> None:
        if page == 0 and not self.columns_fitted and self.model().rowCount() > 0:
            self._fit_pending = True
            self._fit_when_shown()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_when_shown()

    def _fit_when_shown(self) -> None:
        # Fitting needs the real width (a hidden page has none yet) and the style sheet's padding;
        # the zero timer lets the layout give the view its size first.
        if self._fit_pending and self.isVisible():
            QTimer.singleShot(0, self, self._fit_if_pending)

    def _fit_if_pending(self) -> None:
        # rows == 0: the filter changed meanwhile; its first page will ask again
        if self._fit_pending and self.isVisible() and self.model().rowCount() > 0:
            self.fit_columns()
