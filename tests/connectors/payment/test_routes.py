"""Fee payments through the gateway, end to end against the payment-platform simulator.

Create (INIT), pay at the simulator, post the simulator's signed callback to the gateway, and
read the result; forged, altered, duplicated and replayed callbacks. Every test runs on SQLite
and, when reachable, on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import select, update

from connectors.payment import PaymentConnector, payments
from connectors.payment import poller as payments_poller
from connectors.payment.checksum import CALLBACK_FIELDS
from connectors.payment.poller import PollPolicy
from connectors.payment.routes import PaymentView
from connectors.payment.sandbox import PaymentSimulator, get_simulator
from connectors.payment.tables import Payment, PaymentTransition
from gateway.core import events
from gateway.core.errors import ConfigurationError
from gateway.core.metrics import REGISTRY
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, ExchangeEntry, OutboxItem
from tests.conftest import bearer

CREATE = "/v1/payments"
CALLBACK = "/callbacks/payment/dvcqg"
DOSSIER = "000.00.01.H22-240105-0007"


def order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ma_ho_so": DOSSIER,
        "ma_tthc": "1.001776",
        "ma_dvc": "000.00.01.H22",
        "fee_lines": [
            {"noi_dung": "Lệ phí đăng ký khai sinh", "so_tien": 50_000},
            {"noi_dung": "Phí cấp bản sao", "so_tien": 8_000},
        ],
        "payer": {"ho_va_ten": "Nguyễn Văn An"},
        "return_url": "https://motcua.example/ho-so/7",
    }
    body.update(overrides)
    return body


@pytest.fixture
def sim(sandbox_app: Any) -> PaymentSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/payment":
            return get_simulator(route.app)
    raise LookupError("payment simulator not mounted")


@pytest.fixture
async def platform(sandbox_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "payment:create", "payment:read")


async def create(api: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> Any:
    r = await api.post(CREATE, json=order(**overrides), headers=headers)
    assert r.status_code in (200, 201), r.text
    return r


async def reference(api: httpx.AsyncClient, headers: dict[str, str], payment_id: str) -> str:
    r = await api.get(f"{CREATE}/{payment_id}", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["ma_tham_chieu"])


async def act(platform: httpx.AsyncClient, ref: str, action: str, **options: Any) -> bytes:
    """The signed callback the platform would POST after ``action`` (verbatim)."""
    r = await platform.post(f"/payment/_sandbox/payments/{ref}/{action}", json=options or None)
    assert r.status_code == 200, r.text
    return r.content


async def status(api: httpx.AsyncClient, headers: dict[str, str], payment_id: str) -> Any:
    r = await api.get(f"{CREATE}/{payment_id}", headers=headers)
    assert r.status_code == 200, r.text
    return declared(PaymentView, r)


def declared(model: type[BaseModel], r: httpx.Response) -> Any:
    """The answer's JSON, once checked to be exactly what the OpenAPI document declares."""
    assert model.model_validate(r.json()).model_dump(mode="json") == r.json()
    return r.json()


async def rows(gateway: Gateway, model: Any) -> list[Any]:
    async with gateway.db.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


def mismatches() -> float:
    value = REGISTRY.get_sample_value("lgsp_payment_callback_mismatch_total", {"field": "SoTien"})
    return value or 0.0


# --- the round trip ---------------------------------------------------------------------------


