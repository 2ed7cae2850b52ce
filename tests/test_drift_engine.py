"""compare() end to end on real random frames: false alarms, power, degenerate input, bytes, cancel."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest

from app.core.errors import InvalidInputError, StewardError
from app.drift import (
    DriftCancelled,
    DriftThresholds,
    ReferenceProfile,
    build_profile,
    compare,
)

COLOURS = np.array(["red", "green", "blue", "", "violet"])
COLOUR_P = np.array([0.4, 0.3, 0.2, 0.07, 0.03])
FEATURES = [("normal", "numeric"), ("skewed", "numeric"), ("counts", "numeric"),
            ("colour", "categorical"), ("flag", "categorical")]


def _frame(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Shift moves every numeric feature by `shift` of its own standard deviation."""
    return pd.DataFrame({
        "normal": rng.normal(shift, 1.0, n),
        "skewed": rng.lognormal(0.0, 0.8, n) + shift * math.sqrt((math.exp(0.64) - 1) * math.exp(0.64)),
        "counts": rng.poisson(3, n) + shift * math.sqrt(3),  # integers: many ties
        "colour": COLOURS[rng.choice(5, n, p=COLOUR_P)],  # the empty string is a real category
        "flag": rng.random(n) < 0.3,
    })


def _no_nan(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return True


def test_false_alarms_stay_below_five_percent():
    rng = np.random.default_rng(100)
    flagged = total = 0
    for _ in range(200):
        profile = build_profile(_frame(rng, 10_000), FEATURES)
        report = compare(profile, _frame(rng, 10_000))
        flagged += sum(f.drifted for f in report.features)
        total += len(report.features)
        assert not report.dataset_drift
    assert flagged <= 0.05 * total


def test_one_sd_shift_at_1000_rows_is_flagged():
    rng = np.random.default_rng(101)
    numeric = [name for name, kind in FEATURES if kind == "numeric"]
    hits = trials = 0
    for _ in range(200):
        profile = build_profile(_frame(rng, 1000), FEATURES)
        report = compare(profile, _frame(rng, 1000, shift=1.0))
        hits += sum(report.feature(name).drifted for name in numeric)
        trials += len(numeric)
    assert hits >= 0.99 * trials


def test_categorical_frequency_change_is_flagged():
    rng = np.random.default_rng(102)
    labels = np.array(["a", "b", "c", "d"])
    hits = 0
    for _ in range(200):
        ref = pd.DataFrame({"g": labels[rng.choice(4, 1000, p=[0.4, 0.3, 0.2, 0.1])]})
        cur = pd.DataFrame({"g": labels[rng.choice(4, 1000)]})  # uniform shares
        result = compare(build_profile(ref, [("g", "categorical")]), cur).features[0]
        hits += result.drifted
        if result.drifted:
            assert result.chi2_pvalue < 0.01 and result.severity != "none"
    assert hits >= 198


def test_report_fields_json_and_verdict_rule():
    rng = np.random.default_rng(103)
    profile = build_profile(_frame(rng, 20_000), FEATURES)
    report = compare(profile, _frame(rng, 20_000, shift=0.5))
    numeric = report.feature("normal")
    assert numeric.kind == "numeric" and numeric.drifted and numeric.severity in ("low", "medium", "high")
    assert numeric.wasserstein_norm == pytest.approx(0.5, abs=0.05)
    assert numeric.chi2_pvalue is None and numeric.guard_pvalue == numeric.ks_pvalue
    assert len(numeric.bin_labels) == len(numeric.ref_bins) == len(numeric.cur_bins) == 10
    assert sum(numeric.ref_bins) == pytest.approx(1.0) and numeric.ref_bins[0] == pytest.approx(0.1, abs=0.01)
    colour = report.feature("colour")
    assert colour.kind == "categorical" and not colour.drifted and colour.wasserstein_norm is None
    assert "(empty)" in colour.bin_labels and colour.unseen_categories == []
    assert report.n_drifted == 3 and report.drift_share == pytest.approx(3 / 5) and report.dataset_drift
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert _no_nan(json.loads(text))


def test_report_statistics_equal_scipy_on_the_raw_columns():
    """End to end, NaNs included: the numbers in the report are scipy's on the same data."""
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(112)
    ref, cur = _frame(rng, 30_000), _frame(rng, 20_000, shift=0.05)
    for frame in (ref, cur):
        frame.loc[rng.random(len(frame)) < 0.03, "normal"] = np.nan
        frame.loc[rng.random(len(frame)) < 0.03, "colour"] = None
    report = compare(build_profile(ref, FEATURES), cur, threads=2)
    for name in ("normal", "skewed", "counts"):
        r, c = ref[name].dropna().to_numpy(), cur[name].dropna().to_numpy()
        f = report.feature(name)
        assert f.ks_statistic == pytest.approx(stats.ks_2samp(r, c).statistic, abs=1e-12)
        assert f.ks_pvalue == pytest.approx(stats.ks_2samp(r, c, method="asymp").pvalue, rel=0.03, abs=1e-9)
        assert f.wasserstein_norm == pytest.approx(stats.wasserstein_distance(r, c) / np.std(r), rel=1e-9)
        edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
        rb = np.bincount(np.searchsorted(edges, r, side="right"), minlength=edges.size + 1) / r.size
        cb = np.bincount(np.searchsorted(edges, c, side="right"), minlength=edges.size + 1) / c.size
        assert f.ref_bins == pytest.approx(rb.tolist(), abs=1e-15) and f.cur_bins == pytest.approx(cb.tolist())
        assert f.js_distance == pytest.approx(jensenshannon(rb, cb, base=2), abs=1e-12)
        rf, cf = np.maximum(rb, 1e-4), np.maximum(cb, 1e-4)
        assert f.psi == pytest.approx(float(np.sum((cf - rf) * np.log(cf / rf))), rel=1e-12)
    table = pd.concat([ref["colour"].value_counts(), cur["colour"].value_counts()], axis=1).fillna(0)
    colour = report.feature("colour")
    assert colour.chi2_pvalue == pytest.approx(stats.chi2_contingency(table.to_numpy().T).pvalue, rel=1e-12)
    assert colour.missing_rate == pytest.approx(cur["colour"].isna().mean())


def test_thresholds_round_trip_and_refuse_unknown_keys():
    th = DriftThresholds(psi=0.25, js_distance=None)
    assert DriftThresholds.from_dict(th.to_dict()) == th
    assert DriftThresholds.from_dict(json.loads(json.dumps({"min_rows": 20.0}))).min_rows == 20
    with pytest.raises(InvalidInputError, match="psii"):
        DriftThresholds.from_dict({"psii": 0.3})
    with pytest.raises(InvalidInputError):
        DriftThresholds(psi=None, js_distance=None, wasserstein_norm=None)
    assert th.severity(True, 1.2) == "low" and th.severity(True, 3) == "medium"
    assert th.severity(True, 9) == "high" and th.severity(False, 9) == "none"


def test_degenerate_columns_give_messages_not_crashes():
    rng = np.random.default_rng(104)
    n = 5000
    ref = pd.DataFrame({
        "with_nan": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "constant": np.full(n, 7.0),
        "ints": rng.integers(0, 10, n),
        "bools": rng.random(n) < 0.5,
        "text_num": rng.normal(size=n),
        "gone": rng.normal(size=n),
        "cat": pd.Series(rng.choice(["x", "y"], n), dtype="category"),
        "only": np.full(n, "same"),
    })
    feats = [("with_nan", "numeric"), ("constant", "numeric"), ("ints", "numeric"), ("bools", "numeric"),
             ("text_num", "numeric"), ("gone", "numeric"), ("cat", "categorical"), ("only", "categorical")]
    profile = build_profile(ref, feats)
    assert profile.features["with_nan"].missing == int(ref["with_nan"].isna().sum())
    cur = pd.DataFrame({
        "with_nan": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        "constant": np.r_[np.full(n - 500, 7.0), np.full(500, 8.0)],
        "ints": pd.array(np.r_[rng.integers(0, 10, n - 1), [0]], dtype="Int64"),
        "bools": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "text_num": pd.Series([f"{v:.3f}" for v in rng.normal(size=n - 3)] + ["n/a", "oops", None], dtype="str"),
        "gone": np.full(n, np.nan),
        "cat": pd.Series(rng.choice(["x", "y", "z"], n), dtype="category"),
        "only": np.full(n, "same"),
    })
    report = compare(profile, cur)
    r = {f.name: f for f in report.features}
    assert r["with_nan"].missing_rate == pytest.approx(cur["with_nan"].isna().mean())
    assert r["with_nan"].ref_missing_rate == pytest.approx(ref["with_nan"].isna().mean())
    assert r["with_nan"].n_current == cur["with_nan"].notna().sum() and not r["with_nan"].drifted
    const = r["constant"]
    assert "constant" in const.message and const.drifted and const.out_of_range_share == pytest.approx(0.1)
    assert const.wasserstein_norm == pytest.approx(0.1 / 7.0)  # relative to |value| when std is 0
    assert const.bin_labels == ["< 7", "= 7", "> 7"] and const.cur_bins == pytest.approx([0, 0.9, 0.1])
    assert not r["ints"].drifted and not r["bools"].drifted and r["ints"].evaluated
    assert r["text_num"].unparsable == 2 and r["text_num"].missing_rate == pytest.approx(1 / n)
    assert "not numbers" in r["text_num"].message and not r["text_num"].drifted
    gone = r["gone"]
    assert not gone.evaluated and not gone.drifted and gone.missing_rate == 1.0
    assert "Check the data feed" in gone.message
    assert gone.psi is None and gone.ks_statistic is None
    assert r["cat"].unseen_categories == ["z"] and r["cat"].unseen_share == pytest.approx(1 / 3, abs=0.03)
    assert r["cat"].drifted and "not in the reference" in r["cat"].message
    assert r["only"].chi2_pvalue == 1.0 and "Only one category" in r["only"].message and not r["only"].drifted
    assert report.n_evaluated == len(feats) - 1
    assert _no_nan(json.loads(json.dumps(report.to_dict(), allow_nan=False)))


def test_one_row_and_infinite_values():
    rng = np.random.default_rng(105)
    profile = build_profile(_frame(rng, 2000), FEATURES)
    one = _frame(rng, 1, shift=5.0)
    report = compare(profile, one)
    for f in report.features:
        assert f.n_current == 1 and not f.drifted and not f.evaluated  # one row is no distribution
        assert f.psi is not None and math.isfinite(f.psi) and "at least 20" in f.message
    assert report.feature("normal").out_of_range_share == 1.0 and report.drift_share == 0.0
    # 25 rows of the reference distribution: PSI is large from empty bins alone (~1.5 here),
    # and the significance guard is what keeps it from being called drift
    few = compare(profile, _frame(rng, 25)).feature("normal")
    assert few.evaluated and not few.drifted and few.psi > 0.2 and "too few" in few.message
    cur = _frame(rng, 2000)
    cur.loc[:4, "normal"] = np.inf
    f = compare(profile, cur).feature("normal")
    assert f.n_current == 1995 and "infinite" in f.message and f.out_of_range_share >= 5 / 2000
    assert math.isfinite(f.wasserstein_norm)


def test_predictions_are_compared_apart_from_features():
    rng = np.random.default_rng(106)
    ref = _frame(rng, 3000)
    profile = build_profile(ref, FEATURES, predictions=rng.random(3000))
    assert profile.prediction.kind == "numeric" and "__prediction__" not in profile.feature_names
    report = compare(profile, _frame(rng, 3000), predictions=rng.random(3000) ** 3)
    assert report.prediction.drifted and report.n_drifted == 0
    labels = build_profile(ref, FEATURES, predictions=rng.integers(0, 2, 3000))
    assert labels.prediction.kind == "categorical"
    with pytest.raises(InvalidInputError, match="no predictions"):
        compare(build_profile(ref, FEATURES), ref, predictions=np.zeros(3))


def test_profile_bytes_round_trip_and_are_deterministic():
    rng = np.random.default_rng(107)
    ref, cur = _frame(rng, 4000), _frame(rng, 4000, shift=0.2)
    first = build_profile(ref, FEATURES, predictions=ref["normal"].to_numpy(), max_sorted=1000)
    again = build_profile(ref.copy(), FEATURES, predictions=ref["normal"].to_numpy(), max_sorted=1000)
    blob = first.to_bytes()
    assert hashlib.sha256(blob).hexdigest() == hashlib.sha256(again.to_bytes()).hexdigest()
    loaded = ReferenceProfile.from_bytes(blob)
    assert loaded.to_bytes() == blob and loaded.features["normal"].sketch
    a = compare(first, cur, predictions=cur["normal"].to_numpy()).to_dict()
    b = compare(loaded, cur, predictions=cur["normal"].to_numpy()).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    with pytest.raises(InvalidInputError):
        ReferenceProfile.from_bytes(b"not a profile")


def test_missing_columns_are_all_named():
    rng = np.random.default_rng(108)
    profile = build_profile(_frame(rng, 100), FEATURES)
    with pytest.raises(InvalidInputError) as err:
        compare(profile, _frame(rng, 100).drop(columns=["normal", "colour"]))
    assert "normal" in str(err.value) and "colour" in str(err.value)


def test_empty_frames_duplicate_columns_and_odd_labels():
    rng = np.random.default_rng(111)
    ref = _frame(rng, 500)
    ref["colour"] = np.array(["naïve", "", "日本", "a b", "x"])[rng.integers(0, 5, 500)]
    profile = ReferenceProfile.from_bytes(build_profile(ref, FEATURES).to_bytes())
    assert set(profile.features["colour"].categories) == {"naïve", "", "日本", "a b", "x"}
    empty = compare(profile, ref.iloc[:0])
    assert empty.n_rows == 0 and empty.n_evaluated == 0 and not empty.dataset_drift
    assert all(not f.evaluated and f.missing_rate is None for f in empty.features)
    empty_profile = build_profile(ref.iloc[:0], FEATURES)
    assert not any(f.evaluated for f in compare(empty_profile, ref).features)
    doubled = pd.concat([ref, ref[["normal"]]], axis=1)
    with pytest.raises(InvalidInputError, match="more than one column"):
        compare(profile, doubled)


def test_threads_do_not_change_results_and_progress_reaches_one():
    rng = np.random.default_rng(109)
    profile = build_profile(_frame(rng, 60_000), FEATURES)
    cur = _frame(rng, 60_000, shift=0.1)
    seen: list[float] = []
    parallel = compare(profile, cur, threads=3, progress=lambda f, m: seen.append(f)).to_dict()
    serial = compare(profile, cur, threads=1).to_dict()
    parallel.pop("seconds"), serial.pop("seconds")
    assert parallel == serial
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == len(FEATURES) + 1


@pytest.mark.parametrize("threads", [1, 2])
def test_cancellation_raises_a_steward_error(threads):
    rng = np.random.default_rng(110)
    profile = build_profile(_frame(rng, 60_000), FEATURES)
    cur = _frame(rng, 60_000)
    with pytest.raises(DriftCancelled):
        compare(profile, cur, threads=threads, is_cancelled=lambda: True)
    calls: list[float] = []
    with pytest.raises(DriftCancelled) as err:
        compare(profile, cur, threads=threads, progress=lambda f, m: calls.append(f),
                is_cancelled=lambda: len(calls) >= 1)
    assert isinstance(err.value, StewardError) and len(calls) == 1
