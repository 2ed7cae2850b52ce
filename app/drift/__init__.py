"""Data drift: reference profiles built once from training data, and fast batch comparisons."""

from app.drift.engine import compare
from app.drift.profile import PREDICTION, CategoricalProfile, NumericProfile, ReferenceProfile, build_profile
from app.drift.report import DriftCancelled, DriftReport, DriftThresholds, FeatureDrift

__all__ = [
    "PREDICTION",
    "CategoricalProfile",
    "DriftCancelled",
    "DriftReport",
    "DriftThresholds",
    "FeatureDrift",
    "NumericProfile",
    "ReferenceProfile",
    "build_profile",
    "compare",
]
