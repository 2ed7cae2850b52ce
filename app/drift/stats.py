"""Drift statistics on sorted samples and count vectors, matching scipy's definitions."""

from __future__ import annotations

import math
import threading

import numpy as np
from scipy import special
from scipy.spatial.distance import jensenshannon
from scipy.stats import kstwo

__all__ = [
    "PSI_FLOOR",
    "ks_statistic",
    "ks_pvalue",
    "wasserstein_sorted",
    "psi",
    "js_distance",
    "chi2_pvalue",
    "guard_chi2_pvalue",
]

PSI_FLOOR = 1e-4  # share given to an empty bin so that ln(c/r) stays finite
_BLOCK = 32  # points of the smaller sample per block in the KS branch-and-bound
_DIRECT = 8192  # below this many points a plain evaluation is cheaper than bounding
_CHUNK = 1 << 16  # elements per cache-sized chunk in the Wasserstein pass
_STEPS = np.arange(_CHUNK, dtype=np.int64)
_STEPS.flags.writeable = False
_LOCAL = threading.local()
_EXACT_KS_N = 1000  # effective n up to which kstwo (finite-n) is used; above, Stephens


def _ks_at(a: np.ndarray, b: np.ndarray, idx: np.ndarray) -> float:
    """Largest |F_a - F_b| over the union points that belong to the a-indices idx.

    For each group end i of a (last of a run of ties) the candidates are the value at a[i]
    and the value at the largest b point below the next distinct a value; together with
    the b points below a[0] these are exactly the points ks_2samp evaluates.
    """
    na, nb = a.size, b.size
    values = a[idx]
    following = idx + 1
    last = following == na
    after = a[np.minimum(following, na - 1)]
    ends = (values != after) | last
    if not ends.any():
        return 0.0
    i, values, after, last = idx[ends], values[ends], after[ends], last[ends]
    fa = (i + 1) / na  # same float operations as scipy: count / n
    at = np.searchsorted(b, values, side="right") / nb
    below_next = np.searchsorted(b, after, side="left")
    below_next[last] = nb
    below_next = below_next / nb
    return float(max(np.abs(fa - at).max(), np.abs(fa - below_next).max()))


