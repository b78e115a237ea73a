"""Refunds of paid payments (item 6 of issue 5): requested, capped at what was paid, decided
(completed or rejected), the payment's status following, and events queued. Every test runs
on SQLite and, when reachable, on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.payment.routes import RefundListing, RefundView
from connectors.payment.tables import Refund
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event
from tests.connectors.payment.test_routes import (
    CALLBACK,
    CREATE,
    act,
    create,
    declared,
    headers,
    platform,
    reference,
    rows,
    status,
)

__all__ = ["headers", "platform"]  # fixtures, used by name

PAID = 58_000


async def paid(api: httpx.AsyncClient, headers: dict[str, str], platform: Any) -> str:
    payment_id = str((await create(api, headers)).json()["payment_id"])
    callback = await act(platform, await reference(api, headers, payment_id), "pay")
    r = await api.post(CALLBACK, content=callback, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return payment_id


async def ask(
    api: httpx.AsyncClient, headers: dict[str, str], payment_id: str, amount: Any, **extra: Any
) -> httpx.Response:
    r = await api.post(
        f"{CREATE}/{payment_id}/refunds",
        json={"amount": amount, "reason": "nộp thừa"},
        headers={**headers, **extra},
    )
    if r.status_code == 201:
        declared(RefundView, r)
    return r


async def decide(
    api: httpx.AsyncClient, headers: dict[str, str], payment_id: str, refund_id: str, how: str
) -> httpx.Response:
    body = {"reference": "KB-2026-0001"} if how == "complete" else {"note": "không hợp lệ"}
    r = await api.post(
        f"{CREATE}/{payment_id}/refunds/{refund_id}/{how}", json=body, headers=headers
    )
    if r.status_code == 200:
        declared(RefundView, r)
    return r


def amount_error(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    fields = [e for e in body.get("errors", []) if "amount" in str(e.get("loc", ""))]
    assert fields, body
    return str(body)


async def test_refunds_are_capped_at_what_was_paid(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    payment_id = await paid(api, headers, platform)
    first = await ask(api, headers, payment_id, 50_000)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "requested"
    assert first.json()["amount"] == 50_000
    assert (await status(api, headers, payment_id))["status"] == "refund_requested"

    refused = await ask(api, headers, payment_id, 8_001)
    assert "8000" in amount_error(refused)
    assert len(await rows(gateway, Refund)) == 1

    exact = await ask(api, headers, payment_id, 8_000)
    assert exact.status_code == 201, exact.text
    listed = declared(
        RefundListing, await api.get(f"{CREATE}/{payment_id}/refunds", headers=headers)
    )
    assert listed["refundable"] == 0
    assert listed["pending"] == PAID
    assert [r["amount"] for r in listed["refunds"]] == [50_000, 8_000]
    assert "0" in amount_error(await ask(api, headers, payment_id, 1))
    view = await status(api, headers, payment_id)
    assert [r["refund_id"] for r in view["refunds"]] == [r["refund_id"] for r in listed["refunds"]]
    assert view["refundable"] == 0


async def test_a_payment_not_paid_cannot_be_refunded(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str]
) -> None:
    payment_id = (await create(api, headers)).json()["payment_id"]
    r = await ask(api, headers, payment_id, 1_000)
    assert r.status_code == 409, r.text
    assert (await status(api, headers, payment_id))["status"] == "pending"
    assert await rows(gateway, Refund) == []
    unknown = await ask(api, headers, "00000000-0000-0000-0000-000000000000", 1_000)
    assert unknown.status_code == 404


@pytest.mark.parametrize("amount", [1000.0, 1.5, "1000", 0, -5, True])
async def test_amounts_must_be_positive_integers(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any, amount: Any
) -> None:
    payment_id = await paid(api, headers, platform)
    r = await ask(api, headers, payment_id, amount)
    assert r.status_code == 422, r.text
    assert await rows(gateway, Refund) == []
    assert (await status(api, headers, payment_id))["status"] == "paid"


async def test_complete_all_refunds_the_payment_and_repeats_conflict(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    payment_id = await paid(api, headers, platform)
    a = (await ask(api, headers, payment_id, 50_000)).json()["refund_id"]
    b = (await ask(api, headers, payment_id, 8_000)).json()["refund_id"]

    done = await decide(api, headers, payment_id, a, "complete")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["reference"] == "KB-2026-0001"
    assert (await status(api, headers, payment_id))["status"] == "refund_requested"
    assert (await decide(api, headers, payment_id, a, "complete")).status_code == 409
    assert (await decide(api, headers, payment_id, a, "reject")).status_code == 409

    assert (await decide(api, headers, payment_id, b, "complete")).status_code == 200
    view = await status(api, headers, payment_id)
    assert view["status"] == "refunded"
    assert [(t["from_status"], t["to_status"], t["source"]) for t in view["transitions"]][1:] == [
        ("pending", "paid", "callback"),
        ("paid", "refund_requested", "api"),
        ("refund_requested", "refunded", "api"),
    ]
    assert (await ask(api, headers, payment_id, 1)).status_code == 409
    assert (await decide(api, headers, payment_id, b, "reject")).status_code == 409
    missing = await decide(api, headers, payment_id, "nope", "complete")
    assert missing.status_code == 404
    listed = declared(
        RefundListing, await api.get(f"{CREATE}/{payment_id}/refunds", headers=headers)
    )
    assert (listed["refunded"], listed["pending"], listed["refundable"]) == (PAID, 0, 0)

    types = [e.type for e in await rows(gateway, Event)]
    assert types == [
        "payment.paid",
        "payment.refund_requested",
        "payment.refund_requested",
        "payment.refunded",
        "payment.refunded",
    ]


async def test_rejected_refunds_return_the_payment_to_paid(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    payment_id = await paid(api, headers, platform)
    a = (await ask(api, headers, payment_id, PAID)).json()["refund_id"]
    rejected = await decide(api, headers, payment_id, a, "reject")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["note"] == "không hợp lệ"
    assert (await decide(api, headers, payment_id, a, "complete")).status_code == 409
    view = await status(api, headers, payment_id)
    assert view["status"] == "paid"
    assert view["refundable"] == PAID  # a rejected refund holds nothing back

    # a partial refund, completed: back to paid, with only the remainder refundable
    b = (await ask(api, headers, payment_id, 8_000)).json()["refund_id"]
    assert (await decide(api, headers, payment_id, b, "complete")).status_code == 200
    view = await status(api, headers, payment_id)
    assert view["status"] == "paid"
    assert view["refundable"] == 50_000
    assert "50000" in amount_error(await ask(api, headers, payment_id, 50_001))
    types = [e.type for e in await rows(gateway, Event)]
    assert types == [
        "payment.paid",
        "payment.refund_requested",
        "payment.refund_rejected",
        "payment.refund_requested",
        "payment.refunded",
    ]


async def test_events_are_queued_for_subscribers(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    from gateway.core import events
    from gateway.core.store.db import OutboxItem

    await events.subscribe(
        gateway.db,
        gateway.cipher,
        name="motcua",
        endpoint="https://case.example/hooks/motcua",
        event_types=("payment.refund_requested", "payment.refunded"),
    )
    payment_id = await paid(api, headers, platform)
    refund_id = (await ask(api, headers, payment_id, PAID)).json()["refund_id"]
    await decide(api, headers, payment_id, refund_id, "complete")
    queued = [i for i in await rows(gateway, OutboxItem) if i.connector == "events"]
    assert len(queued) == 2


async def test_idempotency_key_answers_the_first_refund(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    payment_id = await paid(api, headers, platform)
    first = await ask(api, headers, payment_id, 1_000, **{"Idempotency-Key": "r-1"})
    again = await ask(api, headers, payment_id, 1_000, **{"Idempotency-Key": "r-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(await rows(gateway, Refund)) == 1
