"""Drift engine speed and memory against a plain scipy loop and the np.sort floor, measured in one run.

Usage: .venv/bin/python benchmarks/drift_bench.py [--sizes 10000,100000,1000000] [--repeat 3] [--threads N]

For each size N it builds a reference and a current batch of N rows x 20 numeric + 5
categorical columns (Arrow-backed strings, as pandas reads them from CSV or Parquet),
builds the reference profile (not timed), then times, median of --repeat runs:

- ours:      app.drift.compare(profile, batch) with the default 250,000-point reference sketch
- ours/full: the same with a profile that keeps every reference value (max_sorted = N)
- ragged:    ours on the first N - 17 rows, so batch and reference sizes share no factor
             (N vs N, and 1M vs the 250k sketch, take shortcuts in the Wasserstein pass)
- baseline:  a plain per-column loop of scipy.stats.ks_2samp + chi2_contingency on raw data
- floor:     np.sort of the batch's 20 numeric columns, one after another (and, for context,
             on the same thread count as ours)

Times are medians; "(best)" is ours/floor from each one's fastest round, the figure least
disturbed by other processes on a shared machine.

Memory: tracemalloc peak during one compare call (numpy reports its buffers to
tracemalloc), and the process's RSS just before the first compare call and its peak RSS
(resource.getrusage) right after it, against the batch's own in-memory size
(DataFrame.memory_usage(deep=True)). The process also holds the reference frame, the
profiles and the generator's leftovers, so the RSS figures are upper bounds.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.drift import build_profile, compare  # noqa: E402

__all__ = ["make_frame", "main"]

N_NUMERIC, CARDINALITIES = 20, (3, 8, 20, 100, 1000)


def make_frame(n: int, seed: int, drift: bool) -> pd.DataFrame:
    """Normal, skewed, uniform and rounded (tied) numerics; Zipf-like categories; a few drifted."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for j in range(N_NUMERIC):
        shift = 0.3 if drift and j % 5 == 0 else 0.0
        match j % 4:
            case 0:
                values = rng.normal(shift, 1.0, n)
            case 1:
                values = rng.lognormal(shift, 0.8, n)
            case 2:
                values = rng.uniform(shift, 1.0 + shift, n)
            case _:
                values = np.round(rng.normal(50 + 10 * shift, 10, n))  # integer-valued: many ties
        data[f"num_{j}"] = values
    for j, k in enumerate(CARDINALITIES):
        weights = 1.0 / np.arange(1, k + 1)
        if drift and j == 0:
            weights = weights[::-1]
        labels = np.array([f"c{j}_{i}" for i in range(k)])
        data[f"cat_{j}"] = labels[rng.choice(k, size=n, p=weights / weights.sum())]
    return pd.DataFrame(data)  # string columns become pandas' default (Arrow-backed) str dtype


def features() -> list[tuple[str, str]]:
    return [(f"num_{j}", "numeric") for j in range(N_NUMERIC)] + [
        (f"cat_{j}", "categorical") for j in range(len(CARDINALITIES))]


def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame) -> list[float]:
    """What a user writes without a profile: raw reference and batch, one test per column."""
    out = []
    for name, kind in features():
        if kind == "numeric":
            out.append(stats.ks_2samp(ref[name].to_numpy(), cur[name].to_numpy()).statistic)
        else:
            table = pd.concat([ref[name].value_counts(), cur[name].value_counts()], axis=1).fillna(0)
            out.append(stats.chi2_contingency(table.to_numpy().T).pvalue)
    return out


def sort_floor(cur: pd.DataFrame, threads: int | None) -> None:
    columns = [cur[f"num_{j}"].to_numpy() for j in range(N_NUMERIC)]
    if (threads or os.cpu_count() or 1) == 1:
        for column in columns:
            np.sort(column)
    else:
        with ThreadPoolExecutor(threads or os.cpu_count()) as pool:
            list(pool.map(np.sort, columns))


def _rss_mib() -> float:
    """Resident set size now (Linux /proc; NaN elsewhere): the base the compare call adds to."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed_rounds(methods: dict, repeat: int) -> dict[str, float]:
    """Median and best seconds per method (keys name and name + "_best"). Rounds interleave
    the methods so that load from other processes on a shared machine lands on all of
    them alike, not on whichever happened to run during a burst."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, fn in methods.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    result = {name: statistics.median(values) for name, values in times.items()}
    result.update({f"{name}_best": min(values) for name, values in times.items()})
    return result


