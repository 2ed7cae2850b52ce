"""Model cards and dataset datasheets: edit every field (clearing included), audited field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.compliance import CARD_FIELDS, DATASHEET_FIELDS
from app.core.entities import RiskTier
from app.core.errors import InvalidInputError, NotFoundError
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.queries import model_row
from app.store.orm import SqlDataset
from app.store.workspace import Workspace

__all__ = ["set_model_card", "describe_dataset", "parse_review_date", "CARD_KEYS"]

CARD_KEYS = tuple(f.key for f in CARD_FIELDS) + ("risk_tier", "tags", "next_review_at")
_LIMITS = {"owner": 128, "validator": 128}


def parse_review_date(value: str | date | datetime | None) -> datetime | None:
    """'2027-03-31' (or a date) → midnight UTC of that day; '' or None clears the date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    try:
        return datetime.combine(date.fromisoformat(str(value).strip()), time(), tzinfo=UTC)
    except ValueError:
        raise InvalidInputError(f"'{value}' is not a date.", hint="Write it as YYYY-MM-DD, e.g. 2027-03-31.") from None


def _clean(key: str, value: Any) -> Any:
    if key == "tags":
        tags = [t.strip() for t in (value.split(",") if isinstance(value, str) else value or ()) if t.strip()]
        return sorted(dict.fromkeys(tags))
    if key == "next_review_at":
        moment = parse_review_date(value)
        return moment.replace(tzinfo=None) if moment else None
    text = "" if value is None else str(value).strip()
    if key == "risk_tier" and text not in {t.value for t in RiskTier}:
        raise InvalidInputError(f"Risk tier must be low, medium or high, not '{text}'.")
    if key in _LIMITS and len(text) > _LIMITS[key]:
        raise InvalidInputError(f"The {key} is longer than {_LIMITS[key]} characters.")
    return text


def _show(value: Any) -> Any:
    return value.date().isoformat() if isinstance(value, datetime) else value


def set_model_card(ws: Workspace, name: str, values: dict[str, Any], *, actor: str | None = None) -> dict:
    """Set exactly the given card fields (an empty string clears one); returns the changes made.

    Keys: description (the purpose), intended_use, out_of_scope_use, limitations,
    ethical_considerations, owner, validator, risk_tier, tags, next_review_at ('YYYY-MM-DD' or '').
    """
    unknown = sorted(set(values) - set(CARD_KEYS))
    if unknown:
        raise InvalidInputError(f"Unknown model card field(s): {', '.join(unknown)}.",
                                hint=f"Known: {', '.join(CARD_KEYS)}.")
    cleaned = {key: _clean(key, value) for key, value in values.items()}
    actor = actor or current_actor()

    def work(session: Session) -> dict:
        model = model_row(session, name)
        changes = {}
        for key, new in cleaned.items():
            old = getattr(model, key)
            if key == "tags":
                old = list(old or [])
            if new != old:
                changes[key] = {"from": _show(old), "to": _show(new)}
                setattr(model, key, new)
        if changes:
            model.updated_at, model.updated_by = utcnow(), actor
            append_event(session, "model.updated", f"model:{name}", model=name, actor=actor, details=changes)
        return changes

    return ws.db.write(work)


def describe_dataset(ws: Workspace, ref: str, values: dict[str, str], *, actor: str | None = None) -> dict:
    """Set a dataset's datasheet fields (description, source, limitations); `ref` is a hash or its prefix."""
    keys = {f.key for f in DATASHEET_FIELDS}
    unknown = sorted(set(values) - keys)
    if unknown:
        raise InvalidInputError(f"Unknown datasheet field(s): {', '.join(unknown)}.", hint=f"Known: {', '.join(sorted(keys))}.")
    ref = (ref or "").strip().lower()
    if len(ref) < 6:
        raise InvalidInputError("Give at least the first 6 characters of the dataset's hash.")
    actor = actor or current_actor()

    def work(session: Session) -> dict:
        rows = session.scalars(select(SqlDataset).where(SqlDataset.sha256.startswith(ref)).limit(2)).all()
        if not rows:
            raise NotFoundError(f"No dataset whose hash starts with '{ref}'.", hint="`steward dataset list` shows them.")
        if len(rows) > 1:
            raise InvalidInputError(f"'{ref}' matches more than one dataset.", hint="Give more of the hash.")
        row = rows[0]
        changes = {}
        for key, value in values.items():
            new = (value or "").strip()
            if new != (getattr(row, key) or ""):
                changes[key] = {"from": getattr(row, key) or "", "to": new}
                setattr(row, key, new)
        if changes:
            append_event(session, "dataset.described", f"dataset:{row.sha256}", actor=actor,
                         details={"name": row.name, **changes})
        return changes

    return ws.db.write(work)
