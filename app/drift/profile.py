"""Reference profile: what drift needs from the training data, computed once and stored as bytes."""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from app.core.errors import InvalidInputError
from app.drift.columns import category_counts, numeric_column

__all__ = [
    "PREDICTION",
    "NumericProfile",
    "CategoricalProfile",
    "ReferenceProfile",
    "build_profile",
    "quantile_edges",
    "as_prediction_series",
    "check_unique_columns",
]

PREDICTION = "__prediction__"  # pseudo-feature holding the model's output distribution
FORMAT = "steward-drift-profile"
FORMAT_VERSION = 1
KINDS = ("numeric", "categorical")


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """One numeric reference column.

    `sorted_values` holds every finite reference value when there are at most `max_sorted`
    of them. Above that it is a quantile sketch (`sketch=True`): the order statistics at
    ranks floor((k + 1/2) n / s), k = 0..s-1. Its empirical CDF differs from the full one
    by at most 1/(2s) everywhere, so a KS statistic computed against it is within
    1/(2 max_sorted) (2e-6 at the default 250,000) of the full-reference value, far below
    the reference's own sampling error ~1/sqrt(n); the Wasserstein distance is within
    (max - min)/max_sorted. Bins, counts, mean and std always come from the full column.
    """

    name: str
    n: int  # rows
    missing: int  # NaN / NA / unparsable rows
    infinite: int  # +-inf rows (kept out of the statistics)
    edges: np.ndarray  # interior bin edges, increasing; bins are (-inf,e0), [e0,e1), ... [e_last, inf)
    counts: np.ndarray  # int64, len(edges) + 1
    mean: float | None
    std: float | None  # population std (ddof=0), the Wasserstein scale
    min: float | None
    max: float | None
    sorted_values: np.ndarray
    sketch: bool
    kind: str = field(default="numeric", init=False)

    @property
    def n_valid(self) -> int:
        return int(self.counts.sum())

    @property
    def missing_rate(self) -> float | None:
        return self.missing / self.n if self.n else None


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """One categorical reference column: counts per category label (missing counted apart)."""

    name: str
    n: int
    missing: int
    categories: tuple[str, ...]  # labels, sorted (so the bytes do not depend on hash order)
    counts: np.ndarray  # int64, one per category
    kind: str = field(default="categorical", init=False)

    @property
    def n_valid(self) -> int:
        return int(self.counts.sum())

    @property
    def missing_rate(self) -> float | None:
        return self.missing / self.n if self.n else None

    @cached_property
    def index(self) -> dict[str, int]:
        """Label -> position, built once per loaded profile and reused by every batch."""
        return {label: i for i, label in enumerate(self.categories)}


FeatureProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Every feature's reference summary, in the caller's order, plus optional predictions."""

    features: dict[str, FeatureProfile]
    n_rows: int
    bins: int
    max_sorted: int

    @property
    def feature_names(self) -> list[str]:
        return [name for name in self.features if name != PREDICTION]

    @property
    def prediction(self) -> FeatureProfile | None:
        return self.features.get(PREDICTION)

    def to_bytes(self) -> bytes:
        """A zip of .npy arrays plus a JSON header; identical input gives identical bytes."""
        header: dict = {"format": FORMAT, "version": FORMAT_VERSION, "n_rows": self.n_rows,
                        "bins": self.bins, "max_sorted": self.max_sorted, "features": []}
        arrays: list[tuple[str, np.ndarray]] = []
        for i, prof in enumerate(self.features.values()):
            entry = {"name": prof.name, "kind": prof.kind, "n": prof.n, "missing": prof.missing}
            if isinstance(prof, NumericProfile):
                entry.update(infinite=prof.infinite, mean=prof.mean, std=prof.std, min=prof.min,
                             max=prof.max, sketch=prof.sketch)
                arrays += [(f"{i}.edges", prof.edges), (f"{i}.counts", prof.counts),
                           (f"{i}.sorted", prof.sorted_values)]
            else:
                blob, offsets = _encode_labels(prof.categories)
                arrays += [(f"{i}.labels", blob), (f"{i}.offsets", offsets), (f"{i}.counts", prof.counts)]
            header["features"].append(entry)
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
        arrays.insert(0, ("header", np.frombuffer(text.encode("utf-8"), dtype=np.uint8)))
        return _write_npz(arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            header = json.loads(arrays["header"].tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise InvalidInputError("These bytes are not a drift reference profile.") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
            found = header.get("format") if isinstance(header, dict) else None
            raise InvalidInputError(f"Unsupported drift profile format {found!r}.",
                                    hint="Rebuild the profile from the training data.")
        try:
            features: dict[str, FeatureProfile] = {}
            for i, e in enumerate(header["features"]):
                if e["kind"] == "numeric":
                    features[e["name"]] = NumericProfile(
                        e["name"], e["n"], e["missing"], e["infinite"], arrays[f"{i}.edges"],
                        arrays[f"{i}.counts"], e["mean"], e["std"], e["min"], e["max"],
                        arrays[f"{i}.sorted"], e["sketch"])
                else:
                    labels = _decode_labels(arrays[f"{i}.labels"], arrays[f"{i}.offsets"])
                    features[e["name"]] = CategoricalProfile(e["name"], e["n"], e["missing"], labels,
                                                             arrays[f"{i}.counts"])
            return cls(features, header["n_rows"], header["bins"], header["max_sorted"])
        except (KeyError, TypeError) as exc:
            raise InvalidInputError("The drift reference profile is incomplete or damaged.") from exc


def _encode_labels(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Labels as one UTF-8 byte run plus end offsets: compact for long labels (a fixed-width
    numpy str array pads every label to the longest) and free of pickled objects."""
    encoded = [label.encode("utf-8", "surrogatepass") for label in labels]
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return blob, np.cumsum([len(e) for e in encoded], dtype=np.int64)


