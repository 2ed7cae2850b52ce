"""A larger inventory in the window: the Overview lists those needing attention, tables fit quickly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from scale_data import build_scale_workspace  # noqa: E402

from app.core.settings import WorkspacePaths  # noqa: E402
from app.services.audit import verify_log  # noqa: E402
from app.services.queries import list_models  # noqa: E402
from app.store.workspace import open_workspace  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.overview_text import MODELS_SHOWN  # noqa: E402
from app.ui.tasks import TaskRunner  # noqa: E402

MODELS = 40


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale") / "ws"
    build_scale_workspace(root, models=MODELS, versions=4, batches=MODELS * 3, events=5_000, quiet=True)
    return root


@pytest.fixture
def big_window(qtbot, inventory, tmp_path):
    ws = open_workspace(WorkspacePaths(inventory))
    runner = TaskRunner()
    window = MainWindow(ws, runner, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    yield window
    runner.wait(60_000)


def test_the_generated_inventory_is_consistent(inventory):
    ws = open_workspace(WorkspacePaths(inventory))
    try:
        assert verify_log(ws).ok
        models = list_models(ws)
        assert len(models) == MODELS and all(m.production_version == 4 for m in models)
    finally:
        ws.close()


def test_overview_lists_a_dozen_models_and_links_to_the_rest(qtbot, big_window):
    page = big_window.overview_page
    qtbot.waitUntil(lambda: page.data is not None, timeout=30_000)
    text = page.attention_label.text()
    assert text.count("href='model:") == MODELS_SHOWN
    assert f"{MODELS - MODELS_SHOWN} more on the Models page" in text
    page.open_link("models:")
    assert big_window.current_page() is big_window.models_page
    assert big_window.models_page.source.rowCount() == MODELS


def test_models_table_fits_columns_from_a_sample_of_rows(big_window):
    header = big_window.models_page.table.horizontalHeader()
    assert 0 < header.resizeContentsPrecision() <= 500


def test_chart_pages_are_built_on_first_use_or_right_after_the_first_paint(qtbot, inventory, tmp_path):
    from app.ui.main_window import JOBS, MONITORING
    from app.ui.main_window import MODELS as MODELS_PAGE

    ws = open_workspace(WorkspacePaths(inventory))
    runner = TaskRunner()
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    lazy = MainWindow(ws, runner, settings)
    qtbot.addWidget(lazy)
    lazy.show()
    assert not any(lazy.is_built(i) for i in (MODELS_PAGE, MONITORING, JOBS))
    lazy.show_page(MODELS_PAGE)
    assert lazy.is_built(MODELS_PAGE) and lazy.current_page() is lazy.models_page
    assert lazy.models_page.source.rowCount() == MODELS
    eager = MainWindow(ws, runner, settings, build_pages_after_paint=True)
    qtbot.addWidget(eager)
    eager.show()
    qtbot.waitUntil(lambda: all(eager.is_built(i) for i in (MODELS_PAGE, MONITORING, JOBS)), timeout=10_000)
    runner.wait(60_000)
