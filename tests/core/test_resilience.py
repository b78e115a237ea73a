"""Retry policy and circuit breaker: the unit contract, and the breaker inside delivery."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.dvcqg import HoSo
from connectors.dvcqg.sandbox import FaultConfig
from gateway.core.delivery import outbox
from gateway.core.delivery.intake import accept_delivery
from gateway.core.delivery.resilience import (
    MAX_RETRY_AFTER_SECONDS,
    CircuitBreaker,
    CircuitState,
    RetryPolicy,
)
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem, utcnow
from gateway.core.store.state import StateStore
from tests.conftest import bearer
from tests.factories import dossier, ma_ho_so

# --- RetryPolicy -----------------------------------------------------------------------------


def test_delays_grow_with_attempts_within_equal_jitter_bounds() -> None:
    policy = RetryPolicy(max_attempts=12, base_seconds=0.5, max_seconds=300.0)
    for _ in range(50):
        previous = 0.0
        for attempt in range(1, 13):
            ceiling = min(300.0, 0.5 * 2 ** (attempt - 1))
            wait = policy.delay(attempt)
            assert ceiling / 2 <= wait <= ceiling, (attempt, wait)
            if ceiling < 300.0:  # below the cap the ceiling doubles: the fixed half alone
                assert wait >= previous  # (equal jitter) outgrows the last wait
            previous = wait


def test_delays_never_exceed_max_seconds() -> None:
    policy = RetryPolicy(max_attempts=5000, base_seconds=0.5, max_seconds=30.0)
    for attempt in (7, 8, 20, 64, 200, 1025, 4000):  # 0.5 * 2**6 = 32 > 30 from attempt 7
        assert 15.0 <= policy.delay(attempt) <= 30.0, attempt


def test_delay_is_jittered() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=300.0)
    assert len({policy.delay(6) for _ in range(20)}) > 1


def test_retry_after_is_honoured() -> None:
    policy = RetryPolicy(max_attempts=12, base_seconds=0.5, max_seconds=300.0)
    for _ in range(20):
        assert policy.delay(1, retry_after=7) >= 7
        assert policy.delay(1, retry_after=0) <= 0.5  # a shorter Retry-After keeps the backoff
    # the platform's Retry-After wins over the policy's ceiling, up to an hour, so it cannot
    # park work for days
    assert policy.delay(1, retry_after=1_200) >= 1_200
    assert policy.delay(1, retry_after=86_400) == MAX_RETRY_AFTER_SECONDS


def test_exhausted() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(1)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)
    assert policy.exhausted(4)


# --- CircuitBreaker over both state stores ---------------------------------------------------


class Clock:
    """Epoch seconds that move only when the test says (no reset races a loaded machine)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


RESET = 10.0  # the breakers' reset time, passed on the test's clock


def breaker(store: StateStore, *, threshold: int = 3, reset: float = RESET) -> CircuitBreaker:
    return CircuitBreaker(
        store,
        f"cb-{uuid.uuid4().hex[:8]}",
        failure_threshold=threshold,
        reset_seconds=reset,
        clock=Clock(),
    )


async def test_breaker_opens_after_threshold_failures(state_store: StateStore) -> None:
    cb = breaker(state_store)
    assert await cb.state() is CircuitState.CLOSED
    assert await cb.record_failure() is CircuitState.CLOSED
    assert await cb.record_failure() is CircuitState.CLOSED
    assert await cb.allow()
    assert await cb.record_failure() is CircuitState.OPEN
    assert await cb.state() is CircuitState.OPEN
    assert not await cb.allow()
    retry_at = await cb.retry_at()
    assert retry_at is not None
    assert retry_at > cb.clock()


async def test_success_resets_the_failure_count(state_store: StateStore) -> None:
    cb = breaker(state_store)
    await cb.record_failure()
    await cb.record_failure()
    await cb.record_success()
    assert await cb.record_failure() is CircuitState.CLOSED
    assert await cb.record_failure() is CircuitState.CLOSED  # only 2 since the success
    assert await cb.state() is CircuitState.CLOSED


async def test_half_open_lets_exactly_one_probe_then_closes(state_store: StateStore) -> None:
    cb = breaker(state_store)
    for _ in range(3):
        await cb.record_failure()
    assert not await cb.allow()
    cb.clock.advance(RESET + 0.1)  # type: ignore[attr-defined]
    assert await cb.state() is CircuitState.HALF_OPEN
    assert await cb.allow()  # the probe
    assert not await cb.allow()  # everyone else waits for it
    await cb.record_success()
    assert await cb.state() is CircuitState.CLOSED
    assert await cb.retry_at() is None
    assert await cb.allow()
    assert await cb.allow()


async def test_half_open_probes_race_with_one_winner(state_store: StateStore) -> None:
    cb = breaker(state_store, threshold=1)
    await cb.record_failure()
    cb.clock.advance(RESET + 0.1)  # type: ignore[attr-defined]
    answers = await asyncio.gather(*(cb.allow() for _ in range(20)))
    assert sum(answers) == 1


