"""Stopping cleanly (issue 19): on SIGTERM the workers take nothing more, the deliveries in
progress finish within the grace period, and whatever is still held after it is given back
untried, never left leased to be sent again a minute later."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from connectors.dvcqg.sandbox import FaultConfig
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.core.test_delivery import accept, all_items


async def until_delivering(gateway: Gateway, timeout: float = 10.0) -> None:
    """Wait for the workers to be in the middle of a delivery (a condition, not a delay)."""
    deadline = time.monotonic() + timeout
    while not any(i.status == "delivering" for i in await all_items(gateway)):
        assert time.monotonic() < deadline, "no delivery started"
        await asyncio.sleep(0.01)


async def test_deliveries_in_progress_finish_and_nothing_more_is_taken(
    gateway: Gateway, simulator: Any
) -> None:
    simulator.set_faults(FaultConfig(latency_ms=300))
    gateway.settings.delivery.batch_size = 1  # one item per round: a stop falls between them
    for n in range(1, 7):
        await accept(gateway, n)
    service = DeliveryService(gateway)
    service.start(workers=1, sealer=False)
    await until_delivering(gateway)
    await service.stop(grace_seconds=30)
    items = await all_items(gateway)
    assert "delivering" not in {i.status for i in items}
    delivered = [i for i in items if i.status == "delivered"]
    waiting = [i for i in items if i.status != "delivered"]
    assert delivered  # the delivery in progress finished
    assert waiting  # and no more were taken
    assert all(i.attempts == 1 for i in delivered)
    assert all((i.status, i.attempts) == ("queued", 0) for i in waiting)
    # what remains goes once, after a restart
    simulator.set_faults(FaultConfig())
    restarted = DeliveryService(gateway)
    while await restarted.run_once():
        pass
    assert {i.status for i in await all_items(gateway)} == {"delivered"}
    assert simulator.stats.duplicates == 0


async def test_after_the_grace_period_what_is_held_is_given_back_untried(
    gateway: Gateway, simulator: Any
) -> None:
    simulator.set_faults(FaultConfig(latency_ms=60_000))  # a platform that hangs
    await accept(gateway, 1)
    service = DeliveryService(gateway)
    service.start(workers=1, sealer=False)
    await until_delivering(gateway)
    await service.stop(grace_seconds=0.05)
    (item,) = await all_items(gateway)
    assert (item.status, item.attempts, item.lease_owner) == ("queued", 0, None)
    simulator.set_faults(FaultConfig())
    assert await DeliveryService(gateway).run_once() == 1
    (item,) = await all_items(gateway)
    assert (item.status, item.attempts) == ("delivered", 1)
    assert simulator.stats.duplicates == 0
