"""Audit page: lazy paging, filters, Verify (intact and tampered), go-to-event and CSV export."""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QDate, Qt  # noqa: E402

from app.services.audit import AuditFilter, append_event, count_events, list_events  # noqa: E402
from app.ui.audit_model import PAGE_SIZE, PLACEHOLDER, summarize  # noqa: E402
from app.ui.audit_page import AuditPage  # noqa: E402
from app.ui.tasks import TaskRunner  # noqa: E402

SEQ, TIME, ACTOR, ACTION, OBJECT, MODEL, DETAILS = range(7)


def add_events(ws, n, *, start=1, at=None, step=timedelta(minutes=1), models=("alpha", "beta", "gamma"),
               actors=("alice", "bob")) -> None:
    """`n` events in one transaction, cycling through models, actions and actors."""
    actions = ("version.registered", "version.stage_changed", "model.updated")

    def work(session):
        for i in range(start, start + n):
            model = models[i % len(models)]
            append_event(session, actions[i % len(actions)], f"version:{model}/{i}", model=model,
                         actor=actors[i % len(actors)], details={"version": i, "from": "staging",
                                                                 "to": "production", "reason": f"event {i}"},
                         at=(at + step * (i - start)) if at else None)

    ws.db.write(work)


def cell(page, row, column):
    return page.model.data(page.model.index(row, column))


def column_values(page, column):
    return [cell(page, r, column) for r in range(page.model.rowCount())]


@pytest.fixture
def runner(qtbot):
    tasks = TaskRunner()
    yield tasks
    tasks.wait()


@pytest.fixture
def make_page(qtbot, workspace, runner):
    def make():
        page = AuditPage(workspace, runner)
        qtbot.addWidget(page)
        settle(qtbot, page)
        return page
    return make


def settle(qtbot, page):
    """Wait until the current filter's count and first page have arrived."""
    qtbot.waitUntil(lambda: page.model.total is not None
                    and page.model.rowCount() == min(page.model.total, PAGE_SIZE), timeout=10_000)


def tamper(ws, sql: str, *triggers: str) -> None:
    """Edit the database file behind the application's back, as a determined user could."""
    con = sqlite3.connect(ws.paths.db)
    with con:
        for trigger in triggers:
            con.execute(f"DROP TRIGGER {trigger}")
        con.execute(sql)
    con.close()


def test_opens_with_first_page_and_fetches_more_lazily(qtbot, workspace, make_page):
    add_events(workspace, 3000)
    page = make_page()
    model = page.model
    assert model.rowCount() == PAGE_SIZE
    assert page.count_label.text() == "3,000 events"
    assert cell(page, 0, SEQ) == "3000"  # newest first
    assert cell(page, PAGE_SIZE - 1, SEQ) == str(3000 - PAGE_SIZE + 1)
    assert model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 2 * PAGE_SIZE)
    assert cell(page, 2 * PAGE_SIZE - 1, SEQ) == str(3000 - 2 * PAGE_SIZE + 1)
    page.resize(900, 500)
    page.show()
    page.table.scrollToBottom()  # the view asks for the next page itself when scrolled to the end
    qtbot.waitUntil(lambda: model.rowCount() == 3 * PAGE_SIZE)
    while model.canFetchMore():
        rows = model.rowCount()
        model.fetchMore()
        qtbot.waitUntil(lambda rows=rows: model.rowCount() > rows)
    assert model.rowCount() == 3000
    assert cell(page, 2999, SEQ) == "1"
    assert not model.canFetchMore()


def test_row_shows_readable_columns_and_details(qtbot, workspace, make_page, classifier_files):
    from app.services.register import ModelCard, register_model
    from app.services.stages import promote_version

    f = classifier_files
    register_model(workspace, "churn", f.model, f.train, f.target, card=ModelCard(owner="alice", risk_tier="low"))
    register_model(workspace, "churn", f.model, f.test, f.target)
    promote_version(workspace, "churn", 1, "production", "first release")
    promote_version(workspace, "churn", 2, "production", "better recall")
    page = make_page()
    assert cell(page, 0, ACTION) == "version.stage_changed"
    assert cell(page, 0, OBJECT) == "version:churn/2"
    assert cell(page, 0, MODEL) == "churn"
    assert cell(page, 0, ACTOR) == "alice"
    assert cell(page, 0, DETAILS) == "none → production: better recall"
    assert cell(page, 1, DETAILS) == "production → archived: replaced in production by version 2"
    assert "version.registered" in column_values(page, ACTION)
    assert "model.created" in column_values(page, ACTION)
    assert len(cell(page, 0, TIME)) == len("2026-01-01 12:00")  # to the minute; the tooltip has seconds and UTC
    time_tip = page.model.data(page.model.index(0, TIME), Qt.ItemDataRole.ToolTipRole)
    assert time_tip.startswith(cell(page, 0, TIME) + ":")  # the same local time, with its seconds
    assert f"{page.model.event_at(0).at} UTC" in time_tip

    page.table.selectRow(1)
    assert '"reason": "replaced in production by version 2"' in page.details_edit.toPlainText()
    event = page.current_event()
    assert page.hash_edit.text() == event.hash and page.prev_edit.text() == event.prev_hash
    assert page.payload_edit.text() == event.payload_sha256
    assert page.details_edit.isReadOnly()


