"""Việt Nam's calendar for the gateway's reports: the local day of an instant, a day's and a
month's bounds as UTC instants (Asia/Ho_Chi_Minh, no daylight saving)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from gateway.core.errors import FieldError, InvalidInput

__all__ = ["TZ", "day_start", "local_day", "month_bounds"]

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def local_day(at: datetime) -> date:
    """The day in Việt Nam at the instant ``at``."""
    return at.astimezone(TZ).date()


def day_start(day: date) -> datetime:
    """Local midnight opening ``day``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in local time, as UTC instants."""
    m = _MONTH.match(month or "")
    if m is None:
        raise InvalidInput(
            f"invalid month {month!r}", errors=[FieldError("month", "YYYY-MM, e.g. 2026-03")]
        )
    year, number = int(m.group(1)), int(m.group(2))
    first = date(year, number, 1)
    after = date(year + number // 12, number % 12 + 1, 1)
    return day_start(first), day_start(after)
