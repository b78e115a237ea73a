"""Postal shipments through the gateway, end to end against the postal simulator.

The simulator's webhooks are pushed into the gateway's own API (in process); the outbox is
driven with ``run_once``. Both flows (pick-up of a dossier, delivery of a result with fees
collected on delivery), idempotent requests, forged and duplicated webhooks, out-of-order
webhooks, cancellation, failed deliveries and returns, quotes and the reconciliation route.
Every test runs on SQLite and, when reachable, on PostgreSQL + Redis.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from connectors.postal.routes import (
    PostalReconciliation,
    QuoteAnswer,
    ShipmentAccepted,
    ShipmentList,
    ShipmentView,
    WebhookAnswer,
)
from connectors.postal.tables import ShipmentEvent
from gateway.core import events
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, ExchangeEntry, OutboxItem
from gateway.core.web.intake import Accepted
from schemas.postal import StatusWebhook, wire_day
from tests.conftest import bearer
from tests.connectors.postal.support import (
    AGENCY,
    DOSSIER,
    SCOPES,
    SHIPMENTS,
    WEBHOOK,
    Postal,
    citizen,
    postal_of,
    shipment,
)


@pytest.fixture
async def platform(sandbox_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


@pytest.fixture
def postal(sandbox_app: Any, platform: httpx.AsyncClient, app: Any) -> Postal:
    p = postal_of(sandbox_app, platform)
    p.push_into(app)
    return p


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, *SCOPES)


async def deliver_all(app: Any, postal: Postal) -> None:
    """Run the outbox until it is empty (the simulator's webhooks pushed after each round)."""
    while await app.state.delivery.run_once():
        await postal.pusher.drain()
    await postal.pusher.drain()


async def ship(
    api: httpx.AsyncClient, headers: dict[str, str], flow: str = "delivery", **overrides: Any
) -> dict[str, Any]:
    r = await api.post(SHIPMENTS, json=shipment(flow, **overrides), headers=headers)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = declared(ShipmentAccepted, r)
    assert r.headers["Location"] == f"{SHIPMENTS}/{body['shipment_id']}"
    return body


async def status_of(api: httpx.AsyncClient, headers: dict[str, str], shipment_id: str) -> Any:
    r = await api.get(f"{SHIPMENTS}/{shipment_id}", headers=headers)
    assert r.status_code == 200, r.text
    return declared(ShipmentView, r)


def declared(model: type[BaseModel], r: httpx.Response) -> Any:
    """The answer's JSON, once checked to be exactly what the OpenAPI document declares."""
    assert model.model_validate(r.json()).model_dump(mode="json") == r.json()
    return r.json()


async def event_types(gateway: Gateway) -> list[str]:
    page = await events.read_inbox(gateway.db, gateway.cipher, client="test", after=0)
    return [e["type"] for e in page.events]


async def test_a_result_delivered_with_fees_collected_on_delivery(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    assert accepted["order_number"] == f"{DOSSIER}-delivery"
    assert accepted["status"] == "requested"
    assert (await status_of(api, headers, accepted["shipment_id"]))["status"] == "requested"

    await deliver_all(app, postal)
    order = postal.sim.orders[f"{DOSSIER}-delivery"]
    assert order.packet["CODAmount"] == 58_000
    assert order.packet["SenderName"].startswith("Bộ phận Một cửa")  # the centre sends
    assert order.packet["ReceiverName"] == "Nguyễn Văn An"
    assert order.packet["ReceiverProvince"] == 25
    exchange = (await api.get(f"/v1/exchanges/{accepted['exchange_id']}", headers=headers)).json()
    assert exchange["state"] == "delivered"
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "created"
    assert view["platform_order_id"] == order.item_code

    for _ in range(4):  # picked up, in transit, out for delivery, delivered
        await postal.advance(f"{DOSSIER}-delivery")
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "delivered"
    assert view["final"] is True
    assert view["delivered_at"] is not None
    assert view["receiver"] == "N. V. A., 09******78 (227/25)"
    assert [h["status"] for h in view["history"]] == [
        "requested",
        "created",
        "picked_up",
        "in_transit",
        "in_transit",
        "delivered",
    ]
    assert [h["applied"] for h in view["history"]] == [True, True, True, True, False, True]
    assert await event_types(gateway) == [
        "postal.created",
        "postal.picked_up",
        "postal.in_transit",
        "postal.delivered",
    ]
    page = await events.read_inbox(gateway.db, gateway.cipher, client="t", after=0)
    delivered = page.events[-1]
    assert delivered["subject"] == DOSSIER
    assert delivered["data"]["tien_thu_ho"] == 58_000
    assert delivered["data"]["shipment_id"] == accepted["shipment_id"]


async def test_a_dossier_picked_up_from_the_citizen(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers, "pickup")
    await deliver_all(app, postal)
    order = postal.sim.orders[f"{DOSSIER}-pickup"]
    assert order.packet["SenderName"] == "Nguyễn Văn An"  # the citizen sends
    assert order.packet["SenderTel"] == "0912345678"
    assert order.packet["ReceiverName"].startswith("Bộ phận Một cửa")
    assert order.packet["CODAmount"] == 0
    assert order.packet["SenderProvince"] == 25  # an integer, as OpenCPS sends it
    for _ in range(4):
        await postal.advance(f"{DOSSIER}-pickup")
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "delivered"
    assert view["receiver"].startswith("Bộ phận Một cửa")
    # the delivery of the same dossier is another shipment
    other = await ship(api, headers, "delivery")
    assert other["shipment_id"] != accepted["shipment_id"]
    listed = await api.get(SHIPMENTS, params={"ma_ho_so": DOSSIER}, headers=headers)
    assert listed.status_code == 200, listed.text
    declared(ShipmentList, listed)
    assert [(s["flow"], s["status"]) for s in listed.json()["shipments"]] == [
        ("pickup", "delivered"),
        ("delivery", "requested"),
    ]
    bad = await api.get(SHIPMENTS, params={"ma_ho_so": "nope"}, headers=headers)
    assert bad.status_code == 422


async def test_the_same_request_answers_the_same_shipment_and_other_content_conflicts(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str]
) -> None:
    first = await ship(api, headers)
    again = await api.post(SHIPMENTS, json=shipment(), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["shipment_id"] == first["shipment_id"]
    assert again.json()["exchange_id"] == first["exchange_id"]
    other = await api.post(SHIPMENTS, json=shipment(tien_thu_ho=1_000), headers=headers)
    assert other.status_code == 409, other.text
    assert other.json()["type"] == "urn:lgsp:problem:postal-shipment-conflict"
    async with gateway.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 1


async def test_an_idempotency_key_replays_the_first_answer(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    keyed = {**headers, "Idempotency-Key": "ship-7"}
    first = await api.post(SHIPMENTS, json=shipment(), headers=keyed)
    assert first.status_code == 202, first.text
    again = await api.post(SHIPMENTS, json=shipment(), headers=keyed)
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await api.post(SHIPMENTS, json=shipment("pickup"), headers=keyed)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:lgsp:problem:idempotency-key-reused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (shipment("pickup", tien_thu_ho=10_000), "tien_thu_ho"),
        (shipment(tien_thu_ho=58_000.0), "tien_thu_ho"),
        (shipment(tien_thu_ho="58000"), "tien_thu_ho"),
        (shipment(ma_dvc="000.00.99.H99"), "ma_dvc"),
        (shipment(ma_ho_so="H22-1"), "ma_ho_so"),
        (shipment(cong_dan=citizen(so_dien_thoai="12345")), "cong_dan.so_dien_thoai"),
        (shipment(flow="courier"), "flow"),
    ],
)
async def test_bad_requests_are_refused_naming_the_field(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], body: Any, field: str
) -> None:
    r = await api.post(SHIPMENTS, json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["loc"] for e in r.json()["errors"]]
    async with gateway.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0


