"""Tell the person when a new alert opens while the app runs: a desktop notification, or an in-window toast."""

from __future__ import annotations

import logging
from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSystemTrayIcon, QWidget

from app.core.monitoring import Alert
from app.services.alerts import list_alerts
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.tasks import TaskRunner

__all__ = ["AlertNotifier", "Toast", "POLL_MS"]

log = logging.getLogger(__name__)

POLL_MS = 15_000  # alerts open when batches arrive, at most a few times a day: 15 s is prompt enough
TOAST_MS = 12_000


def _newest_id(alerts: list[Alert]) -> int:
    return max((a.id for a in alerts), default=0)


class AlertNotifier(QObject):
    """Polls the open alerts in the background; each alert newer than the start-up baseline is announced once.

    Alert ids only grow, so "newer than the highest id seen" means "never announced": nothing announced twice,
    nothing that already existed when the window opened. Its own one-thread runner keeps the polls out of the
    window's busy indicator.
    """

    alert_noticed = Signal(object)  # Alert, once per alert
    alert_activated = Signal(object)  # Alert whose notification was clicked
    baseline_taken = Signal(int)  # the highest alert id that existed at start-up
    checked = Signal(int)  # a poll finished: how many new alerts it found

    def __init__(self, ws: Workspace, window: QWidget | None = None, *, interval_ms: int = POLL_MS,
                 use_tray: bool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.ws, self.window = ws, window
        self.runner = TaskRunner(self, max_threads=1)
        self.last_seen: int | None = None  # None until the baseline is known
        self.noticed: list[Alert] = []
        self._checking = False
        self.use_tray = QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None else use_tray
        self.tray: QSystemTrayIcon | None = None
        self.toast: Toast | None = None
        self._tray_alert: Alert | None = None
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.check_now)

    def start(self) -> None:
        """Take the baseline (every alert that exists now, in any status), then poll."""
        self.last_seen = None  # a poll still in flight must not announce against an old baseline
        self.runner.submit(list_alerts, self.ws, on_success=self._baseline, on_error=self._poll_failed)
        self.timer.start()

    def pause(self) -> None:
        """Stop polling (e.g. while the demo writes its dated history); `start` takes a new baseline."""
        self.timer.stop()
        self.last_seen = None

    def stop(self) -> None:
        self.timer.stop()
        self.runner.wait(10_000)  # a poll in flight finishes before the workspace closes
        if self.tray is not None:
            self.tray.hide()

    def _baseline(self, alerts: list[Alert]) -> None:
        if not self.timer.isActive():  # paused (or stopped) while it was read: a later start takes its own
            return
        self.last_seen = _newest_id(alerts)
        self.baseline_taken.emit(self.last_seen)

    def check_now(self) -> None:
        if self._checking:
            return
        if self.last_seen is None:  # the baseline failed (e.g. the database was busy): take it now
            if self.timer.isActive():
                self.runner.submit(list_alerts, self.ws, on_success=self._baseline, on_error=self._poll_failed)
            return
        self._checking = True
        self.runner.submit(list_alerts, self.ws, status="open", on_success=self._checked,
                           on_error=self._poll_failed)

    def _poll_failed(self, exc: BaseException) -> None:
        self._checking = False
        log.warning("Alert poll failed: %s", exc)  # the next tick tries again; no dialog for a background poll

    def _checked(self, alerts: list[Alert]) -> None:
        self._checking = False
        if self.last_seen is None:  # paused or re-baselining since this poll started
            return
        fresh = sorted((a for a in alerts if a.id > (self.last_seen or 0)), key=lambda a: a.id)
        if not fresh:
            self.checked.emit(0)
            return
        self.last_seen = fresh[-1].id
        for alert in fresh:
            self.noticed.append(alert)
            self.alert_noticed.emit(alert)
        self._announce(fresh)
        self.checked.emit(len(fresh))

    # -- showing ----------------------------------------------------------------------------------
    def _announce(self, fresh: list[Alert]) -> None:
        first = fresh[-1]
        title = (f"New {first.severity.value} alert: {first.model_name}" if len(fresh) == 1
                 else f"{len(fresh)} new alerts")
        body = "\n".join(f"#{a.id} {a.model_name}: {a.title}" for a in fresh[-3:])
        if self.use_tray:
            if self.tray is None:
                self.tray = QSystemTrayIcon(theme.app_icon(), self)
                self.tray.setToolTip("Model Steward")
                self.tray.messageClicked.connect(lambda: self._tray_alert and self.alert_activated.emit(
                    self._tray_alert))
                self.tray.show()
            self._tray_alert = first
            icon = (QSystemTrayIcon.MessageIcon.Critical if first.severity.value == "high"
                    else QSystemTrayIcon.MessageIcon.Warning)
            self.tray.showMessage(title, body, icon, TOAST_MS)
        elif self.window is not None:
            if self.toast is None:
                self.toast = Toast(self.window)
                self.toast.activated.connect(self.alert_activated)
            self.toast.show_alerts(title, fresh)


class Toast(QFrame):
    """A non-modal banner in the window's bottom-right corner that fades out of the way on its own."""

    activated = Signal(object)  # the Alert the person asked to see

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("Toast")
        self.alert: Alert | None = None
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.linkActivated.connect(lambda _href: self._activate())
        self.close_button = QPushButton("×")
        self.close_button.setFlat(True)
        self.close_button.setFixedWidth(26)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 6, 8)
        row.addWidget(self.label, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setFixedWidth(380)
        self.timer = QTimer(self, singleShot=True, interval=TOAST_MS)
        self.timer.timeout.connect(self.hide)
        window.installEventFilter(self)  # follow the window's size
        self.hide()

    def show_alerts(self, title: str, alerts: list[Alert]) -> None:
        self.alert = alerts[-1]
        self.setStyleSheet(theme.status_style("broken" if self.alert.severity.value == "high" else "info",
                                              "QFrame#Toast")
                           + f" QFrame#Toast QPushButton {{ border: none; background: transparent; padding: 0;"
                             f" font-size: 14pt; color: {theme.color('text').name()}; }}")
        lines = "<br>".join(f"#{a.id} <b>{escape(a.model_name)}</b>: {escape(a.title)}" for a in alerts[-3:])
        self.label.setText(f"<b>{escape(title)}</b><br>{lines}<br><a href='show'>Show in Monitoring</a>")
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self.timer.start()

    def _activate(self) -> None:
        self.hide()
        if self.alert is not None:
            self.activated.emit(self.alert)

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        bottom = parent.height() - 40  # above the status bar
        self.move(max(parent.width() - self.width() - 16, 0), max(bottom - self.height(), 0))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False