def test_summaries_are_one_line():
    assert summarize("version.stage_changed", {"from": "production", "to": "archived",
                                               "reason": "replaced by v3"}) == "production → archived: replaced by v3"
    assert summarize("model.updated", {"owner": {"from": "a", "to": "b"}}) == "owner: a → b"
    assert "\n" not in summarize("custom.thing", {"note": "two\nlines", "n": 1})
    assert len(summarize("custom.thing", {"note": "x" * 1000})) <= 160
    # Monitoring events say what happened first; hashes stay out of the line.
    batch = {"batch": 7, "label": "week 2", "rows": 1500, "input_name": "w2.csv", "input_sha256": "ab" * 32,
             "drifted_features": ["age", "plan"], "dataset_drift": True}
    assert summarize("batch.scored", batch) == "week 2 · drift in age, plan (dataset drift) · 1,500 rows · w2.csv"
    labels = {"labels_sha256": "cd" * 32, "rows": 70, "metrics": {"accuracy": 0.95}}
    assert summarize("labels.attached", labels) == "accuracy 0.95 · 70 labelled rows"
    assert summarize("alert.resolved", {"decision": "retrain", "rationale": "Drift is real.", "expires": None,
                                        "linked_version": 3}) == "retrain (version 3): Drift is real."
    assert summarize("version.registered", {"estimator": "sklearn.ensemble._forest.RandomForestClassifier",
                                            "task": "classification"}) == "RandomForestClassifier · classification"


def test_each_filter_narrows_the_rows(qtbot, workspace, make_page):
    add_events(workspace, 60, at=datetime(2025, 3, 1, 12, tzinfo=UTC), step=timedelta(days=1))
    page = make_page()
    bar = page.filter_bar
    assert bar.model_combo.findText("beta") > 0 and bar.actor_combo.findText("bob") > 0

    def expect(filt, check):
        settle(qtbot, page)
        qtbot.waitUntil(lambda: page.model.filter == filt)
        settle(qtbot, page)
        rows = page.model.rowCount()
        assert 0 < rows < 60 and rows == count_events(workspace, filt)
        assert page.count_label.text() == f"{rows} matching events"
        for r in range(rows):
            assert check(r), r

    bar.model_combo.setCurrentIndex(bar.model_combo.findText("beta"))
    expect(AuditFilter(model="beta"), lambda r: cell(page, r, MODEL) == "beta")
    bar.actor_combo.setCurrentIndex(bar.actor_combo.findText("bob"))
    expect(AuditFilter(model="beta", actor="bob"), lambda r: cell(page, r, ACTOR) == "bob"
           and cell(page, r, MODEL) == "beta")
    bar.clear()
    bar.action_combo.setCurrentIndex(bar.action_combo.findText("version.*"))
    expect(AuditFilter(action="version."), lambda r: cell(page, r, ACTION).startswith("version."))
    bar.action_combo.setCurrentIndex(bar.action_combo.findText("model.updated"))
    expect(AuditFilter(action="model.updated"), lambda r: cell(page, r, ACTION) == "model.updated")
    bar.clear()

    qtbot.keyClicks(bar.search_edit, "event 1")  # debounced: one query after typing stops
    qtbot.waitUntil(lambda: page.model.filter.text == "event 1")
    settle(qtbot, page)
    assert sorted(int(v) for v in column_values(page, SEQ)) == [1, *range(10, 20)]
    bar.clear()

    bar.period_combo.setCurrentText("Custom")
    bar.from_edit.setDate(QDate(2025, 3, 10))
    bar.to_edit.setDate(QDate(2025, 3, 14))
    qtbot.waitUntil(lambda: page.model.filter.since is not None and page.model.filter.until is not None
                    and page.model.filter.since.day == 10 and page.model.filter.until.day == 14)
    settle(qtbot, page)
    days = {cell(page, r, TIME)[:10] for r in range(page.model.rowCount())}
    assert days <= {f"2025-03-{d}" for d in range(9, 16)} and len(days) >= 4  # local time may shift a day edge
    assert page.model.rowCount() == 5

    bar.period_combo.setCurrentText("Last 7 days")  # every event is from 2025
    qtbot.waitUntil(lambda: page.model.total == 0)
    assert page.count_label.text() == "0 matching events"
    assert page.empty_label.isVisibleTo(page)
    bar.clear()
    qtbot.waitUntil(lambda: page.model.total == 60)
    assert page.count_label.text() == "60 events"
    assert not page.empty_label.isVisibleTo(page)


