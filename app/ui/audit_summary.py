"""One-line summaries of audit events for the table and the CSV export, most telling words first."""

from __future__ import annotations

from typing import Any

from app.core.timeutil import from_iso

__all__ = ["summarize"]

_SUMMARY_CHARS = 160


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_short(v) for v in value[:4]) + (", …" if len(value) > 4 else "") if value else "—"
    return "—" if value in (None, "") else str(value)


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _metrics(metrics: Any, count: int = 3) -> list[str]:
    return [f"{k} {_number(v)}" for k, v in list(metrics.items())[:count]] if isinstance(metrics, dict) else []


def _day(value: Any) -> str:
    """An ISO timestamp as a local date (the table has no room for more)."""
    try:
        return from_iso(str(value)).astimezone().strftime("%Y-%m-%d")
    except ValueError:
        return _short(value)


def _rows(value: Any, noun: str = "rows") -> str:
    return f"{value:,} {noun}" if isinstance(value, int) else ""


def _join(*parts: str, sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def _batch(d: dict[str, Any]) -> str:
    drifted = d.get("drifted_features") or []
    if drifted:
        drift = f"drift in {_short(drifted)}" + (" (dataset drift)" if d.get("dataset_drift") else "")
    else:
        drift = "dataset drift" if d.get("dataset_drift") else "no drift"
    return _join(str(d.get("label") or ""), drift, _rows(d.get("rows")), str(d.get("input_name") or ""))


def _alert(action: str, d: dict[str, Any]) -> str:
    batch = f"batch {d['batch']}" if d.get("batch") is not None else ""
    if action == "alert.opened":
        return _join(str(d.get("severity") or ""), str(d.get("title") or d.get("kind") or ""), sep=": ")
    if action == "alert.repeated":
        return _join(f"seen again in {batch}" if batch else "seen again", str(d.get("severity") or ""))
    if action == "alert.suppressed":
        return _join(batch, f"{_short(d.get('kind'))} risk accepted until {_day(d.get('accepted_until'))}", sep=": ")
    if action == "alert.acknowledged":
        return _join("acknowledged", str(d.get("note") or ""), sep=": ")
    if action == "alert.resolved":
        decision = str(d.get("decision") or "resolved").replace("_", " ")
        if d.get("expires"):
            decision += f" until {_day(d['expires'])}"
        if d.get("linked_version") is not None:
            decision += f" (version {d['linked_version']})"
        return _join(decision, str(d.get("rationale") or ""), sep=": ")
    return "; ".join(f"{k}: {_short(v)}" for k, v in d.items())


def summarize(action: str, details: dict[str, Any]) -> str:
    """One line saying what the event did, e.g. "production → archived: replaced by v3"."""
    d = details
    if action == "version.stage_changed":
        text = f"{d.get('from', '?')} → {d.get('to', '?')}" + (f": {d['reason']}" if d.get("reason") else "")
    elif action == "version.registered":
        estimator = str(d.get("estimator", "")).rsplit(".", 1)[-1]  # the class name says it; the module path is noise
        text = _join(estimator, str(d.get("task", "")), *_metrics(d.get("metrics")))
        text += f" — {d['note']}" if d.get("note") else ""
    elif action == "model.updated":
        text = "; ".join(
            f"{k}: {_short(v.get('from'))} → {_short(v.get('to'))}" if isinstance(v, dict) else f"{k}: {_short(v)}"
            for k, v in d.items()
        )
    elif action == "model.created":
        text = f"owner {_short(d.get('owner'))} · risk {_short(d.get('risk_tier'))}"
        text += f" — {d['description']}" if d.get("description") else ""
    elif action == "dataset.registered":
        text = _join(str(d.get("name", "")), _rows(d.get("rows")), str(d.get("role", "")))
    elif action == "artifact.trusted":
        text = f"trusted {_short(d.get('source_file'))} despite {_short(d.get('disallowed_globals'))}"
    elif action.startswith("batch."):
        text = _batch(d)
    elif action == "labels.attached":
        text = _join(*_metrics(d.get("metrics")), _rows(d.get("rows"), "labelled rows"))
    elif action.startswith("alert."):
        text = _alert(action, d)
    else:
        text = "; ".join(f"{k}: {_short(v)}" for k, v in d.items())
    text = " ".join(text.split())  # one line, whatever the details held
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"
