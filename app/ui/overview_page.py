"""Overview page: what needs attention across the workspace, each figure a link to the page that explains it."""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.entities import VerifyResult
from app.services.monitoring_queries import Overview
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.audit_banner import ago
from app.ui.palette import severity_color
from app.ui.forms import section_label
from app.ui.messages import describe_error
from app.ui.overview_text import OverviewData, alerts_table, load_overview, models_table
from app.ui.tasks import TaskRunner

__all__ = ["OverviewPage", "Tile"]


class Tile(QFrame):
    """A big number with a caption; the whole card is a link."""

    clicked = Signal()

    def __init__(self, caption: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(tooltip)
        self.value_label = QLabel("—")
        self.value_label.setStyleSheet("font-size: 24pt; font-weight: 600;")
        self.caption_label = QLabel(caption)
        self.detail_label = QLabel(" ")
        self.detail_label.setObjectName("Muted")
        self.detail_label.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 12, 16, 12)
        box.setSpacing(2)
        box.addWidget(self.value_label)
        box.addWidget(self.caption_label)
        box.addWidget(self.detail_label)
        box.addStretch(1)
        self.setMinimumHeight(118)

    def set_value(self, value: int | str, detail: str = " ", color: str | None = None) -> None:
        self.value_label.setText(str(value))
        self.value_label.setStyleSheet(f"font-size: 24pt; font-weight: 600; {f'color: {color};' if color else ''}")
        self.detail_label.setText(detail)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class OverviewPage(QWidget):
    """Counts from `overview(ws)` (read in the background) and the audit log's last verification."""

    overview_loaded = Signal(object)  # the Overview shown
    model_requested = Signal(str)  # open the Models page on this model
    monitoring_requested = Signal(str)  # open Monitoring for this model ("" = the one it shows)
    alerts_requested = Signal(str)  # open Monitoring's alerts for this model ("" = the one it shows)
    audit_requested = Signal()
    verify_requested = Signal()
    jobs_requested = Signal()

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.data: Overview | None = None
        self.loaded: OverviewData | None = None
        self.verification: VerifyResult | None = None
        self.verified_at: datetime | None = None
        self._build()
        self._ago_timer = QTimer(self, interval=30_000)  # "verified 3 minutes ago" has to age
        self._ago_timer.timeout.connect(self._render_audit)
        self._ago_timer.start()
        self.refresh()

    def _build(self) -> None:
        title = QLabel("Overview")
        title.setObjectName("PageTitle")
        self.status_label = QLabel()
        self.status_label.setObjectName("Muted")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(10)
        top.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        self.production_tile = Tile("models in production", "Open the Models page")
        self.alerts_tile = Tile("open alerts", "Open the alerts on the Monitoring page")
        self.drifting_tile = Tile("drifting models", "Open Monitoring for the first drifting model")
        self.batches_tile = Tile("batches in the last 30 days", "Open the Monitoring page")
        self.production_tile.clicked.connect(lambda: self.model_requested.emit(""))
        self.alerts_tile.clicked.connect(lambda: self.alerts_requested.emit(self._busiest_model()))
        self.drifting_tile.clicked.connect(
            lambda: self.monitoring_requested.emit(self.data.drifting_models[0] if self.data and
                                                   self.data.drifting_models else ""))
        self.batches_tile.clicked.connect(lambda: self.monitoring_requested.emit(""))
        tiles = QGridLayout()
        tiles.setSpacing(12)
        for col, tile in enumerate((self.production_tile, self.alerts_tile, self.drifting_tile, self.batches_tile)):
            tiles.addWidget(tile, 0, col)
            tiles.setColumnStretch(col, 1)

        self.attention_label = self._link_label()  # every model with its latest batch, drift and alerts
        self.alerts_label = self._link_label()
        self.audit_label = self._link_label()
        self.verify_button = QPushButton("Verify now")
        self.verify_button.setToolTip("Recompute the audit log's hash chain (runs in the background)")
        self.verify_button.clicked.connect(self._verify_clicked)
        audit_row = QHBoxLayout()
        audit_row.addWidget(self.audit_label, 1)
        audit_row.addWidget(self.verify_button)
        self.jobs_label = self._link_label()
        self.job_counts = None  # JobCounts from the window's job timer
        self.set_job_counts(None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(tiles)
        layout.addSpacing(8)
        layout.addWidget(section_label("Models"))
        layout.addWidget(self.attention_label)
        layout.addSpacing(8)
        layout.addWidget(section_label("Newest open alerts"))
        layout.addWidget(self.alerts_label)
        layout.addSpacing(8)
        layout.addWidget(section_label("Audit log"))
        layout.addLayout(audit_row)
        layout.addSpacing(8)
        layout.addWidget(section_label("Jobs"))
        layout.addWidget(self.jobs_label)
        layout.addStretch(1)
        self._render_audit()

    def _link_label(self) -> QLabel:
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.linkActivated.connect(self.open_link)
        return label

    # -- links ------------------------------------------------------------------------------------
    def open_link(self, href: str) -> None:
        """Links are 'kind:model' — model, monitoring, alerts — or 'audit:'."""
        kind, _, name = href.partition(":")
        signal = {"model": self.model_requested, "monitoring": self.monitoring_requested,
                  "alerts": self.alerts_requested}.get(kind)
        if signal is not None:
            signal.emit(name)
        elif kind == "audit":
            self.audit_requested.emit()
        elif kind == "jobs":
            self.jobs_requested.emit()
        elif kind == "models":
            self.model_requested.emit("")  # the Models page, selection unchanged

    def _busiest_model(self) -> str:
        by_model = self.data.alerts_by_model if self.data else {}
        return max(sorted(by_model), key=lambda n: by_model[n]) if by_model else ""

    # -- data -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.runner.submit(load_overview, self.ws, on_success=self._show, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        message, _hint = describe_error(exc)
        self.status_label.setText(f"Could not load the overview: {message}")

    def _show(self, loaded: OverviewData) -> None:
        self.loaded, self.data = loaded, loaded.counts
        data = loaded.counts
        self.status_label.setText(f"{data.models} model{'s' if data.models != 1 else ''} in this workspace")
        self.production_tile.set_value(data.in_production, f"of {data.models} have a Production version")
        high = severity_color("high").name()
        self.alerts_tile.set_value(data.open_alerts, f"{data.high_alerts} high severity" if data.high_alerts else
                                   "none of high severity", color=high if data.high_alerts else None)
        self.alerts_tile.detail_label.setStyleSheet(f"color: {high}; font-weight: 600;" if data.high_alerts else "")
        drifting = data.drifting_models
        self.drifting_tile.set_value(len(drifting), ", ".join(drifting) if drifting else "latest batches show no drift",
                                     color=severity_color("medium").name() if drifting else None)
        self.batches_tile.set_value(data.batches_last_30_days, "scored or recorded")
        self.attention_label.setText(models_table(loaded))
        self.alerts_label.setText(alerts_table(loaded))
        self.overview_loaded.emit(data)

    def set_job_counts(self, counts) -> None:
        """Running, queued, and failed or interrupted in the last 7 days; the line links to the Jobs page."""
        self.job_counts = counts
        link = theme.color("link").name()
        if counts is None:
            self.jobs_label.setText(f"Reading the jobs… <a style='color:{link}' href='jobs:'>Open the Jobs page</a>")
            return
        failed = (f"<span style='color:{theme.color('error').name()}; font-weight:600'>{counts.failed_recent} failed "
                  f"or interrupted</span>" if counts.failed_recent else "none failed or interrupted")
        self.jobs_label.setText(
            f"<a style='color:{link}' href='jobs:'>{counts.running} running · {counts.queued} queued</a>"
            f" · {failed} in the last 7 days. <a style='color:{link}' href='jobs:'>Open the Jobs page</a>")

    # -- audit ------------------------------------------------------------------------------------
    def set_verification(self, result: VerifyResult) -> None:
        """Keep the Audit page's latest verification (memory only: a restart asks again)."""
        self.verification, self.verified_at = result, datetime.now()
        self.verify_button.setEnabled(True)
        self.verify_button.setText("Verify now")
        self._render_audit()

    def _verify_clicked(self) -> None:
        self.verify_button.setEnabled(False)
        self.verify_button.setText("Verifying…")
        self.verify_requested.emit()

    def verify_failed(self) -> None:
        self.verify_button.setEnabled(True)
        self.verify_button.setText("Verify now")

    def _render_audit(self) -> None:
        link = theme.color("link").name()
        open_log = f"<a style='color:{link}' href='audit:'>Open the audit log</a>"
        result = self.verification
        if result is None or self.verified_at is None:
            self.audit_label.setText(f"Audit log last verified: <b>never</b> in this session. {open_log}")
            return
        when = ago(self.verified_at)
        if result.ok:
            state = f"intact, {result.events:,} events"
        else:
            state = (f"<span style='color:{theme.color('error').name()}; font-weight:600'>broken at event "
                     f"#{result.first_bad_seq}</span>: {escape(result.problem or '')}")
        self.audit_label.setText(f"Audit log last verified: <b>{when}</b> — {state}. {open_log}")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.loaded is not None:
            self._show(self.loaded)  # link and highlight colours come from the theme
            self._render_audit()
            self.set_job_counts(self.job_counts)