def _decode_labels(blob: np.ndarray, offsets: np.ndarray) -> tuple[str, ...]:
    raw = blob.tobytes()
    starts = [0, *offsets[:-1].tolist()]
    return tuple(raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, offsets.tolist()))


def _write_npz(arrays: list[tuple[str, np.ndarray]]) -> bytes:
    """Like np.savez, but with fixed zip timestamps and host system so the bytes are reproducible.

    np.savez stamps each member with the current time; stored (uncompressed) members also
    keep the bytes independent of the zlib version on the machine.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays:
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # otherwise 0 on Windows and 3 elsewhere
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges at the reference quantiles 1/bins .. (bins-1)/bins, ties merged.

    A constant column would collapse to one edge c, lumping every new value above c with
    c itself; the edges [c, nextafter(c)) give it a bin of its own, so any departure
    from the constant lands in an outer bin and shows in PSI.
    """
    if values.size == 0:
        return np.empty(0, dtype=np.float64)
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    if edges.size <= 1:
        c = float(values[0]) if edges.size == 0 else float(edges[0])
        edges = np.array([c, np.nextafter(c, np.inf)])
    return edges.astype(np.float64)


def _numeric_profile(name: str, series: pd.Series, bins: int, max_sorted: int) -> NumericProfile:
    col = numeric_column(series)
    values = col.values
    edges = quantile_edges(values, bins)
    below = np.searchsorted(values, edges, side="left")
    counts = np.diff(np.concatenate([[0], below, [values.size]])).astype(np.int64)
    n = values.size
    sketch = n > max_sorted
    if sketch:
        ranks = ((2 * np.arange(max_sorted, dtype=np.int64) + 1) * n) // (2 * max_sorted)
        kept = values[ranks]
    else:
        kept = values.copy()  # detach from the column buffer (which also holds NaN/inf)

    def stat(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    if n == 0:
        mean = std = low = high = None
    else:
        mean, std, low, high = stat(values.mean()), stat(values.std()), stat(values[0]), stat(values[-1])
    # unparsable reference values count as missing: the profile only records what was usable
    return NumericProfile(name, col.n, col.missing + col.unparsable, col.infinite, edges, counts,
                          mean, std, low, high, kept, sketch)


def _categorical_profile(name: str, series: pd.Series) -> CategoricalProfile:
    counts, missing, n = category_counts(series)
    labels = tuple(sorted(counts))
    return CategoricalProfile(name, n, missing, labels, np.array([counts[k] for k in labels], dtype=np.int64))


def _infer_kind(values: pd.Series) -> str:
    """Floats are numeric; integers, booleans and strings are class labels."""
    return "numeric" if pd.api.types.is_float_dtype(values.dtype) else "categorical"


def build_profile(frame: pd.DataFrame, features: list[tuple[str, str]], *, bins: int = 10,
                  max_sorted: int = 250_000, predictions: np.ndarray | pd.Series | None = None,
                  prediction_kind: str | None = None) -> ReferenceProfile:
    """Summarise the reference frame's features (name, 'numeric' | 'categorical') for compare()."""
    if bins < 2 or max_sorted < 2:
        raise InvalidInputError("A drift profile needs bins >= 2 and max_sorted >= 2.")
    missing = [name for name, _ in features if name not in frame.columns]
    if missing:
        raise InvalidInputError(f"The reference data lacks the column(s): {', '.join(missing)}.")
    check_unique_columns(frame, [name for name, _ in features])
    result: dict[str, FeatureProfile] = {}
    for name, kind in features:
        if kind not in KINDS:
            raise InvalidInputError(f"Feature {name!r} has kind {kind!r}; use 'numeric' or 'categorical'.")
        if name == PREDICTION:
            raise InvalidInputError(f"{PREDICTION!r} is reserved for the prediction distribution.")
        if name in result:
            raise InvalidInputError(f"Feature {name!r} is listed twice.")
        series = frame[name]
        result[name] = (_numeric_profile(name, series, bins, max_sorted) if kind == "numeric"
                        else _categorical_profile(name, series))
    if predictions is not None:
        series = as_prediction_series(predictions)
        kind = prediction_kind or _infer_kind(series)
        if kind not in KINDS:
            raise InvalidInputError(f"prediction_kind {kind!r}; use 'numeric' or 'categorical'.")
        result[PREDICTION] = (_numeric_profile(PREDICTION, series, bins, max_sorted)
                              if kind == "numeric" else _categorical_profile(PREDICTION, series))
    return ReferenceProfile(result, len(frame), bins, max_sorted)


def check_unique_columns(frame: pd.DataFrame, names: list[str]) -> None:
    """A name that appears twice among the columns would select a frame, not a column."""
    twice = sorted(set(frame.columns[frame.columns.duplicated()]) & set(names))
    if twice:
        raise InvalidInputError(f"The data has more than one column named {', '.join(map(repr, twice))}.")


def as_prediction_series(predictions: np.ndarray | pd.Series) -> pd.Series:
    """Predictions as a one-dimensional Series (class probabilities must be reduced first)."""
    if isinstance(predictions, pd.Series):
        return predictions
    array = np.asarray(predictions)
    if array.ndim != 1:
        raise InvalidInputError(
            f"Predictions must be one value per row, got an array of shape {array.shape}.",
            hint="Pass the predicted class or the positive-class probability.")
    return pd.Series(array)
