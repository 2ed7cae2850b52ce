"""Banner that states the result of the last "Verify log", plainly and in colour."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.entities import VerifyResult
from app.ui import theme

__all__ = ["VerifyBanner", "ago"]


def ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now()) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''} ago"


class VerifyBanner(QFrame):
    """Hidden until a verification starts; then says running, intact, broken or failed."""

    goto_requested = Signal(int)  # seq of the first bad event, when the person asks to see it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="verifyBanner")
        self.kind: str | None = None  # "info", "ok" or "broken" once shown
        self._styled_for: tuple[str, str] | None = None  # (kind, theme) of the current style sheet
        self.result: VerifyResult | None = None
        self.checked_at: datetime | None = None
        self.label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.goto_button = QPushButton("Go to event")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.goto_button)
        self.goto_button.clicked.connect(self._goto_clicked)
        # "checked 3 minutes ago" has to age while the page stays open
        self._ago_timer = QTimer(self, interval=30_000)
        self._ago_timer.timeout.connect(self._render)
        self.hide()

    def show_running(self) -> None:
        self._set("info", "Verifying the audit log…", goto=False)

    def show_error(self, text: str) -> None:
        self._set("broken", text, goto=False)

    def show_result(self, result: VerifyResult, checked_at: datetime | None = None) -> None:
        self.result, self.checked_at = result, checked_at or datetime.now()
        self._render()
        self._ago_timer.start()

    def _render(self) -> None:
        result, at = self.result, self.checked_at
        if result is None or at is None:
            return
        when = f"Checked at {at:%H:%M:%S} ({ago(at)})."
        if result.ok:
            took = f"{result.seconds:.2f} s" if result.seconds >= 0.01 else "under 0.01 s"
            rate = f" ({result.events / result.seconds:,.0f} events/s)" if result.seconds >= 0.1 else ""
            self._set("ok", f"<b>Log intact</b> — {result.events:,} events verified in {took}{rate}, "
                            f"head hash <tt>{(result.head_hash or '')[:16]}…</tt>. {when}", goto=False)
        else:
            self.goto_button.setText(f"Go to event #{result.first_bad_seq}")
            self._set("broken", f"<b>Log broken at event #{result.first_bad_seq}</b>: {result.problem} {when}",
                      goto=result.first_bad_seq is not None)

    def _set(self, kind: str, text: str, *, goto: bool) -> None:
        self.kind = kind
        self._restyle()
        self.label.setText(text)
        self.goto_button.setVisible(goto)
        self.show()

    def _restyle(self) -> None:
        if self.kind is None or self._styled_for == (self.kind, theme.current_theme()):
            return
        self._styled_for = (self.kind, theme.current_theme())  # set first: setStyleSheet re-enters changeEvent
        self.setStyleSheet(theme.status_style(self.kind, "QFrame#verifyBanner"))

    def changeEvent(self, event: QEvent) -> None:
        # The theme can change while the banner is shown; its colours come from the theme.
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.PaletteChange):
            self._restyle()
        super().changeEvent(event)

    def _goto_clicked(self) -> None:
        if self.result is not None and self.result.first_bad_seq is not None:
            self.goto_requested.emit(self.result.first_bad_seq)
