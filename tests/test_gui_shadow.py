"""The shadow panel on real scored batches: agreement curves and metrics equal what the service computed."""

from __future__ import annotations

import pandas as pd
import pytest

from app.services.batches import score_batch
from app.services.labels import attach_labels
from app.services.register import register_model
from app.services.shadow import shadow_comparison
from app.services.stages import promote_version
from app.ui.shadow_panel import EMPTY_TEXT, VALUE_ROLE, ShadowPanel
from app.ui.tasks import TaskRunner
from monitoring_helpers import write_batch

SLOW = 60_000  # ms: the first background call may import pandas and scikit-learn
MODEL = "cancer"


@pytest.fixture
def runner(qtbot, workspace):
    runner = TaskRunner()
    yield runner
    runner.wait(SLOW)  # no task may outlive the workspace it reads


def _register_tree(ws, files, folder):
    """A shallow tree fitted on the same rows: a challenger that disagrees with Production now and then."""
    import joblib
    from sklearn.tree import DecisionTreeClassifier

    train = pd.read_csv(files.train)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(train[files.features], train[files.target])
    path = folder / "tree.joblib"
    joblib.dump(tree, path)
    return register_model(ws, MODEL, path, files.train, files.target, test_data=files.test)


def _load(qtbot, panel: ShadowPanel, name: str | None = None):
    with qtbot.waitSignal(panel.comparison_loaded, timeout=SLOW) as loaded:
        if name:
            panel.set_model(name)
        else:
            panel.refresh()
    return loaded.args[0]


def test_shadow_panel_shows_agreement_and_metrics_of_both_versions(qtbot, workspace, runner, classifier_files,
                                                                   tmp_path):
    f = classifier_files
    register_model(workspace, MODEL, f.model, f.train, f.target, test_data=f.test)
    promote_version(workspace, MODEL, 1, "production", "go live")
    panel = ShadowPanel(workspace, runner)
    qtbot.addWidget(panel)
    panel.resize(1000, 760)
    panel.show()
    assert panel.body.currentIndex() == 0 and "Choose a model" in panel.empty_label.text()

    _load(qtbot, panel, MODEL)  # Production only: nothing shadows it
    assert panel.body.currentIndex() == 0 and panel.empty_label.text() == EMPTY_TEXT

    challenger = _register_tree(workspace, f, tmp_path)
    promote_version(workspace, MODEL, challenger.number, "staging", "shadow it")
    _load(qtbot, panel)  # in Staging, but no batch scored since
    assert panel.body.currentIndex() == 0 and "v2 is in Staging" in panel.empty_label.text()

    outcomes = []
    for week, seed in (("w1", 3), ("w2", 4)):
        features, labels = write_batch(f, tmp_path / "batches", week, rows=300, seed=seed)
        outcomes.append((score_batch(workspace, MODEL, features, label=week), labels))
    attach_labels(workspace, outcomes[0][0].batch.id, outcomes[0][1])
    view = _load(qtbot, panel)
    assert panel.body.currentIndex() == 1

    expected = shadow_comparison(workspace, MODEL)
    assert [b.batch_id for b in view.batches] == [b.batch_id for b in expected] == [o.batch.id for o, _ in outcomes]
    assert set(panel.chart.curves) == {2}
    xs, ys = panel.chart.curves[2].getData()
    assert list(ys) == [b.challengers[0].agreement for b in expected]
    assert list(xs) == [b.created_at.timestamp() for b in expected]
    assert 0.5 < min(ys) < 1.0  # the versions really disagree somewhere

    labelled = expected[0]
    assert panel.batch_combo.count() == 1 and panel.batch_combo.currentData() == labelled.batch_id
    assert panel.metrics_box.isVisible() and not panel.no_labels_label.isVisible()
    table = panel.metrics_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Metric", "Production v1", "v2 (Staging)"]
    production, shadow = labelled.production_performance, labelled.challengers[0].performance
    assert table.rowCount() == len(production) == len(shadow) >= 2
    for row, name in enumerate(production):
        assert table.item(row, 1).data(VALUE_ROLE) == production[name]
        assert table.item(row, 2).data(VALUE_ROLE) == shadow[name]
        assert table.item(row, 2).text().endswith(f"({shadow[name] - production[name]:+.3f})")
    assert panel.bars.metrics == list(production)  # accuracy, F1, ROC AUC: all on a 0–1 scale
    assert panel.bars.values["production"] == [production[m] for m in panel.bars.metrics]
    assert panel.bars.values["v2"] == [shadow[m] for m in panel.bars.metrics]

    panel.set_model(None)
    assert panel.body.currentIndex() == 0 and panel.view is None
