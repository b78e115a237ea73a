"""A crash during order creation yields one order.

A worker leases the ``create_order`` delivery and reaches the postal service, which makes the
order; then the worker dies before the outbox item is marked delivered (its lease is simply
abandoned, as a SIGKILL leaves it). Its lease runs out, another worker delivers the item again,
and the platform answers the order it already made for the same order number and content: one
order, one duplicate counted, the item delivered. The same holds when the platform made the
order and the connection dropped before its answer arrived (a transient failure, retried).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connectors.postal import PostalConnector
from gateway.core.delivery import outbox
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.postal.support import DOSSIER, SCOPES, SHIPMENTS, postal_of, shipment

LEASE = 0.05


@pytest.fixture
async def platform(sandbox_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


async def accepted_shipment(api: httpx.AsyncClient, gateway: Gateway) -> dict[str, Any]:
    headers = await bearer(gateway, *SCOPES)
    r = await api.post(SHIPMENTS, json=shipment(), headers=headers)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_worker_dying_after_the_order_was_made_yields_one_order(
    api: httpx.AsyncClient, gateway: Gateway, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    postal = postal_of(sandbox_app, platform)
    accepted = await accepted_shipment(api, gateway)

    # the first worker: lease, reach the platform, die before settling
    (item,) = await outbox.claim(gateway.db, owner="doomed/0", limit=10, lease_seconds=LEASE)
    assert item.exchange_id == accepted["exchange_id"]
    connector = gateway.connector("postal")
    assert isinstance(connector, PostalConnector)
    await connector.deliver(item.operation, outbox.decode_payload(gateway.cipher, item))
    assert postal.sim.stats.orders_created == 1

    # nobody else may take it while the lease holds; once it ran out, a survivor does
    service = DeliveryService(gateway, owner="survivor")
    await asyncio.sleep(LEASE * 3)
    assert await service.run_once() == 1
    found = await outbox.find(gateway.db, accepted["exchange_id"])
    assert found is not None
    assert found.status == "delivered"
    assert found.attempts == 2
    assert postal.sim.stats.orders_created == 1
    assert postal.sim.stats.duplicates == 1
    assert list(postal.sim.orders) == [f"{DOSSIER}-delivery"]


async def test_an_answer_lost_after_the_order_was_made_yields_one_order(
    api: httpx.AsyncClient, gateway: Gateway, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    postal = postal_of(sandbox_app, platform)
    accepted = await accepted_shipment(api, gateway)
    r = await platform.put("/postal/_sandbox/faults", json={"drop_rate": 1.0})
    assert r.status_code == 200
    service = DeliveryService(gateway)
    assert await service.run_once() == 1  # made, then the connection dropped: retry later
    found = await outbox.find(gateway.db, accepted["exchange_id"])
    assert found is not None
    assert found.status == "failed"
    assert postal.sim.stats.orders_created == 1

    assert (await platform.put("/postal/_sandbox/faults", json={})).status_code == 200
    for _ in range(50):  # the backoff is tens of milliseconds in tests
        if await service.run_once():
            break
        await asyncio.sleep(0.02)
    found = await outbox.find(gateway.db, accepted["exchange_id"])
    assert found is not None
    assert found.status == "delivered"
    assert postal.sim.stats.orders_created == 1
    assert postal.sim.stats.duplicates == 1
