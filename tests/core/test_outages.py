"""Riding through outages (issue 18): a platform down for hours loses nothing and dead-letters
nothing; its maintenance windows hold its deliveries with no attempt and drain them after.

Time is a controllable clock (the outbox, the workers, the circuit breaker and the maintenance
windows read it): six hours pass in a few hundred delivery rounds, nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.dvcqg.sandbox import FaultConfig
from gateway.core.delivery import outbox, resilience, workers
from gateway.core.delivery.resilience import RetryPolicy
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, utcnow
from tests.conftest import bearer, serving
from tests.core.test_delivery import accept, all_items
from tests.factories import LIFE, LIFE_CODES, ma_ho_so


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(utcnow())
    monkeypatch.setattr(outbox, "utcnow", clock)
    monkeypatch.setattr(workers, "utcnow", clock)
    for breaker in gateway.breakers.values():
        monkeypatch.setattr(breaker, "clock", lambda: clock().timestamp())
    gateway.maintenance.clock = clock
    return clock


async def accept_lives(gateway: Gateway, dossiers: int) -> None:
    """Each dossier's whole life, six updates, queued at once."""
    for n in range(1, dossiers + 1):
        for state in LIFE:
            await accept(gateway, n, state)


async def rounds(gateway: Gateway, clock: Clock, *, hours: float, step: float = 300.0) -> int:
    """Delivery rounds every ``step`` seconds of the clock (the backoff's cap: every item
    is due again at each) for ``hours``; how many items were taken."""
    service = DeliveryService(gateway)
    leased = 0
    for _ in range(int(hours * 3600 / step)):
        clock.advance(seconds=step)
        while taken := await service.run_once():
            leased += taken
    return leased


async def attempts_toward(gateway: Gateway, connector: str) -> int:
    async with gateway.db.reading() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(ExchangeEntry)
                .where(ExchangeEntry.kind == "attempt", ExchangeEntry.connector == connector)
            )
            or 0
        )


async def test_a_six_hour_outage_ends_with_everything_delivered_in_order(
    gateway: Gateway, simulator: Any, clock: Clock
) -> None:
    # the production policy: no ceiling on attempts, 0.5 s doubling to 5 min, 72 h horizon
    gateway.retry = RetryPolicy(None, 0.5, 300.0)
    simulator.set_faults(FaultConfig(error_rate=1.0))  # the portal answers 503
    await accept_lives(gateway, 4)
    tried = await rounds(gateway, clock, hours=6)
    assert tried > 0  # the circuit breaker's probes went on throughout
    items = await all_items(gateway)
    assert {i.status for i in items} <= {"queued", "failed"}  # nothing dead
    simulator.set_faults(FaultConfig())  # back
    await rounds(gateway, clock, hours=0.5)
    items = await all_items(gateway)
    assert {i.status for i in items} == {"delivered"}
    for n in range(1, 5):
        assert simulator.dossiers[ma_ho_so(n)].history == list(LIFE_CODES), n
    assert simulator.stats.duplicates == 0


