"""Plain helpers for the officer registry and governance tests: officers, and exchange-log
histories of their look-ups written as the gateway writes them (``ExchangeLog.build``)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update

from connectors.dancu import officers
from connectors.dancu.tables import Officer
from gateway.core.local_time import TZ
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry

UNIT_A = "UBND xã Tân Lập"
UNIT_B = "UBND phường Hà Cầu"


def id_number(n: int) -> str:
    """A structurally valid ID number: Hà Nội (001), male born 1990, serial ``n``."""
    return f"001090{n:06d}"


def password(n: int) -> str:
    return f"Pw-{n:03d}-quite-secret!"


def officer_fields(n: int, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tai_khoan": f"canbo.{n:03d}",
        "ma_can_bo": f"CB{n:04d}",
        "ho_ten": "Nguyễn Văn An",
        "so_dinh_danh": id_number(n),
        "don_vi": UNIT_A,
        "muc_dich": "Xác minh nhân thân người nộp hồ sơ hộ tịch",
        "platform_username": f"user{n:03d}",
        "platform_password": password(n),
    }
    fields.update(overrides)
    return fields


async def register_officer(gw: Gateway, n: int, **overrides: Any) -> officers.OfficerView:
    return await officers.register(
        db=gw.db, cipher=gw.cipher, actor="test", **officer_fields(n, **overrides)
    )


async def backdate(gw: Gateway, login: str, at: datetime) -> None:
    """Pretend the officer was registered (and active) since ``at``."""
    async with gw.db.transaction() as session:
        await session.execute(
            update(Officer)
            .where(Officer.tai_khoan == login)
            .values(registered_at=at, active_since=at)
        )


def local_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=TZ).astimezone(UTC)


def lookup(
    gw: Gateway,
    login: str | None,
    at: datetime,
    *,
    outcome: str = "answered",
    operation: str = "lookup_citizen",
    kind: str = "inbound",
    connector: str | None = "dancu",
) -> ExchangeEntry:
    """One exchange-log entry, as the look-up routes (or the refusal handler) write it."""
    return gw.log.build(
        Crossing(
            kind=kind,
            operation=operation,
            outcome=outcome,
            connector=connector,
            client="mot-cua-tinh",
            officer_id=login,
            purpose="1.001776 000.00.01.H22-240105-0001",
            ma_ho_so="000.00.01.H22-240105-0001",
            started_at=at,
            finished_at=at + timedelta(milliseconds=40),
        )
    )


def daily_lookups(
    gw: Gateway, login: str, counts: Sequence[int], *, last_day: date
) -> list[ExchangeEntry]:
    """``counts[i]`` look-ups on each day, the last one on ``last_day``, spread over the day."""
    entries = []
    first = last_day - timedelta(days=len(counts) - 1)
    for i, count in enumerate(counts):
        start = datetime.combine(first + timedelta(days=i), time(7), tzinfo=TZ).astimezone(UTC)
        entries += [lookup(gw, login, start + timedelta(seconds=37 * k)) for k in range(count)]
    return entries


def random_counts(seed: int, days: int, low: int, high: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(days)]


async def insert(gw: Gateway, entries: Iterable[ExchangeEntry]) -> None:
    async with gw.db.transaction() as session:
        session.add_all(list(entries))
