"""UTC timestamps in one canonical text form (used in hashes, so it must never vary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

__all__ = ["utcnow", "to_iso", "from_iso", "parse_user_date", "use_clock"]

_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Aware UTC now (or the time of a clock installed by `use_clock`)."""
    return _clock() if _clock is not None else datetime.now(UTC)


@contextmanager
def use_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Let every timestamp come from `clock` for a while; used to build dated demo history."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield
    finally:
        _clock = previous


def to_iso(moment: datetime) -> str:
    """Canonical text: `2026-11-25T23:37:56.123456Z` (always microseconds, always UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """Inverse of `to_iso` (also accepts any ISO 8601 form)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_user_date(text: str, *, end_of_day: bool = False) -> datetime:
    """Parse a date or date-time typed by a person; a bare date means its start (or end) in UTC."""
    from app.core.errors import InvalidInputError

    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"'{text}' is not a date.", hint="Use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
