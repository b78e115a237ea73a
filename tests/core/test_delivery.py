"""Delivery from the outbox: FIFO per dossier under concurrent workers, leases, retries,
dead letters and what operators do with them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.dvcqg import HoSo
from connectors.dvcqg.sandbox import FaultConfig
from gateway.core.crypto import BodyCipher
from gateway.core.delivery import outbox
from gateway.core.delivery.intake import accept_delivery
from gateway.core.delivery.resilience import RetryPolicy
from gateway.core.delivery.workers import DeliveryService
from gateway.core.errors import Conflict
from gateway.core.runtime import Gateway
from gateway.core.store.db import AttemptLink, ExchangeEntry, OutboxItem, utcnow
from tests.conftest import bearer
from tests.factories import LIFE, LIFE_CODES, dossier, ma_ho_so

UNKNOWN_TTHC = "1.999999"  # valid shape, absent from the simulator's catalogue


async def accept(
    gw: Gateway, n: int, trang_thai: str = "da_tiep_nhan", *, client: str = "tests", **extra: Any
) -> str:
    """Accept one dossier sync straight into the outbox (bypassing the route's checks)."""
    body = dossier(n, trang_thai=trang_thai, **extra)
    payload = HoSo.model_validate(body).model_dump(mode="json")
    accepted = await accept_delivery(
        gw,
        client=client,
        connector="dvcqg",
        operation="sync_dossier",
        ordering_key=f"dvcqg:{body['ma_ho_so']}",
        payload=payload,
        request_body=json.dumps(body).encode(),
        ma_ho_so=body["ma_ho_so"],
    )
    return accepted.exchange_id


async def item(gw: Gateway, exchange_id: str) -> OutboxItem:
    async with gw.db.sessions() as session:
        found = await session.scalar(
            select(OutboxItem).where(OutboxItem.exchange_id == exchange_id)
        )
    assert found is not None
    return found


async def all_items(gw: Gateway) -> list[OutboxItem]:
    async with gw.db.sessions() as session:
        return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def drain(
    gw: Gateway,
    until: Callable[[], Awaitable[bool]],
    *,
    service: DeliveryService | None = None,
    timeout: float = 20.0,
) -> None:
    """Run delivery rounds until ``until()`` holds (items in retry wait their turn)."""
    service = service or DeliveryService(gw)
    deadline = time.monotonic() + timeout
    while not await until():
        assert time.monotonic() < deadline, "delivery did not settle in time"
        if await service.run_once() == 0:
            await asyncio.sleep(0.01)


def status_is(gw: Gateway, exchange_id: str, *statuses: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await item(gw, exchange_id)).status in statuses

    return check


# --- FIFO under concurrency ------------------------------------------------------------------


async def test_fifo_per_dossier_with_four_concurrent_workers(
    gateway: Gateway, simulator: Any
) -> None:
    dossiers, updates = 30, 5
    for version in range(updates):  # interleaved, as a busy case system sends them
        for n in range(1, dossiers + 1):
            await accept(gateway, n, LIFE[version % len(LIFE)])
    simulator.set_faults(FaultConfig(error_rate=0.2, latency_ms=2, seed=11))
    gateway.settings.delivery.batch_size = 6  # so every worker gets a share of the heads
    workers = [DeliveryService(gateway, owner=f"worker-{i}") for i in range(4)]
    deadline = time.monotonic() + 90

    async def pending() -> int:
        return sum(1 for i in await all_items(gateway) if i.status != "delivered")

    async def work(service: DeliveryService) -> int:
        leased = 0
        while time.monotonic() < deadline:
            n = await service.run_once()
            leased += n
            if n == 0:
                if not await pending():
                    return leased
                await asyncio.sleep(0.01)
        raise AssertionError("workers did not drain the outbox in time")

    leased = await asyncio.gather(*(work(s) for s in workers))

    items = await all_items(gateway)
    assert len(items) == dossiers * updates
    assert {i.status for i in items} == {"delivered"}
    assert simulator.stats.faults_injected > 0  # retries really happened
    assert sum(i.attempts for i in items) > len(items)
    assert sum(1 for n in leased if n) >= 2  # more than one worker took part
    for n in range(1, dossiers + 1):
        assert simulator.dossiers[ma_ho_so(n)].history == list(LIFE_CODES[:updates]), n
    assert simulator.stats.duplicates == 0


async def test_claim_returns_only_the_heads_of_each_dossier(gateway: Gateway) -> None:
    first = [await accept(gateway, 1, s) for s in LIFE[:3]]
    second = [await accept(gateway, 2, s) for s in LIFE[:3]]
    a, b = await asyncio.gather(
        outbox.claim(gateway.db, owner="a", limit=10, lease_seconds=60),
        outbox.claim(gateway.db, owner="b", limit=10, lease_seconds=60),
    )
    claimed = [i.exchange_id for i in a + b]
    assert sorted(claimed) == sorted([first[0], second[0]])  # each head once, nothing else
    for i in a + b:
        assert i.status == "delivering"
        assert i.attempts == 1
    # while the heads are leased, nothing behind them is eligible
    assert await outbox.claim(gateway.db, owner="c", limit=10, lease_seconds=60) == []
    head = next(i for i in a + b if i.exchange_id == first[0])
    assert await outbox.mark_delivered(gateway.db, head, head.lease_owner or "")
    again = await outbox.claim(gateway.db, owner="c", limit=10, lease_seconds=60)
    assert [i.exchange_id for i in again] == [first[1]]


async def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_settle(
    gateway: Gateway,
) -> None:
    # the clock is given to the claims: the lease runs out when the test says, not when a
    # loaded machine happens to get round to it
    exchange_id = await accept(gateway, 1)
    now = utcnow()
    [leased] = await outbox.claim(gateway.db, owner="slow", limit=5, lease_seconds=30, now=now)
    later = now + timedelta(seconds=29)
    assert await outbox.claim(gateway.db, owner="other", limit=5, lease_seconds=60, now=later) == []
    expired = now + timedelta(seconds=31)
    [again] = await outbox.claim(gateway.db, owner="other", limit=5, lease_seconds=60, now=expired)
    assert again.exchange_id == exchange_id
    assert again.attempts == 2
    assert not await outbox.mark_delivered(gateway.db, leased, "slow")
    assert (await item(gateway, exchange_id)).status == "delivering"
    assert await outbox.mark_delivered(gateway.db, again, "other")
    assert (await item(gateway, exchange_id)).status == "delivered"


# --- retries and dead letters ----------------------------------------------------------------


async def test_transient_failure_schedules_a_retry(gateway: Gateway, simulator: Any) -> None:
    simulator.set_faults(FaultConfig(error_rate=1.0))
    exchange_id = await accept(gateway, 1)
    before = utcnow()
    assert await DeliveryService(gateway).run_once() == 1
    failed = await item(gateway, exchange_id)
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.next_attempt_at > before
    assert failed.last_error is not None
    assert "503" in failed.last_error
    assert failed.lease_owner is None


async def test_retry_after_from_the_platform_is_honoured(gateway: Gateway, simulator: Any) -> None:
    # the simulator's 503 carries "Retry-After: 1"; the backoff alone would wait ~0.01 s
    gateway.retry = RetryPolicy(5, 0.01, 10.0)
    simulator.set_faults(FaultConfig(error_rate=1.0))
    exchange_id = await accept(gateway, 1)
    before = utcnow()
    assert await DeliveryService(gateway).run_once() == 1
    failed = await item(gateway, exchange_id)
    assert failed.status == "failed"
    assert failed.next_attempt_at >= before + timedelta(seconds=0.99)
    assert await DeliveryService(gateway).run_once() == 0  # not due yet


async def test_attempts_exhausted_goes_dead_with_the_reason(
    gateway: Gateway, simulator: Any
) -> None:
    gateway.retry = RetryPolicy(3, 0.01, 0.02)
    simulator.set_faults(FaultConfig(error_rate=1.0))
    exchange_id = await accept(gateway, 1)
    await drain(gateway, status_is(gateway, exchange_id, "dead"))
    dead = await item(gateway, exchange_id)
    assert dead.attempts == 3
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 3 attempts")
    assert "503" in dead.last_error
    assert simulator.stats.by_service["DongBoHoSoMC"] == 3
    assert await DeliveryService(gateway).run_once() == 0


async def _age(gw: Gateway, exchange_id: str, *, hours: float, attempts: int) -> None:
    """Pretend the item was accepted ``hours`` ago and tried ``attempts`` times."""
    async with gw.db.transaction() as session:
        found = await session.scalar(
            select(OutboxItem).where(OutboxItem.exchange_id == exchange_id)
        )
        assert found is not None
        found.created_at = utcnow() - timedelta(hours=hours)
        found.attempts = attempts


async def test_a_transient_failure_is_retried_until_the_horizon_not_by_count(
    gateway: Gateway, simulator: Any
) -> None:
    # the default policy: no ceiling on attempts, 72 hours of retries (issue 18's outage)
    gateway.retry = RetryPolicy(None, 0.01, 0.02)
    simulator.set_faults(FaultConfig(error_rate=1.0))
    young, old = await accept(gateway, 1), await accept(gateway, 2)
    await _age(gateway, young, hours=71, attempts=500)  # tried many times, still young
    await _age(gateway, old, hours=72.1, attempts=3)  # few tries, but past the horizon
    assert await DeliveryService(gateway).run_once() == 2
    retried, dead = await item(gateway, young), await item(gateway, old)
    assert (retried.status, retried.attempts) == ("failed", 501)
    assert dead.status == "dead"
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 4 attempts over 3 d 0 h")
    assert "503" in dead.last_error


async def test_a_connector_can_have_its_own_horizon(
    database_url: str, state_store: Any, sandbox_app: Any
) -> None:
    from tests.conftest import dvcqg_simulator, started_gateway

    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"dvcqg": {"retry_horizon_seconds": 600}},
    )
    try:
        dvcqg_simulator(sandbox_app).set_faults(FaultConfig(error_rate=1.0))
        exchange_id = await accept(gw, 1)
        await _age(gw, exchange_id, hours=0.2, attempts=1)  # 12 minutes: past 10
        assert await DeliveryService(gw).run_once() == 1
        assert (await item(gw, exchange_id)).status == "dead"
    finally:
        await gw.aclose()


