"""Availability evidence (issue 18): a month with a planted outage, a blip and a maintenance
window, read back from the exchange log by ``lgsp report availability`` and the API."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.core.availability import availability
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import MaintenanceWindow
from gateway.core.workdays import VN
from tests.conftest import bearer

NOVEMBER = datetime(2026, 11, 1, tzinfo=VN)
OUTAGE_START = datetime(2026, 11, 3, 10, 0, tzinfo=VN)
OUTAGE_END = datetime(2026, 11, 3, 13, 30, tzinfo=VN)  # 3 h 30 min
WINDOW = (datetime(2026, 11, 20, 22, 0, tzinfo=VN), datetime(2026, 11, 21, 2, 0, tzinfo=VN))


def attempt(gw: Gateway, at: datetime, status: int | None, connector: str = "dvcqg") -> Any:
    outcome = "error:ConnectTimeout" if status is None else f"http-{status}"
    if status is not None and status < 400:
        outcome = "answered"
    return gw.log.build(
        Crossing(
            kind="attempt",
            operation="sync_dossier",
            outcome=outcome,
            connector=connector,
            started_at=at.astimezone(),
            finished_at=at.astimezone() + timedelta(milliseconds=200),
            status_code=status,
        )
    )


@pytest.fixture
async def planted(gateway: Gateway) -> Gateway:
    """November: answered every 30 min; from 10:00 to 13:30 on the 3rd, 503 then timeouts
    every 5 min (the breaker's probes), answered again at 13:30; one lone 500 on the 10th (a
    blip); a 4-hour maintenance window on the 20th, during which two attempts failed; the
    population database answered all month."""
    rows = []
    at = NOVEMBER
    while at < NOVEMBER + timedelta(days=30):
        if not OUTAGE_START <= at < OUTAGE_END:
            rows.append(attempt(gateway, at, 200))
            rows.append(attempt(gateway, at, 200, connector="dancu"))
        at += timedelta(minutes=30)
    probe = OUTAGE_START
    while probe < OUTAGE_END:
        first_hour = probe < OUTAGE_START + timedelta(hours=1)
        rows.append(attempt(gateway, probe, 503 if first_hour else None))
        probe += timedelta(minutes=5)
    rows.append(attempt(gateway, datetime(2026, 11, 10, 9, 10, tzinfo=VN), 500))
    rows.append(attempt(gateway, WINDOW[0] + timedelta(minutes=10), 503))
    rows.append(attempt(gateway, WINDOW[0] + timedelta(minutes=20), 503))
    async with gateway.db.transaction() as session:
        session.add_all(rows)
        session.add(
            MaintenanceWindow(
                scope="dvcqg",
                kind="maintenance",
                starts_at=WINDOW[0],
                ends_at=WINDOW[1],
                reason="Cổng DVCQG bảo trì",
                urgent=False,
                source="api",
                created_by="tests",
                created_at=NOVEMBER,
            )
        )
    return gateway


async def test_the_planted_outage_has_its_duration_and_cause(planted: Gateway) -> None:
    dvcqg, dancu = await availability(planted.db, month="2026-11", connectors=["dvcqg", "dancu"])
    (outage,) = dvcqg.outages
    assert (outage.start, outage.end) == (OUTAGE_START, OUTAGE_END)
    assert outage.counted_seconds == 3.5 * 3600
    assert outage.cause == "error:ConnectTimeout"  # 30 of the 42 failures were timeouts
    assert outage.attempts == 42
    assert not outage.ongoing
    # the maintenance is apart: its 4 hours are neither available nor an outage (the two
    # failures inside it ended at the next answer, 22:30, all inside the window)
    assert dvcqg.maintenance_seconds == 4 * 3600
    month = 30 * 86400
    assert dvcqg.ratio == pytest.approx((month - 4 * 3600 - 3.5 * 3600) / (month - 4 * 3600))
    assert dvcqg.failed_attempts == 42 + 1 + 2
    assert (dancu.ratio, dancu.outages, dancu.maintenance) == (1.0, [], [])


async def test_the_report_by_the_cli_and_the_api(planted: Gateway, api: httpx.AsyncClient) -> None:
    env = {"LGSP_DATABASE_URL": planted.settings.database_url, "LGSP_ENVIRONMENT": "test"}
    runner = CliRunner()
    shown = await asyncio.to_thread(
        runner.invoke, main, ["report", "availability", "--month", "2026-11"], env=env
    )
    assert shown.exit_code == 0, shown.output
    assert "outage 2026-11-03 10:00:00 to 2026-11-03 13:30:00 (3 h 30 min)" in shown.stdout
    assert "maintenance 2026-11-20 22:00 to 2026-11-21 02:00: Cổng DVCQG bảo trì" in shown.stdout

    reader = await bearer(planted, "ops:read")
    answer = await api.get(
        "/v1/reports/availability",
        params={"month": "2026-11", "connector": "dvcqg", "format": "csv"},
        headers=reader,
    )
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["row"] for r in rows] == ["summary", "outage", "maintenance"]
    assert rows[1]["duration_seconds"] == "12600.0"
    as_json = await api.get("/v1/reports/availability", params={"month": "2026-11"}, headers=reader)
    body = as_json.json()
    assert {c["connector"] for c in body["connectors"]} == set(planted.specs)
    for bad in ({"month": "2026-13"}, {"month": "2099-01"}, {"connector": "nowhere"}):
        refused = await api.get("/v1/reports/availability", params=bad, headers=reader)
        assert refused.status_code in (404, 422), bad
        assert refused.headers["content-type"] == "application/problem+json"
