"""A demo workspace: realistic models trained on scikit-learn's bundled data, with dated history."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from app.core.errors import ConflictError
from app.core.timeutil import use_clock, utcnow
from app.services.audit import append_event
from app.services.queries import workspace_is_empty
from app.services.register import ModelCard, Progress, register_model
from app.services.stages import promote_version
from app.store.workspace import Workspace

__all__ = ["create_demo", "DEMO_MODELS"]

DEMO_MODELS = ("breast-cancer-screening", "customer-churn", "diabetes-progression", "wine-cultivar")


@dataclass
class _ScriptedClock:
    """Time that only moves when the script says so (plus a microsecond per reading, to keep order)."""

    now: datetime
    ticks: int = field(default=0)

    def __call__(self) -> datetime:
        self.ticks += 1
        return self.now + timedelta(microseconds=self.ticks)

    def advance(self, days: float = 0, hours: float = 0) -> None:
        self.now += timedelta(days=days, hours=hours)


def _churn_frame(seed: int, n: int = 3000):
    """A synthetic telecom churn table with numeric and categorical features."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], size=n, p=[0.55, 0.25, 0.2])
    region = rng.choice(["north", "south", "east", "west"], size=n)
    tenure = rng.gamma(2.0, 14.0, size=n).round(0)
    charges = rng.normal(70, 25, size=n).clip(15, 150).round(2)
    calls = rng.poisson(1.5, size=n)
    score = (-0.04 * tenure + 0.015 * charges + 0.45 * calls
             + np.select([contract == "month-to-month", contract == "one-year"], [1.2, 0.0], -1.0) - 1.3)
    churn = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)
    return pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges, "support_calls": calls,
                         "contract": contract, "region": region, "churned": churn})


def _datasets(folder: Path) -> dict[str, tuple[Path, Path, str]]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    out = {}
    for name, loader, target in (("breast-cancer", load_breast_cancer, "diagnosis"),
                                 ("diabetes", load_diabetes, "progression"),
                                 ("wine", load_wine, "cultivar")):
        frame = loader(as_frame=True).frame.rename(columns={"target": target})
        frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
        shuffled = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
        cut = int(len(shuffled) * 0.8)
        train, test = folder / f"{name}-train.csv", folder / f"{name}-test.csv"
        shuffled.iloc[:cut].to_csv(train, index=False)
        shuffled.iloc[cut:].to_csv(test, index=False)
        out[name] = (train, test, target)
    churn = _churn_frame(11, n=5000)
    train, test = folder / "churn-2026q2.csv", folder / "churn-2026q2-test.csv"
    churn.iloc[:3000].to_csv(train, index=False)
    churn.iloc[3000:].to_csv(test, index=False)
    out["churn"] = (train, test, "churned")
    return out


def _fit(folder: Path, tag: str, estimator, train: Path, target: str) -> Path:
    import joblib
    import pandas as pd

    frame = pd.read_csv(train)
    estimator.fit(frame.drop(columns=[target]), frame[target])
    path = folder / f"{tag}.joblib"
    joblib.dump(estimator, path)
    return path


