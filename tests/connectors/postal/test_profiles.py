"""The postal connector's profiles and transports against its simulator: each credential
(vnpost_token, NGSP client credentials, a static token), through the LGSP (no VNPost token
fetched nor sent; the platform's paths, or one address with ``?service=``), the PASETO order,
answers read tolerantly, and the tracking feed paged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tenacity import wait_none

from connectors.postal import PostalClient, PostalConfig, PostalConnector
from connectors.postal.sandbox import (
    LGSP_RELAY_HEADER,
    LGSP_RELAY_VALUE,
    PostalSimulator,
    create_app,
    get_simulator,
)
from gateway.core.errors import InvalidUpstreamAnswer, UpstreamAuthError
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing
from schemas import postal as wire
from tests.connectors.postal.support import shipment
from tests.connectors.postal.test_client import order

BASE = "http://sandbox"
LGSP_TOKEN = "lgsp-token-7f3a"


class Seen:
    """Every request that left the client: method, URL and headers."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, seen: Seen) -> None:
        self.inner = inner
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.requests.append(request)
        return await self.inner.handle_async_request(request)


class LgspRelay(httpx.AsyncBaseTransport):
    """What the core's LGSP transport and the sandbox's LGSP do between the connector and the
    platform: the LGSP's bearer token added; then, at the LGSP, the credential removed and the
    request marked as relayed (the LGSP holds VNPost's credential)."""

    def __init__(self, platform: httpx.AsyncBaseTransport, seen: Seen) -> None:
        self.platform = platform
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.requests.append(request)  # what the connector sent, before the core adds
        relayed = httpx.Request(
            request.method,
            request.url,
            headers=[
                (k, v)
                for k, v in request.headers.multi_items()
                if k.lower() not in ("authorization", "lgspaccesstoken")
            ]
            + [(LGSP_RELAY_HEADER, LGSP_RELAY_VALUE)],
            content=request.content,
        )
        return await self.platform.handle_async_request(relayed)


@pytest.fixture
def app() -> Any:
    return create_app()


@pytest.fixture
def sim(app: Any) -> PostalSimulator:
    return get_simulator(app)


def build(
    wire_to: httpx.AsyncBaseTransport, **settings: Any
) -> tuple[PostalConnector, list[Crossing]]:
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    http = build_client(connector="postal", sink=sink, transport=wire_to)
    config = PostalConfig.model_validate({"base_url": BASE, **settings})
    connector = PostalConnector(config, http)
    connector.client = PostalClient(config, http, retry_wait=wait_none())
    return connector, recorded


async def life_of_an_order(connector: PostalConnector, sim: PostalSimulator) -> None:
    """Create (twice: the second is "already there"), quote, track, cancel."""
    payload = shipment()
    first = await connector.deliver("create_order", payload)
    again = await connector.deliver("create_order", payload)
    assert first.extra["code"] == "100"
    assert again.extra["code"] == "101"
    assert sim.stats.orders_created == 1
    number = first.extra["order_number"]
    events = await connector.track(number)
    assert events is not None
    assert [e.status for e in events] == ["created"]
    quote = {"ma_dvc": payload["ma_dvc"], "flow": "delivery", "ma_tinh": "01", "ma_huyen": "1"}
    from connectors.postal import QuoteIn

    assert await connector.quote(QuoteIn.model_validate(quote)) == 24_500
    await connector.deliver("cancel_order", {"order_number": number})
    assert sim.orders[number].code == "8"


async def test_ngsp_client_credentials(app: Any, sim: PostalSimulator) -> None:
    seen = Seen()
    secret = "Ngsp-Secret-44c1"
    sim.password = secret
    connector, recorded = build(
        Recording(httpx.ASGITransport(app=app), seen),
        credential="ngsp_client_credentials",
        password=secret,
    )
    await life_of_an_order(connector, sim)
    token_request = seen.requests[0]
    assert token_request.url.path == "/token"
    assert token_request.headers["authorization"].startswith("Basic ")
    assert token_request.content == b"grant_type=client_credentials"
    calls = seen.requests[1:]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in calls)
    assert not any("access_token" in r.headers for r in calls)
    (token,) = sim.tokens
    logged = b"".join(c.request + (c.response or b"") for c in recorded)
    assert token.encode() not in logged
    assert secret.encode() not in logged
    assert json.loads(recorded[0].response or b"{}")["access_token"] == "***"


