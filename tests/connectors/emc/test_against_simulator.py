"""End to end against the EMC simulator with faults injected: events and the monthly report go
through the outbox to a misbehaving EMC and arrive once each (a 503, a 500, a timeout and a
dropped connection after EMC kept the event, a malformed answer after the endpoint kept the
report); a redelivery is recognised by the simulator as the same packet; the exchange shows its
attempts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import update

from connectors.emc.sandbox import FaultConfig
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem, utcnow
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway
from tests.connectors.emc.support import emc_simulator, event


async def round_(gateway: Gateway) -> None:
    """Make every item due (no waiting for backoff) and run one delivery round: one attempt
    per item, whatever the clock does meanwhile."""
    async with gateway.db.transaction() as session:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == "failed")
            .values(next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    await DeliveryService(gateway).run_once()


async def state_of(api: httpx.AsyncClient, headers: dict[str, str], exchange: str) -> Any:
    return (await api.get(f"/v1/exchanges/{exchange}", headers=headers)).json()


async def accept(api: httpx.AsyncClient, headers: dict[str, str], n: int) -> str:
    r = await api.post("/v1/emc/events", json=event(n), headers=headers)
    assert r.status_code == 202, r.text
    exchange: str = r.json()["exchange_id"]
    return exchange


async def test_unavailable_then_recovered(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    headers = await bearer(gateway, "emc:submit", "emc:read")
    sim.set_faults(FaultConfig(error_rate=1.0))
    exchange = await accept(api, headers, 1)
    await round_(gateway)
    assert (await state_of(api, headers, exchange))["state"] == "failed"
    assert sim.events == []
    sim.set_faults(FaultConfig(http_500_rate=1.0))
    await round_(gateway)
    assert (await state_of(api, headers, exchange))["state"] == "failed"
    sim.set_faults(FaultConfig())
    await round_(gateway)
    state = await state_of(api, headers, exchange)
    assert state["state"] == "delivered"
    assert [a["status_code"] for a in state["attempts"]] == [503, 500, 200]
    assert len(sim.events) == 1


async def test_a_dropped_answer_is_redelivered_and_recognised(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    headers = await bearer(gateway, "emc:submit", "emc:read")
    sim.set_faults(FaultConfig(drop_rate=1.0))
    exchange = await accept(api, headers, 2)
    await round_(gateway)
    assert sim.stats.events_kept == 1  # EMC kept it; the gateway could not know
    assert (await state_of(api, headers, exchange))["state"] == "failed"
    sim.set_faults(FaultConfig())
    await round_(gateway)
    assert (await state_of(api, headers, exchange))["state"] == "delivered"
    assert (sim.stats.events_kept, sim.stats.duplicates) == (1, 1)


async def test_a_packet_emc_refuses_is_dead_lettered(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    sim.sites = frozenset({1})  # EMC no longer knows the province's SiteId
    headers = await bearer(gateway, "emc:submit", "emc:read")
    exchange = await accept(api, headers, 3)
    await round_(gateway)
    state = await state_of(api, headers, exchange)
    assert state["state"] == "dead"
    assert sim.stats.invalid == 1


async def test_a_malformed_answer_to_the_report_is_retried_and_deduplicated(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    headers = await bearer(gateway, "emc:submit", "emc:read")
    await accept(api, headers, 4)
    await round_(gateway)
    sim.set_faults(FaultConfig(malformed_rate=1.0, latency_ms=1))
    r = await api.post("/v1/emc/reports/2024-01/submit", headers=headers)
    assert r.status_code == 202, r.text
    exchange = r.json()["exchange_id"]
    await round_(gateway)
    assert (await state_of(api, headers, exchange))["state"] == "failed"
    assert sim.stats.aggregates_accepted == 1
    sim.set_faults(FaultConfig())
    await round_(gateway)
    assert (await state_of(api, headers, exchange))["state"] == "delivered"
    assert sim.stats.aggregate_duplicates == 1
    (kept,) = sim.aggregates.values()
    assert kept["packet"]["DuLieu"][0]["TiepNhan"] == 1
    received = await platform_received(sandbox_app)
    assert len(received["events"]) == 1
    assert received["aggregates"][0]["packet"]["Thang"] == "2024-01"


async def platform_received(sandbox_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        r = await client.get("/emc/_sandbox/received")
        assert r.status_code == 200
        return r.json()


class Impatient(httpx.AsyncBaseTransport):
    """The simulator in process, with the read timeout a network transport would enforce
    (``httpx.ASGITransport`` enforces none)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.seconds = seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await asyncio.wait_for(self.inner.handle_async_request(request), self.seconds)
        except TimeoutError:
            raise httpx.ReadTimeout("EMC did not answer in time", request=request) from None


async def test_a_timeout_after_emc_kept_the_event_is_redelivered_and_recognised(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={"emc": Impatient(sandbox_app, 0.05)},
    )
    try:
        async with serving(gw) as api:
            headers = await bearer(gw, "emc:submit", "emc:read")
            # EMC keeps the event, then takes a minute to answer: the gateway gives up first
            sim.set_faults(FaultConfig(timeout_rate=1.0, timeout_seconds=60))
            exchange = await accept(api, headers, 5)
            await round_(gw)
            assert sim.stats.events_kept == 1
            state = await state_of(api, headers, exchange)
            assert state["state"] == "failed"
            sim.set_faults(FaultConfig())
            await round_(gw)
            assert (await state_of(api, headers, exchange))["state"] == "delivered"
            assert (sim.stats.events_kept, sim.stats.duplicates) == (1, 1)
    finally:
        await gw.aclose()
