"""Decisions and changes outside the platforms' exchanges are evidence too (issue 17): dead
letters replayed or skipped, officer registry changes, payment status changes and refunds are
entries of the exchange log's chain, with who made them and why, sealed and verified."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from connectors.dancu import officers
from gateway.core.delivery.intake import accept_delivery
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import verify_database
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.conftest import bearer
from tests.connectors.payment.test_routes import create
from tests.officer_factories import register_officer


async def decisions(gateway: Gateway, prefix: str) -> list[ExchangeEntry]:
    async with gateway.db.reading() as session:
        rows = await session.scalars(
            select(ExchangeEntry)
            .where(ExchangeEntry.kind.in_(("decision", "change")))
            .where(ExchangeEntry.operation.startswith(prefix))
            .order_by(ExchangeEntry.id)
        )
        return list(rows.all())


async def sealed_and_intact(gateway: Gateway) -> None:
    await DeliveryService(gateway).seal_once()
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.ok, report.problem
    assert report.unsealed == 0


async def dead_letter(gateway: Gateway, n: int) -> str:
    accepted = await accept_delivery(
        gateway,
        client="case-system",
        connector="dvcqg",
        operation="sync_dossier",
        ordering_key=f"dvcqg:x-{n}",
        payload={"n": n},
        request_body=b"{}",
    )
    async with gateway.db.transaction() as session:
        await session.execute(
            text(
                "UPDATE outbox SET status = 'dead', last_error = 'HTTP 400' WHERE exchange_id = :e"
            ),
            {"e": accepted.exchange_id},
        )
    return accepted.exchange_id


async def test_dead_letter_decisions_are_in_the_chain(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    skipped, replayed = await dead_letter(gateway, 1), await dead_letter(gateway, 2)
    ops = await bearer(gateway, "ops:dlq", name="truc-van-hanh")
    skip = await api.post(f"/v1/dlq/{skipped}/skip", json={"reason": "hồ sơ đã rút"}, headers=ops)
    assert skip.status_code == 200, skip.text
    replay = await api.post(
        f"/v1/dlq/{replayed}/replay", json={"reason": "cổng đã sửa lỗi"}, headers=ops
    )
    assert replay.status_code == 200, replay.text
    found = await decisions(gateway, "dlq:")
    assert [(d.operation, d.parent_id, d.client, d.purpose) for d in found] == [
        ("dlq:skip", skipped, "truc-van-hanh", "hồ sơ đã rút"),
        ("dlq:replay", replayed, "truc-van-hanh", "cổng đã sửa lỗi"),
    ]
    # the exchange's own trail shows the decision
    trail = (
        await api.get(f"/v1/exchanges/{skipped}", headers=await bearer(gateway, "exchanges:read"))
    ).json()
    assert "dlq:skip" in str(trail)
    await sealed_and_intact(gateway)


async def test_officer_registry_changes_are_in_the_chain(gateway: Gateway) -> None:
    view = await register_officer(gateway, 1)
    await officers.lock(
        db=gateway.db,
        tai_khoan=view.tai_khoan,
        reason="chuyển công tác",
        actor="admin-a",
        cipher=gateway.cipher,
    )
    found = await decisions(gateway, "officer:")
    assert [(d.operation, d.officer_id) for d in found] == [
        ("officer:registered", view.tai_khoan),
        ("officer:locked", view.tai_khoan),
    ]
    assert found[1].purpose == "chuyển công tác"
    assert found[1].client == "admin-a"
    await sealed_and_intact(gateway)


async def test_payment_changes_are_in_the_chain(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "payment:create", "payment:read")
    await create(api, headers)
    found = await decisions(gateway, "payment:")
    assert [d.operation for d in found] == ["payment:pending"]
    assert found[0].kind == "change"
    await sealed_and_intact(gateway)
