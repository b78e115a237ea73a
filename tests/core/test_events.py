"""Events to the case system: publishing atomically with the caller's change, signed webhooks
delivered through the outbox (retries, dead letters, replay), receivers verifying them, and no
secret anywhere it should not be."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.core import events
from gateway.core.delivery import outbox
from gateway.core.delivery.resilience import RetryPolicy
from gateway.core.delivery.workers import DeliveryService
from gateway.core.events_webhook import EventDeliverer, sign_headers, verify_webhook
from gateway.core.health import connector_health
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, ExchangeEntry, OutboxItem, utcnow
from gateway.core.store.state import StateStore
from tests.conftest import started_gateway

SECRET = "a-receiver-secret-of-enough-length-0123456789"


class Receiver:
    """A case system's webhook endpoint: answers with the queued statuses (then 200) and
    verifies every request it accepts, as a receiver written from the documentation would."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # endpoint path -> secret
        self.answers: list[int | Exception] = []
        self.requests: list[httpx.Request] = []
        self.accepted: list[dict[str, Any]] = []
        self.retry_after: str | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if answer == 200:
            verify_webhook(self.secrets[request.url.path], request.headers, request.content)
            self.accepted.append(json.loads(request.content))
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return httpx.Response(answer, headers=headers, json={"ok": answer == 200})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def gw(
    database_url: str, state_store: StateStore, sandbox_app: Any, receiver: Receiver
) -> AsyncIterator[Gateway]:
    """The conftest gateway, with the events deliverer posting to ``receiver``."""
    gateway = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={"events": httpx.MockTransport(receiver)},
    )
    yield gateway
    await gateway.aclose()


async def subscribe(gw: Gateway, receiver: Receiver, name: str, types: tuple[str, ...] = ()) -> str:
    _, secret = await events.subscribe(
        gw.db,
        gw.cipher,
        name=name,
        endpoint=f"https://case.example/hooks/{name}",
        event_types=types,
    )
    assert secret is not None
    receiver.secrets[f"/hooks/{name}"] = secret
    return secret