def test_period_filter_finds_events_whatever_order_their_clocks_wrote_them(workspace):
    # list_events narrows a period to its seq range; events written with a clock that went back
    # must still all be listed, in seq order.
    days = [5, 1, 9, 3, 7, 2, 8]
    workspace.db.write(lambda s: [append_event(s, "model.updated", f"model:m{d}", model="m",
                                               at=datetime(2025, 1, d, 12, tzinfo=UTC)) for d in days])
    filt = AuditFilter(since=datetime(2025, 1, 2, tzinfo=UTC), until=datetime(2025, 1, 7, 23, tzinfo=UTC))
    listed = list_events(workspace, filt)
    assert [e.object for e in listed] == ["model:m2", "model:m7", "model:m3", "model:m5"]
    assert count_events(workspace, filt) == 4
    assert list_events(workspace, filt, limit=2, offset=1, newest_first=False)[0].object == "model:m3"
    assert list_events(workspace, AuditFilter(since=datetime(2026, 1, 1, tzinfo=UTC))) == []


def test_text_search_takes_percent_literally(qtbot, workspace, make_page):
    workspace.db.write(lambda s: (append_event(s, "model.updated", "model:a", model="a", details={"note": "50% off"}),
                                  append_event(s, "model.updated", "model:b", model="b", details={"note": "50 items"})))
    page = make_page()
    page.filter_bar.search_edit.setText("50%")
    page.filter_bar.flush()
    qtbot.waitUntil(lambda: page.model.total == 1)
    settle(qtbot, page)
    assert cell(page, 0, MODEL) == "a"


def test_set_model_filter_and_refresh(qtbot, workspace, make_page):
    add_events(workspace, 30)
    page = make_page()
    page.set_model_filter("gamma")
    qtbot.waitUntil(lambda: page.model.total == 10)
    settle(qtbot, page)
    assert set(column_values(page, MODEL)) == {"gamma"}
    add_events(workspace, 3, start=31, models=("delta",), actors=("carol",))
    page.refresh()
    qtbot.waitUntil(lambda: page.filter_bar.model_combo.findText("delta") > 0)
    assert page.filter_bar.model_combo.currentText() == "gamma"  # the choice survives a refresh
    page.set_model_filter(None)
    qtbot.waitUntil(lambda: page.model.total == 33)
    assert page.filter_bar.actor_combo.findText("carol") > 0


def test_verify_intact_log_shows_ok_banner(qtbot, workspace, make_page):
    add_events(workspace, 200)
    page = make_page()
    with qtbot.waitSignal(page.verify_finished, timeout=10_000) as signal:
        qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
        assert not page.verify_button.isEnabled()
    result = signal.args[0]
    assert result.ok and result.events == 200
    assert page.verify_button.isEnabled()
    assert page.banner.isVisibleTo(page) and page.banner.kind == "ok"
    text = page.banner.label.text()
    assert "Log intact" in text and "200 events verified" in text and result.head_hash[:16] in text
    assert "Checked at" in text and "just now" in text
    assert not page.banner.goto_button.isVisibleTo(page)


def test_tampered_log_shows_broken_banner_and_goes_to_event(qtbot, workspace, make_page):
    add_events(workspace, 3000)
    tamper(workspace, "UPDATE audit_events SET details = '{\"reason\":\"nothing to see\"}' WHERE seq = 123",
           "audit_events_no_update")
    page = make_page()
    page.set_model_filter("alpha")  # the jump must clear this
    qtbot.waitUntil(lambda: page.model.filter.model == "alpha")
    with qtbot.waitSignal(page.verify_finished, timeout=10_000) as signal:
        page.verify_button.click()
    result = signal.args[0]
    assert not result.ok and result.first_bad_seq == 123
    assert page.banner.kind == "broken"
    assert "Log broken at event #123" in page.banner.label.text()
    assert "details were modified" in page.banner.label.text()
    assert page.banner.goto_button.isVisibleTo(page)

    page.banner.goto_button.click()
    qtbot.waitUntil(lambda: page.current_event() is not None and page.current_event().seq == 123, timeout=10_000)
    assert page.filter_bar.current_filter() == AuditFilter()
    assert page.model.filter == AuditFilter()
    assert page.table.currentIndex().row() == 3000 - 123  # far beyond the first page
    assert page.table.selectionModel().isRowSelected(3000 - 123)
    assert '"nothing to see"' in page.details_edit.toPlainText()
    # rows between the first page and the jump exist and load when they are looked at
    assert cell(page, 1200, SEQ) in (PLACEHOLDER, str(3000 - 1200))
    qtbot.waitUntil(lambda: cell(page, 1200, SEQ) == str(3000 - 1200))


