"""The gateway's own maintenance and upgrades (issue 18): announced 2 and 5 working days ahead
(seed 003, Điều 9.3 and 10.4), shorter notice only when urgent with its reason recorded,
published as events and at the public ``GET /v1/status``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.core.maintenance import earliest_start
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, utcnow
from gateway.core.workdays import VN, WorkCalendar
from tests.conftest import bearer, serving

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=VN)


def at(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 12, day, hour, minute, tzinfo=VN).isoformat()


@pytest.fixture
def monday(gateway: Gateway) -> None:
    gateway.maintenance.clock = lambda: MONDAY


def test_the_notice_counts_working_days() -> None:
    calendar = WorkCalendar()
    # announced on Monday: Tuesday and Wednesday are the 2 working days of notice
    assert earliest_start(calendar, MONDAY, "maintenance") == datetime(
        2026, 12, 10, 0, 0, tzinfo=VN
    )
    # an upgrade: Tuesday to the next Monday, so from Tuesday the 15th
    assert earliest_start(calendar, MONDAY, "upgrade") == datetime(2026, 12, 15, 0, 0, tzinfo=VN)
    # announced on Friday: the weekend does not count
    friday = datetime(2026, 12, 11, 16, 0, tzinfo=VN)
    assert earliest_start(calendar, friday, "maintenance") == datetime(
        2026, 12, 16, 0, 0, tzinfo=VN
    )
    # nor a holiday of the calendar
    holiday = WorkCalendar(holidays=[datetime(2026, 12, 8).date()])
    assert earliest_start(holiday, MONDAY, "maintenance") == datetime(2026, 12, 11, 0, 0, tzinfo=VN)


async def schedule(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.post("/v1/maintenance", json={"scope": "gateway", **body}, headers=headers)


async def test_short_notice_is_refused_unless_urgent_and_notices_are_published(
    gateway: Gateway, monday: None
) -> None:
    async with serving(gateway) as api:
        admin = await bearer(gateway, "ops:admin", "events:read")
        # one working day's notice: refused, the field and the earliest start named
        short = await schedule(
            api, admin, **{"from": at(8, 22), "to": at(9, 2)}, reason="Nâng cấp máy chủ"
        )
        assert short.status_code == 422, short.text
        problem = short.json()
        assert problem["errors"] == [{"loc": "from", "msg": "at least 2 working days ahead"}]
        assert "2026-12-10T00:00:00+07:00" in problem["detail"]
        # an upgrade on Friday is too soon too (5 working days)
        soon = await schedule(
            api,
            admin,
            kind="upgrade",
            **{"from": at(11, 22), "to": at(12, 2)},
            reason="Nâng cấp phiên bản",
        )
        assert soon.status_code == 422

        # with enough notice: accepted, public, an event
        valid = await schedule(
            api,
            admin,
            **{"from": at(10, 22), "to": at(11, 1, 30)},
            reason="Bảo trì định kỳ hệ thống",
        )
        assert valid.status_code == 201, valid.text
        # urgent: accepted with less notice, the reason recorded
        urgent = await schedule(
            api,
            admin,
            urgent=True,
            **{"from": at(7, 23), "to": at(8, 0, 30)},
            reason="Vá lỗ hổng bảo mật khẩn cấp",
        )
        assert urgent.status_code == 201, urgent.text
        assert urgent.json()["urgent"] is True

        status = await api.get("/v1/status")  # no key needed
        assert status.status_code == 200
        body = status.json()
        assert body["status"] == "operational"
        assert [w["reason"] for w in body["gateway"]["upcoming"]] == [
            "Vá lỗ hổng bảo mật khẩn cấp",
            "Bảo trì định kỳ hệ thống",
        ]
        assert set(body["platforms"]) == set(gateway.specs)

        inbox = (await api.get("/v1/events", headers=admin)).json()["events"]
        scheduled = [e for e in inbox if e["type"] == "gateway.maintenance.scheduled"]
        assert len(scheduled) == 2

        # during the urgent window, the status says so
        gateway.maintenance.clock = lambda: datetime(2026, 12, 8, 0, 0, tzinfo=VN)
        now = (await api.get("/v1/status")).json()
        assert now["status"] == "maintenance"
        assert now["gateway"]["current"]["reason"] == "Vá lỗ hổng bảo mật khẩn cấp"

    async with gateway.db.reading() as session:
        decisions = (
            await session.execute(
                select(ExchangeEntry.operation, ExchangeEntry.purpose, ExchangeEntry.detail).where(
                    ExchangeEntry.kind == "decision"
                )
            )
        ).all()
    assert [(op, reason) for op, reason, _ in decisions] == [
        ("maintenance:scheduled", "Bảo trì định kỳ hệ thống"),
        ("maintenance:scheduled", "Vá lỗ hổng bảo mật khẩn cấp"),
    ]
    assert decisions[1][2].endswith("(urgent)")


async def test_the_cli_refuses_short_notice_without_urgent(gateway: Gateway) -> None:
    env = {"LGSP_DATABASE_URL": gateway.settings.database_url, "LGSP_ENVIRONMENT": "test"}
    runner = CliRunner()

    async def lgsp(*args: str) -> Any:
        return await asyncio.to_thread(runner.invoke, main, list(args), env=env)

    soon = (utcnow() + timedelta(hours=2)).astimezone(VN)
    window = ["--from", soon.isoformat(), "--to", (soon + timedelta(hours=2)).isoformat()]
    refused = await lgsp("maintenance", "add", "gateway", *window, "--reason", "Nâng cấp")
    assert refused.exit_code != 0
    assert "working days' notice" in refused.output
    done = await lgsp(
        "maintenance", "add", "gateway", *window, "--urgent", "--reason", "Sự cố khẩn cấp"
    )
    assert done.exit_code == 0, done.output
    assert "urgent" in done.output
    later = (utcnow() + timedelta(days=10)).astimezone(VN).replace(tzinfo=None)
    planned = await lgsp(
        "maintenance",
        "add",
        "gateway",
        "--from",
        later.isoformat(timespec="minutes"),  # no offset: Việt Nam time
        "--to",
        (later + timedelta(hours=3)).isoformat(timespec="minutes"),
        "--reason",
        "Bảo trì định kỳ",
    )
    assert planned.exit_code == 0, planned.output
    listed = await lgsp("maintenance", "list")
    assert "Sự cố khẩn cấp" in listed.output
    assert "Bảo trì định kỳ" in listed.output
    assert f"{later:%Y-%m-%d %H:%M}" in listed.output