async def items(gw: Gateway) -> list[OutboxItem]:
    async with gw.db.sessions() as session:
        return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def drain(gw: Gateway, until: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    service = DeliveryService(gw)
    deadline = time.monotonic() + timeout
    while not await until():
        assert time.monotonic() < deadline, "delivery did not settle in time"
        if await service.run_once() == 0:
            await asyncio.sleep(0.01)


def all_settled(gw: Gateway, *statuses: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await items(gw)
        return bool(found) and all(i.status in statuses for i in found)

    return check


PAYLOAD = {"dossier": "H21.99-260301-0001", "amount": 150000, "note": "Lệ phí hộ tịch"}


async def publish(gw: Gateway, type_: str = "payment.settled", **extra: Any) -> str:
    return await events.publish_now(
        gw, type=type_, source="payment", payload=PAYLOAD, subject="H21.99-260301-0001", **extra
    )


# --- publishing -------------------------------------------------------------------------------


async def test_publish_queues_one_delivery_per_matching_active_subscription(
    gw: Gateway, receiver: Receiver
) -> None:
    await subscribe(gw, receiver, "all-types")
    await subscribe(gw, receiver, "payments", ("payment.settled", "payment.refunded"))
    await subscribe(gw, receiver, "postal", ("postal.delivered",))
    await subscribe(gw, receiver, "retired")
    await events.unsubscribe(gw.db, "retired")

    async with gw.db.transaction() as session:
        event_id = await events.publish(
            session, gw.cipher, type="payment.settled", source="payment", payload=PAYLOAD
        )

    queued = await items(gw)
    assert sorted(i.ordering_key for i in queued) == ["events:all-types", "events:payments"]
    for item in queued:
        assert (item.connector, item.operation, item.status) == (
            "events",
            "deliver_event",
            "queued",
        )
        body = outbox.decode_payload(gw.cipher, item)
        assert body == {"subscription": item.ordering_key.split(":", 1)[1], "event_id": event_id}
    async with gw.db.sessions() as session:
        [stored] = (await session.scalars(select(Event))).all()
    assert stored.event_id == event_id
    assert b"150000" not in stored.payload_sealed  # sealed at rest
    assert events.event_dict(gw.cipher, stored)["data"] == PAYLOAD


async def test_publish_is_atomic_with_the_callers_transaction(
    gw: Gateway, receiver: Receiver
) -> None:
    await subscribe(gw, receiver, "all-types")

    class Boom(Exception):
        pass

    async def fail_after_publishing() -> None:
        async with gw.db.transaction() as session:
            await events.publish(
                session, gw.cipher, type="payment.settled", source="payment", payload=PAYLOAD
            )
            raise Boom  # the caller's own change failed: no event, no delivery

    with pytest.raises(Boom):
        await fail_after_publishing()
    assert await items(gw) == []
    async with gw.db.sessions() as session:
        assert (await session.scalars(select(Event))).all() == []


async def test_the_deliverer_is_registered_without_disturbing_the_connectors(gw: Gateway) -> None:
    assert isinstance(gw.connectors["events"], EventDeliverer)
    assert "events" in gw.breakers
    assert "events" not in gw.specs
    health = await connector_health(gw)  # iterates the specs: still works
    assert {h["slug"] for h in health} == set(gw.specs)
    result = await gw.connector("events").check()
    assert result.ok
    assert "0 active subscription" in result.detail


# --- delivery ---------------------------------------------------------------------------------


async def test_a_published_event_arrives_signed_and_verifiable(
    gw: Gateway, receiver: Receiver
) -> None:
    secret = await subscribe(gw, receiver, "motcua")
    occurred = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    event_id = await publish(gw, occurred_at=occurred)
    await drain(gw, all_settled(gw, "delivered"))

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.url == "https://case.example/hooks/motcua"
    assert request.headers["webhook-id"] == event_id
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    verify_webhook(secret, request.headers, request.content)  # as the receiver did
    assert receiver.accepted == [
        {
            "id": event_id,
            "type": "payment.settled",
            "source": "payment",
            "subject": "H21.99-260301-0001",
            "occurred_at": "2026-03-01T08:30:00Z",
            "data": PAYLOAD,
        }
    ]
    # canonical JSON: what was signed is exactly the bytes sent
    assert request.content == events.canonical_json(receiver.accepted[0])

    # the attempt is in the exchange log, under the outbox item, body sealed
    [item] = await items(gw)
    async with gw.db.sessions() as session:
        [entry] = (
            await session.scalars(select(ExchangeEntry).where(ExchangeEntry.kind == "attempt"))
        ).all()
    assert entry.connector == "events"
    assert entry.parent_id == item.exchange_id
    assert entry.operation == "deliver_event"
    assert entry.status_code == 200
    assert gw.log.open_body(entry, "request") == request.content


async def test_503_then_200_is_delivered_once_after_a_retry_with_the_same_id(
    gw: Gateway, receiver: Receiver
) -> None:
    secret = await subscribe(gw, receiver, "motcua")
    receiver.answers = [503]
    event_id = await publish(gw)
    await drain(gw, all_settled(gw, "delivered"))
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
    for request in receiver.requests:
        verify_webhook(secret, request.headers, request.content)
    assert len(receiver.accepted) == 1
    [item] = await items(gw)
    assert item.attempts == 2


async def test_retry_after_is_honoured(gw: Gateway, receiver: Receiver) -> None:
    gw.retry = RetryPolicy(5, 0.01, 10.0)
    await subscribe(gw, receiver, "motcua")
    receiver.answers = [429]
    receiver.retry_after = "2"
    await publish(gw)
    before = utcnow()
    assert await DeliveryService(gw).run_once() == 1
    [item] = await items(gw)
    assert item.status == "failed"
    assert item.next_attempt_at >= before + timedelta(seconds=1.99)
    assert item.last_error is not None
    assert "429" in item.last_error


async def test_no_answer_is_retried(gw: Gateway, receiver: Receiver) -> None:
    await subscribe(gw, receiver, "motcua")
    receiver.answers = [httpx.ConnectError("refused")]
    await publish(gw)
    assert await DeliveryService(gw).run_once() == 1
    [item] = await items(gw)
    assert item.status == "failed"
    assert item.last_error is not None
    assert "ConnectError" in item.last_error
    await drain(gw, all_settled(gw, "delivered"))
    assert len(receiver.accepted) == 1


async def test_a_refusal_dead_letters_and_replay_delivers(gw: Gateway, receiver: Receiver) -> None:
    await subscribe(gw, receiver, "motcua")
    receiver.answers = [400]
    event_id = await publish(gw)
    await drain(gw, all_settled(gw, "dead"))
    [dead] = await items(gw)
    assert dead.attempts == 1
    assert dead.last_error is not None
    assert "PermanentUpstreamError" in dead.last_error
    assert "HTTP 400" in dead.last_error
    assert [v.exchange_id for v in await outbox.list_dead(gw.db, connector="events")] == [
        dead.exchange_id
    ]
    # a later event of the same subscription waits behind the dead one (order kept)
    second = await publish(gw, "payment.refunded")
    assert await DeliveryService(gw).run_once() == 0

    await outbox.replay(gw.db, dead.exchange_id)
    await drain(gw, all_settled(gw, "delivered"))
    assert [e["id"] for e in receiver.accepted] == [event_id, second]


async def test_a_subscription_gone_meanwhile_dead_letters(gw: Gateway, receiver: Receiver) -> None:
    await subscribe(gw, receiver, "motcua")
    await publish(gw)
    await events.unsubscribe(gw.db, "motcua")
    await drain(gw, all_settled(gw, "dead"))
    [dead] = await items(gw)
    assert dead.last_error is not None
    assert "subscription gone" in dead.last_error
    assert receiver.requests == []


async def test_the_secret_is_never_logged_nor_recorded(
    gw: Gateway,
    receiver: Receiver,
    logging_at_debug: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = await subscribe(gw, receiver, "motcua")
    given = "a-secret-the-case-system-chose-0123456789"
    _, generated = await events.subscribe(
        gw.db,
        gw.cipher,
        name="chosen",
        endpoint="https://case.example/hooks/chosen",
        secret=given,
    )
    assert generated is None
    receiver.secrets["/hooks/chosen"] = given
    receiver.answers = [503, 400, 200, 200]
    await publish(gw)
    await drain(gw, all_settled(gw, "delivered", "dead"))
    for dead in await outbox.list_dead(gw.db):
        await outbox.replay(gw.db, dead.exchange_id)
    await drain(gw, all_settled(gw, "delivered"))
    assert len(receiver.accepted) == 2

    out, err = capfd.readouterr()
    logged = out + err
    assert "delivery_retry" in logged or "delivery_dead" in logged  # logging was on
    for value in (secret, given):
        assert value not in logged
    async with gw.db.sessions() as session:
        entries = (await session.scalars(select(ExchangeEntry))).all()
    item_errors = [i.last_error or "" for i in await items(gw)]
    # each delivery opens with its own entry, then one per attempt
    assert len([e for e in entries if e.kind == "event"]) == 2
    assert len([e for e in entries if e.connector == "events" and e.kind == "attempt"]) == 4
    for entry in entries:
        for which in ("request", "response"):
            body = gw.log.open_body(entry, which) or b""
            assert secret.encode() not in body
            assert given.encode() not in body
        assert secret not in (entry.detail or "")
    for error in item_errors:
        assert secret not in error
        assert given not in error
    async with gw.db.sessions() as session:
        sealed = (await session.scalars(select(events.EventSubscription))).all()
    assert all(secret.encode() not in s.secret_sealed for s in sealed)  # sealed at rest


# --- verify_webhook, for receivers ------------------------------------------------------------


def test_verify_webhook_accepts_a_good_signature_and_says_what_is_wrong() -> None:
    body = b'{"id":"e1","type":"x"}'
    now = 1_800_000_000.0
    headers = sign_headers(SECRET, "e1", body, now=now)
    verify_webhook(SECRET, headers, body, now=now + 10)
    verify_webhook(SECRET, {k.title(): v for k, v in headers.items()}, body, now=now)
    rotated = {**headers, "webhook-signature": "v1,bm90LWl0 " + headers["webhook-signature"]}
    verify_webhook(SECRET, rotated, body, now=now)

    cases: list[tuple[str, dict[str, str], bytes, str]] = [
        ("wrong secret", headers, body, "no webhook-signature matches"),
        ("altered body", headers, body + b" ", "no webhook-signature matches"),
        ("no id", {**headers, "webhook-id": ""}, body, "missing webhook-id"),
        ("other id", {**headers, "webhook-id": "e2"}, body, "no webhook-signature matches"),
        ("no signature", {**headers, "webhook-signature": ""}, body, "missing webhook-signature"),
        ("bad time", {**headers, "webhook-timestamp": "soon"}, body, "not a unix time"),
        ("no time", {**headers, "webhook-timestamp": ""}, body, "missing webhook-timestamp"),
    ]
    for label, hdrs, content, reason in cases:
        key = SECRET + "x" if label == "wrong secret" else SECRET
        with pytest.raises(ValueError, match=reason):
            verify_webhook(key, hdrs, content, now=now)
    with pytest.raises(ValueError, match="300 s from now"):
        verify_webhook(SECRET, headers, body, now=now + 301)
    with pytest.raises(ValueError, match="from now"):
        verify_webhook(SECRET, headers, body, now=now - 301)
    verify_webhook(SECRET, headers, body, now=now + 3000, tolerance_seconds=3600)


def test_the_signature_is_standard_webhooks_hmac_sha256() -> None:
    import base64
    import hashlib
    import hmac

    body = b'{"a":1}'
    headers = sign_headers(SECRET, "msg_1", body, now=1_700_000_000)
    assert headers["webhook-timestamp"] == "1700000000"
    digest = hmac.new(SECRET.encode(), b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


# --- the pull inbox (service level; the API is tested in tests/api) ---------------------------


async def test_the_inbox_pages_by_cursor_and_the_ack_never_moves_back(gw: Gateway) -> None:
    ids = [await publish(gw, "payment.settled" if n % 2 else "postal.delivered") for n in range(5)]
    first = await events.read_inbox(gw.db, gw.cipher, client="motcua", limit=2)
    assert [e["id"] for e in first.events] == ids[:2]
    assert first.next == first.events[-1]["cursor"]
    rest = await events.read_inbox(gw.db, gw.cipher, client="motcua", after=first.next)
    assert [e["id"] for e in rest.events] == ids[2:]
    assert rest.events[0]["data"] == PAYLOAD
    empty = await events.read_inbox(gw.db, gw.cipher, client="motcua", after=rest.next)
    assert (empty.events, empty.next) == ([], rest.next)
    typed = await events.read_inbox(
        gw.db, gw.cipher, client="motcua", after=0, types=["postal.delivered"]
    )
    assert [e["id"] for e in typed.events] == [ids[0], ids[2], ids[4]]

    assert await events.acknowledge(gw.db, client="motcua", cursor=first.next) == first.next
    again = await events.read_inbox(gw.db, gw.cipher, client="motcua")  # from the ack
    assert [e["id"] for e in again.events] == ids[2:]
    assert await events.acknowledge(gw.db, client="motcua", cursor=1) == first.next
    assert await events.acknowledged(gw.db, "motcua") == first.next
    assert await events.acknowledged(gw.db, "other") == 0


async def test_a_delivery_is_an_exchange_with_its_attempts(gw: Gateway) -> None:
    """``/v1/exchanges/{id}`` follows an event's delivery like any other."""
    from gateway.core.delivery import outbox as outbox_module

    await events.subscribe(
        gw.db,
        gw.cipher,
        name="case-system",
        endpoint="https://case.example/hooks/case-system",
        event_types=(),
    )
    await events.publish_now(gw, type="payment.paid", source="payment", payload={"n": 1})
    (item,) = await items(gw)
    view = await outbox_module.find(gw.db, item.exchange_id)
    assert view is not None
    async with gw.db.sessions() as session:
        opening = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == item.exchange_id)
        )
    assert opening is not None
    assert (opening.kind, opening.connector, opening.outcome) == ("event", "events", "queued")
    assert opening.operation == "deliver_event:payment.paid"
