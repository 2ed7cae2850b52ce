"""The main window: sidebar of pages, menus, shortcuts, status bar, workspace switching, drops."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar,
    QScrollArea, QStackedWidget, QVBoxLayout, QWidget,
)

import app
from app.core.jobs import JobState
from app.core.settings import WorkspacePaths
from app.services.queries import workspace_is_empty
from app.services.workspaces import open_home
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.approvals_page import ApprovalsPage
from app.ui.audit_page import AuditPage
from app.ui.dropfiles import dropped_model_file
from app.ui.first_run import DemoLoader, FirstRunDialog
from app.ui.jobs_close import CloseChoice, CloseGuard, ask_close_choice
from app.ui.jobs_watcher import JobsWatcher
from app.ui.messages import show_error
from app.ui.notifications import AlertNotifier
from app.ui.overview_page import OverviewPage
from app.ui.report_dialog import ExportReportDialog
from app.ui.resources import resource_path
from app.ui.tasks import TaskRunner

if TYPE_CHECKING:  # built on first use: their modules (and pyqtgraph) load after the first paint
    from app.ui.jobs_page import JobsPage
    from app.ui.models_page import ModelsPage
    from app.ui.monitoring_page import MonitoringPage
    from app.ui.retrain_dialog import RetrainDialog

__all__ = ["MainWindow", "PAGES", "OVERVIEW", "MODELS", "MONITORING", "JOBS", "APPROVALS", "AUDIT"]

PAGES = (("Overview", "overview"), ("Models", "models"), ("Monitoring", "monitoring"), ("Jobs", "jobs"),
         ("Approvals", "approvals"), ("Audit", "audit"))
OVERVIEW, MODELS, MONITORING, JOBS, APPROVALS, AUDIT = range(6)
# Ctrl+4 meant Audit before Approvals existed: it keeps that meaning, Approvals takes the next free digit.
_SHORTCUTS = {OVERVIEW: "Ctrl+0", MODELS: "Ctrl+1", MONITORING: "Ctrl+2", JOBS: "Ctrl+3", AUDIT: "Ctrl+4",
              APPROVALS: "Ctrl+5"}


class MainWindow(QMainWindow):
    """Composes the pages over one workspace; `set_workspace` swaps it for another folder."""

    workspace_changed = Signal(object)  # the newly opened Workspace
    demo_loaded = Signal()

    def __init__(self, ws: Workspace, runner: TaskRunner | None = None, settings: QSettings | None = None,
                 parent: QWidget | None = None, *, build_pages_after_paint: bool = False) -> None:
        super().__init__(parent)
        self.ws = ws
        # Models, Monitoring and Jobs (charts, pyqtgraph) are built when first shown or used; the app also
        # builds them one by one right after the first paint, so they are ready before anyone clicks.
        self._built: dict[int, QWidget] = {}
        self._holders: list[QScrollArea] = []
        self._build_after_paint = build_pages_after_paint
        self.runner = runner or TaskRunner(self)
        self.settings = settings or QSettings()
        self.first_run_dialog: FirstRunDialog | None = None
        self.demo_loader: DemoLoader | None = None
        self.notifier: AlertNotifier | None = None
        self.watcher: JobsWatcher | None = None
        self.close_guard: CloseGuard | None = None
        self.retrain_dialog: RetrainDialog | None = None
        self.report_dialog: ExportReportDialog | None = None  # the last one opened
        self._close_choice: CloseChoice | None = None  # set by close_with: closing asks nothing
        self._close_ready = False  # the jobs were waited for or cancelled: close without asking again
        self._retrained = False  # a retrain registered a version since Models / Monitoring were last loaded
        self._audit_stale = True
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._build_shell()
        self._build_actions()
        self._build_pages()
        self.runner.busy_changed.connect(self._on_busy)
        self.report_cleanup(ws)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    # -- shell ------------------------------------------------------------------------------------
    def _build_shell(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for title, _icon in PAGES:
            QListWidgetItem(title, self.sidebar)
        self.brand = QLabel(f"<img src='{resource_path('icons', 'app.svg').as_posix()}' width=22 height=22 "
                            "style='vertical-align: middle'>&nbsp;&nbsp;Model Steward")
        self.brand.setObjectName("SidebarBrand")
        panel = QWidget()
        panel.setObjectName("SidebarPanel")
        panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        panel.setFixedWidth(200)
        side = QVBoxLayout(panel)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(0)
        side.addWidget(self.brand)
        side.addWidget(self.sidebar, 1)
        self.stack = QStackedWidget()
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(panel)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.sidebar.currentRowChanged.connect(self._on_page_changed)

        self.path_label = QLabel()
        self.busy_label = QLabel("Working…")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: the page that started the work shows details
        self.busy_bar.setFixedWidth(120)
        self.busy_bar.setMaximumHeight(12)
        self.busy_label.hide()
        self.busy_bar.hide()
        self.statusBar().addWidget(self.busy_label)
        self.statusBar().addWidget(self.busy_bar)
        self.statusBar().addPermanentWidget(self.path_label)
        self._update_icons()

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.register_action = self._action(file_menu, "&Register model…", "Ctrl+N", self._register)
        self.open_action = self._action(file_menu, "&Open workspace…", "Ctrl+O", self.choose_workspace)
        self.export_action = self._action(file_menu, "&Export report…", "Ctrl+E",
                                          lambda _=False: self.open_report_dialog())
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view_menu = menu.addMenu("&View")
        self.search_action = self._action(view_menu, "&Find model", "Ctrl+F", self._focus_search)
        view_menu.addSeparator()
        self.page_actions = [
            self._action(view_menu, title, _SHORTCUTS[i], lambda _=False, i=i: self.show_page(i))
            for i, (title, _icon) in enumerate(PAGES)
        ]
        view_menu.addSeparator()
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in theme.THEMES:
            action = self._action(view_menu, f"{name.capitalize()} theme", None,
                                  lambda _=False, n=name: self.set_theme(n))
            action.setCheckable(True)
            group.addAction(action)
            self.theme_actions[name] = action
        self.theme_actions[theme.current_theme()].setChecked(True)
        help_menu = menu.addMenu("&Help")
        self.about_action = self._action(help_menu, "&About Model Steward", None, self.show_about)

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_pages(self) -> None:
        self._built = {}
        self._holders = [_scrolling() for _ in PAGES]
        for holder in self._holders:
            self.stack.addWidget(holder)
        self._page(OVERVIEW)
        self._page(AUDIT)
        self._page(APPROVALS)
        self._start_notifier()
        self._wire_jobs()
        self._wire_approvals()
        self._audit_stale = True
        self.path_label.setText(f"Workspace: {self.ws.root}")
        self.path_label.setToolTip(str(self.ws.paths.db))
        self.setWindowTitle(f"Model Steward — {self.ws.root.name or self.ws.root}")
        if self.sidebar.currentRow() != OVERVIEW:
            self.sidebar.setCurrentRow(OVERVIEW)
        else:
            self._on_page_changed(OVERVIEW)

    def _pages(self) -> tuple[QWidget, ...]:
        """The pages built so far (the others have nothing to update yet)."""
        return tuple(self._built[i] for i in sorted(self._built))

    # The pages: each built on first use.
    overview_page = property(lambda self: self._page(OVERVIEW))
    models_page: ModelsPage = property(lambda self: self._page(MODELS))  # type: ignore[assignment]
    monitoring_page: MonitoringPage = property(lambda self: self._page(MONITORING))  # type: ignore[assignment]
    jobs_page: JobsPage = property(lambda self: self._page(JOBS))  # type: ignore[assignment]
    approvals_page = property(lambda self: self._page(APPROVALS))
    audit_page = property(lambda self: self._page(AUDIT))

    def is_built(self, index: int) -> bool:
        return index in self._built

    def _page(self, index: int) -> QWidget:
        page = self._built.get(index)
        if page is None:
            page = self._make_page(index)
            self._built[index] = page
            self._holders[index].setWidget(page)
            self._wire_page(index, page)
        return page

    def _make_page(self, index: int) -> QWidget:
        if index == OVERVIEW:
            return OverviewPage(self.ws, self.runner, self)
        if index == MODELS:
            from app.ui.models_page import ModelsPage

            return ModelsPage(self.ws, self.runner, self)
        if index == MONITORING:
            from app.ui.monitoring_page import MonitoringPage

            return MonitoringPage(self.ws, self.runner, self, settings=self.settings)
        if index == JOBS:
            from app.ui.jobs_page import JobsPage

            return JobsPage(self.ws, self.runner, self)
        if index == APPROVALS:
            return ApprovalsPage(self.ws, self.runner, self)
        return AuditPage(self.ws, self.runner, self)

    def _wire_page(self, index: int, page) -> None:
        """Connections of one page to the window (and to pages that exist through the properties)."""
        if index == OVERVIEW:
            page.model_requested.connect(self.open_model)
            page.monitoring_requested.connect(self.open_monitoring)
            page.alerts_requested.connect(lambda name: self.open_monitoring(name, alerts=True))
            page.audit_requested.connect(lambda: self.show_page(AUDIT))
            page.verify_requested.connect(self._verify_audit)
            page.jobs_requested.connect(lambda: self.show_page(JOBS))
        elif index == AUDIT:
            page.verify_finished.connect(lambda result: self.overview_page.set_verification(result))
        elif index == APPROVALS:
            page.approvals_changed.connect(self._update_approvals_label)
            page.decision_made.connect(self._on_approval_decided)
        elif index == MODELS:
            page.models_changed.connect(self._on_models_changed)
            page.stage_changed.connect(lambda _moves: self.approvals_page.refresh())
            page.retrain_requested.connect(self.open_retrain_dialog)
            page.job_submitted.connect(self._on_job_submitted)  # Reproduce
        elif index == MONITORING:
            page.data_changed.connect(self._on_monitoring_changed)
            page.models_changed.connect(self._on_retired)
            page.retrain_requested.connect(self.open_retrain_dialog)
        elif index == JOBS:
            page.version_requested.connect(self.open_model)
            if self.watcher is not None:
                page.control = self.watcher.control
                self.watcher.pulsed.connect(page.on_pulse)
                page.jobs_cancelled.connect(lambda _jobs: self.watcher.poke())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._build_after_paint:
            self._build_after_paint = False
            QTimer.singleShot(150, self._build_next_page)

    def _build_next_page(self) -> None:
        """Build one page not yet built, then yield to the event loop before the next."""
        missing = [i for i in (MODELS, MONITORING, JOBS) if i not in self._built]
        if missing:
            self._page(missing[0])
            QTimer.singleShot(0, self._build_next_page)

    def _wire_approvals(self) -> None:
        """The sidebar count of pending requests, and reloads after stage changes and decisions."""
        self._update_approvals_label()
        self.approvals_page.refresh()  # the count shows before the page is first opened

    def _update_approvals_label(self) -> None:
        pending = self.approvals_page.pending_count()
        self.sidebar.item(APPROVALS).setText(f"Approvals ({pending})" if pending else "Approvals")

    def _on_approval_decided(self, _result) -> None:
        if self.is_built(MODELS):
            self.models_page.refresh()  # an approval moved a version to Production
        self._on_models_changed()

    def _start_notifier(self) -> None:
        """New-alert notifications for the current workspace (the pages wire themselves in _wire_page)."""
        self.notifier = AlertNotifier(self.ws, self)
        self.notifier.alert_noticed.connect(self._on_alert_noticed)
        self.notifier.alert_activated.connect(lambda alert: self.open_monitoring(alert.model_name, alerts=True))
        self.notifier.start()

    def _wire_jobs(self) -> None:
        """Retrain buttons, the Jobs page, and the timer that starts queued jobs while the window is open."""
        self.watcher = JobsWatcher(self.ws, self)
        self.watcher.pulsed.connect(lambda p: self.overview_page.set_job_counts(p.counts))
        self.watcher.job_finished.connect(self._on_job_finished)
        if self.is_built(JOBS):  # built before the watcher (a test, or a workspace switch)
            self._wire_page(JOBS, self.jobs_page)
        self.close_guard = CloseGuard(self.ws, self.watcher, self)
        self.close_guard.close_allowed.connect(self._close_when_jobs_settled)
        self.watcher.start()

    def open_retrain_dialog(self, name: str) -> RetrainDialog:
        from app.ui.retrain_dialog import RetrainDialog

        dialog = RetrainDialog(self.ws, self.runner, name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.job_submitted.connect(self._on_job_submitted)
        dialog.finished.connect(lambda _r: setattr(self, "retrain_dialog", None))
        self.retrain_dialog = dialog
        dialog.open()
        return dialog

    def open_report_dialog(self) -> ExportReportDialog:
        """Window-modal; the model selected on the Models page is ticked, and is the scope when that page shows."""
        name = self.models_page.selected_name() if self.is_built(MODELS) else None
        dialog = ExportReportDialog(self.ws, self.runner, name, selected_scope=self.stack.currentIndex() == MODELS,
                                    parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.report_exported.connect(self._on_report_exported)
        dialog.finished.connect(lambda _r: self._report_dialog_closed(dialog))
        self.report_dialog = dialog
        dialog.open()
        return dialog

    def _report_dialog_closed(self, dialog: ExportReportDialog) -> None:
        if self.report_dialog is dialog:
            self.report_dialog = None  # it deletes itself on close

    def _on_report_exported(self, _result) -> None:
        self._audit_stale = True  # the export is a 'report.exported' event
        if self.stack.currentIndex() == AUDIT:
            self._on_page_changed(AUDIT)

    def _on_job_submitted(self, job) -> None:
        self._audit_stale = True  # job.submitted (and a first recipe) are audited
        self.show_page(JOBS)
        self.jobs_page.show_job(job)
        self.watcher.watch(job.id)
        self.watcher.poke()  # start_queued now, in the background: no waiting for the next tick

    def _on_job_finished(self, job) -> None:
        """Pages that a finished job changed reload when they are next shown, not now: a job ending in the
        background must not make the page in front of the person stutter."""
        self._audit_stale = True
        if job.state is JobState.SUCCEEDED and job.kind == "retrain":
            self._retrained = True  # the challenger is a new version: Models and Monitoring list it
            if self.stack.currentIndex() in (MODELS, MONITORING):
                self._on_page_changed(self.stack.currentIndex())
        if self.stack.currentIndex() == OVERVIEW:
            self.overview_page.refresh()
        if self.is_built(JOBS) and self.jobs_page.isVisible():
            self.jobs_page.refresh()

    # -- pages ------------------------------------------------------------------------------------
    def show_page(self, index: int) -> None:
        self.sidebar.setCurrentRow(index)

    def _on_page_changed(self, index: int) -> None:
        if index < 0:
            return
        fresh = index not in self._built
        self._page(index)  # built now if it was not yet (it then loads fresh data)
        self.stack.setCurrentIndex(index)
        if index in (MODELS, MONITORING) and self._retrained and not fresh:
            self._retrained = False
            for other in (MODELS, MONITORING):
                if self.is_built(other):
                    self._built[other].refresh()
        if index == OVERVIEW:
            self.overview_page.refresh()
        if index == APPROVALS:
            self.approvals_page.refresh()
        if index == AUDIT and self._audit_stale:
            self._audit_stale = False
            self.audit_page.refresh()

    def _on_models_changed(self) -> None:
        self._audit_stale = True
        if self.stack.currentIndex() == AUDIT:
            self._on_page_changed(AUDIT)
        if self.is_built(MONITORING):
            self.monitoring_page.refresh()
        self.overview_page.refresh()

    # -- links between pages --------------------------------------------------------------------------
    def open_model(self, name: str = "", version: int | None = None) -> None:
        self.show_page(MODELS)
        if name:
            self.models_page.select_model(name, version)

    def open_monitoring(self, name: str = "", *, alerts: bool = False) -> None:
        self.show_page(MONITORING)
        if alerts:
            self.monitoring_page.show_alerts(name or None)
        elif name:
            self.monitoring_page.show_model(name)

    def _verify_audit(self) -> None:
        task = self.audit_page.verify()
        task.signals.failed.connect(lambda _exc: self.overview_page.verify_failed())

    def _on_monitoring_changed(self) -> None:
        self._audit_stale = True  # batches, labels and alert decisions are audited
        self.overview_page.refresh()
        self.notifier.check_now()  # an alert the window itself just opened is announced at once

    def _on_retired(self) -> None:
        if self.is_built(MODELS):
            self.models_page.refresh()
        self._on_models_changed()

    def _on_alert_noticed(self, alert) -> None:
        self.overview_page.refresh()
        self._audit_stale = True
        if self.is_built(MONITORING) and self.monitoring_page.current_model() == alert.model_name:
            self.monitoring_page.reload()

    def _register(self) -> None:
        self.show_page(MODELS)
        self.models_page.open_register_dialog()

    def _focus_search(self) -> None:
        self.show_page(MODELS)
        self.models_page.focus_search()

    # -- theme --------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        name = theme.apply_theme(name)
        self.settings.setValue("view/theme", name)
        self.theme_actions[name].setChecked(True)
        self._update_icons()
        if self.is_built(MODELS):
            self.models_page.refresh()  # colours of badges and risk tiers are read when rows are painted
        for page in self._pages():
            apply = getattr(page, "apply_theme", None)
            if callable(apply):
                apply()  # charts are drawn with colours read at paint time, not from the style sheet

    def _update_icons(self) -> None:
        for row, (_title, icon_name) in enumerate(PAGES):
            self.sidebar.item(row).setIcon(theme.icon(icon_name, role="text"))
        if self.is_built(JOBS):
            self.jobs_page.update_icon()

    # -- busy indicator -------------------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        self.busy_label.setVisible(busy)
        self.busy_bar.setVisible(busy)

    # -- workspace ------------------------------------------------------------------------------------
    def choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open workspace folder", str(self.ws.root.parent))
        if folder:
            self.open_workspace_folder(folder)

    def open_workspace_folder(self, folder: str | Path) -> None:
        """Open (create, migrate) `folder` in the background, then show it once no task uses the old one."""
        paths = WorkspacePaths(Path(folder).expanduser().resolve())
        self.statusBar().showMessage(f"Opening workspace {paths.root}…", 5000)

        def opened(ws: Workspace) -> None:
            self._when_idle(lambda: self.set_workspace(ws))

        self._when_idle(lambda: self.runner.submit(
            open_home, paths.root, on_success=opened,
            on_error=lambda exc: show_error(self, exc, "Workspace not opened")))

    def _when_idle(self, fn) -> None:
        """Run `fn` now, or as soon as no background task is running (pages hold the workspace)."""
        if not self.runner.active:
            fn()
            return

        def check(busy: bool) -> None:
            if not busy:
                self.runner.busy_changed.disconnect(check)
                fn()

        self.runner.busy_changed.connect(check)

    def report_cleanup(self, ws: Workspace) -> None:
        """Say what start-up tidied after an interrupted session, and warn about what it could not repair."""
        self.cleanup_notes = list(ws.cleaned)
        if ws.cleaned:
            more = f" (and {len(ws.cleaned) - 1} more; see the log)" if len(ws.cleaned) > 1 else ""
            self.statusBar().showMessage(f"Tidied after an interrupted session: {ws.cleaned[0]}{more}", 30_000)
        problems = list(getattr(ws, "problems", []))
        if problems:
            box = QMessageBox(QMessageBox.Icon.Warning, "Workspace needs attention",
                              "Some recorded files are missing from the workspace:\n\n" + "\n".join(problems[:6])
                              + "\n\nRestore the workspace folder from a backup; nothing was deleted.",
                              QMessageBox.StandardButton.Ok, self)
            box.setWindowModality(Qt.WindowModality.WindowModal)
            self.problems_box = box
            box.open()

    def current_page(self) -> QWidget:
        return self._page(self.stack.currentIndex())

    def set_workspace(self, ws: Workspace) -> None:
        old = self.ws
        if self.notifier is not None:
            self.notifier.stop()  # its polls read the old workspace
            self.notifier.deleteLater()
        if self.watcher is not None:
            self.watcher.stop()  # jobs keep running: they belong to their own processes
            self.watcher.deleteLater()
            self.close_guard.deleteLater()
        if self.is_built(JOBS):
            self.jobs_page.stop()
        while self.stack.count():
            holder = self.stack.widget(0)
            self.stack.removeWidget(holder)
            holder.deleteLater()  # takes its page with it
        self.ws = ws
        self._build_pages()
        self.report_cleanup(ws)
        self.settings.setValue("workspace/last", str(ws.root))
        if old is not ws:
            old.close()
        self.workspace_changed.emit(ws)
        self.offer_demo_if_empty()

    def offer_demo_if_empty(self, demo: bool | None = None) -> None:
        """On an empty workspace: load the demo (True), do nothing (False), or ask (None)."""
        if demo is False or not workspace_is_empty(self.ws):
            return
        if demo:
            self.load_demo()
            return
        dialog = FirstRunDialog(self.ws, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self.load_demo() if dialog.wants_demo else None)
        self.first_run_dialog = dialog
        dialog.open()

    def load_demo(self) -> DemoLoader:
        loader = DemoLoader(self.ws, self.runner, self)
        self.demo_loader = loader

        def done() -> None:
            if self.is_built(MODELS):
                self.models_page.refresh()
            self._on_models_changed()
            if self.notifier is not None:
                self.notifier.start()  # the demo's alerts are history, not news
            if self.watcher is not None:
                self.watcher.poke()  # the demo ran retrain jobs of its own: count them now
            self.demo_loaded.emit()

        if self.notifier is not None:
            self.notifier.pause()
            loader.demo_failed.connect(lambda _exc: self.notifier.start())
        loader.start(done)
        return loader

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About Model Steward",
            f"<h3>Model Steward {app.__version__}</h3>"
            "<p>An offline model registry: every model version with its data, metrics and lineage, "
            "stage changes with reasons, and an audit log that can be verified.</p>"
            f"<p>Workspace: <code>{self.ws.root}</code></p>")

    # -- drops and closing ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_model_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = dropped_model_file(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.show_page(MODELS)
            self.models_page.open_register_dialog(model_file=path)

    def close_with(self, choice: CloseChoice) -> bool:
        """Close, answering the running-jobs question with `choice` (what the question's buttons do)."""
        self._close_choice = choice
        try:
            return self.close()
        finally:
            self._close_choice = None

    def _close_when_jobs_settled(self) -> None:
        self._close_ready = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._close_ready and self.close_guard is not None:
            jobs = self.close_guard.active_jobs()
            if jobs:
                choice = self._close_choice or ask_close_choice(self, jobs)
                if not self.close_guard.decide(choice, jobs):
                    event.ignore()
                    return
        self.settings.setValue("window/geometry", self.saveGeometry())
        if self.watcher is not None:
            self.watcher.stop()
        if self.is_built(JOBS):
            self.jobs_page.stop()
        # Let running writes finish: each is one short transaction, and a half-done one is rolled back anyway.
        self.runner.wait(30_000)
        if self.notifier is not None:
            self.notifier.stop()
        self.ws.close()
        self._close_ready = True  # closed once: a later close() (e.g. at exit) asks nothing
        super().closeEvent(event)


def _scrolling(page: QWidget | None = None) -> QScrollArea:
    """A page in a frameless scroll area: the window may be smaller than a page's minimum size (a
    1366×768 laptop), and the page then scrolls instead of pushing the window off the screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if page is not None:
        area.setWidget(page)
    return area
