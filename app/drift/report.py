"""Drift thresholds, the verdict rule, and the per-feature and per-batch result records."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from app.core.errors import InvalidInputError, StewardError

__all__ = [
    "SEVERITIES",
    "DriftCancelled",
    "DriftThresholds",
    "FeatureDrift",
    "DriftReport",
    "json_safe",
]

SEVERITIES = ("none", "low", "medium", "high")


class DriftCancelled(StewardError):
    """The user cancelled a drift comparison; nothing was recorded."""

    exit_code = 130  # the shell's code for an interrupted command


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    """When a feature counts as drifted, and how badly.

    Verdict: a feature drifts when its significance guard passes (p < alpha) AND at least
    one effect size reaches its threshold. Effect sizes decide because at large N every
    tiny shift is "significant" (a +0.02 sd shift has p < 0.01 at 100k rows); the guard
    exists because at small N effect sizes are noisy (pure-noise PSI on 10 bins is about
    9/n, i.e. ~0.45 at 20 rows) and must not trigger on their own.

    - psi 0.2: the industry line between "some" and "significant" shift (0.1 / 0.25 are
      the usual watch / act marks); on reference deciles about a 0.45 sd mean shift.
    - js_distance 0.1 (bits, base 2): Evidently's categorical default; moving 12 points of
      share between two equal categories, 2 % of the mass into an unseen category, or a
      0.25 sd mean shift on the reference deciles.
    - wasserstein_norm 0.1: Evidently's numeric default; values moved on average by a
      tenth of the reference standard deviation (a 0.1 sd mean shift reaches it).
    - alpha 0.01: the guard level (KS asymptotic p for numeric; chi-square with rare
      categories pooled for categorical). 1 % keeps false alarms from the guard alone low
      and it never decides alone.
    - min_rows 20: below 20 usable current values no verdict is given (the statistics are
      still shown). One wild row makes every effect size extreme and KS's p-value for a
      single point says 0; an outlier is a data-quality finding (out_of_range_share,
      unseen_share), not a distribution shift.
    - drift_share 0.5: dataset drift when at least half the evaluated features drift.
    - medium_ratio 2, high_ratio 4: severity is 'low' when the largest value/threshold
      ratio among the effect sizes is below 2, 'medium' below 4, 'high' from 4 (PSI 0.8,
      a 0.4 sd displacement); 'none' when the feature did not drift.

    Setting an effect threshold to None leaves that metric out of the verdict.
    """

    psi: float | None = 0.2
    js_distance: float | None = 0.1
    wasserstein_norm: float | None = 0.1
    alpha: float = 0.01
    min_rows: int = 20
    drift_share: float = 0.5
    medium_ratio: float = 2.0
    high_ratio: float = 4.0

    def __post_init__(self) -> None:
        effects = {"psi": self.psi, "js_distance": self.js_distance, "wasserstein_norm": self.wasserstein_norm}
        for name, value in effects.items():
            if value is not None and not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise InvalidInputError(f"Drift threshold {name} must be a positive number or null, not {value!r}.")
        if all(v is None for v in effects.values()):
            raise InvalidInputError("At least one drift effect-size threshold must be set.")
        if not (0 < self.alpha <= 1) or not (0 < self.drift_share <= 1):
            raise InvalidInputError("alpha and drift_share must lie in (0, 1].")
        if not (isinstance(self.min_rows, int) and self.min_rows >= 1):
            raise InvalidInputError(f"min_rows must be a whole number >= 1, not {self.min_rows!r}.")
        if not (1 <= self.medium_ratio <= self.high_ratio):
            raise InvalidInputError("Severity ratios need 1 <= medium_ratio <= high_ratio.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftThresholds:
        """Unknown keys are refused (a typo would otherwise silently keep a default)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"Unknown drift threshold(s): {', '.join(unknown)}.",
                                    hint=f"Known: {', '.join(sorted(known))}.")
        values = dict(data)
        if isinstance(values.get("min_rows"), float) and values["min_rows"].is_integer():
            values["min_rows"] = int(values["min_rows"])  # JSON round trips may turn 20 into 20.0
        return cls(**values)

    def effect_ratio(self, values: dict[str, float | None]) -> float:
        """Largest value/threshold over the enabled effect sizes that were computed (0 if none)."""
        ratio = 0.0
        for name, value in values.items():
            limit = getattr(self, name)
            if limit is not None and value is not None:
                ratio = max(ratio, value / limit)
        return ratio

    def severity(self, drifted: bool, ratio: float) -> str:
        if not drifted:
            return "none"
        if ratio >= self.high_ratio:
            return "high"
        return "medium" if ratio >= self.medium_ratio else "low"


def json_safe(value: Any) -> Any:
    """Plain Python for json.dumps: numpy scalars unwrapped, NaN/inf as None, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's comparison. Undefined statistics are None, never NaN."""

    name: str
    kind: str  # 'numeric' | 'categorical'
    drifted: bool
    severity: str  # 'none' | 'low' | 'medium' | 'high'
    evaluated: bool  # False when no verdict was formed (no values on a side, or < min_rows)
    n_reference: int  # usable reference values (missing excluded)
    n_current: int  # usable current values
    psi: float | None = None
    js_distance: float | None = None
    wasserstein_norm: float | None = None  # numeric only
    ks_statistic: float | None = None  # numeric only
    ks_pvalue: float | None = None  # numeric only
    chi2_pvalue: float | None = None  # categorical only, the plain 2 x K test
    guard_pvalue: float | None = None  # the p-value the verdict's guard used
    bin_labels: list[str] = field(default_factory=list)
    ref_bins: list[float] = field(default_factory=list)  # shares per bin label
    cur_bins: list[float] = field(default_factory=list)
    missing_rate: float | None = None  # current rows missing (NaN/None/NA as given)
    ref_missing_rate: float | None = None
    out_of_range_share: float | None = None  # numeric: outside the reference [min, max]
    unseen_categories: list[str] = field(default_factory=list)  # categorical, most frequent first, capped
    unseen_share: float | None = None  # categorical: share of current values in unseen categories
    unparsable: int = 0  # numeric: present values that are not numbers
    message: str = ""  # a sentence for the user when something is degenerate or noteworthy

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


@dataclass(frozen=True, slots=True)
class DriftReport:
    """A batch compared with a reference profile."""

    features: list[FeatureDrift]
    drift_share: float  # drifted / evaluated input features (predictions not included)
    dataset_drift: bool  # drift_share >= thresholds.drift_share
    n_rows: int
    seconds: float
    n_evaluated: int = 0
    n_drifted: int = 0
    prediction: FeatureDrift | None = None  # the model output's own drift, reported apart
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    def feature(self, name: str) -> FeatureDrift:
        for item in self.features:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def drifted_features(self) -> list[str]:
        return [item.name for item in self.features if item.drifted]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "features": [item.to_dict() for item in self.features],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "n_rows": self.n_rows,
            "n_evaluated": self.n_evaluated,
            "n_drifted": self.n_drifted,
            "seconds": self.seconds,
            "thresholds": self.thresholds.to_dict(),
        })
