"""Compare a batch with a reference profile: per-feature drift statistics, verdicts and data quality."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
import pandas as pd

from app.core.errors import InvalidInputError
from app.drift.columns import category_counts, numeric_column
from app.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    as_prediction_series,
    check_unique_columns,
)
from app.drift.report import DriftCancelled, DriftReport, DriftThresholds, FeatureDrift
from app.drift.stats import (
    chi2_pvalue,
    guard_chi2_pvalue,
    js_distance,
    ks_pvalue,
    ks_statistic,
    psi,
    wasserstein_sorted,
)

# the records live in report.py to keep this module short; they are part of the engine's API
__all__ = ["compare", "DriftThresholds", "DriftReport", "FeatureDrift", "DriftCancelled"]

Progress = Callable[[float, str], None]
_PARALLEL_MIN_CELLS = 1_000_000  # below this a thread pool costs more than it saves
_POLL_SECONDS = 0.1  # how often a running comparison looks at is_cancelled()
_MAX_UNSEEN = 20  # unseen category names kept in a result
_CHART_BINS = 20  # categorical bars shown; the rest are summed as "(other)"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _verdict(effects: dict[str, float | None], guard_p: float | None, th: DriftThresholds,
             n_current: int, notes: list[str]) -> tuple[bool, str, bool]:
    """(drifted, severity, evaluated): an effect size reached its threshold and the guard
    says it is not noise, on at least min_rows values."""
    if n_current < th.min_rows:
        notes.append(f"Only {n_current} usable value(s); a drift verdict needs at least {th.min_rows} "
                     "(the statistics are shown for information).")
        return False, "none", False
    ratio = th.effect_ratio(effects)
    significant = guard_p is not None and guard_p < th.alpha
    drifted = ratio >= 1.0 and significant
    if ratio >= 1.0 and not significant:
        shown = "n/a" if guard_p is None else f"{guard_p:.2g}"
        notes.append(f"The change looks large but {n_current} value(s) are too few to tell it from "
                     f"noise (p = {shown}); not counted as drift.")
    return drifted, th.severity(drifted, ratio), True


def _numeric_labels(edges: np.ndarray) -> list[str]:
    if edges.size == 0:
        return ["all values"]
    text = [f"{e:.4g}" for e in edges]
    point = [edges[i + 1] == np.nextafter(edges[i], np.inf) for i in range(edges.size - 1)]
    labels = [f"< {text[0]}"]
    labels += [f"= {text[i]}" if point[i] else f"[{text[i]}, {text[i + 1]})" for i in range(edges.size - 1)]
    labels.append(f"> {text[-2]}" if point and point[-1] else f"≥ {text[-1]}")
    return labels


def _compare_numeric(prof: NumericProfile, series: pd.Series, th: DriftThresholds) -> FeatureDrift:
    col = numeric_column(series)  # the one sort of the batch column; everything below reuses it
    cur = col.values
    n_ref, n_cur = prof.n_valid, cur.size
    notes: list[str] = []
    if col.unparsable:
        notes.append(f"{col.unparsable} value(s) are not numbers and were left out.")
    if col.infinite:
        notes.append(f"{col.infinite} infinite value(s) were left out of the statistics.")
    out_of_range = None
    if prof.min is not None and n_cur + col.infinite:
        below = int(np.searchsorted(cur, prof.min, side="left"))
        above = n_cur - int(np.searchsorted(cur, prof.max, side="right"))
        out_of_range = (below + above + col.infinite) / (n_cur + col.infinite)
    common = dict(name=prof.name, kind="numeric", n_reference=n_ref, n_current=n_cur,
                  bin_labels=_numeric_labels(prof.edges),
                  ref_bins=(prof.counts / n_ref).tolist() if n_ref else [],
                  missing_rate=_rate(col.missing, col.n), ref_missing_rate=prof.missing_rate,
                  out_of_range_share=out_of_range, unparsable=col.unparsable)
    if n_ref == 0 or n_cur == 0:
        if n_ref == 0:
            notes.append("The reference holds no usable values for this feature; drift cannot be judged.")
        else:
            notes.append(f"None of the {col.n} value(s) in this batch is usable (missing or not numbers); "
                         "drift cannot be judged. Check the data feed.")
        return FeatureDrift(drifted=False, severity="none", evaluated=False, message=" ".join(notes), **common)
    cur_counts = np.diff(np.concatenate([[0], np.searchsorted(cur, prof.edges, side="left"), [n_cur]]))
    ref_sorted = prof.sorted_values
    ks = ks_statistic(ref_sorted, cur)
    ks_p = ks_pvalue(ks, n_ref, n_cur)  # n_ref: the full reference, also when a sketch is stored
    if prof.std:
        scale = prof.std
    else:  # constant reference: distances relative to its value, or absolute if that is 0
        scale = abs(prof.mean) if prof.mean else 1.0
        notes.append(f"The reference is constant ({prof.mean:.6g}); the Wasserstein distance is relative to "
                     f"{'|value|' if prof.mean else '1'} instead of the standard deviation.")
    effects = {"psi": psi(prof.counts, cur_counts), "js_distance": js_distance(prof.counts, cur_counts),
               "wasserstein_norm": wasserstein_sorted(ref_sorted, cur) / scale}
    drifted, severity, evaluated = _verdict(effects, ks_p, th, n_cur, notes)
    return FeatureDrift(drifted=drifted, severity=severity, evaluated=evaluated, ks_statistic=ks, ks_pvalue=ks_p,
                        guard_pvalue=ks_p, cur_bins=(cur_counts / n_cur).tolist(), message=" ".join(notes),
                        **effects, **common)


def _category_bins(labels: list[str], r: np.ndarray, c: np.ndarray) -> tuple[list[str], list[float], list[float]]:
    """Chart bars: the categories with the largest share on either side, the rest as "(other)"."""
    rs = r / r.sum() if r.sum() else r.astype(float)
    cs = c / c.sum() if c.sum() else c.astype(float)
    order = np.argsort(-np.maximum(rs, cs), kind="stable")
    shown = order[: _CHART_BINS - 1] if order.size > _CHART_BINS else order
    names = [labels[i] if labels[i] != "" else "(empty)" for i in shown]
    ref_bins, cur_bins = rs[shown].tolist(), cs[shown].tolist()
    if shown.size < order.size:
        rest = order[shown.size:]
        names.append("(other)")
        ref_bins.append(float(rs[rest].sum()))
        cur_bins.append(float(cs[rest].sum()))
    return names, ref_bins, cur_bins


def _compare_categorical(prof: CategoricalProfile, series: pd.Series, th: DriftThresholds) -> FeatureDrift:
    counts, missing, n = category_counts(series)
    index = prof.index
    cur_known = np.zeros(prof.counts.size, dtype=np.int64)
    unseen: dict[str, int] = {}
    for label, count in counts.items():
        position = index.get(label)
        if position is None:
            unseen[label] = count  # a category new to the reference gets its own bin
        else:
            cur_known[position] = count
    new_labels = sorted(unseen, key=lambda k: (-unseen[k], k))
    labels = [*prof.categories, *new_labels]
    r = np.concatenate([prof.counts, np.zeros(len(new_labels), dtype=np.int64)])
    c = np.concatenate([cur_known, np.array([unseen[k] for k in new_labels], dtype=np.int64)])
    n_ref, n_cur = int(r.sum()), int(c.sum())
    notes: list[str] = []
    unseen_total = int(sum(unseen.values()))
    if new_labels:
        shown = ", ".join(repr(k) for k in new_labels[:3])
        notes.append(f"{len(new_labels)} categor{'y' if len(new_labels) == 1 else 'ies'} not in the reference "
                     f"({shown}{', ...' if len(new_labels) > 3 else ''}): {unseen_total / n_cur:.1%} of the batch.")
    bin_labels, ref_bins, cur_bins = _category_bins(labels, r, c)
    common = dict(name=prof.name, kind="categorical", n_reference=n_ref, n_current=n_cur,
                  bin_labels=bin_labels, ref_bins=ref_bins, cur_bins=cur_bins,
                  missing_rate=_rate(missing, n), ref_missing_rate=prof.missing_rate,
                  unseen_categories=new_labels[:_MAX_UNSEEN], unseen_share=_rate(unseen_total, n_cur))
    if n_ref == 0 or n_cur == 0:
        notes.append("The reference holds no values for this feature; drift cannot be judged." if n_ref == 0 else
                     f"All {n} value(s) in this batch are missing; drift cannot be judged. Check the data feed.")
        return FeatureDrift(drifted=False, severity="none", evaluated=False, message=" ".join(notes), **common)
    chi2_p = chi2_pvalue(r, c)
    if int(((r + c) > 0).sum()) == 1:
        notes.append(f"Only one category ({labels[int(np.argmax(r + c))]!r}) occurs on either side; "
                     "there is nothing to compare (chi-square p = 1).")
    guard_p = guard_chi2_pvalue(r, c)
    effects = {"psi": psi(r, c), "js_distance": js_distance(r, c)}
    drifted, severity, evaluated = _verdict(effects, guard_p, th, n_cur, notes)
    return FeatureDrift(drifted=drifted, severity=severity, evaluated=evaluated, chi2_pvalue=chi2_p,
                        guard_pvalue=guard_p, message=" ".join(notes), **effects, **common)


def _compare_one(prof: NumericProfile | CategoricalProfile, series: pd.Series, th: DriftThresholds) -> FeatureDrift:
    if isinstance(prof, NumericProfile):
        return _compare_numeric(prof, series, th)
    return _compare_categorical(prof, series, th)


def compare(profile: ReferenceProfile, frame: pd.DataFrame, *, thresholds: DriftThresholds = DriftThresholds(),
            predictions: np.ndarray | pd.Series | None = None, progress: Progress | None = None,
            is_cancelled: Callable[[], bool] | None = None, threads: int | None = None) -> DriftReport:
    """Compare `frame` with `profile`, one feature per task on `threads` threads.

    numpy's sort, searchsorted and reductions release the GIL, so columns run in parallel.
    threads=None uses every core once the batch has at least a million cells (rows x
    features) and one thread below that, where a pool's hand-offs cost more than they save.

    Verdicts follow DriftThresholds (effect size past its threshold AND guard p < alpha, on
    at least min_rows values). A feature with no usable value on either side, e.g. an
    all-missing batch column, is not a drift verdict: it comes back evaluated=False,
    drifted=False, with missing_rate 1.0 and a message; flagging it is the data-quality
    rules' job, and it does not count in drift_share.
    `progress(fraction, message)` and `is_cancelled()` are called from the calling thread
    only; cancelling raises DriftCancelled within ~0.1 s (a column already being compared
    finishes in the background and is discarded).
    """
    started = time.perf_counter()
    absent = [name for name in profile.feature_names if name not in frame.columns]
    if absent:
        raise InvalidInputError(f"The batch lacks the column(s): {', '.join(absent)}.",
                                hint="Rename or add them so the batch matches the model's features.")
    check_unique_columns(frame, profile.feature_names)
    tasks = [(profile.features[name], frame[name]) for name in profile.feature_names]
    if predictions is not None:
        if profile.prediction is None:
            raise InvalidInputError("The reference profile holds no predictions to compare with.",
                                    hint="Rebuild the profile with the training predictions.")
        tasks.append((profile.prediction, as_prediction_series(predictions)))
    notify: Progress = progress or (lambda fraction, message: None)
    stop: Callable[[], bool] = is_cancelled or (lambda: False)
    if threads is None:  # automatic: a pool only pays for itself on larger batches
        threads = (os.cpu_count() or 1) if len(frame) * len(tasks) >= _PARALLEL_MIN_CELLS else 1
    workers = max(1, min(threads, len(tasks)))
    if workers == 1:
        results = _run_inline(tasks, thresholds, notify, stop)
    else:
        results = _run_pool(tasks, thresholds, notify, stop, workers)
    prediction = results.pop() if predictions is not None else None
    evaluated = [item for item in results if item.evaluated]
    n_drifted = sum(item.drifted for item in evaluated)
    share = n_drifted / len(evaluated) if evaluated else 0.0
    notify(1.0, f"Compared {len(tasks)} feature(s): {n_drifted} drifted.")
    return DriftReport(features=results, drift_share=share,
                       dataset_drift=bool(evaluated) and share >= thresholds.drift_share,
                       n_rows=len(frame), seconds=time.perf_counter() - started, n_evaluated=len(evaluated),
                       n_drifted=n_drifted, prediction=prediction, thresholds=thresholds)


def _run_inline(tasks: list, th: DriftThresholds, notify: Progress, stop: Callable[[], bool]) -> list[FeatureDrift]:
    results = []
    for done, (prof, series) in enumerate(tasks):
        if stop():
            raise DriftCancelled("Drift comparison cancelled.")
        results.append(_compare_one(prof, series, th))
        notify((done + 1) / len(tasks), f"Compared {prof.name} ({done + 1} of {len(tasks)}).")
    return results


def _run_pool(tasks: list, th: DriftThresholds, notify: Progress, stop: Callable[[], bool],
              workers: int) -> list[FeatureDrift]:
    if stop():
        raise DriftCancelled("Drift comparison cancelled.")
    halt = threading.Event()  # tells queued tasks to skip their work after a cancel

    def run(prof, series):
        return None if halt.is_set() else _compare_one(prof, series, th)

    # string hashing is the slowest per column: start categoricals first so they overlap the rest
    order = sorted(range(len(tasks)), key=lambda i: not isinstance(tasks[i][0], CategoricalProfile))
    results: list[FeatureDrift | None] = [None] * len(tasks)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift")
    cancelled = False
    try:
        futures = {pool.submit(run, *tasks[i]): i for i in order}
        pending = set(futures)
        finished = 0
        while pending:
            done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            stopping = False
            for future in done:
                i = futures[future]
                results[i] = future.result()
                finished += 1
                notify(finished / len(tasks), f"Compared {tasks[i][0].name} ({finished} of {len(tasks)}).")
                if finished < len(tasks) and stop():  # asked between columns, as inline
                    stopping = True
                    break
            if stopping or (not done and stop()):
                cancelled = True
                halt.set()
                raise DriftCancelled("Drift comparison cancelled.")
    finally:
        pool.shutdown(wait=not cancelled, cancel_futures=True)
    return results  # type: ignore[return-value]
