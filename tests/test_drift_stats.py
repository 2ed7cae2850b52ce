"""Drift statistics against scipy on real random data: ties, NaNs, sketches, PSI stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from app.drift.columns import category_label, numeric_column
from app.drift.profile import build_profile, quantile_edges
from app.drift.stats import (
    chi2_pvalue,
    guard_chi2_pvalue,
    js_distance,
    ks_pvalue,
    ks_statistic,
    psi,
    wasserstein_sorted,
)

SIZES = [1, 2, 3, 7, 50, 999, 1000, 4096, 8193, 20_000, 65_537, 150_000]


def _sample(rng: np.random.Generator, n: int, kind: int, shift: float) -> np.ndarray:
    if kind == 0:
        return rng.normal(shift, 1.0, n)
    if kind == 1:
        return np.round(rng.normal(shift, 1.0, n), 1)  # rounded normals: heavy ties
    if kind == 2:
        return rng.integers(0, 6, n).astype(np.float64) + (shift > 0.05)  # few integers
    return rng.lognormal(shift, 1.0, n)


def _with_nans(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[rng.random(x.size) < 0.05] = np.nan
    return x


def _cases(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        m, n = (int(v) for v in rng.choice(SIZES, 2))
        kind = int(rng.integers(0, 4))
        ref = _with_nans(rng, _sample(rng, m, kind, 0.0))
        cur = _with_nans(rng, _sample(rng, n, kind, float(rng.choice([0.0, 0.02, 0.3]))))
        a, b = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        if a.size and b.size:
            yield np.sort(a), np.sort(b)


def test_ks_statistic_equals_scipy_with_ties_and_nans():
    rng = np.random.default_rng(11)
    checked = 0
    for a, b in _cases(160, 1):
        assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b, method="asymp").statistic, abs=1e-12)
        checked += 1
    # shared values on both sides, and identical samples (every block must be opened)
    x = np.sort(np.round(rng.normal(size=30_000), 2))
    y = np.sort(rng.choice(x, 50_000))
    assert ks_statistic(x, y) == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    assert ks_statistic(x, x.copy()) == 0.0
    assert checked > 100


def test_ks_from_a_nan_column_matches_scipy_after_dropping_nans():
    rng = np.random.default_rng(2)
    raw = _with_nans(rng, np.round(rng.normal(size=12_000), 1))
    col = numeric_column(pd.Series(raw))
    other = np.sort(rng.normal(0.1, 1, 9_000))
    assert col.missing == int(np.isnan(raw).sum())
    expected = stats.ks_2samp(raw[~np.isnan(raw)], other, method="asymp").statistic
    assert ks_statistic(col.values, other) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("m,n", [(5, 7), (300, 400), (900, 2000), (10_000, 20_000), (100_000, 100_000)])
def test_ks_pvalue_close_to_scipy_asymp(m, n):
    rng = np.random.default_rng(m)
    for shift in (0.0, 0.03, 0.1, 0.3):
        a, b = np.sort(rng.normal(size=m)), np.sort(rng.normal(shift, 1, n))
        d = ks_statistic(a, b)
        expected = stats.ks_2samp(a, b, method="asymp").pvalue
        got = ks_pvalue(d, m, n)
        if round(m * n / (m + n)) <= 1000:
            assert got == pytest.approx(expected, rel=1e-12)  # the same kstwo call
        elif expected > 1e-6:
            assert got == pytest.approx(expected, rel=0.03)  # Stephens-corrected limit
        else:
            assert got < 1e-5


def test_wasserstein_equals_scipy():
    for a, b in _cases(120, 3):
        expected = stats.wasserstein_distance(a, b)
        assert wasserstein_sorted(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    a = np.sort(np.random.default_rng(4).normal(size=250_000))
    for n in (1, 1_000_000, 999_983):  # one point, an exact multiple, and a ragged ratio
        b = np.sort(np.random.default_rng(n).normal(0.2, 1.5, n))
        assert wasserstein_sorted(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


def test_psi_and_js_on_bins_match_their_definitions():
    rng = np.random.default_rng(5)
    for _ in range(50):
        k = int(rng.integers(2, 12))
        r = rng.integers(0, 50, k)
        c = rng.integers(0, 50, k)
        r[0] += 1
        c[-1] += 1
        rs, cs = r / r.sum(), c / c.sum()
        assert js_distance(r, c) == pytest.approx(jensenshannon(rs, cs, base=2), abs=1e-12)
        rf, cf = np.maximum(rs, 1e-4), np.maximum(cs, 1e-4)
        assert psi(r, c) == pytest.approx(np.sum((cf - rf) * np.log(cf / rf)), rel=1e-12)
    assert psi(np.array([5, 5]), np.array([5, 5])) == 0.0
    assert js_distance(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)


def test_chi2_pvalue_equals_chi2_contingency():
    rng = np.random.default_rng(6)
    for _ in range(60):
        k = int(rng.integers(2, 9))
        r = rng.integers(0, 200, k)
        c = rng.integers(0, 200, k)
        r[0] = c[0] = 0  # an all-zero column is dropped before the test
        r[1] += 1
        c[2 % k] += 1
        table = np.vstack([r, c])[:, (r + c) > 0]
        if table.shape[1] < 2:
            continue
        assert chi2_pvalue(r, c) == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-12)
    assert chi2_pvalue(np.array([10, 0]), np.array([3, 0])) == 1.0  # a single category


def test_guard_pools_rare_categories_and_stays_calibrated():
    ref = np.array([5000, 3000, 1990, 10])
    # one row in a 0.1 % category: the plain test says "certain", the guard says "cannot tell"
    assert chi2_pvalue(ref, np.array([0, 0, 0, 1])) < 1e-10
    assert guard_chi2_pvalue(ref, np.array([0, 0, 0, 1])) == 1.0
    rng = np.random.default_rng(7)
    shares = np.r_[[0.4, 0.3, 0.2], np.full(20, 0.005)]
    pairs = list(zip(rng.multinomial(5000, shares, size=1000), rng.multinomial(40, shares, size=1000)))
    guarded = sum(guard_chi2_pvalue(r, c) < 0.01 for r, c in pairs)
    plain = sum(chi2_pvalue(r, c) < 0.01 for r, c in pairs)
    assert guarded <= 25  # nominal 1 % of 1000 null batches of 40 rows
    assert plain > 3 * max(guarded, 1)  # tiny expected counts make the plain test cry wolf


def test_quantile_edges_dedupe_ties_and_isolate_a_constant():
    rng = np.random.default_rng(8)
    x = np.sort(rng.normal(size=10_000))
    edges = quantile_edges(x, 10)
    assert edges.size == 9 and np.all(np.diff(edges) > 0)
    assert np.allclose(edges, np.quantile(x, np.arange(1, 10) / 10))
    ints = np.sort(rng.integers(0, 3, 10_000).astype(float))
    assert np.all(np.diff(quantile_edges(ints, 10)) > 0)
    const = quantile_edges(np.full(100, 4.0), 10)
    assert const.tolist() == [4.0, np.nextafter(4.0, np.inf)]


def test_sketch_keeps_ks_within_its_bound():
    rng = np.random.default_rng(9)
    ref = np.round(rng.normal(size=200_000), 2)
    cur = np.sort(rng.normal(0.05, 1, 30_000))
    s = 1000
    sketch = build_profile(pd.DataFrame({"x": ref}), [("x", "numeric")], max_sorted=s).features["x"]
    assert sketch.sketch and sketch.sorted_values.size == s and sketch.n_valid == ref.size
    exact = stats.ks_2samp(ref, cur).statistic
    assert abs(ks_statistic(sketch.sorted_values, cur) - exact) <= 1 / (2 * s) + 1e-12
    full = build_profile(pd.DataFrame({"x": ref}), [("x", "numeric")]).features["x"]
    assert not full.sketch and ks_statistic(full.sorted_values, cur) == pytest.approx(exact, abs=1e-12)


def _equal_width_psi(r: np.ndarray, c: np.ndarray) -> float:
    """Evidently's binning: equal-width Sturges bins over reference + current."""
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
    rs = np.maximum(np.histogram(r, edges)[0] / r.size, 1e-4)
    cs = np.maximum(np.histogram(c, edges)[0] / c.size, 1e-4)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def test_psi_is_stable_across_batch_sizes_unlike_equal_width_bins():
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for n in (10_000, 100_000):
        r = rng.standard_t(2, n)  # heavy tails stretch an equal-width range as n grows
        c = rng.standard_t(2, n) + 0.5
        prof = build_profile(pd.DataFrame({"x": r}), [("x", "numeric")]).features["x"]
        cur = numeric_column(pd.Series(c)).values
        counts = np.diff(np.concatenate([[0], np.searchsorted(cur, prof.edges), [cur.size]]))
        ours.append(psi(prof.counts, counts))
        theirs.append(_equal_width_psi(r, c))
    assert ours[1] == pytest.approx(ours[0], rel=0.1)
    assert max(theirs) > 3 * min(theirs)


def test_category_labels_meet_across_dtypes():
    assert category_label(1) == category_label(1.0) == category_label(np.int64(1)) == "1"
    assert category_label(True) == category_label(np.bool_(True)) == "True"
    assert category_label(0.5) == "0.5" and category_label("") == ""
