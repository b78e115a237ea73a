"""The scan of delivered DVCQG dossier syncs (the periodic job ``emc_track_syncs``): one EMC
event per dossier and status change, enriched from the core events; crash-safe (a round that
dies leaves nothing half-done, the next round does it whole, no duplicates); a pending sync
holds the cursor but not the syncs delivered after it."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.emc import EmcConnector, tracking
from connectors.emc.tables import EmcCursor, EmcDossier, EmcSeenSync
from gateway.core import events
from gateway.core.delivery import outbox
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem, utcnow
from tests.connectors.emc.support import deliver_all, emc_simulator, headers_for, sync
from tests.factories import LIFE, ma_ho_so


def config(gateway: Gateway) -> Any:
    connector = gateway.connector("emc")
    assert isinstance(connector, EmcConnector)
    return connector.config.model_copy(update={"settle_seconds": 0})


async def emc_items(gateway: Gateway) -> list[OutboxItem]:
    async with gateway.db.reading() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxItem)
                    .where(OutboxItem.connector == "emc", OutboxItem.operation == "track_dossier")
                    .order_by(OutboxItem.id)
                )
            ).all()
        )


async def test_each_status_change_becomes_one_event_in_order(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    headers = await headers_for(gateway)
    for status in LIFE:
        await sync(api, headers, 1, status)
    await sync(api, headers, 1, "da_tra_ket_qua", ghi_chu="the same status again")
    await deliver_all(gateway)

    first = await tracking.scan_syncs(gateway, config(gateway))
    assert (first.seen, first.queued, first.unchanged) == (7, 6, 1)
    again = await tracking.scan_syncs(gateway, config(gateway))
    assert (again.seen, again.queued) == (0, 0)
    await deliver_all(gateway)

    sim = emc_simulator(sandbox_app)
    statuses = [e["Status"] for e in sim.events if e["MaHoSo"] == ma_ho_so(1)]
    assert statuses == ["1", "2", "0", "2", "3", "3"]
    assert sim.stats.duplicates == 0
    owner = json.loads(sim.events[0]["User"])
    assert owner == {
        "ID_local": "001190000001",
        "ID_QG": "001190000001",
        "TYPE": "2",
        "LOCATION": "38",
    }
    assert {e["SiteId"] for e in sim.events} == {3800}
    async with gateway.db.reading() as session:
        row = await session.get(EmcDossier, ma_ho_so(1))
        cursor = await session.get(EmcCursor, tracking.CURSOR)
    assert row is not None
    assert (row.trang_thai, row.events) == ("da_tra_ket_qua", 6)
    assert row.ngay_ket_thuc is not None
    assert cursor is not None
    assert cursor.position > 0


async def test_a_round_that_dies_leaves_nothing_and_the_next_does_it_whole(
    gateway: Gateway, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await headers_for(gateway)
    for n in (1, 2, 3):
        await sync(api, headers, n, "da_tiep_nhan")
    await deliver_all(gateway)
    real = tracking.record_event
    calls = 0

    async def dies_on_the_second(*args: Any, **kwargs: Any) -> str:
        # the group committer runs a failed unit again alone: it dies there too
        nonlocal calls
        calls += 1
        if calls % 2 == 0:
            raise RuntimeError("the process died mid-round")
        return await real(*args, **kwargs)

    monkeypatch.setattr(tracking, "record_event", dies_on_the_second)
    with pytest.raises(RuntimeError):
        await tracking.scan_syncs(gateway, config(gateway))
    assert await emc_items(gateway) == []  # the first event's enqueue was rolled back too
    async with gateway.db.reading() as session:
        assert (await session.scalars(select(EmcSeenSync))).all() == []
        assert await session.get(EmcCursor, tracking.CURSOR) is None

    monkeypatch.setattr(tracking, "record_event", real)
    result = await tracking.scan_syncs(gateway, config(gateway))
    assert result.queued == 3
    again = await tracking.scan_syncs(gateway, config(gateway))
    assert again.queued == 0
    items = await emc_items(gateway)
    assert sorted(i.ma_ho_so or "" for i in items) == [ma_ho_so(n) for n in (1, 2, 3)]


async def test_a_pending_sync_holds_the_cursor_not_the_later_ones(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 1, "da_tiep_nhan")
    await sync(api, headers, 2, "da_tiep_nhan")
    # the first dossier's sync is leased by a worker that has not finished
    async with gateway.db.reading() as session:
        first = (
            await session.scalars(select(OutboxItem).where(OutboxItem.ma_ho_so == ma_ho_so(1)))
        ).one()
    claimed = await outbox.claim(gateway.db, owner="slow/0", limit=1, lease_seconds=600)
    assert [c.id for c in claimed] == [first.id]
    await deliver_all(gateway)  # delivers the second dossier only

    result = await tracking.scan_syncs(gateway, config(gateway))
    assert result.queued == 1
    assert result.cursor < first.id  # held below the pending sync
    assert [i.ma_ho_so for i in await emc_items(gateway)] == [ma_ho_so(2)]

    # the slow worker finishes; the next round takes it and passes both
    async with gateway.db.transaction() as session:
        item = await session.get(OutboxItem, first.id)
        assert item is not None
        item.status = "delivered"
    result = await tracking.scan_syncs(gateway, config(gateway))
    assert result.queued == 1
    assert result.cursor >= first.id
    async with gateway.db.reading() as session:
        assert (await session.scalars(select(EmcSeenSync))).all() == []  # forgotten below it
    assert sorted(i.ma_ho_so or "" for i in await emc_items(gateway)) == [
        ma_ho_so(1),
        ma_ho_so(2),
    ]


async def test_events_are_enriched_from_payments_the_portal_and_the_post(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    headers = await headers_for(gateway)
    code = ma_ho_so(4)
    for type_, payload in (
        ("payment.paid", {"ma_ho_so": code, "amount": 50_000, "status": "paid"}),
        ("dvcqg.dossier.received", {"ma_ho_so": code}),
        ("postal.created", {"ma_ho_so": code, "flow": "delivery"}),
    ):
        await events.publish_now(
            gateway, type=type_, source=type_.split(".")[0], payload=payload, subject=code
        )
    await sync(api, headers, 4, "da_tra_ket_qua", kenh_thuc_hien="truc_tuyen")
    await deliver_all(gateway)
    await tracking.scan_syncs(gateway, config(gateway))
    await deliver_all(gateway)
    (sent,) = [e for e in emc_simulator(sandbox_app).events if e["MaHoSo"] == code]
    assert sent["FormsPayments"] == "1"
    assert sent["IsFromDVCQG"] == "1"
    assert sent["IsDVCBC"] == "1"
    assert sent["FormsReception"] == "1"
    assert sent["Status"] == "3"
    assert sent["Level"] == "3"  # the default level: online, partial


async def test_the_scan_is_the_periodic_job(gateway: Gateway) -> None:
    connector = gateway.connector("emc")
    assert isinstance(connector, EmcConnector)
    names = [job.name for job in connector.periodic_jobs(gateway)]
    assert names == ["emc_track_syncs"]  # the monthly submission is off by default
    off = EmcConnector(connector.config.model_copy(update={"site_id": None}), httpx.AsyncClient())
    assert off.periodic_jobs(gateway) == []


async def test_the_owners_id_number_never_reaches_the_logs_unmasked(
    gateway: Gateway,
    api: httpx.AsyncClient,
    logging_at_debug: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 5, "da_tiep_nhan")
    await deliver_all(gateway)
    capfd.readouterr()  # what DVCQG's own delivery logged is not this test's
    await tracking.scan_syncs(gateway, config(gateway))
    await deliver_all(gateway)
    out, err = capfd.readouterr()
    assert "emc_scan" in out + err
    assert "001190000005" not in out + err
    (item,) = await emc_items(gateway)
    assert item.status == "delivered"


async def test_two_scans_at_once_queue_each_event_once(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await headers_for(gateway)
    for n in range(1, 6):
        await sync(api, headers, n, "da_tiep_nhan")
    await deliver_all(gateway)
    first, second = await asyncio.gather(
        tracking.scan_syncs(gateway, config(gateway)),
        tracking.scan_syncs(gateway, config(gateway)),
    )
    assert first.queued + second.queued == 5
    assert sorted(i.ma_ho_so or "" for i in await emc_items(gateway)) == [
        ma_ho_so(n) for n in range(1, 6)
    ]


async def test_the_cursor_waits_for_young_syncs_but_their_events_do_not(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 6, "da_tiep_nhan")
    await deliver_all(gateway)
    async with gateway.db.reading() as session:
        synced = (
            await session.scalars(select(OutboxItem.id).where(OutboxItem.connector == "dvcqg"))
        ).one()
    settling = config(gateway).model_copy(update={"settle_seconds": 3600})
    first = await tracking.scan_syncs(gateway, settling)
    assert first.queued == 1
    assert first.cursor < synced  # queued now; the cursor waits below it
    again = await tracking.scan_syncs(gateway, settling)
    assert (again.seen, again.queued) == (0, 0)  # the seen mark keeps it from repeating
    later = await tracking.scan_syncs(gateway, settling, now=utcnow() + timedelta(hours=2))
    assert later.cursor >= synced
    assert len(await emc_items(gateway)) == 1


async def test_a_sync_that_cannot_make_an_event_is_counted_once_and_holds_nobody(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 8, "da_tiep_nhan", so_giay_to_chu_ho_so="X1")  # no ID EMC takes
    await sync(api, headers, 9, "da_tiep_nhan")
    await deliver_all(gateway)
    result = await tracking.scan_syncs(gateway, config(gateway))
    assert (result.seen, result.queued, result.unreadable) == (2, 1, 1)
    assert result.cursor > 0
    again = await tracking.scan_syncs(gateway, config(gateway))
    assert (again.seen, again.unreadable) == (0, 0)
    assert [i.ma_ho_so for i in await emc_items(gateway)] == [ma_ho_so(9)]
