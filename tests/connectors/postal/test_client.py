"""The postal client against its simulator (in process) and against scripted answers: the
token cached, renewed before expiry and on refusal, secrets kept out of the exchange log and
the errors, answers bounded and read tolerantly, the tracking feed paged, retries, and webhook
verification."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tenacity import wait_none

from connectors.postal import PostalClient, PostalConfig, PostalOrderConflict, WebhookRejected
from connectors.postal.client import webhook_signature
from connectors.postal.sandbox import PostalSimulator, create_app, get_simulator
from gateway.core.errors import (
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing
from schemas import postal as wire

BASE = "http://sandbox"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app() -> Any:
    return create_app()


@pytest.fixture
def sim(app: Any) -> PostalSimulator:
    return get_simulator(app)


def config(**overrides: Any) -> PostalConfig:
    return PostalConfig.model_validate({"base_url": BASE, **overrides})


def client_for(
    transport: httpx.AsyncBaseTransport, *, clock: Callable[[], float] = time.time, **kw: Any
) -> tuple[PostalClient, list[Crossing]]:
    """A client over the recording transport (its crossings kept), as the gateway builds it."""
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    http = build_client(connector="postal", sink=sink, transport=transport)
    return PostalClient(config(**kw), http, retry_wait=wait_none(), clock=clock), recorded


def order(**overrides: Any) -> wire.CreateOrder:
    data: dict[str, Any] = {
        "CustomerCode": "LGSP-SANDBOX",
        "OrderNumber": "000.00.01.H22-240105-0007-delivery",
        "CODAmount": 58_000,
        "SenderProvince": 25,
        "SenderDistrict": 227,
        "SenderAddress": "1 Trần Phú",
        "SenderName": "Bộ phận Một cửa",
        "SenderEmail": "",
        "SenderTel": "02103846123",
        "SenderDesc": "Kết quả TTHC",
        "Description": "",
        "ReceiverName": "Nguyễn Văn An",
        "ReceiverAddress": "12 Lê Lợi",
        "ReceiverTel": "0912345678",
        "ReceiverProvince": 25,
        "ReceiverDistrict": 227,
        "ReceiverEmail": "",
    }
    data.update(overrides)
    return wire.CreateOrder.model_validate(data)


async def test_the_token_is_fetched_once_for_concurrent_calls(
    app: Any, sim: PostalSimulator
) -> None:
    client, _ = client_for(httpx.ASGITransport(app=app))
    answers = await asyncio.gather(*(client.tracking(f"NONE-{i}") for i in range(5)))
    assert answers == [None] * 5
    assert client.tokens_fetched == 1
    assert sim.stats.tokens_issued == 1


async def test_the_token_is_renewed_shortly_before_it_expires(
    app: Any, sim: PostalSimulator
) -> None:
    sim.config = sim.config.model_copy(update={"token_lifetime_seconds": 300})
    transport = httpx.ASGITransport(app=app)
    monotonic = Clock()
    http = build_client(connector="postal", sink=_drop, transport=transport)
    client = PostalClient(
        config(token_renewal_margin_seconds=60),
        http,
        retry_wait=wait_none(),
        monotonic=monotonic,
    )
    await client.tracking("NONE")
    monotonic.now += 239  # 1 s before the margin
    await client.tracking("NONE")
    assert client.tokens_fetched == 1
    monotonic.now += 2
    await client.tracking("NONE")
    assert client.tokens_fetched == 2


async def _drop(_crossing: Crossing) -> None:
    return None


async def test_an_expired_token_is_renewed_once_and_the_call_repeated(
    app: Any, sim: PostalSimulator
) -> None:
    client, _ = client_for(httpx.ASGITransport(app=app))
    answer = await client.create_order(order())
    assert answer.Status == "100"
    sim.set_faults(sim.faults.model_copy(update={"expire_tokens": True}))
    again = await client.create_order(order())  # "102", renewed, repeated: the same order
    assert again.Status == "101"  # the order is already there: a success
    assert client.tokens_fetched == 2
    assert sim.stats.orders_created == 1
    assert sim.stats.duplicates == 1


async def test_http_401_renews_once_then_gives_up() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"Status": "100", "Token": f"t{len(calls)}"})
        return httpx.Response(401)

    client, _ = client_for(httpx.MockTransport(handler))
    with pytest.raises(UpstreamAuthError):
        await client.tracking("X")
    assert calls == ["/token", "/tracking", "/token", "/tracking"]


async def test_refused_credentials_name_no_secret_and_the_log_keeps_none(
    app: Any,
) -> None:
    client, recorded = client_for(
        httpx.ASGITransport(app=app), password=SecretStr("Wrong-Password-93f1")
    )
    with pytest.raises(PermanentUpstreamError) as caught:
        await client.tracking("X")
    assert "108" in caught.value.detail
    assert "Wrong-Password-93f1" not in repr(caught.value) + caught.value.detail
    assert recorded
    assert b"Wrong-Password-93f1" not in recorded[0].request
    assert b'"Password":"***"' in recorded[0].request.replace(b" ", b"")


async def test_the_token_is_blanked_in_the_logged_answer(app: Any, sim: PostalSimulator) -> None:
    client, recorded = client_for(httpx.ASGITransport(app=app))
    await client.tracking("X")
    (token,) = sim.tokens
    token_answer = recorded[0].response
    assert token_answer is not None
    assert token.encode() not in token_answer
    assert json.loads(token_answer)["Token"] == "***"
    assert all(token.encode() not in (c.request + (c.response or b"")) for c in recorded)


def scripted(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"Status": 100, "Token": "tok", "ExpiresIn": "3600"})
        return answer(request)

    return httpx.MockTransport(handler)


async def test_answers_are_bounded_and_validated() -> None:
    big = scripted(lambda r: httpx.Response(200, content=b"{" + b" " * 10_000 + b"}"))
    client, _ = client_for(big, max_answer_bytes=4096)
    with pytest.raises(InvalidUpstreamAnswer, match="larger than 4096"):
        await client.tracking("X")
    off = scripted(lambda r: httpx.Response(200, json={"_embedded": {"rh:doc": [{"_id": 1}]}}))
    client, _ = client_for(off)
    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.tracking("X")
    assert caught.value.errors[0].loc == "_embedded.rh:doc[0]._id"
    other = scripted(lambda r: httpx.Response(200, json={"Status": "100", "OrderNumber": "Y"}))
    client, _ = client_for(other)
    with pytest.raises(InvalidUpstreamAnswer, match="another order"):
        await client.create_order(order())


async def test_reads_are_retried_and_writes_are_left_to_the_outbox() -> None:
    calls: list[str] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, headers={"Retry-After": "2"})

    client, _ = client_for(scripted(unavailable), read_retry_attempts=3)
    with pytest.raises(TransientUpstreamError) as caught:
        await client.tracking("X")
    assert calls == ["/tracking"] * 3
    assert caught.value.retry_after == 2.0
    calls.clear()
    with pytest.raises(TransientUpstreamError):
        await client.create_order(order())
    assert calls == ["/orders"]
    system = scripted(lambda r: httpx.Response(200, json={"Status": "199", "Message": "x"}))
    client, _ = client_for(system)
    with pytest.raises(TransientUpstreamError):
        await client.cancel_order("X")


async def test_an_order_number_taken_by_other_content_is_a_conflict(app: Any) -> None:
    client, _ = client_for(httpx.ASGITransport(app=app))
    await client.create_order(order())
    with pytest.raises(PostalOrderConflict) as caught:
        await client.create_order(order(CODAmount=1))
    assert caught.value.status == 409


async def test_a_bad_packet_is_refused_before_anything_is_sent() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(500)

    client, _ = client_for(httpx.MockTransport(handler))
    bad = order().model_copy(update={"CODAmount": -1})
    with pytest.raises(InvalidInput) as caught:
        await client.create_order(bad)
    assert caught.value.errors[0].loc == "CODAmount"
    assert calls == []


# --- webhooks -----------------------------------------------------------------------------------

SECRET = b"sandbox-postal-webhook"
BODY = json.dumps(
    {
        "_id": {"$oid": "000000000000000000000005"},
        "CustomerCode": "LGSP-SANDBOX",
        "OrderNumber": "000.00.01.H22-240105-0007-delivery",
        "EventTime": 1795420800000,
        "POSID": "SANDBOX",
        "ItemCode": "EH000000001VN",
        "StatusCode": 5,
        "StatusMessage": "Phát thành công",
        "Notes": "",
    }
).encode()


def signed(body: bytes = BODY, stamp: str = "1000") -> dict[str, str]:
    return {
        "x-vnpost-timestamp": stamp,
        "x-vnpost-signature": webhook_signature(SECRET, stamp, body),
    }


def verifier(now: float = 1000.0) -> PostalClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    return PostalClient(config(), http, clock=lambda: now)


def test_a_signed_webhook_verifies() -> None:
    packet = verifier().verify_webhook(BODY, signed())
    assert packet.StatusCode == "5"
    assert packet.OrderNumber.endswith("-delivery")


@pytest.mark.parametrize(
    ("body", "headers", "why"),
    [
        (BODY, {**signed(), "x-vnpost-signature": "0" * 64}, "signature"),
        (BODY.replace(b'"StatusCode": 5', b'"StatusCode": 7'), signed(), "signature"),
        (BODY, {"x-vnpost-signature": signed()["x-vnpost-signature"]}, "timestamp"),
        (BODY, {**signed(), "x-vnpost-timestamp": "999"}, "signature"),  # it covers the time
        (b"[1]", signed(b"[1]"), "schema"),
        (b"not json", signed(b"not json"), "not JSON"),
        (
            BODY.replace(b"LGSP-SANDBOX", b"SOMEONE"),
            signed(BODY.replace(b"LGSP-SANDBOX", b"SOMEONE")),
            "another customer",
        ),
        (b" " * 20_000, signed(b" " * 20_000), "larger"),
    ],
)
def test_a_bad_webhook_is_rejected(body: bytes, headers: dict[str, str], why: str) -> None:
    with pytest.raises(WebhookRejected, match=why) as caught:
        verifier().verify_webhook(body, headers)
    assert "sandbox-postal-webhook" not in caught.value.detail


def test_a_stale_webhook_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="too far from now"):
        verifier(now=1000.0 + 301).verify_webhook(BODY, signed())
    assert verifier(now=1000.0 + 299).verify_webhook(BODY, signed()).StatusCode == "5"
