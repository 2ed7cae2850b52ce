"""The promotion gate: minimum quality per metric and no regression against the champion, per criterion."""

from __future__ import annotations

from typing import Any

from app.ml.metrics import HIGHER_IS_BETTER

__all__ = ["evaluate_gate", "lower_is_better"]


def lower_is_better(metric: str) -> bool:
    return not HIGHER_IS_BETTER.get(metric, True)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _minimum(metric: str, bound: float, value: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"criterion": "min", "metric": metric, "threshold": bound, "challenger": value}
    if value is None:
        return out | {"passed": False, "reason": f"the challenger has no {metric} to compare with {_fmt(bound)}"}
    if lower_is_better(metric):
        passed = value <= bound
        reason = f"{metric} {_fmt(value)} {'is within' if passed else 'exceeds'} the ceiling {_fmt(bound)}"
    else:
        passed = value >= bound
        reason = f"{metric} {_fmt(value)} {'meets' if passed else 'is below'} the minimum {_fmt(bound)}"
    return out | {"passed": passed, "reason": reason}


def _regression(metric: str, tolerance: float, value: float | None, base: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"criterion": "max_regression", "metric": metric, "tolerance": tolerance,
                           "challenger": value, "champion": base}
    if base is None:
        return out | {"passed": True, "skipped": True,
                      "reason": f"the champion has no {metric} on these rows; not compared"}
    if value is None:
        return out | {"passed": False, "reason": f"the challenger has no {metric} (the champion has {_fmt(base)})"}
    if lower_is_better(metric):
        # Errors are in the target's units: the tolerance is relative to the champion's error.
        limit = base * (1 + tolerance)
        worse_by = value - base
        passed = value <= limit
        reason = (f"{metric} {_fmt(value)} vs champion {_fmt(base)}: "
                  + (f"within +{tolerance:.0%}" if passed else
                     f"{_fmt(worse_by)} worse, more than the allowed +{tolerance:.0%} ({_fmt(limit)})"))
    else:
        worse_by = base - value
        passed = worse_by <= tolerance
        reason = (f"{metric} {_fmt(value)} vs champion {_fmt(base)}: "
                  + (f"within {_fmt(tolerance)}" if passed else
                     f"{_fmt(worse_by)} worse, more than the allowed {_fmt(tolerance)}"))
    return out | {"passed": passed, "change": value - base, "reason": reason}


def evaluate_gate(gate: dict, challenger: dict[str, float], champion: dict[str, float] | None, *,
                  caution: str | None = None) -> dict[str, Any]:
    """Every criterion of `gate` ({"min": {metric: bound}, "max_regression": {metric: tolerance}})
    with its values, verdict and a sentence saying why; `passed` is true when all of them pass.

    Both metric dicts must come from the same held-out rows, or the comparison means nothing;
    `caution` says what a reader must know about those rows (kept with the result).
    """
    criteria = [_minimum(m, float(b), challenger.get(m)) for m, b in sorted((gate.get("min") or {}).items())]
    for metric, tolerance in sorted((gate.get("max_regression") or {}).items()):
        base = (champion or {}).get(metric) if champion is not None else None
        criteria.append(_regression(metric, float(tolerance), challenger.get(metric), base))
    failed = [c for c in criteria if not c["passed"]]
    extra = {"caution": caution} if caution else {}
    return extra | {
        "passed": not failed,
        "criteria": criteria,
        "summary": ("passed: " + (f"{len(criteria)} criteria met" if criteria else "no criteria set")) if not failed
        else "failed: " + "; ".join(c["reason"] for c in failed),
    }
