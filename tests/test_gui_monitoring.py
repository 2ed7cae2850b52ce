"""Monitoring and Overview pages, driven through real widgets on real scored batches."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.services.alerts import acknowledge_alert, get_alert, list_alerts, resolve_alert
from app.services.audit import AuditFilter, count_events, list_events
from app.services.batches import score_batch
from app.services.monitoring_queries import drift_history, get_batch, list_batches, overview
from app.services.register import ModelCard, register_model
from app.services.settings import effective_settings
from app.ui.batch_panel import PREDICTION
from app.ui.main_window import AUDIT, MODELS, MONITORING, OVERVIEW, MainWindow
from app.ui.monitoring_page import ALERTS_TAB, MonitoringPage
from app.ui.notifications import AlertNotifier
from app.ui.score_dialog import Throttled
from app.ui.tasks import TaskRunner
from monitoring_helpers import MODEL, build_template, copy_workspace, write_batch

SLOW = 60_000  # ms: a first scoring imports scikit-learn and pandas


@pytest.fixture(scope="session")
def template(tmp_path_factory, classifier_files):
    return build_template(tmp_path_factory.mktemp("monitored") / "ws", classifier_files)


@pytest.fixture
def ws(template, tmp_path):
    ws = copy_workspace(template, tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it reads


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def page(qtbot, ws, runner, settings):
    page = MonitoringPage(ws, runner, settings=settings)
    qtbot.addWidget(page)
    page.resize(1300, 900)
    with qtbot.waitSignal(page.data_loaded, timeout=SLOW):
        page.show()
    return page


@pytest.fixture
def window(qtbot, ws, runner, settings):
    window = MainWindow(ws, runner, settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    yield window
    window.notifier.stop()


def _same(values, expected) -> bool:
    """Equal as floats, a missing figure (None) being NaN on the chart."""
    want = np.array([math.nan if v is None else v for v in expected], dtype=float)
    return np.allclose(np.asarray(values, dtype=float), want, equal_nan=True)


def _shown_alert(page, alert_id):
    return next(a for a in page.alerts_model.all_alerts() if a.id == alert_id)


def _shown_bars(chart) -> tuple[list[str], list[float]]:
    """Names and widths of the drawn bars, top to bottom, read back from the BarGraphItem."""
    opts = chart.bars.opts
    order = np.argsort(-np.asarray(opts["y"]))
    widths = np.asarray(opts["width"], dtype=float)[order]
    ticks = dict(chart.getPlotItem().getAxis("left")._tickLevels[0])
    return [ticks[float(opts["y"][i])] for i in order], list(widths)


def test_drift_over_time_plots_the_stored_figures(qtbot, page, ws):
    history = drift_history(ws, MODEL)
    chart = page.over_time.chart
    features = sorted({p.feature for p in history})
    assert sorted(chart.curves) == features
    for feature in features:
        points = [p for p in history if p.feature == feature]
        xs, ys = chart.curves[feature].getData()
        assert _same(ys, [p.psi for p in points])
        assert _same(xs, [p.at.timestamp() for p in points])
    # the threshold is the model's effective setting; drifted points and alert batches are marked
    assert chart.threshold_line.value() == pytest.approx(effective_settings(ws, "drift", MODEL)["psi"])
    assert len(chart.drift_markers.data) == sum(p.drifted for p in history)
    alert_batches = [b for b in list_batches(ws, MODEL) if b.alerts]
    assert sorted(chart.alert_markers.data["data"]) == sorted(b.id for b in alert_batches)

    page.over_time.set_figure("js_distance")
    xs, ys = chart.curves["mean_texture"].getData()
    assert _same(ys, [p.js_distance for p in history if p.feature == "mean_texture"])
    assert chart.threshold_line.value() == pytest.approx(effective_settings(ws, "drift", MODEL)["js_distance"])
    page.over_time.set_figure("ks_statistic")
    assert not chart.threshold_line.isVisible()  # KS decides through its p-value: no line is honest
    assert "p-value" in page.over_time.threshold_label.text()


def test_latest_batch_bars_and_distribution(qtbot, page, ws):
    latest = list_batches(ws, MODEL)[-1]
    assert page.selected_batch_id() == latest.id
    names, widths = _shown_bars(page.batch_drift.bars)
    expected = sorted(((f["name"], f["psi"]) for f in latest.drift["features"]), key=lambda r: -r[1])
    assert names == [n for n, _ in expected]
    assert widths == pytest.approx([v for _, v in expected])
    assert page.batch_drift.bars.threshold_line.value() == pytest.approx(0.2)

    # the distribution defaults to the most drifted feature: reference and current shares, paired
    dist = page.batch_drift.distribution
    report = next(f for f in latest.drift["features"] if f["name"] == names[0])
    assert list(dist.ref_bars.opts["height"]) == pytest.approx(report["ref_bins"])
    assert list(dist.cur_bars.opts["height"]) == pytest.approx(report["cur_bins"])
    assert dist.labels == report["bin_labels"]

    # the model's own output can be compared too
    page.batch_drift.choose_feature(PREDICTION)
    assert list(dist.cur_bars.opts["height"]) == pytest.approx(latest.drift["prediction"]["cur_bins"])


def test_choosing_a_batch_and_a_bar_updates_both_charts(qtbot, page, ws):
    first = list_batches(ws, MODEL)[0]
    row = page.batches_model.row_of(first.id)
    page.batches_table.selectRow(row)
    assert page.selected_batch_id() == first.id
    _names, widths = _shown_bars(page.batch_drift.bars)
    assert widths == pytest.approx(sorted((f["psi"] for f in first.drift["features"]), reverse=True))

    # clicking a bar shows that feature's distribution and highlights its line
    bars = page.batch_drift.bars
    target = bars.names[2]
    vb = bars.getPlotItem().vb
    scene = vb.mapViewToScene(QPointF(bars.values[2] / 2, bars.shown - 1 - 2))
    with qtbot.waitSignal(page.batch_drift.feature_chosen) as chosen:
        qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=bars.mapFromScene(scene))
    assert chosen.args == [target]
    report = next(f for f in first.drift["features"] if f["name"] == target)
    assert list(page.batch_drift.distribution.cur_bars.opts["height"]) == pytest.approx(report["cur_bins"])
    assert page.over_time.chart.highlighted == target


def test_feature_list_focuses_and_hover_names_the_point(qtbot, page, ws):
    panel, chart = page.over_time, page.over_time.chart
    # eight features: the six most drifted are drawn at first, the rest wait in the list
    assert len(panel.checked_features()) == 6 and "mean_texture" in panel.checked_features()
    assert set(chart.visible_features()) == set(panel.checked_features())
    qtbot.mouseClick(panel.all_button, Qt.MouseButton.LeftButton)
    assert set(chart.visible_features()) == set(chart.curves)
    item = panel.feature_list.findItems("mean_radius", Qt.MatchFlag.MatchExactly)[0]
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not chart.curves["mean_radius"].isVisible()
    panel.show_only(panel.feature_list.findItems("mean_texture", Qt.MatchFlag.MatchExactly)[0])
    assert chart.visible_features() == ["mean_texture"]

    rect = panel.feature_list.visualItemRect(panel.feature_list.findItems("mean_texture",
                                                                          Qt.MatchFlag.MatchExactly)[0])
    qtbot.mouseClick(panel.feature_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert chart.highlighted == "mean_texture"

    # pointing at the latest point of the line names its batch, label, feature and value
    latest = [p for p in drift_history(ws, MODEL, "mean_texture")][-1]
    scene = chart.getPlotItem().vb.mapViewToScene(QPointF(latest.at.timestamp(), latest.psi))
    with qtbot.waitSignal(chart.point_hovered) as hovered:
        qtbot.mouseMove(chart.viewport(), chart.mapFromScene(scene))
    text = hovered.args[0]
    assert f"Batch #{latest.batch_id}" in text and latest.label in text
    assert "mean_texture" in text and f"{latest.psi:.3f}" in text and "drifted" in text
    assert chart.hover_label.isVisible()


def test_alert_lifecycle_through_the_dialogs(qtbot, page, ws):
    alert = list_alerts(ws, MODEL, status="open")[0]
    page.table_tabs.setCurrentIndex(ALERTS_TAB)
    assert page.select_alert(alert.id)
    assert page.ack_button.isEnabled()

    qtbot.mouseClick(page.ack_button, Qt.MouseButton.LeftButton)
    dialog = page.alert_actions.dialog
    dialog.note_edit.setPlainText("Looking into the texture change.")
    with qtbot.waitSignal(page.alert_actions.alert_updated, timeout=SLOW):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert get_alert(ws, alert.id).status.value == "acknowledged"
    qtbot.waitUntil(lambda: _shown_alert(page, alert.id).status.value == "acknowledged", timeout=SLOW)
    assert page.select_alert(alert.id)
    assert not page.ack_button.isEnabled() and page.resolve_button.isEnabled()

    qtbot.mouseClick(page.resolve_button, Qt.MouseButton.LeftButton)
    dialog = page.alert_actions.dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    dialog.accept_radio.setChecked(True)
    ok.click()  # no rationale, no expiry: refused inline, the dialog stays
    assert dialog.isVisible()
    assert dialog.rationale_error.isVisible() and dialog.expiry_error.isVisible()
    dialog.rationale_edit.setPlainText("Texture shift comes from the new scanner; retraining is planned.")
    ok.click()
    assert dialog.isVisible() and dialog.expiry_error.isVisible()  # accepting a risk needs an end date
    until = date.today() + timedelta(days=30)
    dialog.set_expiry(until)
    assert not dialog.expiry_error.isVisible()
    with qtbot.waitSignal(page.alert_actions.alert_updated, timeout=SLOW) as updated:
        ok.click()
    stored = get_alert(ws, alert.id)
    assert updated.args[0].id == alert.id
    assert (stored.status.value, stored.decision.value) == ("resolved", "accept_risk")
    assert stored.expires_at.date() == until and stored.resolved_by == "alice"
    events = list_events(ws, AuditFilter(action="alert."))
    assert {e.action for e in events} >= {"alert.acknowledged", "alert.resolved"}
    resolved = next(e for e in events if e.action == "alert.resolved")
    assert resolved.details["decision"] == "accept_risk" and resolved.actor == "alice"
    qtbot.waitUntil(lambda: page.alerts_model.rowCount() == 0)  # the open list no longer holds it
    page.alert_filter.setCurrentIndex(1)
    assert page.alerts_model.row_of(alert.id) >= 0


def test_retire_warns_and_archives_production(qtbot, page, ws):
    alert = list_alerts(ws, MODEL, status="open")[0]
    page.select_alert(alert.id)
    dialog = page.alert_actions.resolve()
    assert not dialog.retire_warning.isVisible()
    dialog.retire_radio.setChecked(True)
    assert dialog.retire_warning.isVisible() and "v1" in dialog.retire_warning.text()
    assert not dialog.expiry_edit.isEnabled()
    dialog.rationale_edit.setPlainText("Replaced by the new screening process.")
    with qtbot.waitSignal(page.models_changed, timeout=SLOW):
        dialog.accept()
    from app.services import queries

    assert queries.get_version(ws, MODEL, 1).stage.value == "archived"


def test_score_batch_through_the_dialog_records_and_redraws(qtbot, page, ws, classifier_files, tmp_path):
    before = list_batches(ws, MODEL)
    features, _labels = write_batch(classifier_files, tmp_path, "late", shift=3.0, seed=11)
    qtbot.mouseClick(page.score_button, Qt.MouseButton.LeftButton)
    dialog = page.batch_actions.batch_dialog
    assert dialog.isVisible() and not dialog.isModal()
    dialog.input_edit.setText(str(features))
    dialog.label_edit.setText("2026-W48")
    dialog.output_edit.setText(str(tmp_path / "predictions.csv"))
    with qtbot.waitSignal(page.data_loaded, timeout=SLOW):
        with qtbot.waitSignal(dialog.batch_recorded, timeout=SLOW) as recorded:
            qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
            assert dialog.progress_bar.isVisible() and not dialog.start_button.isEnabled()
    outcome = recorded.args[0]
    after = list_batches(ws, MODEL)
    assert [b.id for b in after] == [b.id for b in before] + [outcome.batch.id]
    assert after[-1].label == "2026-W48" and (tmp_path / "predictions.csv").is_file()
    assert "mean_texture" in dialog.result_label.text()  # the summary names what drifted
    assert page.selected_batch_id() == outcome.batch.id
    xs, ys = page.over_time.chart.curves["mean_texture"].getData()
    assert len(ys) == len(before) + 1
    assert ys[-1] == pytest.approx(next(f["psi"] for f in outcome.batch.drift["features"]
                                        if f["name"] == "mean_texture"))
    _names, widths = _shown_bars(page.batch_drift.bars)
    assert widths[0] == pytest.approx(max(f["psi"] for f in outcome.batch.drift["features"]))


def test_cancelling_a_scoring_run_records_nothing(qtbot, page, ws, classifier_files, tmp_path):
    features, _labels = write_batch(classifier_files, tmp_path, "big", rows=300_000, shift=1.0, seed=5)
    batches, events = len(list_batches(ws, MODEL)), count_events(ws)
    dialog = page.batch_actions.open_batch_dialog("score")
    dialog.input_edit.setText(str(features))
    with qtbot.waitSignal(dialog.run_cancelled, timeout=SLOW):
        with qtbot.waitSignal(dialog.progress_bar.valueChanged, timeout=SLOW):
            dialog.start()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # while it runs
    assert "nothing was recorded" in dialog.status_label.text()
    assert dialog.start_button.isEnabled()
    assert len(list_batches(ws, MODEL)) == batches and count_events(ws) == events
    assert not any(ws.paths.tmp.iterdir())  # no half-written predictions left behind


def test_record_batch_and_attach_labels_through_dialogs(qtbot, page, ws, classifier_files, tmp_path):
    import pandas as pd

    features, labels = write_batch(classifier_files, tmp_path, "external", seed=21)
    frame = pd.read_csv(features).assign(prediction=pd.read_csv(labels)[classifier_files.target])
    frame.to_csv(features, index=False)
    dialog = page.batch_actions.open_batch_dialog("record")
    with qtbot.waitSignal(dialog.columns_loaded, timeout=SLOW):
        dialog.input_edit.setText(str(features))
        dialog.input_edit.editingFinished.emit()
    assert dialog.predictions_combo.currentData() == "prediction"  # guessed from the name
    with qtbot.waitSignal(page.data_loaded, timeout=SLOW):
        with qtbot.waitSignal(dialog.batch_recorded, timeout=SLOW) as recorded:
            dialog.start()
    batch = recorded.args[0].batch
    assert batch.kind == "recorded" and page.selected_batch_id() == batch.id
    dialog.close()

    assert page.labels_button.isEnabled()
    labels_dialog = page.batch_actions.open_labels_dialog()
    with qtbot.waitSignal(labels_dialog.columns_loaded, timeout=SLOW):
        labels_dialog.labels_edit.setText(str(labels))
        labels_dialog.labels_edit.editingFinished.emit()
    assert labels_dialog.target_combo.currentText() == classifier_files.target
    with qtbot.waitSignal(page.data_loaded, timeout=SLOW):
        with qtbot.waitSignal(labels_dialog.labels_attached, timeout=SLOW):
            labels_dialog.start()
    stored = get_batch(ws, batch.id)
    assert stored.performance["accuracy"] == pytest.approx(1.0)  # the predictions were the labels
    labelled = [b for b in list_batches(ws, MODEL) if b.performance]
    curve = page.performance.curves["accuracy"]
    assert _same(curve.getData()[1], [b.performance["accuracy"] for b in labelled])
    from app.services import queries

    validation = queries.get_version(ws, MODEL, 1).metrics["accuracy"]
    assert page.performance.reference_lines["accuracy"].value() == pytest.approx(validation)
    assert not page.labels_button.isEnabled()  # that batch has its labels now


def test_empty_states_say_what_to_do(qtbot, workspace, runner, classifier_files, settings):
    page = MonitoringPage(workspace, runner, settings=settings)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.models_loaded, timeout=SLOW):
        page.show()
    assert page.body.currentIndex() == 0 and "No models yet" in page.empty_label.text()

    register_model(workspace, "fresh", classifier_files.model, classifier_files.train, "target",
                   card=ModelCard(owner="maria"))
    with qtbot.waitSignal(page.data_loaded, timeout=SLOW):
        page.refresh()
    text = page.empty_label.text()
    assert "No batches yet" in text and "Score batch…" in text and "steward score fresh" in text
    assert "promote" in text  # no Production version: scoring would be refused


def test_the_model_choice_is_remembered(qtbot, ws, runner, settings, classifier_files):
    register_model(ws, "another", classifier_files.model, classifier_files.train, "target",
                   card=ModelCard(owner="maria"))
    first = MonitoringPage(ws, runner, settings=settings)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.data_loaded, timeout=SLOW):
        first.show()
    assert first.current_model() == MODEL  # the model with a Production version comes first
    with qtbot.waitSignal(first.data_loaded, timeout=SLOW):
        first.model_combo.setCurrentText("another")
    second = MonitoringPage(ws, runner, settings=settings)
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.data_loaded, timeout=SLOW) as loaded:
        second.show()
    assert loaded.args[0].model == "another"


def test_overview_counts_match_the_services_and_links_switch_pages(qtbot, window, ws):
    assert window.stack.currentIndex() == OVERVIEW  # the app opens on it
    page = window.overview_page
    qtbot.waitUntil(lambda: page.data is not None, timeout=SLOW)
    expected = overview(ws)
    assert page.data == expected
    assert page.production_tile.value_label.text() == str(expected.in_production)
    assert page.alerts_tile.value_label.text() == str(expected.open_alerts)
    assert page.drifting_tile.value_label.text() == str(len(expected.drifting_models))
    assert page.batches_tile.value_label.text() == str(expected.batches_last_30_days)
    assert expected.high_alerts and "high" in page.alerts_tile.detail_label.text()
    assert MODEL in page.attention_label.text()

    qtbot.mouseClick(page.drifting_tile, Qt.MouseButton.LeftButton)
    assert window.stack.currentIndex() == MONITORING
    # The page is built on first use and loads its model list in the background: the choice follows it.
    qtbot.waitUntil(lambda: window.monitoring_page.current_model() == expected.drifting_models[0], timeout=SLOW)

    window.show_page(OVERVIEW)
    page.attention_label.linkActivated.emit(f"alerts:{MODEL}")
    assert window.stack.currentIndex() == MONITORING
    assert window.monitoring_page.table_tabs.currentIndex() == ALERTS_TAB

    page.open_link(f"model:{MODEL}")
    assert window.stack.currentIndex() == MODELS and window.models_page.selected_name() == MODEL

    window.show_page(OVERVIEW)
    assert "never" in page.audit_label.text()
    with qtbot.waitSignal(window.audit_page.verify_finished, timeout=SLOW):
        qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    assert "intact" in page.audit_label.text()
    page.audit_label.linkActivated.emit("audit:")
    assert window.stack.currentIndex() == AUDIT


def test_overview_refreshes_after_an_alert_is_resolved(qtbot, window, ws):
    page = window.overview_page
    qtbot.waitUntil(lambda: page.data is not None, timeout=SLOW)
    before = page.data.open_alerts
    window.open_monitoring(MODEL, alerts=True)
    monitoring = window.monitoring_page
    qtbot.waitUntil(lambda: monitoring.alerts_model.rowCount() > 0, timeout=SLOW)
    monitoring.alerts_table.selectRow(0)
    dialog = monitoring.alert_actions.resolve()
    dialog.rationale_edit.setPlainText("Retrained as v2.")
    with qtbot.waitSignal(page.overview_loaded, timeout=SLOW) as loaded:
        dialog.accept()
    assert loaded.args[0].open_alerts == before - 1


def test_a_new_alert_is_noticed_once(qtbot, ws, classifier_files, tmp_path):
    from PySide6.QtWidgets import QWidget

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 600)
    host.show()
    for alert in list_alerts(ws, status="open"):
        acknowledge_alert(ws, alert.id)
        resolve_alert(ws, alert.id, "retrain", "Retraining on the new scanner's data.")
    existing = max(a.id for a in list_alerts(ws))
    notifier = AlertNotifier(ws, host, interval_ms=3_600_000, use_tray=False)
    with qtbot.waitSignal(notifier.baseline_taken, timeout=SLOW) as baseline:
        notifier.start()
    assert baseline.args == [existing]
    noticed = []
    notifier.alert_noticed.connect(noticed.append)
    with qtbot.waitSignal(notifier.checked, timeout=SLOW) as checked:
        notifier.check_now()
    assert checked.args == [0] and noticed == []  # alerts that existed at start-up are not news

    features, _labels = write_batch(classifier_files, tmp_path, "shifted", shift=3.0, seed=9)
    outcome = score_batch(ws, MODEL, features, label="2026-W49")
    assert outcome.alerts and outcome.alerts[0].id > existing
    with qtbot.waitSignal(notifier.alert_noticed, timeout=SLOW) as signal:
        notifier.check_now()
    assert signal.args[0].id == outcome.alerts[0].id
    assert notifier.toast is not None and notifier.toast.isVisible()  # no tray offscreen: an in-window toast
    assert MODEL in notifier.toast.label.text()
    with qtbot.waitSignal(notifier.checked, timeout=SLOW) as checked:
        notifier.check_now()
    assert checked.args == [0] and [a.id for a in noticed] == [outcome.alerts[0].id]
    with qtbot.waitSignal(notifier.alert_activated) as activated:
        notifier.toast.label.linkActivated.emit("show")
    assert activated.args[0].id == outcome.alerts[0].id
    notifier.stop()


def test_dark_theme_restyles_the_charts(qtbot, page):
    from app.ui import theme

    app = QApplication.instance()
    before = (app.style().name(), app.palette(), app.styleSheet(), app.property("steward_theme"))
    try:
        theme.apply_theme("dark")
        qtbot.waitUntil(lambda: page.over_time.chart.backgroundBrush().color() == theme.color("surface"))
        assert page.over_time.chart.curves  # lines survive the restyle
        assert page.batch_drift.bars.backgroundBrush().color() == theme.color("surface")
    finally:  # later tests measure text: leave the application as it was
        app.setStyle(before[0])
        app.setPalette(before[1])
        app.setStyleSheet(before[2])
        app.setProperty("steward_theme", before[3])


def test_progress_reaches_the_window_at_most_every_interval():
    seen = []
    throttled = Throttled(lambda fraction, _message: seen.append(fraction), interval=3600)
    for i in range(1000):
        throttled(i / 1000, "Scoring rows")
    throttled(1.0, "Batch recorded")
    assert seen == [0.0, 1.0]  # the first report, then nothing until the final one


def test_every_part_of_the_page_paints_on_its_own(qtbot, page):
    """Qt asks each widget for its paint metrics; none of ours may shadow them (a crash, not an error)."""
    parts = (page, page.over_time, page.over_time.chart, page.batch_drift, page.batch_drift.bars,
             page.batch_drift.distribution, page.performance_panel, page.performance, page.alerts_panel)
    for part in parts:
        assert not part.grab().isNull()
