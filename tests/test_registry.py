"""Registry: what a registered version records, version numbering, datasets, stages and their history."""

from __future__ import annotations

import hashlib
import math
import platform
import sqlite3

import pytest

from app.core.entities import Stage, TaskType
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.services.queries import (
    get_model,
    get_version,
    list_datasets,
    list_models,
    list_versions,
    load_model,
    stage_history,
)
from app.services.register import ModelCard, register_model, update_model_card
from app.services.stages import promote_version
from _store_helpers import audit_rows, snapshot, table_counts


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _actions(ws) -> list[str]:
    return [r[3] for r in audit_rows(ws.paths.db)]


def _artifact_kinds(ws) -> dict[str, int]:
    with sqlite3.connect(ws.paths.db) as conn:
        return dict(conn.execute("SELECT kind, count(*) FROM artifacts GROUP BY kind").fetchall())


def _stage_rows(ws) -> list[tuple]:
    with sqlite3.connect(ws.paths.db) as conn:
        return conn.execute("SELECT * FROM stage_changes ORDER BY id").fetchall()


# --- what a version records -----------------------------------------------------------------------


def test_classifier_with_test_file_records_everything(workspace, classifier_files):
    import joblib
    import pandas as pd
    import sklearn
    from sklearn import metrics

    files = classifier_files
    v = register_model(workspace, "cancer", files.model, files.train, files.target, test_data=files.test,
                       note="first cut")
    assert (v.number, v.stage, v.parent_number, v.model_name) == (1, Stage.NONE, None, "cancer")
    assert v.estimator_class == "sklearn.pipeline.Pipeline"
    assert v.task is TaskType.CLASSIFICATION and v.classes == ("0", "1")
    assert v.target == "target"
    assert [f.name for f in v.features] == files.features
    assert {(f.dtype, f.kind) for f in v.features} == {("float64", "numeric")}
    assert v.params["logisticregression__C"] == 1.0 and v.params["logisticregression__max_iter"] == 1000
    assert v.artifact_sha256 == _sha(files.model) and v.artifact_size == files.model.stat().st_size
    assert v.train_dataset_sha256 == _sha(files.train)
    assert v.test_dataset_sha256 == _sha(files.test)
    assert v.note == "first cut" and v.created_by == "alice"
    assert v.environment == {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                             "numpy": __import__("numpy").__version__, "pandas": pd.__version__,
                             "joblib": joblib.__version__}
    assert v.provenance["source_file"] == "model.joblib" and v.provenance["trusted"] is False
    assert v.provenance["disallowed"] == [] and any(g.startswith("sklearn.") for g in v.provenance["globals"])

    # Metrics equal scikit-learn's on exactly the rows of the test file.
    test = pd.read_csv(files.test)
    est = joblib.load(files.model)
    X, y = test[files.features], test[files.target]
    pred = est.predict(X)
    assert v.evaluation["method"] == "test file" and v.evaluation["rows"] == len(test) == 119
    assert set(v.metrics) == {"accuracy", "f1", "roc_auc"}
    assert v.metrics["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred), abs=1e-12)
    assert v.metrics["f1"] == pytest.approx(metrics.f1_score(y, pred), abs=1e-12)
    assert v.metrics["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, est.predict_proba(X)[:, 1]), abs=1e-12)
    assert 0.8 < v.metrics["accuracy"] <= 1.0  # a sane model, so a wrong column order would show

    # The same record comes back from the queries, and the stored files are the inputs' bytes.
    assert get_version(workspace, "cancer", 1) == v
    assert list_versions(workspace, "cancer") == [v]
    art = workspace.paths.artifacts / "sha256"
    for sha, src in ((v.artifact_sha256, files.model), (v.train_dataset_sha256, files.train),
                     (v.test_dataset_sha256, files.test)):
        assert (art / sha).read_bytes() == src.read_bytes()
    assert _actions(workspace) == ["model.created", "dataset.registered", "dataset.registered",
                                   "version.registered"]


def test_regressor_with_test_file_records_regression_metrics(workspace, regressor_files):
    import joblib
    import pandas as pd
    from sklearn import metrics

    files = regressor_files
    v = register_model(workspace, "diabetes", files.model, files.train, files.target, test_data=files.test)
    assert v.estimator_class == "sklearn.linear_model._ridge.Ridge"
    assert v.task is TaskType.REGRESSION and v.classes is None
    assert v.params["alpha"] == 0.5
    assert [f.name for f in v.features] == files.features
    test = pd.read_csv(files.test)
    pred = joblib.load(files.model).predict(test[files.features])
    y = test[files.target]
    assert set(v.metrics) == {"mae", "rmse", "r2"}
    assert v.metrics["mae"] == pytest.approx(metrics.mean_absolute_error(y, pred), rel=1e-12)
    assert v.metrics["rmse"] == pytest.approx(math.sqrt(metrics.mean_squared_error(y, pred)), rel=1e-12)
    assert v.metrics["r2"] == pytest.approx(metrics.r2_score(y, pred), rel=1e-12)
    assert {k: v.evaluation[k] for k in ("method", "rows", "dataset_sha256")} == {
        "method": "test file", "rows": len(test), "dataset_sha256": _sha(files.test)}
    if "standard_errors" in v.evaluation:  # an uncertainty for each metric, when recorded
        assert set(v.evaluation["standard_errors"]) <= set(v.metrics)


def test_without_test_file_metrics_come_from_a_seeded_stratified_holdout(workspace, classifier_files):
    import joblib
    import pandas as pd
    from sklearn import metrics
    from sklearn.model_selection import train_test_split

    from app.ml.metrics import HOLDOUT_FRACTION, SEED

    files = classifier_files
    v = register_model(workspace, "cancer", files.model, files.train, files.target)
    train = pd.read_csv(files.train)
    _, held = train_test_split(train, test_size=HOLDOUT_FRACTION, random_state=SEED, stratify=train["target"])
    pred = joblib.load(files.model).predict(held[files.features])
    assert v.evaluation["method"].startswith("hold-out") and v.evaluation["seed"] == SEED
    assert v.evaluation["rows"] == len(held) == math.ceil(len(train) * HOLDOUT_FRACTION)
    assert "optimistic" in v.evaluation["caution"]
    assert v.metrics["accuracy"] == pytest.approx(metrics.accuracy_score(held["target"], pred), abs=1e-12)
    assert v.test_dataset_sha256 is None


def test_progress_is_reported_in_order_up_to_done(workspace, classifier_files):
    seen: list[tuple[float, str]] = []
    register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target",
                   progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) >= 4
    assert all(isinstance(m, str) and m for _, m in seen)


def test_model_card_is_kept_and_updated_with_an_audit_event(workspace, classifier_files):
    card = ModelCard(description="Screening aid", owner="dr-who", intended_use="triage",
                     out_of_scope_use="diagnosis", risk_tier="high", tags=("health", "pilot"))
    register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target", card=card)
    m = get_model(workspace, "cancer")
    assert (m.description, m.owner, m.intended_use, m.out_of_scope_use, m.risk_tier.value, m.tags) == (
        "Screening aid", "dr-who", "triage", "diagnosis", "high", ("health", "pilot"))
    before = len(audit_rows(workspace.paths.db))
    update_model_card(workspace, "cancer", ModelCard(owner="dr-no"))  # empty fields stay as they are
    m2 = get_model(workspace, "cancer")
    assert (m2.owner, m2.description, m2.risk_tier.value, m2.tags) == ("dr-no", "Screening aid", "high",
                                                                       ("health", "pilot"))
    rows = audit_rows(workspace.paths.db)
    assert len(rows) == before + 1 and rows[-1][3] == "model.updated"
    update_model_card(workspace, "cancer", ModelCard(owner="dr-no"))  # no change: no event
    assert len(audit_rows(workspace.paths.db)) == before + 1
    with pytest.raises(InvalidInputError, match="Risk tier"):
        update_model_card(workspace, "cancer", ModelCard(risk_tier="extreme"))
    with pytest.raises(NotFoundError):
        update_model_card(workspace, "nope", ModelCard(owner="x"))


def test_registering_another_version_keeps_the_existing_card(workspace, classifier_files):
    files = classifier_files
    register_model(workspace, "cancer", files.model, files.train, "target", card=ModelCard(owner="dr-who"))
    register_model(workspace, "cancer", files.model, files.train, "target", card=ModelCard(owner="someone-else"))
    assert get_model(workspace, "cancer").owner == "dr-who"


# --- numbering, parents, datasets ------------------------------------------------------------------


def test_versions_are_numbered_per_model_with_parents(workspace, classifier_files, regressor_files):
    c, r = classifier_files, regressor_files
    v1 = register_model(workspace, "cancer", c.model, c.train, "target")
    v2 = register_model(workspace, "cancer", c.model, c.train, "target")
    other = register_model(workspace, "diabetes", r.model, r.train, "target")
    promote_version(workspace, "cancer", 1, "production", "first release")
    v3 = register_model(workspace, "cancer", c.model, c.train, "target")
    assert [v1.number, v2.number, v3.number, other.number] == [1, 2, 3, 1]
    assert v1.parent_number is None and v2.parent_number == 1
    assert v3.parent_number == 1  # the production version is the parent, not simply the newest
    promote_version(workspace, "cancer", 3, "production", "retrained")
    v4 = register_model(workspace, "cancer", c.model, c.train, "target")
    assert v4.parent_number == 3
    assert [v.number for v in list_versions(workspace, "cancer")] == [4, 3, 2, 1]
    assert get_version(workspace, "cancer").number == 3  # no number: the production version
    assert get_version(workspace, "diabetes").number == 1  # no production: the newest


def test_the_same_dataset_is_stored_once(workspace, classifier_files, tmp_path):
    import pandas as pd

    files = classifier_files
    for _ in range(3):
        register_model(workspace, "cancer", files.model, files.train, "target")
    register_model(workspace, "cancer-copy", files.model, files.train, "target")
    counts = table_counts(workspace.paths.db)
    assert counts["datasets"] == 1 and counts["versions"] == 4
    assert _artifact_kinds(workspace)["model"] == 1 and _artifact_kinds(workspace)["dataset"] == 1
    assert _actions(workspace).count("dataset.registered") == 1
    # Every artifact row has its file and every file its row: nothing stored twice, nothing orphaned.
    with sqlite3.connect(workspace.paths.db) as conn:
        rows = {r[0] for r in conn.execute("SELECT sha256 FROM artifacts")}
    assert {p.name for p in (workspace.paths.artifacts / "sha256").iterdir()} == rows
    # Same rows in another order are other bytes: another dataset.
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(files.train).sample(frac=1.0, random_state=1).to_csv(shuffled, index=False)
    v = register_model(workspace, "cancer", files.model, shuffled, "target")
    assert v.train_dataset_sha256 == _sha(shuffled)
    datasets = list_datasets(workspace)
    assert [d.sha256 for d in datasets] == [_sha(files.train), _sha(shuffled)]
    assert datasets[0].rows == 450 and datasets[0].columns == (*files.features, "target")
    assert datasets[0].format == "csv" and datasets[0].size_bytes == files.train.stat().st_size


def test_list_models_summarises_each_model(workspace, classifier_files, regressor_files):
    c, r = classifier_files, regressor_files
    for _ in range(3):
        register_model(workspace, "cancer", c.model, c.train, "target", card=ModelCard(owner="dr-who"))
    register_model(workspace, "diabetes", r.model, r.train, "target")
    promote_version(workspace, "cancer", 2, "production", "ok")
    summaries = {s.name: s for s in list_models(workspace)}
    assert list(summaries) == ["cancer", "diabetes"]
    s = summaries["cancer"]
    assert (s.versions, s.latest_version, s.production_version, s.latest_stage) == (3, 3, 2, Stage.NONE)
    d = summaries["diabetes"]
    assert (d.versions, d.latest_version, d.production_version, d.owner) == (1, 1, None, "alice")
    assert [s.name for s in list_models(workspace, search="DR-W")] == ["cancer"]
    assert [s.name for s in list_models(workspace, search="iab")] == ["diabetes"]


def test_load_model_returns_the_registered_estimator(workspace, classifier_files):
    import joblib
    import pandas as pd

    register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target")
    est = load_model(workspace, "cancer", 1)
    test = pd.read_csv(classifier_files.test)[classifier_files.features]
    assert (est.predict(test) == joblib.load(classifier_files.model).predict(test)).all()


# --- stages ------------------------------------------------------------------------------------------


@pytest.fixture
def three_versions(workspace, classifier_files):
    for _ in range(3):
        register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target")
    return workspace


def _stages(ws, name="cancer") -> dict[int, str]:
    return {v.number: v.stage.value for v in list_versions(ws, name)}


def test_promotion_keeps_one_production_version_and_archives_the_previous(three_versions):
    ws = three_versions
    moves = promote_version(ws, "cancer", 1, "staging", "validated")
    assert [(m.version, m.from_stage, m.to_stage, m.reason) for m in moves] == [
        (1, Stage.NONE, Stage.STAGING, "validated")]
    promote_version(ws, "cancer", 1, "production", "go live")
    events_before = len(audit_rows(ws.paths.db))
    moves = promote_version(ws, "cancer", 2, "production", "better recall")
    assert [(m.version, m.from_stage, m.to_stage) for m in moves] == [
        (1, Stage.PRODUCTION, Stage.ARCHIVED), (2, Stage.NONE, Stage.PRODUCTION)]
    assert moves[0].reason == "replaced in production by version 2" and moves[1].reason == "better recall"
    # Both moves have their own history row and audit event, written together.
    assert [m.audit_seq for m in moves] == [events_before + 1, events_before + 2]
    assert len(audit_rows(ws.paths.db)) == events_before + 2
    assert _stages(ws) == {1: "archived", 2: "production", 3: "none"}
    assert get_version(ws, "cancer").number == 2
    assert [s.production_version for s in list_models(ws)] == [2]


def test_rollback_promotes_an_archived_version_and_history_only_grows(three_versions):
    ws = three_versions
    promote_version(ws, "cancer", 1, "production", "v1 live")
    promote_version(ws, "cancer", 2, "production", "v2 live")
    history_before = _stage_rows(ws)
    moves = promote_version(ws, "cancer", 1, "production", "v2 misbehaves: roll back")
    assert [(m.version, m.from_stage, m.to_stage) for m in moves] == [
        (2, Stage.PRODUCTION, Stage.ARCHIVED), (1, Stage.ARCHIVED, Stage.PRODUCTION)]
    history_after = _stage_rows(ws)
    assert history_after[: len(history_before)] == history_before  # nothing rewritten
    assert len(history_after) == len(history_before) + 2
    assert _stages(ws) == {1: "production", 2: "archived", 3: "none"}
    hist = stage_history(ws, "cancer")
    assert [(h.version, h.from_stage.value, h.to_stage.value) for h in hist] == [
        (1, "none", "production"), (1, "production", "archived"), (2, "none", "production"),
        (2, "production", "archived"), (1, "archived", "production")]
    assert all(h.actor == "alice" for h in hist)
    assert [h.at for h in hist] == sorted(h.at for h in hist)
    from app.services.audit import verify_log

    assert verify_log(ws).ok


def test_promoting_to_the_current_stage_is_a_conflict_and_changes_nothing(three_versions):
    ws = three_versions
    promote_version(ws, "cancer", 1, "staging", "look")
    before = snapshot(ws)
    with pytest.raises(ConflictError, match="already in Staging"):
        promote_version(ws, "cancer", 1, "staging", "again")
    promote_version(ws, "cancer", 2, "production", "live")
    before = snapshot(ws)
    with pytest.raises(ConflictError, match="already in Production"):
        promote_version(ws, "cancer", 2, "production", "again")
    assert snapshot(ws) == before


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(three_versions, reason):
    before = snapshot(three_versions)
    with pytest.raises(InvalidInputError, match="reason"):
        promote_version(three_versions, "cancer", 1, "production", reason)
    assert snapshot(three_versions) == before


@pytest.mark.parametrize("stage", ["prod", "none", "", "Productionn"])
def test_unknown_or_none_stage_is_refused(three_versions, stage):
    before = snapshot(three_versions)
    with pytest.raises(InvalidInputError, match="stage"):
        promote_version(three_versions, "cancer", 1, stage, "because")
    assert snapshot(three_versions) == before


def test_stage_names_are_case_insensitive(three_versions):
    promote_version(three_versions, "cancer", 1, " Production ", "ok")
    assert _stages(three_versions)[1] == "production"


def test_archiving_production_leaves_no_production_version(three_versions):
    ws = three_versions
    promote_version(ws, "cancer", 1, "production", "live")
    promote_version(ws, "cancer", 1, "archived", "retired")
    assert _stages(ws) == {1: "archived", 2: "none", 3: "none"}
    assert list_models(ws)[0].production_version is None


@pytest.mark.parametrize("call", [
    lambda ws: promote_version(ws, "no-such-model", 1, "staging", "x"),
    lambda ws: promote_version(ws, "cancer", 99, "staging", "x"),
    lambda ws: get_version(ws, "cancer", 99),
    lambda ws: get_version(ws, "no-such-model"),
    lambda ws: get_model(ws, "no-such-model"),
    lambda ws: list_versions(ws, "no-such-model"),
    lambda ws: stage_history(ws, "no-such-model"),
    lambda ws: load_model(ws, "cancer", 99),
])
def test_unknown_models_and_versions_are_not_found(three_versions, call):
    before = snapshot(three_versions)
    with pytest.raises(NotFoundError) as err:
        call(three_versions)
    assert "no-such-model" in err.value.message or "99" in err.value.message
    assert snapshot(three_versions) == before

