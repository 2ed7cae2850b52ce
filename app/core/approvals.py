"""Plain records of promotion requests (separation of duties) and of what a promotion did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.core.entities import Stage, StageChange

__all__ = ["ApprovalStatus", "Approval", "Promotion"]


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Approval:
    """A request to move a version to Production and the second person's decision on it."""

    id: int
    model_name: str
    version: int
    version_stage: Stage  # where the version is now
    status: ApprovalStatus
    reason: str  # the requester's reason, kept in the stage change when approved
    override: str | None  # the requester's rationale for overriding a failed gate, if the request does
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    rationale: str | None  # why it was approved, rejected or withdrawn
    gate: dict[str, Any] | None = None  # the version's recorded gate result (None: registered by hand)


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion did: the stage moves made, or the approval request it became instead."""

    moves: list[StageChange] = field(default_factory=list)
    approval: Approval | None = None

    @property
    def pending(self) -> bool:
        return self.approval is not None and self.approval.status is ApprovalStatus.PENDING
