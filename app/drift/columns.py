"""Turning one pandas column into what the drift statistics need: sorted floats or category counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["NumericColumn", "numeric_column", "category_counts", "category_label"]


@dataclass(frozen=True, slots=True)
class NumericColumn:
    """A numeric column reduced to its sorted finite values plus what was set aside."""

    values: np.ndarray  # sorted, finite float64 (a slice of one sorted buffer)
    n: int  # rows in the column
    missing: int  # NaN / None / NA as given
    unparsable: int  # present but not a number (strings such as "n/a" in a numeric feature)
    infinite: int  # +-inf: real numbers, but no distance can be computed with them


def _as_float(series: pd.Series) -> tuple[np.ndarray, bool, int | None, int]:
    """(float64 array, whether we own it, missing count if already known, unparsable count)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy()
        if dtype == np.float64:
            return values, False, None, 0  # a view: np.sort below makes the only copy
        return values.astype(np.float64), True, None, 0
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.to_numpy(dtype=np.float64), True, 0, 0
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        # nullable Int64/Float64/boolean and Arrow-backed numbers carry NA rather than NaN
        return series.to_numpy(dtype=np.float64, na_value=np.nan), True, None, 0
    # strings, objects, categoricals: whatever does not parse becomes NaN and is counted
    missing = int(series.isna().sum())
    if isinstance(dtype, pd.CategoricalDtype):
        # parse the few categories, not the many rows
        parsed = pd.to_numeric(pd.Series(series.cat.categories, dtype=object), errors="coerce")
        lookup = np.append(parsed.to_numpy(dtype=np.float64, na_value=np.nan), np.nan)
        codes = series.cat.codes.to_numpy()
        values = lookup[np.where(codes < 0, lookup.size - 1, codes)]
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        values = np.array(coerced.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    unparsable = int(np.isnan(values).sum()) - missing
    return values, True, missing, max(unparsable, 0)


def numeric_column(series: pd.Series) -> NumericColumn:
    """Sort once; NaN sorts last and +-inf just inside it, so the finite run is one slice."""
    values, owned, missing, unparsable = _as_float(series)
    if owned and values.flags.writeable:
        values.sort()  # our own copy: sort in place, no second buffer
    else:
        values = np.sort(values)
    n = values.size
    # numpy orders -inf < finite < +inf < NaN, and searchsorted agrees with that order
    lo = int(np.searchsorted(values, -np.inf, side="right"))
    hi = int(np.searchsorted(values, np.inf, side="left"))
    first_nan = int(np.searchsorted(values, np.nan, side="left"))
    nan_count = n - first_nan
    infinite = lo + (first_nan - hi)
    if missing is None:
        missing = nan_count
    return NumericColumn(values[lo:hi], n, missing, unparsable, infinite)


def category_label(value: object) -> str:
    """One spelling per category, so 1, 1.0, np.int64(1) and "1" meet in the same bin.

    Integer-valued floats are written as integers because an integer column that gains a
    missing value arrives as float64; without this every category would look unseen.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def category_counts(series: pd.Series) -> tuple[dict[str, int], int, int]:
    """(label -> count over present values, missing count, rows); the empty string is a category."""
    n = len(series)
    missing = int(series.isna().sum())
    counts = series.value_counts(dropna=True, sort=False)
    result: dict[str, int] = {}
    for value, count in zip(counts.index.tolist(), counts.to_numpy().tolist()):
        if count <= 0:
            continue  # a categorical dtype lists declared but absent categories with 0
        label = category_label(value)
        result[label] = result.get(label, 0) + int(count)
    return result, missing, n
