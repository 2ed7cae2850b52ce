"""Banner that states the result of the last "Verify log" or "Verify checkpoint…", plainly and in colour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.entities import VerifyResult
from app.services.audit import verify_log
from app.services.checkpoints import CheckpointCheck, check_checkpoint, load_checkpoint_file
from app.ui import theme

__all__ = ["VerifyBanner", "ago", "CheckpointVerdict", "verify_against_checkpoint"]


def ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now()) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''} ago"


@dataclass(frozen=True, slots=True)
class CheckpointVerdict:
    """The chain verified from the start, and the log compared with a checkpoint taken earlier."""

    path: Path
    chain: VerifyResult
    check: CheckpointCheck

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.check.ok


def _html(text: str | None) -> str:
    return escape(text or "", quote=False)


def verify_against_checkpoint(ws, path: str | Path) -> CheckpointVerdict:
    """Run off the GUI thread. The chain alone cannot see the newest events deleted; the checkpoint can."""
    checkpoint = load_checkpoint_file(Path(path))  # InvalidInputError for a file that holds none
    chain = verify_log(ws)
    return CheckpointVerdict(Path(path), chain, check_checkpoint(ws, checkpoint))


class VerifyBanner(QFrame):
    """Hidden until a verification starts; then says running, intact, broken or failed."""

    goto_requested = Signal(int)  # seq of the first bad event, when the person asks to see it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="verifyBanner")
        self.kind: str | None = None  # "info", "ok" or "broken" once shown
        self._styled_for: tuple[str, str] | None = None  # (kind, theme) of the current style sheet
        self.result: VerifyResult | None = None
        self.verdict: CheckpointVerdict | None = None  # set when the last check was against a checkpoint
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

    def show_running(self, text: str = "Verifying the audit log…") -> None:
        self._ago_timer.stop()  # an older result must not come back over this while it runs
        self._set("info", text, goto=False)

    def show_error(self, text: str) -> None:
        self._ago_timer.stop()
        self._set("broken", text, goto=False)

    def show_result(self, result: VerifyResult, checked_at: datetime | None = None) -> None:
        self.result, self.verdict, self.checked_at = result, None, checked_at or datetime.now()
        self._render()
        self._ago_timer.start()

    def show_checkpoint(self, verdict: CheckpointVerdict, checked_at: datetime | None = None) -> None:
        self.result, self.verdict, self.checked_at = verdict.chain, verdict, checked_at or datetime.now()
        self._render()
        self._ago_timer.start()

    def _render(self) -> None:
        result, at = self.result, self.checked_at
        if result is None or at is None:
            return
        when = f"Checked at {at:%H:%M:%S} ({ago(at)})."
        if self.verdict is not None:
            self._render_checkpoint(self.verdict, when)
        elif result.ok:
            took = f"{result.seconds:.2f} s" if result.seconds >= 0.01 else "under 0.01 s"
            rate = f" ({result.events / result.seconds:,.0f} events/s)" if result.seconds >= 0.1 else ""
            self._set("ok", f"<b>Log intact</b> — {result.events:,} events verified in {took}{rate}, "
                            f"head hash <tt>{(result.head_hash or '')[:16]}…</tt>. {when}", goto=False)
        else:
            self.goto_button.setText(f"Go to event #{result.first_bad_seq}")
            self._set("broken", f"<b>Log broken at event #{result.first_bad_seq}</b>: {result.problem} {when}",
                      goto=result.first_bad_seq is not None)

    def _render_checkpoint(self, verdict: CheckpointVerdict, when: str) -> None:
        chain, name, said = verdict.chain, _html(verdict.path.name), _html(verdict.check.message)
        if chain.ok:
            chain_text = f"The hash chain verifies ({chain.events:,} events)."
        else:
            chain_text = f"<b>The hash chain is broken at event #{chain.first_bad_seq}</b>: {_html(chain.problem)}"
        if verdict.ok:
            text = f"<b>Log matches the checkpoint in {name}</b> — {said} {chain_text}"
        elif verdict.check.ok:
            text = f"<b>Log broken</b> — {chain_text} Checkpoint in {name}: {said}"
        else:
            text = f"<b>Log does not match the checkpoint in {name}</b> — {said} {chain_text}"
        goto = not chain.ok and chain.first_bad_seq is not None
        if goto:
            self.goto_button.setText(f"Go to event #{chain.first_bad_seq}")
        self._set("ok" if verdict.ok else "broken", f"{text} {when}", goto=goto)

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
