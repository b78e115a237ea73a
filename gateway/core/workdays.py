"""Working days in Việt Nam, for answer deadlines (see :class:`~gateway.core.settings.
CalendarSettings`).

A deadline of ``n`` working days counts from the day after receipt: the first working day
after the day something was received is day 1, and the answer is due by the end of day ``n``
(local time, Asia/Ho_Chi_Minh). Something received on a Saturday or a holiday is counted the
same way, from the next working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone

__all__ = ["FIXED_HOLIDAYS", "VN", "WorkCalendar"]

VN = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
#: the fixed-date public holidays of the Labour Code 2019, Art. 112: (month, day)
FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (4, 30), (5, 1), (9, 2)})
_WEEKEND = frozenset({5, 6})  # Saturday, Sunday


class WorkCalendar:
    def __init__(self, holidays: Iterable[date] = (), working_days: Iterable[date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._working = frozenset(working_days)

    def is_working_day(self, day: date) -> bool:
        if day in self._working:
            return True
        if day.weekday() in _WEEKEND or day in self._holidays:
            return False
        return (day.month, day.day) not in FIXED_HOLIDAYS

    def due_date(self, received: datetime, working_days: int) -> date:
        """The local day by whose end an answer to what was received at ``received`` is due."""
        if received.tzinfo is None:
            raise ValueError("received must be timezone-aware")
        day = received.astimezone(VN).date()
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    @staticmethod
    def end_of(day: date) -> datetime:
        """The last moment of ``day``, local time (aware)."""
        return datetime.combine(day, time(23, 59, 59), tzinfo=VN)
