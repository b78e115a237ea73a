"""Batch delivery: heads of different dossiers travel together in one platform call."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.dvcqg import HoSo
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.core.test_delivery import UNKNOWN_TTHC, accept, item
from tests.factories import dossier


async def test_heads_of_many_dossiers_go_in_batches_of_ten(
    gateway: Gateway, simulator: Any, api: httpx.AsyncClient
) -> None:
    gateway.settings.delivery.batch_size = 32
    ids = [await accept(gateway, n) for n in range(1, 26)]
    assert await DeliveryService(gateway).run_once() == 25
    # 25 dossiers in three DongBoHoSoMC calls (10 + 10 + 5), each applied once
    assert simulator.stats.by_service["DongBoHoSoMC"] == 3
    assert len(simulator.dossiers) == 25
    assert all(record.history == [2] for record in simulator.dossiers.values())
    for exchange_id in ids:
        assert (await item(gateway, exchange_id)).status == "delivered"
    # every exchange of a batch shows the one call that carried it
    headers = await bearer(gateway, "exchanges:read")
    views = [(await api.get(f"/v1/exchanges/{x}", headers=headers)).json() for x in ids[:10]]
    carried = {a["entry_id"] for v in views for a in v["attempts"]}
    assert len(carried) == 1
    assert all(v["state"] == "delivered" for v in views)


async def test_one_bad_packet_fails_alone_and_the_rest_of_its_batch_goes(
    gateway: Gateway, simulator: Any
) -> None:
    good = [await accept(gateway, n) for n in (1, 2, 3, 4)]
    bad = await accept(gateway, 5, ma_tthc=UNKNOWN_TTHC)  # the portal refuses the whole call
    assert await DeliveryService(gateway).run_once() == 5
    for exchange_id in good:
        assert (await item(gateway, exchange_id)).status == "delivered"
    dead = await item(gateway, bad)
    assert dead.status == "dead"
    assert dead.last_error is not None
    assert UNKNOWN_TTHC in dead.last_error
    assert sorted(simulator.dossiers) == sorted(dossier(n)["ma_ho_so"] for n in (1, 2, 3, 4))


async def test_a_failed_batch_is_retried_whole_and_applied_once(
    gateway: Gateway, simulator: Any
) -> None:
    from connectors.dvcqg.sandbox import FaultConfig

    ids = [await accept(gateway, n) for n in range(1, 6)]
    simulator.set_faults(FaultConfig(malformed_rate=1.0))  # applied, then the answer is lost
    assert await DeliveryService(gateway).run_once() == 5
    assert {(await item(gateway, x)).status for x in ids} == {"failed"}
    simulator.set_faults(FaultConfig())
    gateway.retry = type(gateway.retry)(5, 0.0001, 0.0002)
    service = DeliveryService(gateway)
    for _ in range(50):
        if {(await item(gateway, x)).status for x in ids} == {"delivered"}:
            break
        await service.run_once()
    assert {(await item(gateway, x)).status for x in ids} == {"delivered"}
    # the resent batch was recognised as duplicates: each dossier applied exactly once
    assert all(record.history == [2] for record in simulator.dossiers.values())
    assert simulator.stats.duplicates == 5


async def test_connector_batch_outcomes_are_per_payload(gateway: Gateway, simulator: Any) -> None:
    connector: Any = gateway.connectors["dvcqg"]
    payloads = [HoSo.model_validate(dossier(n)).model_dump(mode="json") for n in (1, 2)]
    broken = dict(payloads[0], ma_ho_so="not-a-code")
    outcomes = await connector.deliver_batch("sync_dossier", [payloads[0], broken, payloads[1]])
    assert [type(o).__name__ for o in outcomes] == [
        "Delivered",
        "PermanentUpstreamError",
        "Delivered",
    ]
    assert outcomes[1].errors[0].loc == "ma_ho_so"
    assert simulator.stats.by_service["DongBoHoSoMC"] == 1


async def test_group_commit_answers_every_waiter_when_stopped(gateway: Gateway) -> None:
    import asyncio

    from gateway.core.store.batching import GroupCommitter

    committer = GroupCommitter(gateway.db.transaction)
    started = asyncio.Event()

    async def slow(session: Any) -> int:
        started.set()
        await asyncio.sleep(30)
        return 1

    async def quick(session: Any) -> int:
        return 2

    first = asyncio.create_task(committer.run(slow))
    await started.wait()
    second = asyncio.create_task(committer.run(quick))  # queued behind the slow batch
    await asyncio.sleep(0)
    await committer.aclose()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results), results
    # and a new unit after the stop is served by a fresh writer
    assert await committer.run(quick) == 2
    await committer.aclose()


async def test_group_commit_rows_go_in_order_and_a_bad_unit_fails_alone(gateway: Gateway) -> None:
    import asyncio

    from sqlalchemy import Table, select

    from gateway.core.log.exchange_log import Crossing
    from gateway.core.store.db import ExchangeEntry

    table = ExchangeEntry.__table__
    assert isinstance(table, Table)

    def row(n: int) -> dict[str, Any]:
        return gateway.log.build_row(
            Crossing(kind="inbound", operation=f"op{n}", outcome="accepted", request=b"{}")
        )

    rows = [row(n) for n in range(6)]
    duplicate = dict(rows[0])  # the same entry id again: its insert fails, alone

    async def second(session: Any) -> str:
        return "answered"

    units = [gateway.db.grouped(None, rows=[(table, r)]) for r in rows[:3]]
    units.append(gateway.db.grouped(None, rows=[(table, duplicate)]))
    units.append(gateway.db.grouped(second, rows=[(table, r) for r in rows[3:]]))
    results = await asyncio.gather(*units, return_exceptions=True)
    assert results[:3] == [None, None, None]
    assert isinstance(results[3], Exception)
    assert results[4] == "answered"
    async with gateway.db.reading() as session:
        stored = (
            await session.scalars(
                select(ExchangeEntry.operation)
                .where(ExchangeEntry.operation.like("op%"))
                .order_by(ExchangeEntry.id)
            )
        ).all()
    assert stored == [f"op{n}" for n in range(6)]