async def test_failed_probe_opens_the_circuit_again(state_store: StateStore) -> None:
    cb = breaker(state_store)
    for _ in range(3):
        await cb.record_failure()
    cb.clock.advance(RESET + 0.1)  # type: ignore[attr-defined]
    assert await cb.allow()
    assert await cb.record_failure() is CircuitState.OPEN
    assert await cb.state() is CircuitState.OPEN
    assert not await cb.allow()
    # a new full reset period, then a new probe
    cb.clock.advance(RESET + 0.1)  # type: ignore[attr-defined]
    assert await cb.state() is CircuitState.HALF_OPEN
    assert await cb.allow()


async def test_breakers_of_one_store_share_state(state_store: StateStore) -> None:
    """Two workers (two breaker objects, one store) see the same circuit."""
    name = f"shared-{uuid.uuid4().hex[:8]}"
    a = CircuitBreaker(state_store, name, failure_threshold=2, reset_seconds=5)
    b = CircuitBreaker(state_store, name, failure_threshold=2, reset_seconds=5)
    await a.record_failure()
    assert await b.record_failure() is CircuitState.OPEN
    assert not await a.allow()


# --- the breaker inside delivery -------------------------------------------------------------


async def accept(gw: Gateway, n: int) -> str:
    body = dossier(n)
    accepted = await accept_delivery(
        gw,
        client="tests",
        connector="dvcqg",
        operation="sync_dossier",
        ordering_key=f"dvcqg:{body['ma_ho_so']}",
        payload=HoSo.model_validate(body).model_dump(mode="json"),
        request_body=json.dumps(body).encode(),
        ma_ho_so=body["ma_ho_so"],
    )
    return accepted.exchange_id


async def items(gw: Gateway) -> list[OutboxItem]:
    async with gw.db.sessions() as session:
        return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def test_open_circuit_stops_calls_then_a_probe_closes_it(
    gateway: Gateway, simulator: Any, api: httpx.AsyncClient
) -> None:
    cb = gateway.breakers["dvcqg"]
    clock = cb.clock = Clock()  # the circuit stays open until the test moves this clock
    threshold = gateway.settings.delivery.breaker_failure_threshold
    simulator.set_faults(FaultConfig(error_rate=1.0))
    for n in range(1, 4):
        await accept(gateway, n)
    service = DeliveryService(gateway)
    deadline = time.monotonic() + 10
    while await cb.state() is not CircuitState.OPEN:
        assert time.monotonic() < deadline, "the circuit never opened"
        if await service.run_once() == 0:
            await asyncio.sleep(0.01)
    calls = simulator.stats.by_service["DongBoHoSoMC"]
    assert calls >= threshold
    received = simulator.stats.received
    attempts = sum(i.attempts for i in await items(gateway))

    ops = await bearer(gateway, "ops:read")
    health = (await api.get("/v1/connectors", headers=ops)).json()["connectors"]
    assert {c["slug"]: c["circuit"] for c in health}["dvcqg"] == "open"

    for _ in range(3):  # the items are due (tiny backoff), but the circuit keeps them home
        await asyncio.sleep(0.06)
        assert await service.run_once() == 0
    assert simulator.stats.received == received
    assert sum(i.attempts for i in await items(gateway)) == attempts

    simulator.set_faults(FaultConfig())
    clock.advance(gateway.settings.delivery.breaker_reset_seconds + 0.05)
    assert await cb.state() is CircuitState.HALF_OPEN
    deadline = time.monotonic() + 15

    async def pending() -> bool:
        return any(i.status != "delivered" for i in await items(gateway))

    while await pending():
        assert time.monotonic() < deadline, "delivery did not resume after the probe"
        if await service.run_once() == 0:
            await asyncio.sleep(0.02)
    assert await cb.state() is CircuitState.CLOSED
    for n in range(1, 4):
        assert simulator.dossiers[ma_ho_so(n)].history == [2]
    health = (await api.get("/v1/connectors", headers=ops)).json()["connectors"]
    assert {c["slug"]: c["circuit"] for c in health}["dvcqg"] == "closed"


async def test_item_claimed_while_the_circuit_is_open_is_held_uncounted(
    gateway: Gateway, simulator: Any
) -> None:
    cb = gateway.breakers["dvcqg"]
    exchange_id = await accept(gateway, 1)
    # claimed by a worker that has not yet seen the circuit open
    [claimed] = await outbox.claim(gateway.db, owner="w", limit=5, lease_seconds=60)
    assert claimed.attempts == 1
    for _ in range(gateway.settings.delivery.breaker_failure_threshold):
        await cb.record_failure()
    assert await cb.state() is CircuitState.OPEN
    received = simulator.stats.received
    before = utcnow()
    await DeliveryService(gateway).deliver(claimed, "w")
    assert simulator.stats.received == received  # the platform was not called
    [held] = await items(gateway)
    assert held.exchange_id == exchange_id
    assert held.status == "queued"
    assert held.attempts == 0  # the attempt that never went out is given back
    assert held.last_error == "circuit open"
    assert held.next_attempt_at >= before + timedelta(seconds=0.4)


@pytest.mark.parametrize("attempt", [1, 3, 12])
def test_delay_without_retry_after_respects_ceiling(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=12, base_seconds=0.01, max_seconds=0.05)
    ceiling = min(0.05, 0.01 * 2 ** (attempt - 1))
    assert ceiling / 2 <= policy.delay(attempt) <= ceiling
