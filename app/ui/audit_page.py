"""Audit page: browse, filter, verify and export the hash-chained audit log."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
    QSplitter, QVBoxLayout, QWidget,
)

from app.core.entities import AuditEvent, VerifyResult
from app.services.audit import AuditFilter, distinct_values, event_position, verify_log
from app.ui.audit_banner import CheckpointVerdict, VerifyBanner, verify_against_checkpoint
from app.ui.audit_export import write_events_csv
from app.ui.audit_filters import AuditFilterBar
from app.ui.audit_model import AuditTableModel, local_time
from app.ui.audit_table import AuditTableView
from app.ui.messages import describe_error

if TYPE_CHECKING:
    from app.store.workspace import Workspace
    from app.ui.tasks import Task, TaskRunner

__all__ = ["AuditPage"]

# Initial widths of table : details panel. The panel keeps its width when the window grows (the
# table gets the room); it wraps long JSON lines, so it can stay narrow.
_SPLIT = (1000, 270)


def _choices(ws: Workspace) -> tuple[list[str], list[str], list[str]]:
    return distinct_values(ws, "model"), distinct_values(ws, "action"), distinct_values(ws, "actor")


def _error_text(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


class AuditPage(QWidget):
    """The audit log as a lazily loaded table with filters, a details panel, Verify and CSV export."""

    verify_finished = Signal(object)  # VerifyResult of the latest "Verify log"
    export_finished = Signal(object)  # (Path, number of events) of a finished CSV export
    checkpoint_checked = Signal(object)  # CheckpointVerdict of the latest "Verify checkpoint…"

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.model = AuditTableModel(ws, runner, self)
        self.last_verify: VerifyResult | None = None
        self._goto_seq: int | None = None
        self._goto_row: int | None = None
        self._shown_seq: int | None = None  # event in the details panel
        self._status_is_error = False
        self._build()
        self._wire()
        self.refresh()

    # --- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        title = QLabel("Audit log", objectName="PageTitle")
        # Colours come from the theme's style sheet through these object names.
        self.count_label = QLabel("Counting…", objectName="Muted")
        self.status_label = QLabel(objectName="Muted")
        self.status_label.setWordWrap(True)
        self.empty_label = QLabel("No events match these filters. The search looks in objects and details.",
                                  objectName="Muted")
        self.verify_button = QPushButton("Verify log", toolTip="Recompute the whole hash chain")
        self.export_button = QPushButton("Export CSV…", toolTip="Save the events matching the filters")
        self.checkpoint_button = QPushButton("Verify checkpoint…", toolTip=(
            "Check that the log still holds every event a report's signed checkpoint vouched for "
            "(the hash chain alone cannot see the newest events deleted)"))
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.count_label)
        header.addSpacing(12)
        header.addWidget(self.export_button)
        header.addWidget(self.checkpoint_button)
        header.addWidget(self.verify_button)

        self.banner = VerifyBanner()

        self.filter_bar = AuditFilterBar()

        self.table = AuditTableView(self.model)

        details = QWidget()
        self.details_title = QLabel("Select an event to see its details.", wordWrap=True)
        self.payload_edit, self.prev_edit, self.hash_edit = (QLineEdit(readOnly=True) for _ in range(3))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # the hashes get the panel's full width
        for label, edit in (("Payload hash", self.payload_edit), ("Previous hash", self.prev_edit),
                            ("Hash", self.hash_edit)):
            edit.setFont(mono)
            edit.setCursorPosition(0)
            form.addRow(label, edit)
        self.details_edit = QPlainTextEdit(readOnly=True)
        self.details_edit.setFont(mono)
        self.details_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        side = QVBoxLayout(details)
        side.setContentsMargins(6, 0, 0, 0)
        side.addWidget(self.details_title)
        side.addLayout(form)
        side.addWidget(self.details_edit, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(details)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)  # a wider window widens the table; the panel keeps its size
        splitter.setStretchFactor(1, 0)
        splitter.setSizes(list(_SPLIT))

        page = QVBoxLayout(self)
        page.addLayout(header)
        page.addWidget(self.banner)
        page.addWidget(self.filter_bar)
        page.addWidget(self.status_label)
        page.addWidget(self.empty_label)
        page.addWidget(splitter, 1)
        self.status_label.hide()
        self.empty_label.hide()

    def _wire(self) -> None:
        self.filter_bar.filter_changed.connect(self._filter_changed)
        self.model.total_changed.connect(self._total_changed)
        self.model.page_loaded.connect(self._page_loaded)
        self.model.load_failed.connect(lambda exc: self._show_status(f"Could not load events: {_error_text(exc)}"))
        self.model.modelReset.connect(self._show_current)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_current())
        self.verify_button.clicked.connect(self.verify)
        self.checkpoint_button.clicked.connect(self._ask_checkpoint)
        self.export_button.clicked.connect(self._ask_export)
        self.banner.goto_requested.connect(self.go_to_event)

    # --- public API ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the filters' choices and the rows (after events were added elsewhere)."""
        self.runner.submit(_choices, self.ws, on_success=lambda c: self.filter_bar.set_choices(*c),
                           on_error=lambda exc: self._show_status(f"Could not load filters: {_error_text(exc)}"))
        self.model.set_filter(self.filter_bar.current_filter())

    def set_model_filter(self, name: str | None) -> None:
        """Show only events about model `name` (None: all models)."""
        self.filter_bar.set_model(name)

    def verify(self) -> Task:
        """Recompute the chain in the background; the banner and `verify_finished` report the result."""
        self._set_verifying(True, "Verifying…")
        self.banner.show_running()
        return self.runner.submit(verify_log, self.ws, on_success=self._verified, on_error=self._verify_failed)

    def verify_checkpoint_file(self, path: str | Path) -> Task:
        """Verify the chain and compare the log with the checkpoint in `path` (a report's or a checkpoint's JSON)."""
        name = Path(path).name
        self._set_verifying(True)
        self.banner.show_running(f"Checking the audit log against {name}…")
        return self.runner.submit(verify_against_checkpoint, self.ws, path, on_success=self._checkpoint_checked,
                                  on_error=lambda exc: self._verify_failed(exc, f"Could not check against {name}"))

    def go_to_event(self, seq: int) -> None:
        """Clear the filters, then select and scroll to event `seq` (or the event after a gap there)."""
        self.filter_bar.clear()  # resets the model to the whole log
        self._goto_seq, self._goto_row = seq, None
        self.runner.submit(event_position, self.ws, seq, on_success=lambda row: self._goto_positioned(seq, row),
                           on_error=lambda exc: self._show_status(f"Could not find event #{seq}: {_error_text(exc)}"))

    def export_csv(self, path: str | Path) -> Task:
        """Write the events matching the current filters to `path` in the background."""
        path = Path(path)
        filt = self.model.filter
        self.export_button.setEnabled(False)
        self._show_status(f"Exporting to {path.name}…", error=False)
        return self.runner.submit(
            write_events_csv, self.ws, filt, path,
            on_success=lambda n: self._exported(path, n),
            on_error=lambda exc: self._export_failed(path, exc),
            on_progress=lambda f, msg: self._show_status(f"{msg} to {path.name}…", error=False),
        )

    # --- filters and rows ----------------------------------------------------------------------
    def _filter_changed(self, filt: AuditFilter) -> None:
        self._goto_seq = None  # a person changed the filters: drop any pending jump
        if self._status_is_error:
            self.status_label.hide()  # the new query gets its own chance
        self.model.set_filter(filt)

    def _total_changed(self, total: int | None) -> None:
        self.empty_label.setVisible(total == 0 and self.filter_bar.is_filtered())
        if total is None:
            self.count_label.setText("Counting…")
        else:
            noun = "event" if total == 1 else "events"
            self.count_label.setText(f"{total:,} matching {noun}" if self.filter_bar.is_filtered()
                                     else f"{total:,} {noun}")
        self._try_goto()

    def _page_loaded(self, _page: int) -> None:
        self._try_goto()
        if self.current_event() is not None and self._shown_seq is None:
            self._show_current()  # the selected row was a placeholder until now

    def current_event(self) -> AuditEvent | None:
        index = self.table.currentIndex()
        return self.model.event_at(index.row()) if index.isValid() else None

    def _show_current(self) -> None:
        index = self.table.currentIndex()
        event = self.current_event()
        if event is None:
            self._shown_seq = None
            self.details_title.setText("Loading…" if index.isValid() else "Select an event to see its details.")
            for edit in (self.payload_edit, self.prev_edit, self.hash_edit):
                edit.clear()
            self.details_edit.clear()
            return
        self._shown_seq = event.seq
        lines = [f"<b>#{event.seq} {escape(event.action)}</b>", escape(event.object),
                 f"model {escape(event.model)}" if event.model else "",
                 f"{local_time(event.at)} by {escape(event.actor)}", f"UTC {event.at}"]
        self.details_title.setText("<br>".join(line for line in lines if line))
        for edit, value in ((self.payload_edit, event.payload_sha256), (self.prev_edit, event.prev_hash),
                            (self.hash_edit, event.hash)):
            edit.setText(value)
            edit.setToolTip(value)
            edit.setCursorPosition(0)
        self.details_edit.setPlainText(json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False))

    def _show_status(self, text: str, *, error: bool = True) -> None:
        self._status_is_error = error
        name = "FieldError" if error else "Muted"
        if self.status_label.objectName() != name:
            self.status_label.setObjectName(name)
            self.status_label.style().unpolish(self.status_label)  # the colour depends on the name
            self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)
        self.status_label.show()

    # --- jumping to an event -------------------------------------------------------------------
    def _goto_positioned(self, seq: int, row: int) -> None:
        if self._goto_seq == seq:
            self._goto_row = row
            self._try_goto()

    def _try_goto(self) -> None:
        """Advance a pending jump as far as the loaded data allows; called whenever data arrives."""
        seq, row, total = self._goto_seq, self._goto_row, self.model.total
        if seq is None or row is None or total is None:
            return
        if total == 0:
            self._goto_seq = None
            return
        if row < total:
            self.model.reveal(row)
            event = self.model.event_at(row)
            if event is None:
                return  # its page is on the way
            if event.seq != seq and row > 0:
                row -= 1  # `seq` is missing: show the newer neighbour, the event right after the gap
        else:
            row = total - 1  # `seq` is older than every event left: the oldest one
        self.model.reveal(row)
        if self.model.event_at(row) is None:
            return
        self._goto_seq = None
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()

    # --- verify --------------------------------------------------------------------------------
    def _verified(self, result: VerifyResult) -> None:
        self.last_verify = result
        self._verify_done()
        self.banner.show_result(result)
        self.verify_finished.emit(result)

    def _verify_failed(self, exc: BaseException, what: str = "Could not verify the log") -> None:
        self._verify_done()
        message, hint = describe_error(exc)
        hint = f" {escape(hint, quote=False)}" if hint else ""
        self.banner.show_error(f"<b>{escape(what, quote=False)}:</b> {escape(message, quote=False)}{hint}")

    def _checkpoint_checked(self, verdict: CheckpointVerdict) -> None:
        self._verify_done()
        self.banner.show_checkpoint(verdict)
        if not verdict.ok:
            self.refresh()  # the log was changed behind the window's back: show the rows as they are now
        self.checkpoint_checked.emit(verdict)

    def _ask_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Verify against a checkpoint", str(self.ws.paths.reports),
                                              "Report or checkpoint (*.json);;All files (*)")
        if path:
            self.verify_checkpoint_file(path)

    def _set_verifying(self, busy: bool, text: str = "Verify log") -> None:
        for button in (self.verify_button, self.checkpoint_button):
            button.setEnabled(not busy)
        self.verify_button.setText(text)

    def _verify_done(self) -> None:
        self._set_verifying(False)

    # --- export --------------------------------------------------------------------------------
    def _ask_export(self) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path, _ = QFileDialog.getSaveFileName(self, "Export audit events", str(Path.home() / f"audit-{stamp}.csv"),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path if path.lower().endswith(".csv") else path + ".csv")

    def _exported(self, path: Path, count: int) -> None:
        self.export_button.setEnabled(True)
        self._show_status(f"Exported {count:,} events to {path}.", error=False)
        self.export_finished.emit((path, count))

    def _export_failed(self, path: Path, exc: BaseException) -> None:
        self.export_button.setEnabled(True)
        self._show_status(f"Could not export to {path}: {_error_text(exc)}")