async def test_permanent_refusal_goes_dead_at_once(
    gateway: Gateway, simulator: Any, api: httpx.AsyncClient
) -> None:
    exchange_id = await accept(gateway, 1, ma_tthc=UNKNOWN_TTHC)
    assert await DeliveryService(gateway).run_once() == 1
    dead = await item(gateway, exchange_id)
    assert dead.status == "dead"
    assert dead.attempts == 1
    assert dead.last_error is not None
    assert "PermanentUpstreamError" in dead.last_error
    assert UNKNOWN_TTHC in dead.last_error  # the platform's own message is kept
    assert "không có trong danh mục" in dead.last_error
    headers = await bearer(gateway, "exchanges:read")
    state = (await api.get(f"/v1/exchanges/{exchange_id}", headers=headers)).json()
    assert state["state"] == "dead"
    assert state["delivery"]["last_error"] == dead.last_error


async def attempts_of(gw: Gateway, exchange_id: str) -> list[ExchangeEntry]:
    """The attempt entries that carried ``exchange_id`` (its own, or a batch's by link)."""
    async with gw.db.sessions() as session:
        linked = select(AttemptLink.entry_id).where(AttemptLink.exchange_id == exchange_id)
        found = await session.scalars(
            select(ExchangeEntry).where(
                ExchangeEntry.kind == "attempt",
                (ExchangeEntry.parent_id == exchange_id) | ExchangeEntry.entry_id.in_(linked),
            )
        )
        return list(found.all())


