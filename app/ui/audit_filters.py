"""Filter bar of the Audit page: model, action, actor, period and free text → one AuditFilter."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from PySide6.QtCore import QDate, QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.services.audit import AuditFilter

__all__ = ["AuditFilterBar", "PERIODS", "TEXT_DEBOUNCE_MS"]

TEXT_DEBOUNCE_MS = 250
PERIODS = ("All time", "Last 7 days", "Last 30 days", "Custom")
_ALL_MODELS, _ALL_ACTIONS, _ALL_ACTORS = "All models", "All actions", "All actors"


def _local_day_start(day: QDate) -> datetime:
    """Midnight of `day` in local time, as an aware datetime (the service converts it to UTC)."""
    return datetime.combine(day.toPython(), time.min).astimezone()


class AuditFilterBar(QWidget):
    """Emits `filter_changed` with the new AuditFilter whenever a choice changes (text: debounced)."""

    filter_changed = Signal(object)  # AuditFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = self._combo("Only events about this model", 160)
        self.action_combo = self._combo("Only this action, or a group such as version.*", 170)
        self.actor_combo = self._combo("Only events by this person", 120)
        self.period_combo = self._combo("Only events in this period", 110)
        self.period_combo.addItems(PERIODS)
        today = QDate.currentDate()
        self.from_edit = self._date_edit(today.addDays(-30), "From (local date, inclusive)")
        self.to_edit = self._date_edit(today, "To (local date, inclusive)")
        self.search_edit = QLineEdit(placeholderText="Search object or details…", clearButtonEnabled=True)
        self.search_edit.setMinimumWidth(180)
        self.clear_button = QPushButton("Clear filters")
        self._debounce = QTimer(self, singleShot=True, interval=TEXT_DEBOUNCE_MS)

        self.set_choices([], [], [])

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("Model", self.model_combo), ("Action", self.action_combo),
                              ("Actor", self.actor_combo), ("Period", self.period_combo)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.from_edit)
        self._dash = QLabel("–")
        row.addWidget(self._dash)
        row.addWidget(self.to_edit)
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.clear_button)
        self._sync_period_edits()

        for combo in (self.model_combo, self.action_combo, self.actor_combo):
            combo.currentIndexChanged.connect(self._emit)
        self.period_combo.currentIndexChanged.connect(self._period_changed)
        self.from_edit.dateChanged.connect(self._date_changed)
        self.to_edit.dateChanged.connect(self._date_changed)
        self.search_edit.textChanged.connect(lambda _t: self._debounce.start())
        self._debounce.timeout.connect(self._emit)
        self.clear_button.clicked.connect(self.clear)

    @staticmethod
    def _combo(tip: str, width: int) -> QComboBox:
        combo = QComboBox(toolTip=tip)
        combo.setMinimumWidth(width)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        return combo

    @staticmethod
    def _date_edit(day: QDate, tip: str) -> QDateEdit:
        edit = QDateEdit(day, calendarPopup=True, toolTip=tip)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    # --- choices -------------------------------------------------------------------------------
    def set_choices(self, models: list[str], actions: list[str], actors: list[str]) -> None:
        """Fill the combos; the current choices survive (kept even if no longer in the log)."""
        groups = sorted({a.split(".", 1)[0] + "." for a in actions if "." in a})
        action_items = [(_ALL_ACTIONS, None)] + [(f"{g}*", g) for g in groups] + [(a, a) for a in actions]
        with QSignalBlocker(self.model_combo), QSignalBlocker(self.action_combo), QSignalBlocker(self.actor_combo):
            self._fill(self.model_combo, [(_ALL_MODELS, None)] + [(m, m) for m in models])
            self._fill(self.action_combo, action_items)
            self._fill(self.actor_combo, [(_ALL_ACTORS, None)] + [(a, a) for a in actors])

    @staticmethod
    def _fill(combo: QComboBox, items: list[tuple[str, str | None]]) -> None:
        current = combo.currentData()
        combo.clear()
        for text, value in items:
            combo.addItem(text, value)
        if current is not None and combo.findData(current) < 0:
            combo.addItem(current, current)
        combo.setCurrentIndex(max(0, combo.findData(current)) if current is not None else 0)

    # --- state ---------------------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        since = until = None
        period = self.period_combo.currentText()
        if period in ("Last 7 days", "Last 30 days"):
            since = datetime.now().astimezone() - timedelta(days=7 if period == "Last 7 days" else 30)
        elif period == "Custom":
            since = _local_day_start(self.from_edit.date())
            until = _local_day_start(self.to_edit.date().addDays(1)) - timedelta(microseconds=1)
        return AuditFilter(
            model=self.model_combo.currentData(), action=self.action_combo.currentData(),
            actor=self.actor_combo.currentData(), since=since, until=until,
            text=self.search_edit.text().strip() or None,
        )

    def is_filtered(self) -> bool:
        return self.current_filter() != AuditFilter()

    def set_model(self, name: str | None) -> None:
        """Select model `name` (added to the list if the choices have not caught up yet)."""
        if name is not None and self.model_combo.findData(name) < 0:
            with QSignalBlocker(self.model_combo):
                self.model_combo.addItem(name, name)
        index = self.model_combo.findData(name) if name is not None else 0
        if index == self.model_combo.currentIndex():
            return
        self.model_combo.setCurrentIndex(index)  # emits filter_changed

    def clear(self) -> None:
        """Back to everything; emits filter_changed once."""
        blockers = [QSignalBlocker(w) for w in (self.model_combo, self.action_combo, self.actor_combo,
                                                 self.period_combo, self.search_edit)]
        for combo in (self.model_combo, self.action_combo, self.actor_combo, self.period_combo):
            combo.setCurrentIndex(0)
        self.search_edit.clear()
        for blocker in blockers:
            blocker.unblock()
        self._debounce.stop()
        self._sync_period_edits()
        self._emit()

    def flush(self) -> None:
        """Apply pending typed text now instead of after the debounce delay."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit()

    def _date_changed(self) -> None:
        if self.period_combo.currentText() == "Custom":  # the dates only count in a custom period
            self._emit()

    def _period_changed(self) -> None:
        self._sync_period_edits()
        self._emit()

    def _sync_period_edits(self) -> None:
        custom = self.period_combo.currentText() == "Custom"
        for widget in (self.from_edit, self._dash, self.to_edit):  # only a custom period uses dates
            widget.setVisible(custom)

    def _emit(self, *_args) -> None:
        self.filter_changed.emit(self.current_filter())
