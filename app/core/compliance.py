"""Compliance records: findings (incidents), sign-off reviews, model-card fields and report gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["FindingStatus", "ReviewOutcome", "ReviewRole", "Finding", "Review", "CardField", "CARD_FIELDS",
           "DATASHEET_FIELDS", "past_due"]


class FindingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReviewRole(StrEnum):
    VALIDATOR = "validator"
    OWNER = "owner"


class ReviewOutcome(StrEnum):
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    model_name: str
    title: str
    description: str
    severity: str
    versions: tuple[int, ...]
    status: FindingStatus
    root_cause: str
    corrective_action: str
    alert_id: int | None
    due_at: datetime | None
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    model_name: str
    version: int | None
    role: ReviewRole
    outcome: ReviewOutcome
    note: str
    reviewer: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CardField:
    key: str
    label: str
    required: bool  # an empty required field is a gap in every report
    multiline: bool = True


# The model card (Mitchell et al.) as the registry keeps it; `description` is the model's purpose.
CARD_FIELDS: tuple[CardField, ...] = (
    CardField("description", "Purpose", True),
    CardField("intended_use", "Intended use", True),
    CardField("out_of_scope_use", "Out-of-scope use", True),
    CardField("limitations", "Limitations", True),
    CardField("ethical_considerations", "Ethical considerations", True),
    CardField("owner", "Owner", True, multiline=False),
    CardField("validator", "Validator", True, multiline=False),
)

# The short datasheet a training dataset carries.
DATASHEET_FIELDS: tuple[CardField, ...] = (
    CardField("description", "Description", True),
    CardField("source", "Source", True),
    CardField("limitations", "Known limitations", False),
)


def past_due(day: datetime | None, now: datetime) -> bool:
    """A due or review date is met until the end of that day (dates are stored as their midnight, UTC)."""
    from datetime import UTC, timedelta

    if day is None:
        return False
    day = day if day.tzinfo else day.replace(tzinfo=UTC)
    return day + timedelta(days=1) <= now