async def test_create_pay_callback_round_trip_publishes_one_event(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    await events.subscribe(
        gateway.db,
        gateway.cipher,
        name="motcua",
        endpoint="https://case.example/hooks/motcua",
        event_types=("payment.paid",),
    )
    r = await create(api, headers)
    assert r.status_code == 201
    created = r.json()
    assert created["status"] == "pending"
    assert created["amount"] == 58_000
    assert created["payment_url"].startswith("http://sandbox/payment/pay/")
    ref = await reference(api, headers, created["payment_id"])
    assert ref == created["payment_id"].replace("-", "")

    callback = await act(platform, ref, "pay")
    r = await api.post(CALLBACK, content=callback, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    sent = json.loads(callback)
    assert r.json() == {
        "MaLoi": "00",
        "MoTaLoi": "Thành công",
        "MaDoiTac": sent["MaDoiTac"],
        "MaThamChieu": ref,
        "ThoiGianGD": sent["ThoiGianGD"],
        "MaXacThuc": sent["MaXacThuc"],
    }

    view = await status(api, headers, created["payment_id"])
    assert view["status"] == "paid"
    assert view["paid_at"] is not None
    assert view["ma_giao_dich"] == json.loads(callback)["MaGiaoDich"]
    assert [(t["from_status"], t["to_status"], t["source"]) for t in view["transitions"]] == [
        (None, "pending", "api"),
        ("pending", "paid", "callback"),
    ]
    published = await rows(gateway, Event)
    assert [(e.type, e.source, e.subject) for e in published] == [
        ("payment.paid", "payment", DOSSIER)
    ]
    queued = [i for i in await rows(gateway, OutboxItem) if i.connector == "events"]
    assert len(queued) == 1
    entries = await rows(gateway, ExchangeEntry)
    accepted = [e for e in entries if e.kind == "callback"]
    assert [(e.connector, e.outcome) for e in accepted] == [("payment", "applied")]


async def test_create_is_idempotent_per_dossier_and_fee_set(
    api: httpx.AsyncClient, headers: dict[str, str], sim: PaymentSimulator
) -> None:
    first = (await create(api, headers)).json()
    again = await create(api, headers, payer={"ho_va_ten": "Người khác"})
    assert again.status_code == 200
    assert again.json() == first
    assert sim.stats.received.get("init") == 1
    other = await create(api, headers, fee_lines=[{"noi_dung": "Lệ phí", "so_tien": 50_000}])
    assert other.status_code == 201
    assert other.json()["payment_id"] != first["payment_id"]


# --- refused requests -------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1.5, 1.0, "50000", 0, -1, True])
async def test_amounts_are_positive_integers_only(
    api: httpx.AsyncClient, headers: dict[str, str], sim: PaymentSimulator, amount: Any
) -> None:
    r = await api.post(
        CREATE,
        json=order(fee_lines=[{"noi_dung": "Lệ phí", "so_tien": amount}]),
        headers=headers,
    )
    assert r.status_code == 422, r.text
    assert any(e["loc"] == "fee_lines[0].so_tien" for e in r.json()["errors"])
    assert not sim.stats.received.get("init")


async def test_an_agency_without_a_beneficiary_is_refused(
    api: httpx.AsyncClient, headers: dict[str, str], sim: PaymentSimulator
) -> None:
    r = await api.post(CREATE, json=order(ma_dvc="000.00.99.H99"), headers=headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == ["ma_dvc"]
    assert not sim.stats.received.get("init")


async def test_scopes_are_required(api: httpx.AsyncClient, gateway: Gateway) -> None:
    reader = await bearer(gateway, "payment:read")
    assert (await api.post(CREATE, json=order(), headers=reader)).status_code == 403
    assert (await api.post(CREATE, json=order())).status_code == 401


# --- callbacks --------------------------------------------------------------------------------


async def test_a_duplicate_callback_is_idempotent(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    callback = await act(platform, ref, "pay")
    for _ in range(3):
        r = await api.post(CALLBACK, content=callback)
        assert r.status_code == 200, r.text
    view = await status(api, headers, created["payment_id"])
    assert [t["to_status"] for t in view["transitions"]] == ["pending", "paid"]
    assert len(await rows(gateway, Event)) == 1
    outcomes = [e.outcome for e in await rows(gateway, ExchangeEntry) if e.kind == "callback"]
    assert outcomes == ["applied", "duplicate", "duplicate"]


async def test_a_forged_callback_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    forged = await act(platform, ref, "pay", wrong_signature=True)
    r = await api.post(CALLBACK, content=forged)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "urn:lgsp:problem:payment-callback-rejected"
    assert "exchange_id" in r.json()
    assert (await status(api, headers, created["payment_id"]))["status"] == "pending"
    assert await rows(gateway, Event) == []
    refusals = [e for e in await rows(gateway, ExchangeEntry) if e.kind == "refusal"]
    assert [(e.connector, e.outcome, e.status_code) for e in refusals] == [
        ("payment", "payment-callback-rejected", 401)
    ]


async def test_an_altered_amount_is_a_mismatch_never_paid(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    before = mismatches()
    altered = await act(platform, ref, "pay", altered_amount=1_000)
    r = await api.post(CALLBACK, content=altered)
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "urn:lgsp:problem:payment-callback-mismatch"
    assert [e["loc"] for e in r.json()["errors"]] == ["SoTien"]
    assert mismatches() == before + 1
    view = await status(api, headers, created["payment_id"])
    assert view["status"] == "pending"
    assert view["paid_at"] is None
    assert await rows(gateway, Event) == []


async def test_an_unknown_reference_is_404_and_recorded(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    ref = await reference(api, headers, created["payment_id"])
    packet = json.loads(await act(platform, ref, "pay"))
    packet["MaThamChieu"] = "0" * 32
    connector = gateway.connector("payment")
    assert isinstance(connector, PaymentConnector)
    packet["MaXacThuc"] = connector.client.checksum.sign(packet, CALLBACK_FIELDS)
    r = await api.post(CALLBACK, json=packet)
    assert r.status_code == 404, r.text
    refusals = [e for e in await rows(gateway, ExchangeEntry) if e.kind == "refusal"]
    assert [e.outcome for e in refusals] == ["payment-unknown"]


async def test_late_success_then_replayed_and_new_failures(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: Any,
    sim: PaymentSimulator,
) -> None:
    created = (await create(api, headers)).json()
    pid = created["payment_id"]
    ref = await reference(api, headers, pid)
    failed = await act(platform, ref, "fail")
    assert (await api.post(CALLBACK, content=failed)).status_code == 200
    assert (await status(api, headers, pid))["status"] == "failed"

    # the platform settles it after all: a late success is real money
    sim.payments[ref].status = "pending"
    paid = await act(platform, ref, "pay")
    assert (await api.post(CALLBACK, content=paid)).status_code == 200
    assert (await status(api, headers, pid))["status"] == "paid"

    # the old failure replayed verbatim: already applied, nothing changes
    replay = await act(platform, ref, "fail", replay_of=0)
    assert replay == failed
    r = await api.post(CALLBACK, content=replay)
    assert r.status_code == 200, r.text
    assert (await status(api, headers, pid))["status"] == "paid"

    # a new failure of a paid payment is impossible
    sim.payments[ref].status = "pending"
    later = await act(platform, ref, "fail")
    r = await api.post(CALLBACK, content=later)
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "urn:lgsp:problem:payment-transition-impossible"
    assert "from paid to failed" in r.json()["detail"]
    view = await status(api, headers, pid)
    assert view["status"] == "paid"
    assert [t["to_status"] for t in view["transitions"]] == ["pending", "failed", "paid"]
    assert [e.type for e in await rows(gateway, Event)] == ["payment.failed", "payment.paid"]
    transitions = await rows(gateway, PaymentTransition)
    assert len(transitions) == 3


# --- the payment page's URL at rest (issue 15) -------------------------------------------------


async def test_the_url_is_sealed_at_rest_and_shown_to_the_case_system(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    url = created["payment_url"]
    token = url.rsplit("/", 1)[-1]
    [row] = await rows(gateway, Payment)
    assert row.payment_url is None
    assert row.payment_url_sealed is not None
    assert token.encode() not in row.payment_url_sealed
    assert url.encode() not in row.payment_url_sealed
    assert (await status(api, headers, created["payment_id"]))["payment_url"] == url
    # the same order again answers the same URL, opened from the sealed one
    again = await create(api, headers)
    assert (again.status_code, again.json()["payment_url"]) == (200, url)


async def test_a_sealed_url_moved_to_another_payment_does_not_open(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    first = (await create(api, headers)).json()
    await create(api, headers, ma_ho_so="000.00.01.H22-240105-0008")
    one, other = sorted(await rows(gateway, Payment), key=lambda r: r.id)
    assert one.payment_id == first["payment_id"]
    other.payment_url_sealed = one.payment_url_sealed
    with pytest.raises(ConfigurationError, match="failed authentication"):
        payments.open_url(gateway.cipher, other)


async def test_a_plain_url_of_an_older_version_is_read_then_sealed_by_the_poller(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], platform: Any
) -> None:
    created = (await create(api, headers)).json()
    url = created["payment_url"]
    async with gateway.db.transaction() as session:  # as a version before 0011 wrote it
        await session.execute(update(Payment).values(payment_url=url, payment_url_sealed=None))
    assert (await status(api, headers, created["payment_id"]))["payment_url"] == url
    connector = gateway.connector("payment")
    assert isinstance(connector, PaymentConnector)
    policy = PollPolicy(
        after=timedelta(hours=1), every=timedelta(hours=1), give_up=timedelta(days=2), batch=50
    )
    await payments_poller.poll_pending(
        gateway, query=connector.query_settlement, ma_doi_tac="LGSP-SANDBOX", policy=policy
    )
    [row] = await rows(gateway, Payment)
    assert (row.payment_url, row.payment_url_sealed is not None) == (None, True)
    assert (await status(api, headers, created["payment_id"]))["payment_url"] == url