async def test_scopes_are_required(api: httpx.AsyncClient, gateway: Gateway) -> None:
    reader = await bearer(gateway, "postal:read")
    assert (await api.post(SHIPMENTS, json=shipment(), headers=reader)).status_code == 403
    assert (await api.post(SHIPMENTS, json=shipment())).status_code == 401


async def test_forged_and_duplicated_webhooks(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    await deliver_all(app, postal)
    number = f"{DOSSIER}-delivery"
    forged = await postal.platform.post(
        "/postal/_sandbox/webhooks/forge", json={"order_number": number, "status_code": "5"}
    )
    assert forged.status_code == 200
    await postal.pusher.drain()
    assert postal.sim.webhooks[-1]["pushed"] == 401
    assert (await status_of(api, headers, accepted["shipment_id"]))["status"] == "created"
    async with gateway.db.reading() as session:
        refusals = (
            await session.scalars(select(ExchangeEntry).where(ExchangeEntry.kind == "refusal"))
        ).all()
    assert [(e.connector, e.outcome, e.status_code) for e in refusals] == [
        ("postal", "postal-webhook-rejected", 401)
    ]

    await postal.advance(number)  # picked up, signed
    seq = postal.sim.webhooks[-1]["seq"]
    before = await status_of(api, headers, accepted["shipment_id"])
    types = await event_types(gateway)
    duplicate = await postal.platform.post(f"/postal/_sandbox/webhooks/{seq}/duplicate")
    assert duplicate.status_code == 200
    await postal.pusher.drain()
    assert postal.sim.webhooks[-1]["pushed"] == 200  # answered OK ...
    after = await status_of(api, headers, accepted["shipment_id"])
    assert after["history"] == before["history"]  # ... and nothing changed
    assert after["status"] == "picked_up"
    assert await event_types(gateway) == types


async def test_a_webhook_replayed_later_is_refused(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], postal: Postal
) -> None:
    await ship(api, headers)
    await deliver_all(app, postal)
    record = postal.sim.webhooks[0]
    stale = {**record["headers"], "X-VNPost-Timestamp": "1000000000"}
    r = await api.post(WEBHOOK, content=record["body"], headers=stale)
    assert r.status_code == 401  # the signature covers the timestamp
    body = record["body"].replace("EH", "XX")
    r = await api.post(WEBHOOK, content=body, headers=record["headers"])
    assert r.status_code == 401
    assert r.json()["type"] == "urn:lgsp:problem:postal-webhook-rejected"