async def test_every_attempt_is_recorded_with_the_settlement(
    gateway: Gateway, simulator: Any
) -> None:
    """Delivered in one batch or refused: each attempt is in the log (MAC'd, linked to every
    exchange it carried) once its item is settled."""
    good = [await accept(gateway, n) for n in range(1, 4)]
    bad = await accept(gateway, 9, ma_tthc=UNKNOWN_TTHC)
    service = DeliveryService(gateway)
    await drain(gateway, status_is(gateway, bad, "dead"), service=service)
    for exchange_id in good:
        await drain(gateway, status_is(gateway, exchange_id, "delivered"), service=service)
    for exchange_id in [*good, bad]:
        attempts = await attempts_of(gateway, exchange_id)
        assert attempts, exchange_id
        assert all(a.entry_mac and a.connector == "dvcqg" for a in attempts)
    assert any(a.status_code == 200 for a in await attempts_of(gateway, good[0]))


def test_one_function_makes_a_queued_item() -> None:
    """``build_row`` (the accept path's plain insert) and ``build`` (an ORM object) agree."""
    cipher = BodyCipher("k1", b"\x01" * 32)
    values = dict(exchange_id="e-1", connector="dvcqg", operation="sync_dossier")
    row = outbox.build_row(cipher, **values, ordering_key="dvcqg:x", payload={"a": 1})
    item = outbox.build(cipher, **values, ordering_key="dvcqg:x", payload={"a": 1})
    assert row["status"] == item.status == "queued"
    assert row["attempts"] == item.attempts == 0
    assert row["next_attempt_at"] == row["created_at"] == row["updated_at"]
    decoded = outbox.decode_payload(cipher, OutboxItem(**row))
    assert decoded == outbox.decode_payload(cipher, item) == {"a": 1}