async def test_a_static_token(app: Any, sim: PostalSimulator) -> None:
    seen = Seen()
    issued = "Static-Token-0b9d"
    sim.config = sim.config.model_copy(update={"static_tokens": [issued]})
    connector, _ = build(
        Recording(httpx.ASGITransport(app=app), seen),
        credential="static_token",
        static_token=issued,
    )
    await life_of_an_order(connector, sim)
    assert "/token" not in seen.paths()
    assert {r.headers["access_token"] for r in seen.requests} == {issued}
    assert sim.stats.tokens_issued == 0


def test_a_static_credential_needs_its_token() -> None:
    with pytest.raises(ValueError, match="STATIC_TOKEN"):
        PostalConfig.model_validate({"credential": "static_token"})
    through = PostalConfig.model_validate({"credential": "static_token", "transport": "lgsp"})
    assert through.transport == "lgsp"


@pytest.mark.parametrize("credential", ["vnpost_token", "ngsp_client_credentials"])
async def test_through_the_lgsp_no_vnpost_credential_is_fetched_nor_sent(
    app: Any, sim: PostalSimulator, credential: str
) -> None:
    seen = Seen()
    connector, _ = build(
        LgspRelay(httpx.ASGITransport(app=app), seen), transport="lgsp", credential=credential
    )
    await life_of_an_order(connector, sim)
    assert "/token" not in seen.paths()
    for request in seen.requests:
        assert "access_token" not in request.headers
        assert "authorization" not in request.headers  # the core's LGSP transport adds it
    assert sim.stats.tokens_issued == 0
    assert connector.client.tokens_fetched == 0
    assert (await connector.check()).ok


async def test_through_the_lgsp_each_operation_named_by_service(
    app: Any, sim: PostalSimulator
) -> None:
    # OpenCPS rc-3.0 VNPostManagementImpl L178-180: lgspVnpostUrl?service=<name>
    seen = Seen()
    connector, _ = build(
        LgspRelay(httpx.ASGITransport(app=app), seen),
        transport="lgsp",
        lgsp_routing="service",
    )
    await life_of_an_order(connector, sim)
    services = [(r.method, r.url.path, r.url.params.get("service")) for r in seen.requests]
    assert {s for _, path, s in services if path == "/"} == {
        "orderpost",
        "ordertracking",
        "getprice",
        "ordercancel",
    }
    assert all(path == "/" for _, path, _ in services)
    tracking = next(r for r in seen.requests if r.url.params.get("service") == "ordertracking")
    assert tracking.url.params["pagesize"] == "1000"


async def test_the_service_address_is_used_as_given() -> None:
    # the sandbox server mounts the simulator at /postal/: the LGSP's address with its slash
    from gateway.sandbox import create_sandbox_app

    seen = Seen()
    sandbox = create_sandbox_app()
    connector, _ = build(
        LgspRelay(httpx.ASGITransport(app=sandbox), seen),
        base_url="http://sandbox/postal/",
        transport="lgsp",
        lgsp_routing="service",
    )
    await connector.deliver("create_order", shipment())
    assert [str(r.url) for r in seen.requests] == ["http://sandbox/postal/?service=orderpost"]


async def test_the_lgsp_service_names_are_configurable() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(201, json={"Status": "100", "Message": "OK"})

    config = {
        "base_url": "https://lgsp.example.gov.vn/vnpost/api",
        "transport": "lgsp",
        "lgsp_routing": "service",
        "lgsp_services": json.dumps({"create_order": "VNPOST_POSTORDER"}),
    }
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = PostalClient(PostalConfig.model_validate(config), http)
    await client.create_order(order())
    assert seen == ["https://lgsp.example.gov.vn/vnpost/api?service=VNPOST_POSTORDER"]


async def test_a_request_not_relayed_by_the_lgsp_needs_a_credential(app: Any) -> None:
    connector, _ = build(httpx.ASGITransport(app=app), transport="lgsp")
    with pytest.raises(UpstreamAuthError):
        await connector.client.create_order(order())


