"""Table model over the audit log that loads pages in the background, so a huge log opens at once."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.core.entities import AuditEvent
from app.core.timeutil import from_iso
from app.services.audit import AuditFilter, count_events, list_events
from app.ui.audit_summary import summarize

if TYPE_CHECKING:
    from app.store.workspace import Workspace
    from app.ui.tasks import TaskRunner

__all__ = ["PAGE_SIZE", "COLUMNS", "AuditRow", "AuditTableModel", "local_minute", "local_time", "summarize"]

PAGE_SIZE = 500
# Pages kept in memory; older ones are dropped and reloaded if scrolled back to (bounded memory at 1M rows).
MAX_CACHED_PAGES = 80
COLUMNS = ("#", "Time", "Actor", "Action", "Object", "Model", "Details")
PLACEHOLDER = "…"


def local_time(at: str) -> str:
    """Canonical UTC text as readable local time."""
    return from_iso(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def local_minute(at: str) -> str:
    """Local time to the minute, for the table (the seconds and UTC are in its tooltip)."""
    return from_iso(at).astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class AuditRow:
    event: AuditEvent
    cells: tuple[str, ...]


def _to_row(e: AuditEvent) -> AuditRow:
    return AuditRow(e, (str(e.seq), local_minute(e.at), e.actor, e.action, e.object, e.model or "",
                        summarize(e.action, e.details)))


def _tooltip(row: AuditRow, column: int) -> str | None:
    """The full text of a cell (the view may cut it); the time also in the canonical UTC form."""
    if column == 0:
        return None
    if column == 1:
        return f"{local_time(row.event.at)} local time\n{row.event.at} UTC"
    return row.cells[column] or None


def load_page(ws: Workspace, filt: AuditFilter, page: int) -> list[AuditRow]:
    """Runs in a worker: one page of rows, already formatted (keeps the GUI thread free)."""
    return [_to_row(e) for e in list_events(ws, filt, limit=PAGE_SIZE, offset=page * PAGE_SIZE)]


class AuditTableModel(QAbstractTableModel):
    """Rows of the filtered log, newest first.

    `fetchMore` appends one page when the view scrolls to the end; `reveal` extends the rows at
    once (for jumping to a far event) and the rows in between are loaded when they become visible.
    Every query runs through the TaskRunner; results from an older filter are dropped.
    """

    total_changed = Signal(object)  # int, or None while counting
    page_loaded = Signal(int)  # page index
    load_failed = Signal(object)  # the exception

    def __init__(self, ws: Workspace, runner: TaskRunner, parent=None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self._filter = AuditFilter()
        self._generation = 0
        self._total: int | None = None
        self._rows = 0
        self._exhausted = False  # a short page came back: nothing after it
        self._pages: OrderedDict[int, list[AuditRow]] = OrderedDict()
        self._pending: set[int] = set()
        self._appending: int | None = None  # the page fetchMore waits for

    # --- state ---------------------------------------------------------------------------------
    @property
    def filter(self) -> AuditFilter:
        return self._filter

    @property
    def total(self) -> int | None:
        """Events matching the filter, or None until counted."""
        return self._total

    def set_filter(self, filt: AuditFilter) -> None:
        """Forget every row and load the first page and the count for `filt`."""
        self.beginResetModel()
        self._generation += 1
        self._filter = filt
        self._total, self._rows, self._exhausted, self._appending = None, 0, False, 0
        self._pages.clear()
        self._pending.clear()
        self.endResetModel()
        self.total_changed.emit(None)
        self._request(0)  # the count follows the first page (see _loaded)

    def reload(self) -> None:
        self.set_filter(self._filter)

    def event_at(self, row: int) -> AuditEvent | None:
        """The event on `row`, or None if its page is not loaded (yet)."""
        page = self._pages.get(row // PAGE_SIZE)
        if page is None or row % PAGE_SIZE >= len(page):
            return None
        return page[row % PAGE_SIZE].event

    def row_of_seq(self, seq: int) -> int | None:
        """Row of event `seq` among the loaded pages."""
        for number, rows in self._pages.items():
            for i, r in enumerate(rows):
                if r.event.seq == seq:
                    return number * PAGE_SIZE + i
        return None

    def reveal(self, row: int) -> None:
        """Make `row` exist (and its page load) even if it lies far beyond the rows fetched so far."""
        if self._total is not None:
            row = min(row, self._total - 1)
        if row < 0:
            return
        if row >= self._rows:
            end = (row // PAGE_SIZE + 1) * PAGE_SIZE
            end = min(end, self._total) if self._total is not None else end
            self.beginInsertRows(QModelIndex(), self._rows, end - 1)
            self._rows = end
            self.endInsertRows()
        if row // PAGE_SIZE not in self._pages:
            self._request(row // PAGE_SIZE)

    # --- Qt model interface --------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            page = self._pages.get(row // PAGE_SIZE)
            if page is None:
                self._request(row // PAGE_SIZE)  # scrolled into rows that were revealed or dropped
                return PLACEHOLDER if role == Qt.ItemDataRole.DisplayRole else None
            self._pages.move_to_end(row // PAGE_SIZE)
            if row % PAGE_SIZE >= len(page):
                return None
            item = page[row % PAGE_SIZE]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _tooltip(item, col)
            return item.cells[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        if parent.isValid() or self._appending is not None or self._rows == 0:
            return False  # the first page arrives on its own after set_filter
        if self._total is not None:
            return self._rows < self._total
        return not self._exhausted

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        page = self._rows // PAGE_SIZE
        if page in self._pages:
            self._append(page)
        else:
            self._appending = page
            self._request(page)

    # --- loading -------------------------------------------------------------------------------
    def _request(self, page: int) -> None:
        if page in self._pending:
            return
        self._pending.add(page)
        gen = self._generation
        self.runner.submit(load_page, self.ws, self._filter, page,
                           on_success=lambda rows: self._loaded(gen, page, rows),
                           on_error=lambda e: self._failed(gen, e, page))

    def _loaded(self, gen: int, page: int, rows: list[AuditRow]) -> None:
        if gen != self._generation:
            return  # a newer filter replaced this one
        self._pending.discard(page)
        self._pages[page] = rows
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        if len(rows) < PAGE_SIZE:
            self._exhausted = True
        if page == 0 and self._total is None:
            if len(rows) < PAGE_SIZE:
                self._counted(gen, len(rows))  # a short first page is the whole answer
            else:
                # Counted only now, not alongside: for a text search both queries read the whole
                # table, and side by side they take longer than one after the other.
                self.runner.submit(count_events, self.ws, self._filter,
                                   on_success=lambda n: self._counted(gen, n), on_error=lambda e: self._failed(gen, e))
        if page == self._appending:
            self._appending = None
        if page * PAGE_SIZE == self._rows:
            self._append(page)
        elif rows and page * PAGE_SIZE < self._rows:
            first = page * PAGE_SIZE
            last = min(first + len(rows), self._rows) - 1
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.page_loaded.emit(page)

    def _append(self, page: int) -> None:
        rows = self._pages[page]
        first = page * PAGE_SIZE
        if rows and first == self._rows:
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows = first + len(rows)
            self.endInsertRows()

    def _counted(self, gen: int, total: int) -> None:
        if gen != self._generation:
            return
        self._total = total
        self.total_changed.emit(total)

    def _failed(self, gen: int, exc: BaseException, page: int | None = None) -> None:
        if gen != self._generation:
            return
        if page is not None:
            self._pending.discard(page)
            if page == self._appending:
                self._appending = None
        self.load_failed.emit(exc)