async def test_a_webhook_taken_again_is_answered_as_the_document_declares(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], postal: Postal
) -> None:
    await ship(api, headers)
    await deliver_all(app, postal)
    record = postal.sim.webhooks[0]
    StatusWebhook.model_validate_json(record["body"])  # the packet the document declares
    r = await api.post(WEBHOOK, content=record["body"], headers=record["headers"])
    assert r.status_code == 200, r.text
    declared(WebhookAnswer, r)


async def test_out_of_order_webhooks_never_regress_a_shipment(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    postal.sim.config = postal.sim.config.model_copy(update={"lose_webhooks": True})
    await deliver_all(app, postal)
    number = f"{DOSSIER}-delivery"
    for _ in range(4):
        await postal.advance(number)
    lost = [w for w in postal.sim.webhooks if w["pushed"] == "lost"]
    assert len(lost) == 5
    for record in reversed(lost):  # delivered first, created last
        record["pushed"] = None
        postal.pusher.push(record)
        await postal.pusher.drain()
        assert record["pushed"] == 200
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "delivered"
    applied = {h["status"]: h["applied"] for h in view["history"] if h["source"] == "webhook"}
    assert applied == {
        "delivered": True,
        "in_transit": False,
        "picked_up": False,
        "created": False,
    }
    assert await event_types(gateway) == ["postal.delivered"]
    async with gateway.db.reading() as session:
        kept = await session.scalar(select(func.count()).select_from(ShipmentEvent))
    assert kept == 6  # requested + the five reports, each once


async def test_cancel_goes_after_the_creation_and_the_platform_confirms(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    url = f"{SHIPMENTS}/{accepted['shipment_id']}/cancel"
    r = await api.post(url, json={"ly_do": "Công dân nhận trực tiếp"}, headers=headers)
    assert r.status_code == 202, r.text
    declared(Accepted, r)
    again = await api.post(url, json={"ly_do": "Công dân nhận trực tiếp"}, headers=headers)
    assert again.status_code == 200
    declared(ShipmentAccepted, again)
    assert again.json()["exchange_id"] == r.json()["exchange_id"]
    await deliver_all(app, postal)  # the creation first, then the cancellation
    order = postal.sim.orders[f"{DOSSIER}-delivery"]
    assert [line["statusCode"] for line in order.lines] == ["1", "8"]
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "cancelled"
    assert view["cancel_exchange_id"] == r.json()["exchange_id"]
    final = await api.post(url, json={}, headers=headers)
    assert final.status_code == 409
    assert final.json()["type"] == "urn:lgsp:problem:postal-shipment-final"


async def test_a_cancel_too_late_is_a_dead_letter_and_the_parcel_goes_on(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    await deliver_all(app, postal)
    await postal.advance(f"{DOSSIER}-delivery")  # picked up: too late to cancel
    r = await api.post(f"{SHIPMENTS}/{accepted['shipment_id']}/cancel", json={}, headers=headers)
    assert r.status_code == 202
    await deliver_all(app, postal)
    exchange = (await api.get(f"/v1/exchanges/{r.json()['exchange_id']}", headers=headers)).json()
    assert exchange["state"] == "dead"
    assert "PostalNotCancellable" in exchange["delivery"]["last_error"]
    assert (await status_of(api, headers, accepted["shipment_id"]))["status"] == "picked_up"


async def test_a_failed_delivery_then_a_return(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    await deliver_all(app, postal)
    number = f"{DOSSIER}-delivery"
    for _ in range(3):
        await postal.advance(number)
    await postal.advance(number, outcome="fail")
    assert (await status_of(api, headers, accepted["shipment_id"]))["status"] == "failed_delivery"
    await postal.advance(number)  # a second attempt goes out
    assert (await status_of(api, headers, accepted["shipment_id"]))["status"] == "in_transit"
    await postal.advance(number, outcome="fail")
    await postal.advance(number, outcome="return")
    view = await status_of(api, headers, accepted["shipment_id"])
    assert view["status"] == "returned"
    assert view["delivered_at"] is None
    types = await event_types(gateway)
    assert types[-3:] == ["postal.in_transit", "postal.failed_delivery", "postal.returned"]


async def test_a_quote(api: httpx.AsyncClient, headers: dict[str, str], postal: Postal) -> None:
    body = {"ma_dvc": AGENCY, "flow": "delivery", "ma_tinh": "01", "ma_huyen": "001"}
    r = await api.post("/v1/postal/quotes", json={**body, "tien_thu_ho": 58_000}, headers=headers)
    assert r.status_code == 200, r.text
    quote = declared(QuoteAnswer, r)
    # the public answer carries one price (OpenCPS reads content.price): no fee breakdown
    assert quote["tong_cuoc"] == 24_500
    assert quote["exchange_id"]
    sent = postal.sim.received[-1]["packet"]
    assert sent == {
        "weight": 500,
        "mainSrv": "HCC",
        "isreturn": 1,
        "sender": {"provCode": 25, "distCode": 227},
        "receiver": {"provCode": 1, "distCode": 1},
    }
    bad = await api.post("/v1/postal/quotes", json={**body, "ma_dvc": "X"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == "ma_dvc"


async def test_the_reconciliation_route(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], postal: Postal
) -> None:
    accepted = await ship(api, headers)
    await deliver_all(app, postal)
    delivered = None
    for _ in range(4):
        delivered = await postal.advance(f"{DOSSIER}-delivery")
    assert delivered is not None
    day = delivered["CollectedAt"][:8]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    r = await api.get("/v1/postal/reconciliation", params={"date": iso}, headers=headers)
    assert r.status_code == 200, r.text
    report = declared(PostalReconciliation, r)
    assert report["ok"] is True
    assert report["matched"] == 1
    assert report["totals"]["ours"]["amount"] == 58_000
    csv = await api.get(
        "/v1/postal/reconciliation", params={"date": iso, "format": "csv"}, headers=headers
    )
    assert csv.status_code == 200
    assert csv.text.splitlines() == [
        "kind,order_number,item_code,shipment_id,our_amount,their_amount,our_status,"
        "their_status,detail"
    ]
    assert wire_day  # the statement's day is the simulator's own
    assert accepted["shipment_id"]


async def test_an_unknown_order_is_404_and_recorded(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    await ship(api, headers)
    await deliver_all(app, postal)
    record = postal.sim.webhooks[0]
    body = record["body"].replace(f"{DOSSIER}-delivery", f"{DOSSIER}-pickup").encode()
    stamp = record["headers"]["X-VNPost-Timestamp"]
    headers_ = {"X-VNPost-Timestamp": stamp, "X-VNPost-Signature": postal.sim.sign(stamp, body)}
    r = await api.post(WEBHOOK, content=body, headers=headers_)
    assert r.status_code == 404, r.text
    async with gateway.db.reading() as session:
        outcomes = (
            await session.scalars(
                select(ExchangeEntry.outcome).where(ExchangeEntry.kind == "refusal")
            )
        ).all()
        assert list(outcomes) == ["postal-shipment-not-found"]
        assert await session.scalar(select(func.count()).select_from(Event)) == 1
