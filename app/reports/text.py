"""Shared pieces of both renderers: the section titles, cell types, and formatting of times, numbers and hashes.

The outline (app.reports.outline*) turns the evidence into blocks whose text is already formatted here,
so the HTML and the PDF say exactly the same thing; only the markup differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SECTIONS", "ROW_CAP", "Badge", "Hash", "Mono", "Strong", "Lines", "Cell", "fmt_time", "fmt_date", "fmt_num",
           "fmt_int", "fmt_bytes", "dash", "short_hash", "severity_badge", "status_badge", "yes_no_badge",
           "kind_label", "cap_rows", "more_note", "plural", "HASH_SHOWN"]

# The twelve numbered sections, in order; tests and reviewers look for these exact titles.
SECTIONS = (
    "Report metadata", "Conclusions", "Model inventory", "Version and change history",
    "Training-data provenance", "Validation", "Monitoring and drift", "Decisions made with the model",
    "Findings and incidents", "Logging and retention", "Sign-offs", "Integrity attestation",
)

# Long tables stop here in the documents; the JSON evidence keeps every row.
ROW_CAP = 200
# Hex characters of a SHA-256 shown in tables (the rest is in a tooltip in HTML and in the JSON).
HASH_SHOWN = 16


@dataclass(frozen=True, slots=True)
class Badge:
    """A short coloured label; tone is one of good, bad, warn, info, neutral."""

    text: str
    tone: str = "neutral"


@dataclass(frozen=True, slots=True)
class Hash:
    """A hex digest shown shortened; the renderer decides how the full value stays reachable."""

    value: str


@dataclass(frozen=True, slots=True)
class Mono:
    """Text set in the monospace face (identifiers, fingerprints, full digests)."""

    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    """Text set in bold (the title of a finding above its description)."""

    text: str


@dataclass(frozen=True, slots=True)
class Lines:
    """Several cells stacked in one table cell (e.g. a dataset's name over its hash)."""

    items: tuple[Any, ...]


Cell = str | Badge | Hash | Mono | Strong | Lines | None


def fmt_time(iso: str | None, *, seconds: bool = False) -> str:
    """'2026-05-28T03:37:14.379629Z' -> '2026-05-28 03:37' (all times in the evidence are UTC)."""
    if not iso:
        return "—"
    text = iso.replace("T", " ")
    return text[:19] if seconds else text[:16]


def fmt_date(iso: str | None) -> str:
    return iso[:10] if iso else "—"


def fmt_num(value: Any) -> str:
    """Metrics and thresholds: four decimals below 10, two (with separators) above; ints as ints."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else dash(value)


def fmt_bytes(size: Any) -> str:
    if not isinstance(size, int):
        return "—"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return "—"  # unreachable; keeps type checkers content


def dash(value: Any) -> str:
    """Any value as text; None and empty strings as an em dash so blank cells never look like omissions."""
    if value is None:
        return "—"
    text = str(value).strip()
    return text or "—"


def short_hash(value: str | None) -> str:
    return f"{value[:HASH_SHOWN]}…" if value and len(value) > HASH_SHOWN else (value or "—")


_SEVERITY = {"high": "bad", "medium": "warn", "low": "info", "none": "neutral"}
_STATUS = {
    "in_use": ("in use", "good"), "development": ("development", "info"), "retired": ("retired", "neutral"),
    "production": ("production", "good"), "staging": ("staging", "info"), "archived": ("archived", "neutral"),
    "open": ("open", "warn"), "acknowledged": ("acknowledged", "info"), "resolved": ("resolved", "good"),
    "closed": ("closed", "good"), "approved": ("approved", "good"), "rejected": ("rejected", "bad"),
    "pending": ("pending", "warn"), "missing": ("missing", "bad"), "passed": ("passed", "good"),
    "approved_with_conditions": ("conditional", "warn"),  # short: it sits in a narrow column
    "overridden": ("overridden", "warn"), "rollback": ("rollback", "info"), "failed": ("failed", "bad"),
    "deployment": ("deployment", "good"), "retirement": ("retirement", "neutral"),
    "stage change": ("stage change", "info"), "accepted": ("accepted", "good"), "signed": ("signed", "good"),
}


def severity_badge(severity: str | None) -> Badge | str:
    if not severity:
        return "—"
    return Badge(severity, _SEVERITY.get(severity, "neutral"))


def status_badge(status: str | None) -> Badge | str:
    if not status:
        return "—"
    text, tone = _STATUS.get(status, (status.replace("_", " "), "neutral"))
    return Badge(text, tone)


def yes_no_badge(value: bool | None, yes: str = "yes", no: str = "no", *, yes_good: bool = True) -> Badge:
    if value is None:
        return Badge("—", "neutral")
    good = value if yes_good else not value
    return Badge(yes if value else no, "good" if good else "bad")


_KINDS = {
    "card_field": "Model card", "validation": "Validation", "review_due": "Review due",
    "datasheet": "Datasheet", "alert_overdue": "Alert overdue", "alert_late": "Alert resolved late",
    "finding_overdue": "Finding overdue", "gate_override": "Gate override", "monitoring": "Monitoring",
    "log": "Audit log",
}


def kind_label(kind: str) -> str:
    return _KINDS.get(kind, kind.replace("_", " ").capitalize())


def cap_rows(rows: list, cap: int = ROW_CAP) -> tuple[list, int]:
    """The first `cap` rows and how many were left out."""
    return (rows, 0) if len(rows) <= cap else (rows[:cap], len(rows) - cap)


def more_note(more: int, what: str = "rows") -> str:
    return f"{more:,} more {what} in the JSON evidence."


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