def ks_statistic(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample KS statistic of sorted finite arrays, equal to ks_2samp(x, y).statistic.

    Instead of merging both samples (two full searchsorted passes, slower than the sort
    itself) it bounds |F_x - F_y| on blocks of 32 points of the smaller sample from one
    searchsorted of the block starts, and evaluates exactly only the blocks whose bound
    can beat the best value found; the result is the same maximum, not an approximation.
    """
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples must hold at least one value")
    a, b = (x, y) if x.size <= y.size else (y, x)  # block the smaller, search into the larger
    na, nb = a.size, b.size
    best = float(np.searchsorted(b, a[0], side="left")) / nb  # b points below all of a
    if na <= _DIRECT:
        return max(best, _ks_at(a, b, np.arange(na)))
    starts = np.arange(0, na, _BLOCK)
    stops = np.append(starts[1:], na)
    heads = a[starts]
    below = np.append(np.searchsorted(b, heads, side="left"), nb)
    # inside a block F_a lies in [(start+1)/na, stop/na] and F_b in [below_k/nb, below_k+1/nb]
    upper = np.maximum(stops / na - below[:-1] / nb, below[1:] / nb - (starts + 1) / na)
    # a block inside one run of ties holds no group end, hence no candidate point at all
    upper[:-1][heads[:-1] == heads[1:]] = -1.0
    offsets = np.arange(_BLOCK)

    def blocks(chosen: np.ndarray) -> np.ndarray:
        idx = (starts[chosen][:, None] + offsets).ravel()
        return idx[idx < na]

    best = max(best, _ks_at(a, b, blocks(np.array([int(np.argmax(upper))]))))
    open_blocks = np.flatnonzero(upper > best)
    if open_blocks.size:
        best = max(best, _ks_at(a, b, blocks(open_blocks)))
    return best


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided asymptotic p-value, as ks_2samp(method='asymp') computes it.

    ks_2samp uses kstwo.sf(d, round(n1*n2/(n1+n2))); that call takes up to half a second
    at n ~ 1e5-1e6, so above an effective n of 1000 we use the Kolmogorov limit with
    Stephens' finite-n correction, Q((sqrt(n) + 0.12 + 0.11/sqrt(n)) d), whose relative
    error against kstwo is below 3 % wherever p > 1e-6 (and shrinks as n grows).
    """
    n_eff = max(round(n1 * n2 / (n1 + n2)), 1)  # 1 row vs 1 row would round to 0
    if n_eff <= _EXACT_KS_N:
        p = float(kstwo.sf(d, n_eff))
    else:
        root = math.sqrt(n_eff)
        p = float(special.kolmogorov((root + 0.12 + 0.11 / root) * d))  # = kstwobign.sf
    return min(max(p, 0.0), 1.0)


def _scratch() -> tuple[np.ndarray, ...]:
    """Per-thread chunk buffers (3 int64, 2 float64), allocated once per worker thread.

    Fresh arrays of this size come from mmap and fault their pages in on every call,
    which cost more than the arithmetic itself on 100k-row columns.
    """
    buffers = getattr(_LOCAL, "buffers", None)
    if buffers is None:
        buffers = tuple(np.empty(_CHUNK, dtype=t) for t in (np.int64, np.int64, np.int64, np.float64, np.float64))
        _LOCAL.buffers = buffers
    return buffers


def wasserstein_sorted(x: np.ndarray, y: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples, equal to scipy.stats.wasserstein_distance.

    Computed as the integral of |Q_x(u) - Q_y(u)| over u in (0, 1) (quantile functions),
    which needs no merge: each point of the larger sample covers one u-step of length
    1/l, inside which the smaller sample's quantile is constant except where one of its own
    steps ends; those at most s crossings are corrected separately. Everything runs in
    chunks of 64k values through per-thread buffers, so temporaries stay in cache. Sums
    are pairwise, so the result agrees with scipy to ~1e-14 relative.
    """
    big, small = (x, y) if x.size >= y.size else (y, x)
    l, s = big.size, small.size
    if s == 0:
        raise ValueError("both samples must hold at least one value")
    ia, ib, ic, fa, fb = _scratch()
    total = 0.0
    for lo in range(0, l, _CHUNK):
        hi = min(lo + _CHUNK, l)
        m = hi - lo
        w = fa[:m]
        if l == s:
            np.subtract(big[lo:hi], small[lo:hi], out=w)
        else:
            i = ia[:m]
            np.multiply(_STEPS[:m], s, out=i)
            i += lo * s
            np.floor_divide(i, l, out=i)  # big[k] lies in small's step floor(k*s/l)
            np.take(small, i, out=w)
            np.subtract(big[lo:hi], w, out=w)
        np.abs(w, out=w)
        total += float(w.sum())
    if l == s:
        return total / l
    total *= s  # in units of 1/(s*l)
    if l % s == 0:
        return total / (float(s) * float(l))  # every step boundary of small is one of big's
    # small's step boundary j/s (j = 1..s-1) falls inside big's step ceil(j*l/s) - 1; the
    # part of that step past the boundary, tail/(s*l), belongs to small[j], not small[j-1]
    # (tail is 0 when j*l is a multiple of s)
    for j0 in range(1, s, _CHUNK):
        j1 = min(j0 + _CHUNK, s)
        m = j1 - j0
        jl, first, tail, value, upper = ia[:m], ib[:m], ic[:m], fa[:m], fb[:m]
        np.multiply(_STEPS[:m], l, out=jl)
        jl += j0 * l
        np.add(jl, s - 1, out=first)
        np.floor_divide(first, s, out=first)
        np.multiply(first, s, out=tail)
        tail -= jl
        first -= 1
        np.take(big, first, out=value)
        np.subtract(value, small[j0:j1], out=upper)
        np.abs(upper, out=upper)
        np.subtract(value, small[j0 - 1:j1 - 1], out=value)
        np.abs(value, out=value)
        np.subtract(upper, value, out=upper)
        upper *= tail  # not np.dot: BLAS would start its own threads inside our workers
        total += float(upper.sum())
    return total / (float(s) * float(l))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index sum((c - r) ln(c / r)) on shares, each share floored at 1e-4."""
    r = np.maximum(ref_counts / ref_counts.sum(), floor)
    c = np.maximum(cur_counts / cur_counts.sum(), floor)
    return float(np.sum((c - r) * np.log(c / r)))


def js_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance in bits (scipy's jensenshannon, base 2): 0 same, 1 disjoint."""
    value = float(jensenshannon(ref_counts, cur_counts, base=2))
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def _contingency_pvalue(table: np.ndarray) -> float:
    """scipy.stats.chi2_contingency(table).pvalue for a 2 x K float table without empty rows/columns.

    The same arithmetic (expected = row x column / total, Yates' correction when dof = 1,
    Pearson's sum, chi2.sf) without scipy's argument-inspecting wrappers, which cost
    ~0.3 ms a call: more than the test itself on a small batch.
    """
    dof = table.shape[1] - 1
    if dof == 0:
        return 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    observed = table
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return float(special.chdtrc(dof, statistic))


def chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """chi2_contingency on the 2 x K reference/current table (all-zero columns dropped; K = 1 -> 1.0)."""
    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    return _contingency_pvalue(table)


def guard_chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray, min_expected: float = 5.0) -> float:
    """The chi-square p-value with the rarest categories pooled until every expected count is >= 5.

    The plain test is badly anti-conservative when expected counts are tiny: one row in a
    category seen once in 10,000 gives p ~ 1e-200. Pooling (Cochran's rule) keeps the
    guard calibrated; when fewer than two pooled columns remain the batch is too small to
    test and the answer is 1.0.
    """
    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or (rows == 0).any():
        return 1.0
    expected = table.sum(axis=0) * rows.min() / rows.sum()  # the smaller row's expected counts
    order = np.argsort(expected, kind="stable")
    pooled_expected = np.cumsum(expected[order])
    # pool every column below the limit, and more until the pool itself reaches it
    n_pool = int(np.searchsorted(expected[order], min_expected, side="left"))
    if n_pool:
        n_pool = max(n_pool, int(np.searchsorted(pooled_expected, min_expected, side="left")) + 1)
    if n_pool >= table.shape[1]:
        return 1.0  # even everything pooled would leave a single column: nothing to test
    if n_pool:
        pool = table[:, order[:n_pool]].sum(axis=1, keepdims=True)
        table = np.hstack([pool, table[:, order[n_pool:]]])
    return _contingency_pvalue(table)
