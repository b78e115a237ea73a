"""Years before 1000 are written with four digits on every wire (issue 15)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas import payment, postal
from schemas.wire_time import wire_format


def test_years_are_four_digits() -> None:
    assert wire_format(date(584, 10, 23), "%Y%m%d") == "05841023"
    assert wire_format(date(584, 10, 23), "%d/%m/%Y") == "23/10/0584"
    assert wire_format(datetime(9, 1, 2, 3, 4, 5), "%Y%m%d%H%M%S") == "00090102030405"
    assert wire_format(date(2026, 3, 1), "%Y-%m") == "2026-03"


def test_the_packets_write_padded_years() -> None:
    early = datetime(584, 10, 23, 12, 0, tzinfo=UTC)
    assert payment.wire_day(date(584, 10, 23)) == "05841023"
    assert payment.wire_time(early).startswith("0584")
    assert postal.wire_day(date(584, 10, 23)) == "05841023"
