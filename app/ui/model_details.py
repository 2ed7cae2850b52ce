"""Details of one model: its card, versions, the selected version's lineage, and its stage history."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPushButton, QSplitter, QStackedWidget, QTabWidget,
    QVBoxLayout, QWidget,
)

from app.core.entities import Dataset, Model, Stage, StageChange, Version
from app.core.errors import StewardError
from app.services import queries
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.card_panel import header_lines
from app.ui.compliance_tabs import ComplianceTabs
from app.ui.forms import section_label
from app.ui.tables import RECORD_ROLE, HistoryTableModel, StageBadgeDelegate, VersionsTableModel, make_table
from app.ui.tasks import TaskRunner
from app.ui.version_chart import VersionMetricsPanel
from app.ui.version_panel import VersionPanel

__all__ = ["ModelDetails"]


class ModelDetails(QWidget):
    """Shows a model: the card header above tabs of versions, card, findings, sign-offs and as-of answers.

    Emits `stage_change_requested(version, stage)` when a stage button is pressed and
    `records_changed(name)` after a dialog stored a card edit, finding or sign-off.
    """

    stage_change_requested = Signal(object, object)  # Version, Stage
    version_selected = Signal(object)  # Version or None
    retrain_requested = Signal(str)  # the model's name
    reproduce_requested = Signal(object)  # the Version to refit from its recorded lineage
    records_changed = Signal(str)  # the model's card, findings or sign-offs were written
    dialog_opened = Signal(object)  # a card, finding or sign-off dialog, opened without blocking

    def __init__(self, ws: Workspace, parent: QWidget | None = None, runner: TaskRunner | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.runner = runner or TaskRunner(self)
        self.model: Model | None = None
        self.history: list[StageChange] = []
        self._datasets: dict[str, Dataset | None] = {}
        self._stack = QStackedWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._stack)
        self.empty_label = QLabel("Select a model to see its versions, lineage and stage history.")
        self.empty_label.setObjectName("EmptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self._build_content())

    # -- layout ---------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self._build_header())

        self.versions = VersionsTableModel(self)
        self.versions_view = make_table(self.versions)
        self.versions_view.setItemDelegateForColumn(1, StageBadgeDelegate(self.versions_view))
        self.versions_view.selectionModel().currentRowChanged.connect(self._on_version_changed)
        self.staging_button = QPushButton("Promote to Staging")
        self.production_button = QPushButton("Promote to Production")
        self.archive_button = QPushButton("Archive")
        self.staging_button.clicked.connect(lambda: self._request(Stage.STAGING))
        self.production_button.clicked.connect(lambda: self._request(Stage.PRODUCTION))
        self.archive_button.clicked.connect(lambda: self._request(Stage.ARCHIVED))
        self.reproduce_button = QPushButton("Reproduce")
        self.reproduce_button.setToolTip("Refit this version from its recorded data and settings in a background "
                                         "job and check that its metrics come out the same")
        self.reproduce_button.clicked.connect(
            lambda: self.current_version() and self.reproduce_requested.emit(self.current_version()))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reproduce_button)
        buttons.addSpacing(12)
        for b in (self.staging_button, self.production_button, self.archive_button):
            buttons.addWidget(b)
        versions_box = QWidget()
        versions_layout = QVBoxLayout(versions_box)
        versions_layout.setContentsMargins(0, 6, 0, 0)
        versions_layout.addLayout(buttons)
        versions_layout.addWidget(self.versions_view, 1)

        self.version_panel = VersionPanel(self._dataset, self)

        self.history_model = HistoryTableModel(self)
        self.history_view = make_table(self.history_model)
        self.history_view.setItemDelegateForColumn(2, StageBadgeDelegate(self.history_view))
        history = QWidget()
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 0, 0, 0)
        self.history_title = section_label("Stage history")
        history_layout.addWidget(self.history_title)
        history_layout.addWidget(self.history_view, 1)

        self.metrics_panel = VersionMetricsPanel()
        right = QSplitter(Qt.Orientation.Vertical)  # the history above, every version's metrics below
        right.setChildrenCollapsible(False)
        right.addWidget(history)
        right.addWidget(self.metrics_panel)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([330, 200])

        # Versions span the full width (seven columns); below, the selected version beside the history.
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(self.version_panel)
        bottom.addWidget(right)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 3)
        bottom.setSizes([480, 720])
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(versions_box)
        self.split.addWidget(bottom)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 5)
        # The versions view keeps the most room; the compliance records sit beside it as tabs.
        self.tabs = QTabWidget()  # the same framed tabs as the Monitoring page's
        versions_page = QWidget()
        page_layout = QVBoxLayout(versions_page)
        page_layout.setContentsMargins(8, 2, 8, 8)
        page_layout.addWidget(self.split)
        self.versions_tab = self.tabs.addTab(versions_page, "Versions")
        self.compliance = ComplianceTabs(self.ws, self.runner, self.tabs, self.current_version, self)
        self.compliance.records_changed.connect(self.records_changed)
        self.compliance.dialog_opened.connect(self.dialog_opened)
        layout.addWidget(self.tabs, 1)
        self._update_buttons(None)
        return content

    def _build_header(self) -> QFrame:
        card = QFrame()
        card.setObjectName("Card")
        grid = QVBoxLayout(card)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setSpacing(4)
        top = QHBoxLayout()
        self.name_label = QLabel()
        self.name_label.setObjectName("ModelTitle")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.risk_label = QLabel()
        self.meta_label = QLabel()
        self.meta_label.setObjectName("Muted")
        self.meta_label.setWordWrap(True)
        top.addWidget(self.name_label)
        top.addSpacing(10)
        top.addWidget(self.risk_label)
        top.addStretch(1)
        self.edit_card_button = QPushButton("Edit card…")
        self.edit_card_button.setToolTip("Edit the model card: purpose, uses, limitations, owner, validator, "
                                         "risk tier, tags and the next review date")
        self.edit_card_button.clicked.connect(lambda: self.open_card_dialog())
        top.addWidget(self.edit_card_button)
        self.retrain_button = QPushButton("Retrain…")
        self.retrain_button.setToolTip("Fit a challenger from this model's recipe in a background job; it is "
                                       "compared with the champion and registered in Staging")
        self.retrain_button.clicked.connect(lambda: self.model and self.retrain_requested.emit(self.model.name))
        top.addWidget(self.retrain_button)
        self.meta_label.setTextFormat(Qt.TextFormat.RichText)
        self.description_label = QLabel()
        self.description_label.setWordWrap(True)
        self.description_label.setTextFormat(Qt.TextFormat.RichText)
        self.use_label = QLabel()
        self.use_label.setWordWrap(True)
        self.use_label.setTextFormat(Qt.TextFormat.RichText)
        grid.addLayout(top)
        grid.addWidget(self.meta_label)
        grid.addWidget(self.description_label)
        grid.addWidget(self.use_label)
        return card

    # -- data -----------------------------------------------------------------------------------
    def _dataset(self, sha: str) -> Dataset | None:
        if sha not in self._datasets:
            try:
                self._datasets[sha] = queries.get_dataset(self.ws, sha)
            except StewardError:
                self._datasets[sha] = None
        return self._datasets[sha]

    def clear(self) -> None:
        self.model = None
        self.versions.set_records([])
        self.metrics_panel.set_versions([])
        self.history_model.set_records([])
        self.version_panel.show_version(None)
        self.compliance.clear()
        self._stack.setCurrentIndex(0)

    def show_model(self, name: str, version: int | None = None) -> None:
        """Load `name` (fast database reads) and select `version`, else keep the current or pick one."""
        keep = version if version is not None else (
            self.current_version().number if self.current_version() and self.model and self.model.name == name
            else None)
        self.model = queries.get_model(self.ws, name)
        versions = queries.list_versions(self.ws, name)
        self.history = queries.stage_history(self.ws, name)
        self._fill_header(self.model, versions)
        self.versions.set_records(versions)
        self.metrics_panel.set_versions(versions)
        self.retrain_button.setEnabled(bool(versions))
        self.history_model.set_records(self.history)
        self.history_title.setText(f"STAGE HISTORY  ·  {len(self.history)} MOVES" if self.history
                                   else "STAGE HISTORY  ·  NO MOVES YET")
        self.tabs.setTabText(self.versions_tab, f"Versions ({len(versions)})")
        self.compliance.load(self.model, versions)
        self._stack.setCurrentIndex(1)
        self._fit_columns()
        self._fit_versions_height(len(versions))
        if versions:
            row = self.versions.row_of(keep) if keep is not None else -1
            if row < 0:  # the Production version, else the newest
                row = next((i for i, v in enumerate(versions) if v.stage is Stage.PRODUCTION), 0)
            self.select_version_row(row)
        else:
            self.version_panel.show_version(None)
            self._update_buttons(None)

    def _fill_header(self, m: Model, versions: list[Version]) -> None:
        self.name_label.setText(m.name)
        tier = m.risk_tier.value
        tint = theme.risk_color(tier)
        self.risk_label.setText(f"{tier.capitalize()} risk")
        self.risk_label.setStyleSheet(
            f"color: {tint.name() if tint else 'palette(text)'}; font-weight: 600; border: 1px solid "
            f"{tint.name() if tint else 'palette(mid)'}; border-radius: 9px; padding: 1px 8px;")
        meta, purpose, uses, uses_tip = header_lines(m)
        self.meta_label.setText(meta)
        self.description_label.setText(purpose)
        self.use_label.setText(uses)
        self.use_label.setToolTip(uses_tip)

    def _fit_versions_height(self, rows: int) -> None:
        """Give the versions table the height of its rows (2 to 6), the rest to lineage and history."""
        view = self.versions_view
        wanted = (view.horizontalHeader().sizeHint().height() + view.verticalHeader().defaultSectionSize()
                  * min(max(rows, 2), 6) + 2 * view.frameWidth() + 46)  # 46: the buttons row
        total = sum(self.split.sizes()) or 600
        self.split.setSizes([wanted, max(total - wanted, 200)])

    def _fit_columns(self) -> None:
        for view in (self.versions_view, self.history_view):
            view.resizeColumnsToContents()
            header = view.horizontalHeader()
            for col in range(header.count() - 1):
                header.resizeSection(col, min(header.sectionSize(col) + 12, 320))

    # -- selection ------------------------------------------------------------------------------
    def current_version(self) -> Version | None:
        index = self.versions_view.currentIndex() if self.model else None
        return index.data(RECORD_ROLE) if index is not None and index.isValid() else None

    def select_version(self, number: int) -> bool:
        row = self.versions.row_of(number)
        if row >= 0:
            self.select_version_row(row)
        return row >= 0

    def select_version_row(self, row: int) -> None:
        index = self.versions.index(row, 0)
        self.versions_view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._on_version_changed(index)

    def _on_version_changed(self, current, _previous=None) -> None:
        version = current.data(RECORD_ROLE) if current.isValid() else None
        if version is self.version_panel.version and version is not None:
            return
        self.version_panel.show_version(version)
        self._update_buttons(version)
        self.version_selected.emit(version)

    def _update_buttons(self, version: Version | None) -> None:
        stage = version.stage if version else None
        self.reproduce_button.setEnabled(version is not None)
        self.staging_button.setEnabled(stage in (Stage.NONE, Stage.ARCHIVED))
        self.production_button.setEnabled(stage is not None and stage is not Stage.PRODUCTION)
        self.archive_button.setEnabled(stage in (Stage.NONE, Stage.STAGING, Stage.PRODUCTION))
        rollback = stage is Stage.ARCHIVED
        self.production_button.setText("Roll back to this version" if rollback else "Promote to Production")
        self.production_button.setToolTip(
            "Make this archived version the Production version again (the current one is archived)."
            if rollback else "Make this the Production version; the current Production version is archived.")

    def _request(self, stage: Stage) -> None:
        version = self.current_version()
        if version is not None:
            self.stage_change_requested.emit(version, stage)

    # -- compliance (self.compliance opens the other dialogs) -----------------------------------------
    def open_card_dialog(self):
        return self.compliance.open_card_dialog()

    def show_tab(self, widget: QWidget) -> None:
        self.tabs.setCurrentWidget(widget)

    def production_number(self) -> int | None:
        return next((v.number for v in self.versions.records() if v.stage is Stage.PRODUCTION), None)