def test_go_to_a_deleted_event_selects_the_event_after_the_gap(qtbot, workspace, make_page):
    add_events(workspace, 50)
    tamper(workspace, "DELETE FROM audit_events WHERE seq = 20", "audit_events_no_delete")
    page = make_page()
    with qtbot.waitSignal(page.verify_finished, timeout=10_000) as signal:
        page.verify_button.click()
    assert signal.args[0].first_bad_seq == 20 and "missing" in page.banner.label.text()
    page.banner.goto_button.click()
    qtbot.waitUntil(lambda: page.current_event() is not None and page.current_event().seq == 21)


def test_csv_export_writes_the_filtered_rows(qtbot, workspace, make_page, tmp_path):
    add_events(workspace, 1200)
    page = make_page()
    page.filter_bar.action_combo.setCurrentText("model.updated")
    qtbot.waitUntil(lambda: page.model.filter.action == "model.updated")
    settle(qtbot, page)
    target = tmp_path / "out" / "audit.csv"
    target.parent.mkdir()
    with qtbot.waitSignal(page.export_finished, timeout=10_000) as signal:
        page.export_csv(target)
    assert signal.args[0] == (target, 400)
    with target.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 400 == page.model.total
    assert {r["action"] for r in rows} == {"model.updated"}
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    assert rows[-1]["hash"] == page.model.event_at(0).hash  # newest in the view = last in the file
    assert list(target.parent.iterdir()) == [target]  # no partial file left behind
    assert "Exported 400 events" in page.status_label.text() and page.export_button.isEnabled()


def tooltip_shown(qtbot, page, row, column) -> str:
    """The tooltip the view shows when the mouse rests on a cell ("" for none)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    QToolTip.hideText()  # hides after a short delay
    qtbot.waitUntil(lambda: not QToolTip.isVisible())
    viewport = page.table.viewport()
    point = page.table.visualRect(page.model.index(row, column)).center()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, point, viewport.mapToGlobal(point)))
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_columns_fit_the_first_page_and_leave_the_summary_room(qtbot, workspace, make_page):
    long_model = "quarterly-revenue-forecast-for-the-northern-region"
    add_events(workspace, 40, models=("churn", long_model))
    page = make_page()
    assert not page.table.columns_fitted  # not measured while hidden: a hidden view has no real width
    page.resize(1100, 600)
    page.show()
    qtbot.waitUntil(lambda: page.table.columns_fitted)
    table, fm = page.table, page.table.fontMetrics()
    assert table.horizontalScrollBar().maximum() == 0  # every column on screen, the summary included
    assert table.columnWidth(DETAILS) >= fm.horizontalAdvance("n" * 20)
    for column in (SEQ, TIME, ACTOR, ACTION):  # short values are shown whole
        assert table.columnWidth(column) > fm.horizontalAdvance(cell(page, 0, column))
    row = next(r for r in range(page.model.rowCount()) if cell(page, r, MODEL) == long_model)
    assert table.columnWidth(OBJECT) < fm.horizontalAdvance(cell(page, row, OBJECT))  # cut, in the middle
    assert tooltip_shown(qtbot, page, row, OBJECT) == cell(page, row, OBJECT)
    assert tooltip_shown(qtbot, page, row, ACTOR) == ""  # whole already: no tooltip repeating it
    assert "UTC" in tooltip_shown(qtbot, page, row, TIME)


def test_banner_colours_follow_the_theme(qtbot, workspace, make_page):
    from app.ui import theme

    add_events(workspace, 5)
    page = make_page()
    before = theme.current_theme()
    try:
        theme.apply_theme("light")
        with qtbot.waitSignal(page.verify_finished, timeout=10_000):
            page.verify()
        assert page.banner.styleSheet() == theme.status_style("ok", "QFrame#verifyBanner")
        theme.apply_theme("dark")  # the window switches themes at run time
        assert page.banner.styleSheet() == theme.status_style("ok", "QFrame#verifyBanner")
        assert "#16321f" in page.banner.styleSheet()  # dark green under light text
    finally:
        theme.apply_theme(before)