def run_size(n: int, repeat: int, threads: int | None) -> dict[str, float]:
    ref, cur = make_frame(n, 1, drift=False), make_frame(n, 2, drift=True)
    batch_bytes = int(cur.memory_usage(deep=True).sum())
    start = time.perf_counter()
    profile = build_profile(ref, features())
    build_s = time.perf_counter() - start
    full = build_profile(ref, features(), max_sorted=max(n, 2))
    gc.collect()
    rss_before = _rss_mib()
    compare(profile, cur, threads=threads)  # warm-up (imports, scipy's lazy set-up), and RSS
    row = {"n": n, "build_s": build_s, "batch_mib": batch_bytes / 2**20, "rss_before_mib": rss_before,
           "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # KiB on Linux
    ragged = cur.iloc[: n - 17]
    row.update(timed_rounds({
        "ours_s": lambda: compare(profile, cur, threads=threads),
        "ours_full_s": lambda: compare(full, cur, threads=threads),
        "ragged_s": lambda: compare(profile, ragged, threads=threads),
        "baseline_s": lambda: scipy_loop(ref, cur),
        "floor_s": lambda: sort_floor(cur, 1),
        "floor_mt_s": lambda: sort_floor(cur, threads),
    }, repeat))
    gc.collect()
    tracemalloc.start()
    report = compare(profile, cur, threads=threads)
    row["peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ks_ours = [f.ks_statistic for f in compare(full, cur, threads=threads).features if f.kind == "numeric"]
    ks_scipy = [stats.ks_2samp(ref[f"num_{j}"], cur[f"num_{j}"]).statistic for j in range(N_NUMERIC)]
    row["ks_maxdiff"] = float(np.max(np.abs(np.array(ks_ours) - np.array(ks_scipy))))
    row["drifted"] = report.n_drifted
    return row


COLUMNS = [  # (header, width, cell)
    ("rows", 9, lambda r: f"{r['n']}"),
    ("ours s", 8, lambda r: f"{r['ours_s']:.3f}"),
    ("full s", 8, lambda r: f"{r['ours_full_s']:.3f}"),
    ("ragged s", 8, lambda r: f"{r['ragged_s']:.3f}"),
    ("scipy s", 8, lambda r: f"{r['baseline_s']:.3f}"),
    ("sort s", 8, lambda r: f"{r['floor_s']:.3f}"),
    ("sortMT s", 8, lambda r: f"{r['floor_mt_s']:.3f}"),
    ("scipy/ours", 10, lambda r: f"{r['baseline_s'] / r['ours_s']:.1f}"),
    ("ours/sort", 9, lambda r: f"{r['ours_s'] / r['floor_s']:.2f}"),
    ("(best)", 6, lambda r: f"{r['ours_s_best'] / r['floor_s_best']:.2f}"),
    ("peak MiB", 8, lambda r: f"{r['peak_mib']:.1f}"),
    ("peak/batch", 10, lambda r: f"{r['peak_mib'] / r['batch_mib']:.2f}"),
    ("RSS0 MiB", 8, lambda r: f"{r['rss_before_mib']:.0f}"),
    ("maxRSS MiB", 10, lambda r: f"{r['maxrss_mib']:.0f}"),
    ("batch MiB", 9, lambda r: f"{r['batch_mib']:.1f}"),
    ("KS diff", 8, lambda r: f"{r['ks_maxdiff']:.1e}"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per method")
    parser.add_argument("--threads", type=int, default=None, help="compare()'s threads (default: automatic)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"cores={os.cpu_count()} threads={args.threads or 'auto'} numpy={np.__version__} "
          f"scipy={scipy.__version__} pandas={pd.__version__}")
    print(" ".join(f"{head:>{width}}" for head, width, _ in COLUMNS))
    for n in sizes:
        row = run_size(n, args.repeat, args.threads)
        print(" ".join(f"{cell(row):>{width}}" for _, width, cell in COLUMNS), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
