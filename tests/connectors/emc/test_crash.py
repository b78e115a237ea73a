"""Crashes around EMC's scan and deliveries.

The scan: a round dies after it queued every event of its batch, before its commit, with the
cursor already past earlier rounds: nothing it queued is left (no outbox item, no exchange-log
entry, no dossier noted, no sync marked seen), the cursor stays where the last good round put
it, and the next round queues each event once. (A round dying between two events, from no
cursor, is ``tests/connectors/emc/test_tracking.py::
test_a_round_that_dies_leaves_nothing_and_the_next_does_it_whole``; two rounds at once are
``test_two_scans_at_once_queue_each_event_once``.)

The deliveries: a worker leases a ``track_dossier`` (queued by the scan) or a
``submit_monthly_report`` item, EMC keeps the event or the report, and the worker dies before
the item is settled (its lease abandoned, as a SIGKILL leaves it). Once the lease ran out (a
claim at a later ``now``: no real sleep races the clock), a survivor delivers the same packet
again and EMC recognises it: one event (one duplicate counted), one report (one duplicate
counted, not a new version). (A dropped connection, a timeout and a malformed answer after EMC
kept the packet, retried, are in ``test_against_simulator.py``.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.emc import EmcConnector, tracking
from connectors.emc.tables import EmcCursor, EmcDossier, EmcSeenSync
from gateway.core.delivery import outbox
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem, utcnow
from tests.conftest import bearer
from tests.connectors.emc.support import deliver_all, emc_simulator, event, headers_for, sync
from tests.factories import ma_ho_so

#: the doomed worker's lease: long, so that nothing but the claim's ``now`` runs it out
LEASE = 60.0


def emc(gateway: Gateway) -> EmcConnector:
    connector = gateway.connector("emc")
    assert isinstance(connector, EmcConnector)
    return connector


def config(gateway: Gateway) -> Any:
    return emc(gateway).config.model_copy(update={"settle_seconds": 0})


async def tracked(gateway: Gateway) -> tuple[list[str], int]:
    """The dossiers of the ``track_dossier`` items queued, and their exchange-log entries."""
    async with gateway.db.reading() as session:
        items = (
            await session.scalars(
                select(OutboxItem.ma_ho_so)
                .where(OutboxItem.connector == "emc", OutboxItem.operation == "track_dossier")
                .order_by(OutboxItem.id)
            )
        ).all()
        entries = await session.scalar(
            select(func.count())
            .select_from(ExchangeEntry)
            .where(ExchangeEntry.connector == "emc", ExchangeEntry.operation == "track_dossier")
        )
    return [i or "" for i in items], int(entries or 0)


async def cursor_and_seen(gateway: Gateway) -> tuple[int | None, int]:
    async with gateway.db.reading() as session:
        cursor = await session.get(EmcCursor, tracking.CURSOR)
        seen = await session.scalar(select(func.count()).select_from(EmcSeenSync))
    return (cursor.position if cursor is not None else None), int(seen or 0)


async def noted(gateway: Gateway, n: int) -> tuple[str, int] | None:
    async with gateway.db.reading() as session:
        row = await session.get(EmcDossier, ma_ho_so(n))
    return (row.trang_thai, row.events) if row is not None else None


async def test_a_round_dying_before_its_commit_leaves_the_cursor_and_nothing_queued(
    gateway: Gateway, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 1, "da_tiep_nhan")
    await deliver_all(gateway)
    good = await tracking.scan_syncs(gateway, config(gateway))
    assert good.queued == 1
    assert good.cursor > 0
    before = (await tracked(gateway), await cursor_and_seen(gateway), await noted(gateway, 1))
    assert before[1] == (good.cursor, 0)

    await sync(api, headers, 1, "dang_xu_ly")  # a change of the dossier already noted
    for n in (2, 3):
        await sync(api, headers, n, "da_tiep_nhan")
    await deliver_all(gateway)
    real = tracking._advance

    async def dies(*_args: Any, **_kwargs: Any) -> int:
        # every event of the batch is queued and flushed; the cursor is next, then the commit
        raise RuntimeError("the process died before the round's commit")

    with monkeypatch.context() as patched:
        patched.setattr(tracking, "_advance", dies)
        with pytest.raises(RuntimeError):
            await tracking.scan_syncs(gateway, config(gateway))
    after = (await tracked(gateway), await cursor_and_seen(gateway), await noted(gateway, 1))
    assert after == before
    assert await noted(gateway, 2) is None

    assert tracking._advance is real
    result = await tracking.scan_syncs(gateway, config(gateway))
    assert (result.seen, result.queued) == (3, 3)
    assert result.cursor > good.cursor
    again = await tracking.scan_syncs(gateway, config(gateway))
    assert (again.seen, again.queued) == (0, 0)
    dossiers, entries = await tracked(gateway)
    assert sorted(dossiers) == sorted([ma_ho_so(1), ma_ho_so(1), ma_ho_so(2), ma_ho_so(3)])
    assert entries == 4
    assert await noted(gateway, 1) == ("dang_xu_ly", 2)


async def doomed_worker_takes(gateway: Gateway, operation: str) -> Any:
    (item,) = await outbox.claim(gateway.db, owner="doomed/0", limit=10, lease_seconds=LEASE)
    assert (item.connector, item.operation) == ("emc", operation)
    return item


async def survivor_redelivers(gateway: Gateway, exchange: str) -> None:
    """Nobody takes the item while the doomed worker's lease holds; once it ran out (seen
    from a later clock), a survivor takes it and delivers it again."""
    assert await DeliveryService(gateway, owner="meanwhile").run_once() == 0
    later = utcnow() + timedelta(seconds=LEASE + 1)
    (item,) = await outbox.claim(
        gateway.db, owner="survivor/0", limit=10, lease_seconds=LEASE, now=later
    )
    assert item.exchange_id == exchange
    assert item.attempts == 2
    await DeliveryService(gateway, owner="survivor").deliver(item, "survivor/0")
    found = await outbox.find(gateway.db, exchange)
    assert found is not None
    assert found.status == "delivered"


async def test_a_worker_dying_after_emc_kept_the_event_yields_one_event(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    headers = await headers_for(gateway)
    await sync(api, headers, 4, "da_tiep_nhan")
    await deliver_all(gateway)
    (exchange,) = (await tracking.scan_syncs(gateway, config(gateway))).exchange_ids

    item = await doomed_worker_takes(gateway, tracking.TRACK)
    assert item.exchange_id == exchange
    await emc(gateway).deliver(item.operation, outbox.decode_payload(gateway.cipher, item))
    assert (sim.stats.events_kept, sim.stats.duplicates) == (1, 0)

    await survivor_redelivers(gateway, exchange)
    assert (sim.stats.events_kept, sim.stats.duplicates) == (1, 1)
    assert [e["MaHoSo"] for e in sim.events] == [ma_ho_so(4)]
    assert not await outbox.mark_delivered(gateway.db, item, "doomed/0")


async def test_a_worker_dying_after_the_report_was_kept_yields_one_report(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    sim = emc_simulator(sandbox_app)
    headers = await bearer(gateway, "emc:submit", "emc:read")
    r = await api.post("/v1/emc/events", json=event(6), headers=headers)
    assert r.status_code == 202, r.text
    await deliver_all(gateway)
    r = await api.post("/v1/emc/reports/2024-01/submit", headers=headers)
    assert r.status_code == 202, r.text
    exchange = r.json()["exchange_id"]

    item = await doomed_worker_takes(gateway, "submit_monthly_report")
    assert item.exchange_id == exchange
    await emc(gateway).deliver(item.operation, outbox.decode_payload(gateway.cipher, item))
    assert sim.stats.aggregates_accepted == 1

    await survivor_redelivers(gateway, exchange)
    assert (
        sim.stats.aggregates_accepted,
        sim.stats.aggregates_replaced,
        sim.stats.aggregate_duplicates,
    ) == (1, 0, 1)
    (kept,) = sim.aggregates.values()
    assert kept["version"] == 1
    assert kept["packet"]["Thang"] == "2024-01"
    assert kept["packet"]["DuLieu"][0]["TiepNhan"] == 1
