"""Việt Nam's calendar for the gateway's reports: the local day of an instant, a day's and a
month's bounds as UTC instants (Asia/Ho_Chi_Minh, no daylight saving)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from gateway.core.errors import FieldError, InvalidInput

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "TZ",
    "check_day",
    "day_start",
    "local_day",
    "month_bounds",
    "parse_day",
    "period_bounds",
    "quarter_bounds",
]

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

#: the days a report, a statement or a review may be asked for: days the platforms can answer
#: for, and far enough from year 1 and year 9999 that every day and month computed from them
#: exists (issue 15: ``9999-12-31`` and ``0000-01`` were 500s)
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def local_day(at: datetime) -> date:
    """The day in Việt Nam at the instant ``at``."""
    return at.astimezone(TZ).date()


def day_start(day: date) -> datetime:
    """Local midnight opening ``day``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


def _out_of_range(field: str, text: str) -> InvalidInput:
    span = f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
    return InvalidInput(
        f"{field} {text} is outside {span}", errors=[FieldError(field, f"must be within {span}")]
    )


def check_day(day: date, field: str = "date") -> date:
    """``day`` when it lies within :data:`FIRST_DAY` .. :data:`LAST_DAY`, else
    :class:`InvalidInput` naming ``field``."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _out_of_range(field, day.isoformat())
    return day


def parse_day(text: str, field: str = "date") -> date:
    """A ``YYYY-MM-DD`` day within range (no other ISO form), or :class:`InvalidInput`."""
    if _DAY.match(text or "") is None:
        raise InvalidInput(
            f"invalid {field} {text!r}", errors=[FieldError(field, "YYYY-MM-DD, e.g. 2026-03-31")]
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"invalid {field} {text!r}", errors=[FieldError(field, "no such day")]
        ) from None
    return check_day(day, field)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in local time, as UTC instants; a month outside
    :data:`FIRST_DAY` .. :data:`LAST_DAY` is :class:`InvalidInput` naming ``month``."""
    m = _MONTH.match(month or "")
    if m is None:
        raise InvalidInput(
            f"invalid month {month!r}", errors=[FieldError("month", "YYYY-MM, e.g. 2026-03")]
        )
    year, number = int(m.group(1)), int(m.group(2))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise _out_of_range("month", month)
    first = date(year, number, 1)
    after = date(year + number // 12, number % 12 + 1, 1)
    return day_start(first), day_start(after)


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-Qn`` quarter in local time, as UTC instants (the quarterly
    reports of seed 004, Điều 29.8.b); anything else is :class:`InvalidInput` naming
    ``quarter``."""
    m = _QUARTER.match(quarter or "")
    if m is None:
        raise InvalidInput(
            f"invalid quarter {quarter!r}",
            errors=[FieldError("quarter", "YYYY-Qn, e.g. 2026-Q4")],
        )
    year, number = int(m.group(1)), int(m.group(2))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise _out_of_range("quarter", quarter)
    first = date(year, 3 * number - 2, 1)
    after = date(year + number // 4, 3 * number % 12 + 1, 1)
    return day_start(first), day_start(after)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """A month (``YYYY-MM``) or a quarter (``YYYY-Qn``)."""
    return quarter_bounds(period) if "Q" in (period or "") else month_bounds(period)