async def window(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.post("/v1/maintenance", json=body, headers=headers)


async def test_a_maintenance_window_holds_deliveries_with_no_attempt_then_drains(
    gateway: Gateway, simulator: Any, clock: Clock
) -> None:
    start = clock.now + timedelta(minutes=10)
    async with serving(gateway) as api:
        admin = await bearer(gateway, "ops:admin", "ops:read", "events:read", "dvcqg:read")
        made = await window(
            api,
            admin,
            scope="dvcqg",
            **{"from": start.isoformat(), "to": (start + timedelta(hours=4)).isoformat()},
            reason="Cổng DVCQG bảo trì định kỳ",
        )
        assert made.status_code == 201, made.text
        clock.advance(minutes=11)  # in the window
        await accept_lives(gateway, 2)
        before = await attempts_toward(gateway, "dvcqg")
        assert await rounds(gateway, clock, hours=3) == 0
        assert await attempts_toward(gateway, "dvcqg") == before  # zero attempts
        items = await all_items(gateway)
        assert {(i.status, i.attempts) for i in items} == {("queued", 0)}
        assert await gateway.breakers["dvcqg"].state() is resilience.CircuitState.CLOSED

        # a synchronous look-up is answered at once, 503 until the window's end
        lookup = await api.get(f"/v1/dvcqg/dossiers/{ma_ho_so(1)}", headers=admin)
        assert lookup.status_code == 503, lookup.text
        assert lookup.json()["type"] == "urn:lgsp:problem:platform-maintenance"
        assert 3500 <= int(lookup.headers["Retry-After"]) <= 3600
        health = (await api.get("/v1/connectors", headers=admin)).json()["connectors"]
        dvcqg = next(c for c in health if c["slug"] == "dvcqg")
        assert dvcqg["maintenance"]["reason"] == "Cổng DVCQG bảo trì định kỳ"
        metrics = (await api.get("/metrics")).text
        assert 'lgsp_connector_maintenance{connector="dvcqg"} 1.0' in metrics

        # the case systems are told it started...
        job = dict((j.name, j) for _, j in DeliveryService(gateway).periodic_jobs())
        assert await job["maintenance-announcements"].run() == 1
        # ...and when it ends, the queue drains in per-dossier order, and they are told
        assert await rounds(gateway, clock, hours=1.5) > 0
        assert {i.status for i in await all_items(gateway)} == {"delivered"}
        for n in (1, 2):
            assert simulator.dossiers[ma_ho_so(n)].history == list(LIFE_CODES), n
        assert await job["maintenance-announcements"].run() == 1
        events = (await api.get("/v1/events", headers=admin)).json()["events"]
        types = [e["type"] for e in events]
        assert types.index("connector.maintenance.started") < types.index(
            "connector.maintenance.ended"
        )
        assert "connector.maintenance.scheduled" in types


async def test_a_window_that_begins_mid_flight_holds_the_item_untried(
    gateway: Gateway, clock: Clock
) -> None:
    """Items taken just before the window opens are given back, not counted as failures."""
    from gateway.core.maintenance import Proposal, schedule_window

    await accept(gateway, 1)
    taken = await outbox.claim(gateway.db, owner="w", limit=10, lease_seconds=60)
    assert len(taken) == 1
    proposal = Proposal(
        scope="dvcqg",
        kind="maintenance",
        starts_at=clock.now - timedelta(seconds=1),
        ends_at=clock.now + timedelta(hours=1),
        reason="emergency maintenance of the portal",
    )
    await schedule_window(gateway, proposal, actor="tests", source="api")
    await DeliveryService(gateway).deliver(taken[0], "w")
    (held,) = await all_items(gateway)
    assert (held.status, held.attempts) == ("queued", 0)
    assert held.next_attempt_at is not None
    assert held.next_attempt_at.astimezone(UTC) == clock.now + timedelta(hours=1)


async def test_windows_are_checked_and_configured_ones_stored(
    gateway: Gateway, clock: Clock
) -> None:
    async with serving(gateway) as api:
        admin = await bearer(gateway, "ops:admin")
        for body, field in [
            ({"scope": "nowhere"}, "scope"),
            ({"kind": "upgrade"}, "kind"),  # upgrades are the gateway's own
            ({"to": clock.now.isoformat()}, "to"),  # ends before it starts
            ({"from": "2026-12-10T22:00:00"}, "from"),  # no time zone
        ]:
            request = {
                "scope": "dvcqg",
                "from": (clock.now + timedelta(hours=1)).isoformat(),
                "to": (clock.now + timedelta(hours=2)).isoformat(),
                "reason": "maintenance",
                **body,
            }
            refused = await window(api, admin, **request)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert field in refused.text
        reader = await bearer(gateway, "ops:read", name="reader")
        forbidden = await window(
            api,
            reader,
            scope="dvcqg",
            **{"from": clock.now.isoformat(), "to": (clock.now + timedelta(hours=1)).isoformat()},
            reason="maintenance",
        )
        assert forbidden.status_code == 403
        assert (await api.get("/v1/maintenance", headers=reader)).json() == {
            "active": [],
            "upcoming": [],
        }


async def test_configured_windows_are_stored_at_start_up(
    database_url: str, state_store: Any, sandbox_app: Any
) -> None:
    from tests.conftest import started_gateway

    configured = {
        "connector": "dancu",
        "from": "2030-01-05T22:00:00+07:00",
        "to": "2030-01-06T02:00:00+07:00",
        "reason": "CSDLQG về dân cư bảo trì",
    }
    gw = await started_gateway(
        database_url, state_store, sandbox_app, maintenance={"windows": [configured]}
    )
    try:
        await gw.start()  # a restart stores nothing twice
        upcoming = await gw.maintenance.upcoming("dancu")
        assert [(w.source, w.reason) for w in upcoming] == [("config", configured["reason"])]
    finally:
        await gw.aclose()
