"""Five-field cron expressions (Vixie semantics, evaluated in UTC): parse, validate, next due time."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.errors import InvalidInputError

__all__ = ["CronSpec", "parse_cron", "next_due", "FIELD_NAMES"]

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # day-of-week 7 is Sunday, as 0
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_NAMES = (None, None, None, _MONTHS, _DAYS)
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
# A satisfiable expression matches within one 400-year Gregorian cycle (weekdays and leap years repeat).
_SEARCH_YEARS = 401


@dataclass(frozen=True, slots=True)
class CronSpec:
    """The allowed values of each field; `dom_star` / `dow_star` record a field written as `*...`.

    As in Vixie cron, when both day fields are restricted a day matches if EITHER matches; when
    either starts with `*`, both must match (so `*` in one simply defers to the other).
    """

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    dom_star: bool
    dow_star: bool

    def day_matches(self, year: int, month: int, day: int) -> bool:
        weekday = (calendar.weekday(year, month, day) + 1) % 7  # Python: Monday = 0
        dom, dow = day in self.days, weekday in self.weekdays
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def _bad(expression: str, index: int, text: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"Bad cron expression '{expression}': the {FIELD_NAMES[index]} field '{text}' {why}.",
        hint="Five fields: minute hour day-of-month month day-of-week, e.g. '0 6 * * 1' (Mondays 06:00 UTC).")


def _value(token: str, index: int, expression: str, field: str) -> int:
    names = _NAMES[index]
    lowered = token.lower()
    if names and lowered in names:
        return names[lowered]
    if not token.isdigit():
        raise _bad(expression, index, field, f"has '{token}', which is not a number" + (" or a name" if names else ""))
    number = int(token)
    low, high = _BOUNDS[index]
    if not low <= number <= high:
        raise _bad(expression, index, field, f"has the value {number}, outside {low}–{high}")
    return number


def _field(text: str, index: int, expression: str) -> set[int]:
    low, high = _BOUNDS[index]
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise _bad(expression, index, text, "has an empty list item")
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _bad(expression, index, text, f"has the step '{step_text}', which is not a positive number")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            start, _, end = body.partition("-")
            first, last = _value(start, index, expression, text), _value(end, index, expression, text)
            if first > last:
                raise _bad(expression, index, text, f"has the range {start}-{end}, which runs backwards")
        else:
            first = _value(body, index, expression, text)
            last = high if slash else first  # "5/15" means 5, 20, 35, 50 (as cronie reads it)
        values.update(range(first, last + 1, step))
    return values


def parse_cron(expression: str) -> CronSpec:
    """Parse `expression`; raises InvalidInputError naming the field that is wrong."""
    text = " ".join((expression or "").split())
    if text.lower() in _MACROS:
        text = _MACROS[text.lower()]
    elif text.startswith("@"):
        raise InvalidInputError(f"Bad cron expression '{expression}': unknown shortcut '{text}'.",
                                hint=f"Use five fields, or one of {', '.join(_MACROS)}.")
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise InvalidInputError(
            f"Bad cron expression '{expression}': expected 5 fields ({' '.join(FIELD_NAMES)}), got {len(fields)}.",
            hint="For example '*/15 * * * *' (every 15 minutes) or '0 6 * * 1' (Mondays 06:00 UTC).")
    sets = [_field(f, i, expression) for i, f in enumerate(fields)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return CronSpec(expression=text, minutes=tuple(sorted(sets[0])), hours=tuple(sorted(sets[1])),
                    days=frozenset(sets[2]), months=tuple(sorted(sets[3])), weekdays=weekdays,
                    dom_star=fields[2].startswith("*"), dow_star=fields[4].startswith("*"))


def next_due(cron: str | CronSpec, after: datetime) -> datetime:
    """The first minute strictly after `after` that `cron` matches, as an aware UTC datetime.

    Naive `after` is taken as UTC. Raises InvalidInputError for an expression that never matches
    a real date (e.g. 30 February).
    """
    spec = cron if isinstance(cron, CronSpec) else parse_cron(cron)
    moment = after.replace(tzinfo=UTC) if after.tzinfo is None else after.astimezone(UTC)
    t = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for year in range(t.year, t.year + _SEARCH_YEARS):
        for month in spec.months:
            if (year, month) < (t.year, t.month):
                continue
            this_month = (year, month) == (t.year, t.month)
            for day in range(t.day if this_month else 1, calendar.monthrange(year, month)[1] + 1):
                if not spec.day_matches(year, month, day):
                    continue
                today = this_month and day == t.day
                for hour in spec.hours:
                    if today and hour < t.hour:
                        continue
                    for minute in spec.minutes:
                        if today and hour == t.hour and minute < t.minute:
                            continue
                        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    raise InvalidInputError(f"The cron expression '{spec.expression}' never matches a real date.",
                            hint="Check the day-of-month and month fields (e.g. 30 February never comes).")
