"""Working days for answer deadlines: weekends, the fixed public holidays, configured
holidays (Tết), and Saturdays worked in exchange."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from gateway.core.workdays import VN, WorkCalendar

TET_2026 = [date(2026, 2, d) for d in range(16, 21)]


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=VN)


@pytest.mark.parametrize(
    ("received", "holidays", "working", "due"),
    [
        # Mon -> two weeks later, nothing in between
        (at(2026, 3, 2), [], [], date(2026, 3, 16)),
        # 30/4 and 1/5 (fixed by law) and the weekend are skipped
        (at(2026, 4, 28), [], [], date(2026, 5, 14)),
        # across Tết (configured): 13/2 is day 1, then nothing until 23/2
        (at(2026, 2, 12), TET_2026, [], date(2026, 3, 5)),
        # ... and a Saturday worked in exchange counts
        (at(2026, 2, 5), TET_2026, [date(2026, 2, 7)], date(2026, 2, 25)),
        # received on a Saturday: counted from Monday
        (at(2026, 3, 7), [], [], date(2026, 3, 20)),
        # 2/9 (fixed) on a Wednesday: received Friday 28/8, due Monday 14/9
        (at(2026, 8, 28), [], [], date(2026, 9, 14)),
    ],
)
def test_ten_working_days(
    received: datetime, holidays: list[date], working: list[date], due: date
) -> None:
    assert WorkCalendar(holidays, working).due_date(received, 10) == due


def test_a_late_evening_utc_time_is_the_next_local_day() -> None:
    from datetime import UTC

    # 18:30 UTC on Sunday 1 March is 01:30 on Monday 2 March in Việt Nam
    sunday_utc = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    assert WorkCalendar().due_date(sunday_utc, 1) == date(2026, 3, 3)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        WorkCalendar().due_date(datetime(2026, 3, 2), 10)


def test_end_of_day_is_local() -> None:
    assert WorkCalendar.end_of(date(2026, 3, 16)).isoformat() == "2026-03-16T23:59:59+07:00"
