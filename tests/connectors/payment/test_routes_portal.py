"""Payments, the rest of the loop: the event forwarded to the case system as a signed webhook,
late and replayed callbacks refused, the poller settling what no callback announced, and the
portal's reverse look-up of what a dossier owes (checked by the simulated portal).

Every test runs on SQLite and, when reachable, on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.payment import PaymentConnector
from connectors.payment import poller as payments_poller
from connectors.payment.poller import PollPolicy
from connectors.payment.routes_portal import BillLookupAnswer
from connectors.payment.tables import Payment
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, ExchangeEntry
from schemas.payment import wire_time
from tests.connectors.payment.test_routes import (
    CALLBACK,
    DOSSIER,
    act,
    create,
    headers,
    mismatches,
    platform,
    reference,
    rows,
    sim,
    status,
)
from tests.core.test_events import Receiver, all_settled, drain, gw, receiver, subscribe

__all__ = ["gw", "headers", "platform", "receiver", "sim"]  # fixtures used by name

BILL = "/callbacks/payment/dvcqg/bill"
NOW_POLICY = PollPolicy(after=timedelta(0), every=timedelta(0), give_up=timedelta(days=2), batch=50)


@pytest.fixture
def gateway(gw: Gateway) -> Gateway:
    """The conftest gateway, with the events deliverer posting to the case system's
    ``receiver`` (see :mod:`tests.core.test_events`)."""
    return gw


def connector(gw: Gateway) -> PaymentConnector:
    found = gw.connector("payment")
    assert isinstance(found, PaymentConnector)
    return found


async def poll(gw: Gateway, policy: PollPolicy = NOW_POLICY) -> int:
    c = connector(gw)
    return await payments_poller.poll_pending(
        gw, query=c.query_settlement, ma_doi_tac=c.config.ma_doi_tac, policy=policy
    )


def restamped(callback: bytes, sim: Any, at: datetime) -> bytes:
    """``callback`` with another ThoiGianGD, correctly signed by the simulated platform."""
    from connectors.payment.sandbox.wire import CALLBACK_FIELDS

    body = json.loads(callback)
    body["ThoiGianGD"] = wire_time(at)
    body["MaXacThuc"] = sim.sign_outbound([str(body[name]) for name in CALLBACK_FIELDS])
    return json.dumps(body).encode()


# --- forwarded to the case system -------------------------------------------------------------


async def test_a_paid_fee_reaches_the_case_system_as_a_signed_webhook(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    await subscribe(gateway, receiver, "motcua", ("payment.paid", "payment.failed"))
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    callback = await act(platform, ref, "pay")
    assert (await api.post(CALLBACK, content=callback)).status_code == 200
    await drain(gateway, all_settled(gateway, "delivered"))
    [event] = receiver.accepted  # verified by the receiver with its own secret
    assert event["type"] == "payment.paid"
    assert event["subject"] == DOSSIER
    assert event["data"] == {
        "payment_id": created["payment_id"],
        "ma_ho_so": DOSSIER,
        "amount": 58_000,
        "status": "paid",
        "ma_giao_dich": json.loads(callback)["MaGiaoDich"],
    }
    # the platform sends the same callback again: nothing new reaches the case system
    assert (await api.post(CALLBACK, content=callback)).status_code == 200
    await drain(gateway, all_settled(gateway, "delivered"))
    assert len(receiver.accepted) == 1


# --- late and replayed callbacks --------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(minutes=-16), timedelta(minutes=16)])
async def test_a_callback_too_far_from_now_is_refused_and_changes_nothing(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
    sim: Any,
    offset: timedelta,
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    callback = restamped(await act(platform, ref, "pay"), sim, datetime.now(UTC) + offset)
    r = await api.post(CALLBACK, content=callback)
    assert r.status_code == 401, r.text
    problem = r.json()
    assert problem["type"] == "urn:lgsp:problem:payment-callback-stale"
    assert problem["errors"][0]["loc"] == "ThoiGianGD"
    assert "900 s" in problem["detail"]
    assert (await status(api, headers, created["payment_id"]))["status"] == "pending"
    refusals = [e for e in await rows(gateway, ExchangeEntry) if e.kind == "refusal"]
    assert [(e.outcome, e.status_code) for e in refusals] == [("payment-callback-stale", 401)]
    assert problem["exchange_id"] == refusals[0].entry_id


async def test_a_callback_replayed_after_the_tolerance_is_refused_even_verbatim(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    old = wire_time(datetime.now(UTC) - timedelta(hours=3))
    callback = await act(platform, ref, "pay", at=old)
    r = await api.post(CALLBACK, content=callback)
    assert r.status_code == 401
    assert r.json()["type"] == "urn:lgsp:problem:payment-callback-stale"
    # the money did move: the poller asks the platform and settles it
    assert await poll(gateway) == 1
    view = await status(api, headers, created["payment_id"])
    assert view["status"] == "paid"
    assert view["transitions"][-1]["source"] == "poller"


# --- the poller -------------------------------------------------------------------------------


async def test_the_poller_settles_a_payment_whose_callback_was_lost(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
) -> None:
    created = (await create(api, headers)).json()
    other = (
        await create(api, headers, fee_lines=[{"noi_dung": "Lệ phí khác", "so_tien": 20_000}])
    ).json()
    ref = await reference(api, headers, created["payment_id"])
    lost = await act(platform, ref, "pay")  # never posted to the gateway

    assert await poll(gateway) == 1
    view = await status(api, headers, created["payment_id"])
    assert view["status"] == "paid"
    assert view["ma_giao_dich"] == json.loads(lost)["MaGiaoDich"]
    assert [(t["to_status"], t["source"]) for t in view["transitions"]] == [
        ("pending", "api"),
        ("paid", "poller"),
    ]
    assert (await status(api, headers, other["payment_id"]))["status"] == "pending"
    assert [e.type for e in await rows(gateway, Event)] == ["payment.paid"]
    queries = [
        e
        for e in await rows(gateway, ExchangeEntry)
        if e.operation == "query" and e.kind == "inbound"
    ]
    assert {e.client for e in queries} == {payments_poller.POLLER}
    assert len(queries) == 2  # both pending payments were asked about

    # the lost callback turns up after all (within tolerance): a duplicate, nothing changes
    r = await api.post(CALLBACK, content=lost)
    assert r.status_code == 200, r.text
    assert [e.type for e in await rows(gateway, Event)] == ["payment.paid"]


async def test_the_poller_spaces_its_questions_and_waits_for_young_payments(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], sim: Any
) -> None:
    await create(api, headers)
    young = PollPolicy(
        after=timedelta(hours=1), every=timedelta(0), give_up=timedelta(days=2), batch=50
    )
    before = sim.stats.received.get("query", 0)
    assert await poll(gateway, young) == 0
    assert sim.stats.received.get("query", 0) == before  # too young: not asked about
    spaced = PollPolicy(
        after=timedelta(0), every=timedelta(hours=1), give_up=timedelta(days=2), batch=50
    )
    assert await poll(gateway, spaced) == 0  # asked: still pending
    assert await poll(gateway, spaced) == 0  # asked a moment ago: not again
    assert sim.stats.received.get("query", 0) == before + 1


async def test_a_query_answer_with_another_amount_is_alerted_and_never_paid(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
    sim: Any,
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    await act(platform, ref, "pay")
    sim.payments[ref].so_tien = 1_000  # the platform now says another amount was paid
    before = mismatches()
    assert await poll(gateway) == 0
    assert (await status(api, headers, created["payment_id"]))["status"] == "pending"
    assert mismatches() == before + 1


async def test_a_payment_the_platform_never_knew_is_expired_after_the_give_up_time(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: httpx.AsyncClient
) -> None:
    await platform.put("/payment/_sandbox/faults", json={"error_rate": 1.0})
    r = await api.post("/v1/payments", json=_order(), headers=headers)
    assert r.status_code == 503, r.text
    await platform.put("/payment/_sandbox/faults", json={})
    [payment] = await rows(gateway, Payment)
    assert payment.payment_url is None

    assert await poll(gateway) == 0  # unknown upstream, but not yet past the give-up time
    give_up_now = PollPolicy(after=timedelta(0), every=timedelta(0), give_up=timedelta(0), batch=50)
    assert await poll(gateway, give_up_now) == 1
    view = await status(api, headers, payment.payment_id)
    assert view["status"] == "expired"
    assert view["transitions"][-1]["source"] == "poller"


async def test_the_poller_runs_as_the_connectors_periodic_job_under_a_lease(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    await act(platform, ref, "pay")
    async with gateway.db.transaction() as session:  # created long enough ago to be asked
        row = await session.scalar(select(Payment))
        assert row is not None
        row.created_at = row.created_at - timedelta(hours=1)
    service, other = DeliveryService(gateway), DeliveryService(gateway)
    [(slug, job)] = [(s, j) for s, j in service.periodic_jobs() if s == "payment"]
    assert job.name == "poll-pending"
    assert job.interval_seconds == connector(gateway).config.poll_interval_seconds
    assert await service.run_job_once(slug, job) == 1
    assert await other.run_job_once(slug, job) is None  # this round's lease is taken
    assert (await status(api, headers, created["payment_id"]))["status"] == "paid"


# --- the portal's reverse look-up -------------------------------------------------------------


def _order(**overrides: Any) -> dict[str, Any]:
    from tests.connectors.payment.test_routes import order

    return order(**overrides)


async def ask(platform: httpx.AsyncClient, ma_ho_so: str = DOSSIER, **options: Any) -> bytes:
    r = await platform.post("/payment/_sandbox/bill-requests", json={"MaHoSo": ma_ho_so, **options})
    assert r.status_code == 200, r.text
    return r.content


async def portal_checks(platform: httpx.AsyncClient, answer: bytes, ma_ho_so: str) -> Any:
    r = await platform.post(f"/payment/_sandbox/bill-answers/{ma_ho_so}", content=answer)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_portal_learns_what_a_dossier_owes_then_that_nothing_is_owed(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
) -> None:
    created = (await create(api, headers)).json()
    r = await api.post(BILL, content=await ask(platform))
    assert r.status_code == 200, r.text
    assert await portal_checks(platform, r.content, DOSSIER) == {"valid": True, "problems": []}
    # the answer is exactly the one the OpenAPI document declares
    assert BillLookupAnswer.model_validate(r.json()).model_dump(mode="json") == r.json()
    message = r.json()["message"]
    assert message["SoHoaDon"] == 1
    assert message["TongTien"] == 58_000
    [bill] = message["HoaDon"]
    assert bill["MaThamChieu"] == created["payment_id"].replace("-", "")
    assert (bill["MaDVC"], bill["MaTTHC"]) == ("000.00.01.H22", "1.001776")
    assert (bill["TKThuHuong"], bill["MaNHThuHuong"]) == ("0011001234567", "970436")
    assert [line["SoTien"] for line in bill["ChiTiet"]] == [50_000, 8_000]
    assert all(type(line["SoTien"]) is int for line in bill["ChiTiet"])

    callback = await act(platform, bill["MaThamChieu"], "pay")
    assert (await api.post(CALLBACK, content=callback)).status_code == 200
    r = await api.post(BILL, content=await ask(platform))
    assert await portal_checks(platform, r.content, DOSSIER) == {"valid": True, "problems": []}
    assert r.json()["message"]["SoHoaDon"] == 0
    assert r.json()["message"]["TongTien"] == 0
    assert r.json()["message"]["ThongBao"] == "Hồ sơ không có khoản phải nộp"

    answered = [e for e in await rows(gateway, ExchangeEntry) if e.operation == "bill"]
    assert [(e.kind, e.outcome, e.ma_ho_so) for e in answered] == [
        ("callback", "answered", DOSSIER),
        ("callback", "answered", DOSSIER),
    ]


async def test_a_dossier_nobody_registered_owes_nothing(
    api: httpx.AsyncClient, platform: httpx.AsyncClient
) -> None:
    other = "000.00.01.H22-240105-0099"
    r = await api.post(BILL, content=await ask(platform, other))
    assert r.status_code == 200
    assert await portal_checks(platform, r.content, other) == {"valid": True, "problems": []}
    assert r.json()["message"]["HoaDon"] == []


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"wrong_signature": True}, "payment-callback-rejected"),
        ({"at": "20200101000000"}, "payment-callback-stale"),
    ],
)
async def test_a_forged_or_stale_look_up_is_refused_and_recorded(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: httpx.AsyncClient,
    options: dict[str, Any],
    kind: str,
) -> None:
    await create(api, headers)
    r = await api.post(BILL, content=await ask(platform, **options))
    assert r.status_code == 401, r.text
    assert r.json()["type"] == f"urn:lgsp:problem:{kind}"
    assert "HoaDon" not in r.text
    refusals = [e for e in await rows(gateway, ExchangeEntry) if e.kind == "refusal"]
    assert [e.outcome for e in refusals] == [kind]


async def test_a_look_up_for_another_partner_is_refused(
    api: httpx.AsyncClient, gateway: Gateway, sim: Any
) -> None:
    from connectors.payment.sandbox.wire import BILL_FIELDS

    body: dict[str, Any] = {
        "LoaiBanTin": "BILL",
        "PhienBan": "1.0.6",
        "MaDoiTac": "ANOTHER-PROVINCE",
        "MaHoSo": DOSSIER,
        "ThoiGianGD": wire_time(datetime.now(UTC)),
    }
    body["MaXacThuc"] = sim.sign_outbound([str(body[name]) for name in BILL_FIELDS])
    r = await api.post(BILL, json=body)
    assert r.status_code == 401
    assert r.json()["errors"][0]["loc"] == "MaDoiTac"