def _estimators():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def churn_pipeline(model):
        columns = ColumnTransformer([
            ("numeric", StandardScaler(), ["tenure_months", "monthly_charges", "support_calls"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["contract", "region"]),
        ])
        return make_pipeline(columns, model)

    return {
        "cancer-v1": make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
        "cancer-v2": RandomForestClassifier(n_estimators=150, max_depth=6, random_state=1),
        "cancer-v3": GradientBoostingClassifier(n_estimators=150, learning_rate=0.08, max_depth=2, random_state=1),
        "churn-v1": churn_pipeline(LogisticRegression(max_iter=2000)),
        "churn-v2": churn_pipeline(GradientBoostingClassifier(n_estimators=120, max_depth=3, random_state=3)),
        "diabetes-v1": make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
        "diabetes-v2": GradientBoostingRegressor(n_estimators=120, max_depth=3, random_state=5),
        "wine-v1": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "wine-v2": RandomForestClassifier(n_estimators=120, random_state=9),
    }


def create_demo(ws: Workspace, progress: Progress | None = None) -> list[str]:
    """Fill an empty workspace with four models, their versions, six months of history and weekly batches."""
    if not workspace_is_empty(ws):
        raise ConflictError(f"The workspace {ws.root} already has models; the demo needs an empty one.",
                            hint="Use --home with a new folder, e.g. `steward --home ~/steward-demo demo`.")
    progress = progress or (lambda _f, _m: None)
    real_start = utcnow()
    clock = _ScriptedClock(real_start - timedelta(days=182))
    with tempfile.TemporaryDirectory(prefix="steward-demo-") as tmp:
        folder = Path(tmp)
        progress(0.01, "Preparing datasets")
        data = _datasets(folder)
        fitted = {}
        estimators = _estimators()
        for i, (tag, est) in enumerate(estimators.items()):
            progress(0.05 + 0.45 * i / len(estimators), f"Training {tag}")
            key = tag.split("-v")[0].replace("cancer", "breast-cancer")
            train, _test, target = data[key]
            fitted[tag] = _fit(folder, tag, est, train, target)
        with use_clock(clock):
            _script(ws, data, fitted, clock, lambda f, m: progress(0.5 + 0.2 * f, m))
            _compliance_records(ws, clock, real_start)
            clock.now = real_start - timedelta(days=7 * _WEEKS + 3)
            _weekly_batches(ws, data, folder, clock, lambda f, m: progress(0.7 + 0.2 * f, m))
    _retrains(ws, progress)
    append_event_now(ws, real_start)
    progress(1.0, "Demo workspace ready")
    return list(DEMO_MODELS)


def append_event_now(ws: Workspace, started: datetime) -> None:
    ws.db.write(lambda s: append_event(
        s, "workspace.demo_created", f"workspace:{ws.root.name}",
        details={"models": list(DEMO_MODELS), "note": "Demo data: history is dated over the last six months.",
                 "started": started.isoformat()}))


def _script(ws: Workspace, data, fitted, clock: _ScriptedClock, progress: Progress) -> None:
    maria, james, priya, tom = "maria.lopez", "james.chen", "priya.raman", "tom.becker"
    cards = {
        "breast-cancer-screening": ModelCard(
            description="Flags fine-needle aspirate measurements that warrant a second pathologist review.",
            owner=maria, intended_use="Triage support for pathologists; a second read is always performed.",
            out_of_scope_use="Not a diagnosis. Not for patients under 18 or for non-FNA imaging.",
            risk_tier="high", tags=("healthcare", "triage")),
        "customer-churn": ModelCard(
            description="Monthly propensity of a subscriber to cancel within 60 days.",
            owner=priya, intended_use="Prioritise retention offers in the monthly campaign.",
            out_of_scope_use="Not for pricing, credit or any decision with legal effect on the customer.",
            risk_tier="medium", tags=("marketing", "retention")),
        "diabetes-progression": ModelCard(
            description="Predicts a quantitative measure of disease progression one year after baseline.",
            owner=james, intended_use="Research cohort stratification.",
            out_of_scope_use="Not for individual treatment decisions.", risk_tier="high", tags=("research",)),
        "wine-cultivar": ModelCard(
            description="Identifies the cultivar of a wine from its chemical analysis.",
            owner=tom, intended_use="Quality control at intake.", out_of_scope_use="Blends; non-Italian wines.",
            risk_tier="low", tags=("quality",)),
    }

    def register(name: str, tag: str, key: str, actor: str, note: str):
        train, test, target = data[key]
        return register_model(ws, name, fitted[tag], train, target, test_data=test, card=cards[name],
                              note=note, actor=actor)

    steps = [
        (lambda: register("breast-cancer-screening", "cancer-v1", "breast-cancer", maria, "Baseline logistic model."), 3),
        (lambda: promote_version(ws, "breast-cancer-screening", 1, "staging", "Validation pack submitted.", actor=maria), 2),
        (lambda: promote_version(ws, "breast-cancer-screening", 1, "production",
                                 "Validated by J. Chen: AUC above the 0.95 threshold.", actor=james), 6),
        (lambda: register("wine-cultivar", "wine-v1", "wine", tom, "First model for intake QC."), 1),
        (lambda: promote_version(ws, "wine-cultivar", 1, "production", "Low risk; owner sign-off.", actor=tom), 4),
        (lambda: register("diabetes-progression", "diabetes-v1", "diabetes", james, "Ridge baseline."), 2),
        (lambda: promote_version(ws, "diabetes-progression", 1, "production", "Cohort study start.", actor=james), 9),
        (lambda: register("customer-churn", "churn-v1", "churn", priya, "Q2 data, logistic baseline."), 2),
        (lambda: promote_version(ws, "customer-churn", 1, "production", "Campaign launch.", actor=priya), 14),
        (lambda: register("breast-cancer-screening", "cancer-v2", "breast-cancer", maria, "Random forest challenger."), 2),
        (lambda: promote_version(ws, "breast-cancer-screening", 2, "staging", "Challenger for review.", actor=maria), 3),
        (lambda: promote_version(ws, "breast-cancer-screening", 2, "production",
                                 "Higher recall at equal specificity on the locked test set.", actor=james), 8),
        (lambda: register("diabetes-progression", "diabetes-v2", "diabetes", james, "Gradient boosting."), 1),
        (lambda: promote_version(ws, "diabetes-progression", 2, "production", "Lower MAE on the test split.",
                                 actor=james), 5),
        (lambda: promote_version(ws, "diabetes-progression", 1, "production",
                                 "Rollback: v2 underestimates the highest-risk decile.", actor=maria), 10),
        (lambda: register("customer-churn", "churn-v2", "churn", priya, "Gradient boosting on Q2 data."), 2),
        (lambda: promote_version(ws, "customer-churn", 2, "staging", "Shadow run before the next campaign.",
                                 actor=priya), 6),
        (lambda: register("wine-cultivar", "wine-v2", "wine", tom, "Random forest."), 1),
        (lambda: promote_version(ws, "wine-cultivar", 2, "staging", "Awaiting lab comparison.", actor=tom), 3),
        (lambda: register("breast-cancer-screening", "cancer-v3", "breast-cancer", maria,
                          "Gradient boosting."), 2),
        (lambda: promote_version(ws, "breast-cancer-screening", 3, "staging", "Candidate for Q4 review.",
                                 actor=maria), 1),
        (lambda: promote_version(ws, "wine-cultivar", 2, "archived", "Lab comparison showed no gain.", actor=tom), 1),
    ]
    for i, (step, days_after) in enumerate(steps):
        progress(i / len(steps), "Writing history")
        step()
        clock.advance(days=days_after, hours=3)


_WEEKS = 12


def _compliance_records(ws: Workspace, clock: _ScriptedClock, real_start: datetime) -> None:
    """Model cards filled in (one left incomplete), datasheets, validator sign-offs and two findings, so a
    report of the demo shows evidence and gaps side by side."""
    from app.services.cards import describe_dataset, set_model_card
    from app.services.findings import close_finding, open_finding, record_review
    from app.services.queries import list_datasets

    vera = "vera.novak"  # the independent validator
    set_model_card(ws, "breast-cancer-screening", {
        "limitations": "Trained on one hospital's FNA measurements (Wisconsin, 1990s); sensitivity on other "
                       "devices is unknown until validated.",
        "ethical_considerations": "A missed malignancy harms the patient: the threshold favours recall, and a "
                                  "pathologist reads every case regardless of the score.",
        "validator": vera, "next_review_at": (real_start + timedelta(days=120)).date()}, actor="maria.lopez")
    set_model_card(ws, "customer-churn", {
        "limitations": "Synthetic subscriber history; prices and tenure drift quickly after tariff changes.",
        "ethical_considerations": "Offers must not be withheld from customers on protected characteristics; "
                                  "no such attributes are inputs.",
        "validator": vera, "next_review_at": (real_start + timedelta(days=200)).date()}, actor="priya.raman")
    set_model_card(ws, "diabetes-progression", {
        "limitations": "442 patients from one study; no external validation.", "validator": vera},
        actor="james.chen")  # ethical considerations left empty: the report lists it as a gap
    clock.advance(days=1)
    sources = {"breast-cancer": ("Fine-needle aspirate features, UCI breast cancer Wisconsin (diagnostic).",
                                 "scikit-learn bundled dataset (UCI ML repository)"),
               "churn": ("Subscriber snapshot: tenure, monthly charges, support calls, contract type.",
                         "billing warehouse extract (synthetic for the demo)"),
               "wine": ("Chemical analysis of 178 wines from three cultivars.", "UCI wine recognition dataset")}
    for dataset in list_datasets(ws):
        for key, (description, source) in sources.items():
            if dataset.name.startswith(key) and not dataset.name.endswith("batches.csv"):
                describe_dataset(ws, dataset.sha256, {"description": description, "source": source},
                                 actor="maria.lopez")
    clock.advance(days=2)
    record_review(ws, "breast-cancer-screening", "validator", "approved",
                  "Independent re-fit on the held-out rows; recall 0.97 ± 0.02 matches the registered figure.",
                  version=2, actor=vera)
    record_review(ws, "customer-churn", "validator", "approved_with_conditions",
                  "Approved for campaign targeting; monthly drift review required after tariff changes.",
                  version=1, actor=vera)
    record_review(ws, "customer-churn", "owner", "approved", "Owner attests the card and monitoring plan.",
                  actor="priya.raman")
    clock.advance(days=3)
    finding = open_finding(ws, "customer-churn", "Retention offers sent to already-cancelled accounts",
                           "Batch input included accounts closed the previous week; 3 % of offers were wasted.",
                           severity="low", versions=(1,), due=(clock.now + timedelta(days=14)).date(),
                           actor="priya.raman")
    clock.advance(days=6)
    close_finding(ws, finding.id, "Extract now filters accounts closed before the scoring date.",
                  root_cause="The warehouse view did not apply the closure date.", actor="priya.raman")
    open_finding(ws, "diabetes-progression", "No external validation cohort",
                 "The model was validated only on a split of its own study; the validator asked for an external "
                 "cohort before any wider use.", severity="medium", versions=(1,),
                 due=(clock.now + timedelta(days=30)).date(), actor=vera)


def _weekly_frame(key: str, frame, target: str, week: int, rng):
    """A week's batch: rows resampled from the source data, with gradual drift where the story has it."""
    if key == "churn":
        batch = _churn_frame(100 + week, n=1500)
        # Prices rise and the mix moves towards monthly contracts: drift that grows week by week.
        batch["monthly_charges"] = (batch["monthly_charges"] * (1 + 0.025 * week)).round(2)
        flip = rng.random(len(batch)) < 0.03 * week
        batch.loc[flip, "contract"] = "month-to-month"
    else:
        size = {"breast-cancer": 220, "diabetes": 120, "wine": 70}[key]
        batch = frame.sample(n=size, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
        if key == "breast-cancer":
            # A new imaging device reads texture a little higher every week.
            batch["mean_texture"] = batch["mean_texture"] * (1 + 0.03 * week)
            batch["worst_texture"] = batch["worst_texture"] * (1 + 0.03 * week)
    batch.insert(0, "row_id", [f"w{week:02d}-{i:05d}" for i in range(len(batch))])
    return batch


def _weekly_batches(ws: Workspace, data, folder: Path, clock: _ScriptedClock, progress: Progress) -> None:
    """Twelve weekly batches per model, labels for most of them, and one alert handled start to finish."""
    import numpy as np
    import pandas as pd

    from app.services.alerts import acknowledge_alert, list_alerts, resolve_alert
    from app.services.batches import score_batch
    from app.services.labels import attach_labels

    rng = np.random.default_rng(2026)
    plan = [("breast-cancer-screening", "breast-cancer", "maria.lopez"), ("customer-churn", "churn", "priya.raman"),
            ("diabetes-progression", "diabetes", "james.chen"), ("wine-cultivar", "wine", "tom.becker")]
    sources = {key: pd.read_csv(data[key][0]) for _, key, _ in plan if key != "churn"}
    start = clock.now
    for week in range(_WEEKS):
        progress(week / _WEEKS, f"Scoring week {week + 1} of {_WEEKS}")
        for offset, (name, key, actor) in enumerate(plan):
            clock.now = start + timedelta(days=7 * week, hours=9 + offset)
            target = data[key][2]
            frame = _weekly_frame(key, sources.get(key), target, week, rng)
            inputs = folder / f"{key}-week{week + 1:02d}.csv"
            frame.drop(columns=[target]).to_csv(inputs, index=False)
            outcome = score_batch(ws, name, inputs, label=f"week {week + 1}", actor=actor)
            if week < _WEEKS - 2:  # ground truth arrives about two weeks late
                clock.advance(hours=1)
                labels = folder / f"{key}-week{week + 1:02d}-labels.csv"
                frame[["row_id", target]].to_csv(labels, index=False)
                attach_labels(ws, outcome.batch.id, labels, id_column="row_id", actor=actor)
        if week == 8:  # the screening model's drift alert: acknowledged, then the risk accepted for now
            for alert in list_alerts(ws, "breast-cancer-screening", "open"):
                clock.advance(hours=2)
                acknowledge_alert(ws, alert.id, "Looking into the new imaging device.", actor="maria.lopez")
                clock.advance(hours=20)
                resolve_alert(ws, alert.id, "accept_risk",
                              "Texture shift traced to the new device; recall on labelled weeks is unchanged. "
                              "Re-assess after recalibration.", expires=clock.now + timedelta(days=45),
                              actor="james.chen")


def _retrains(ws: Workspace, progress: Progress) -> None:
    """Two background retrains in real worker processes, dated today: the churn drift alert answered
    with a retrain whose challenger passes its gate and goes to Production, and a deliberately weak
    screening challenger that fails its gate and stays in Staging."""
    from app.services.alerts import list_alerts, resolve_alert
    from app.services.jobs import start_queued, submit_retrain, wait_for_job
    from app.services.recipes import set_recipe
    from app.services.stages import promote_version

    progress(0.9, "Retraining in worker processes")
    drift = next(a for a in list_alerts(ws, "customer-churn", "open") if a.kind.value == "drift")
    churn_job = resolve_alert(ws, drift.id, "retrain",
                              "Prices rose about 25 % over the quarter; retrain on the labelled weeks.",
                              retrain=True, actor="priya.raman").linked_job
    set_recipe(ws, "breast-cancer-screening", params={"n_estimators": 3, "max_depth": 1},
               actor="maria.lopez")  # a cheaper forest, to see whether it holds up: it does not
    weak_job = submit_retrain(ws, "breast-cancer-screening", actor="maria.lopez")
    start_queued(ws)
    done = wait_for_job(ws, churn_job, timeout=300)
    wait_for_job(ws, weak_job, timeout=300)
    progress(0.97, "Promoting the churn challenger")
    if done.result and done.result.get("version") and (done.result.get("gate") or {}).get("passed"):
        promote_version(ws, "customer-churn", int(done.result["version"]), "production",
                        "Retrained on the labelled weeks; gate passed against v1 on the same rows.",
                        actor="james.chen")