async def test_the_paseto_order(app: Any, sim: PostalSimulator) -> None:
    connector, _ = build(httpx.ASGITransport(app=app), profile="paseto")
    await connector.deliver("create_order", shipment())
    sent = next(r["packet"] for r in sim.received if r["endpoint"] == "orders")
    assert (sent["ItemCode"], sent["FlagConfig"]) == (None, 2)
    assert sent["SenderProvince"] == 25


# --- tolerant reading -----------------------------------------------------------------------


def scripted(answer: Callable[[httpx.Request], httpx.Response]) -> PostalClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"Status": "100", "Token": "tok"})
        return answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = PostalConfig.model_validate({"base_url": BASE, "tracking_page_size": 2})
    return PostalClient(config, http, retry_wait=wait_none())


@pytest.mark.parametrize(
    "answer",
    [
        {"Status": 100, "Message": "OK"},  # the SDK's MResult: an Integer
        {"Status": "100", "Message": None},  # PASETO's RespondLGSP: a string; null text
        {"Status": " 100 ", "Message": "OK", "Unknown": {"x": [1]}, "OrderNumber": None},
    ],
)
async def test_order_answers_are_read_tolerantly(answer: dict[str, Any]) -> None:
    client = scripted(lambda r: httpx.Response(201, json=answer))
    assert (await client.create_order(order())).Status == "100"


@pytest.mark.parametrize("price", [24_500, "24500", 24_500.0, " 24500 "])
async def test_a_price_as_a_number_or_a_string(price: Any) -> None:
    client = scripted(lambda r: httpx.Response(200, json={"content": {"price": price, "x": 1}}))
    packet = wire.QuoteRequest.model_validate(
        {
            "weight": 500,
            "sender": {"provCode": 25, "distCode": 227},
            "receiver": {"provCode": 1, "distCode": 1},
        }
    )
    assert await client.quote(packet) == 24_500


async def test_a_quote_without_a_price_names_the_field() -> None:
    client = scripted(lambda r: httpx.Response(200, json={"Status": "100"}))
    packet = wire.QuoteRequest.model_validate(
        {
            "weight": 500,
            "sender": {"provCode": 25, "distCode": 227},
            "receiver": {"provCode": 1, "distCode": 1},
        }
    )
    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.quote(packet)
    assert caught.value.errors[0].loc == "content.price"


def doc(n: int, number: str, code: int = 1) -> dict[str, Any]:
    return {
        "_id": {"$oid": f"{n:024x}"},
        "OrderNumber": number,
        "EventTime": str(1795420800000 + n * 1000),
        "StatusCode": str(code),
        "ItemCode": "EH1VN",
    }


async def test_the_tracking_feed_is_paged_by_last_id() -> None:
    feed = [doc(1, "A"), doc(2, "B"), doc(3, "A", 2), doc(4, "C"), doc(5, "A", 3)]
    asked: list[str] = []

    def page(request: httpx.Request) -> httpx.Response:
        last, size = request.url.params["lastId"], int(request.url.params["pagesize"])
        asked.append(last)
        after = [d for d in feed if d["_id"]["$oid"] > last][:size]
        return httpx.Response(200, json={"_returned": len(after), "_embedded": {"rh:doc": after}})

    client = scripted(page)
    docs = await client.tracking("A")
    assert docs is not None
    assert [d.StatusCode for d in docs] == ["1", "2", "3"]
    assert asked == ["0" * 24, f"{2:024x}", f"{4:024x}"]  # the last page is short: done
    assert await client.tracking("Z") is None


async def test_the_feed_is_read_at_most_tracking_max_pages() -> None:
    calls: list[int] = []

    def endless(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        n = len(calls) * 2
        return httpx.Response(200, json={"_embedded": {"rh:doc": [doc(n - 1, "X"), doc(n, "X")]}})

    client = scripted(endless)
    assert client._config.tracking_max_pages == 20
    docs = await client.tracking("A")
    assert docs is None
    assert len(calls) == 20


async def test_a_statement_with_amounts_as_strings() -> None:
    from datetime import date

    answer = {
        "Status": "100",
        "Date": "20261123",
        "Items": [
            {"OrderNumber": "A", "CODAmount": "58000", "CollectedAt": "20261123150000", "x": 1}
        ],
    }
    client = scripted(lambda r: httpx.Response(200, json=answer))
    statement = await client.statement(date(2026, 11, 23))
    assert statement.Items[0].CODAmount == 58_000