async def _dead_head_scenario(gateway: Gateway) -> tuple[str, list[str], list[str]]:
    """Dossier 1: a head the portal refuses, then two good versions; dossier 2: two good ones.
    Delivers until dossier 2 is through and the head is dead."""
    bad = await accept(gateway, 1, "da_tiep_nhan", ma_tthc=UNKNOWN_TTHC)
    held = [await accept(gateway, 1, "dang_xu_ly"), await accept(gateway, 1, "yeu_cau_bo_sung")]
    other = [await accept(gateway, 2, "da_tiep_nhan"), await accept(gateway, 2, "dang_xu_ly")]

    async def settled() -> bool:
        return (await item(gateway, bad)).status == "dead" and (
            await item(gateway, other[1])
        ).status == "delivered"

    await drain(gateway, settled)
    return bad, held, other


async def test_dead_head_holds_its_dossier_while_others_flow(
    gateway: Gateway, simulator: Any, api: httpx.AsyncClient
) -> None:
    bad, held, _ = await _dead_head_scenario(gateway)
    assert simulator.dossiers[ma_ho_so(2)].history == [2, 4]
    assert ma_ho_so(1) not in simulator.dossiers
    assert await DeliveryService(gateway).run_once() == 0
    for exchange_id in held:
        waiting = await item(gateway, exchange_id)
        assert waiting.status == "queued"
        assert waiting.attempts == 0
    headers = await bearer(gateway, "exchanges:read")
    state = (await api.get(f"/v1/exchanges/{held[0]}", headers=headers)).json()
    assert state["state"] == "queued"
    assert state["delivery"]["held_by"] == bad
    assert state["delivery"]["attempts"] == 0


async def test_replay_makes_the_dead_item_deliverable_and_the_held_follow_in_order(
    gateway: Gateway, simulator: Any
) -> None:
    bad, held, _ = await _dead_head_scenario(gateway)
    with pytest.raises(Conflict):
        await outbox.replay(gateway.db, held[0])  # only dead items can be replayed
    # the operator fixes the cause (the procedure is now in the national catalogue) ...
    simulator.catalogue[UNKNOWN_TTHC] = next(iter(simulator.catalogue.values()))
    view = await outbox.replay(gateway.db, bad)
    assert view.status == "queued"
    assert view.attempts == 0
    assert view.last_error is not None
    assert view.last_error.startswith("replayed by operator")
    await drain(gateway, status_is(gateway, held[1], "delivered"))
    assert (await item(gateway, bad)).status == "delivered"
    assert simulator.dossiers[ma_ho_so(1)].history == [2, 4, 5]


async def test_skip_lets_the_later_items_go_and_keeps_the_reason(
    gateway: Gateway, simulator: Any
) -> None:
    bad, held, _ = await _dead_head_scenario(gateway)
    view = await outbox.skip(gateway.db, bad, reason="procedure code withdrawn")
    assert view.status == "skipped"
    assert view.last_error is not None
    assert "procedure code withdrawn" in view.last_error
    assert "không có trong danh mục" in view.last_error  # the earlier reason is kept too
    await drain(gateway, status_is(gateway, held[1], "delivered"))
    assert (await item(gateway, held[0])).status == "delivered"
    skipped = await item(gateway, bad)
    assert skipped.status == "skipped"
    assert skipped.last_error == view.last_error
    assert simulator.dossiers[ma_ho_so(1)].history == [4, 5]
    with pytest.raises(Conflict):
        await outbox.skip(gateway.db, bad, reason="again")


async def test_dlq_api_lists_and_replays_with_the_right_scopes(
    gateway: Gateway, simulator: Any, api: httpx.AsyncClient
) -> None:
    bad = await accept(gateway, 1, ma_tthc=UNKNOWN_TTHC)
    await drain(gateway, status_is(gateway, bad, "dead"))
    reader = await bearer(gateway, "ops:read")
    operator = await bearer(gateway, "ops:read", "ops:dlq")
    syncer = await bearer(gateway, "dvcqg:sync")

    assert (await api.get("/v1/dlq", headers=syncer)).status_code == 403
    listed = await api.get("/v1/dlq", headers=reader)
    assert listed.status_code == 200
    [entry] = listed.json()["items"]
    assert entry["exchange_id"] == bad
    assert entry["status"] == "dead"
    assert UNKNOWN_TTHC in entry["last_error"]

    refused = await api.post(f"/v1/dlq/{bad}/replay", headers=reader)
    assert refused.status_code == 403
    assert "ops:dlq" in refused.json()["detail"]
    assert (await item(gateway, bad)).status == "dead"

    replayed = await api.post(f"/v1/dlq/{bad}/replay", headers=operator)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "queued"
    assert (await item(gateway, bad)).status == "queued"
    assert (await api.get("/v1/dlq", headers=reader)).json()["items"] == []
