"""Golden packets of the postal connector (``tests/golden/postal/``, sources in its
``SOURCES.md``), both ways: what we send against what OpenCPS and PASETO send for the same
shipment (every field, same JSON types); what the platform answers, as the public readers read
it, through our reader; and the public senders' packets accepted by our simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tenacity import wait_none

from connectors.postal import PostalClient, PostalConfig, PostalConnector, ShipmentRequest
from connectors.postal.config import SANDBOX_AGENCY
from connectors.postal.mapping import QuoteIn, quote_to_wire, to_wire
from connectors.postal.profiles import ORDER_PROFILES
from connectors.postal.sandbox import LGSP_RELAY_HEADER, LGSP_RELAY_VALUE, create_app
from tests.connectors.postal.support import shipment
from tests.connectors.postal.test_client import order

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "postal"
CONFIG = PostalConfig()
CENTRE = CONFIG.centres[SANDBOX_AGENCY]
#: OpenCPS sends the dossier number; we send one order per dossier and flow (SOURCES.md)
OURS_DIFFER = {"OrderNumber"}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def json_type(value: Any) -> str:
    """The JSON type of a value (an int and a float are both numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def ours(flow: str, profile: str = "opencps") -> dict[str, Any]:
    request = ShipmentRequest.model_validate(shipment(flow))
    packet = to_wire(
        request, CENTRE, customer_code=CONFIG.customer_code, profile=ORDER_PROFILES[profile]
    )
    sent: dict[str, Any] = packet.model_dump(mode="json")
    return sent


def test_the_sources_list_every_fixture() -> None:
    sources = (GOLDEN / "SOURCES.md").read_text(encoding="utf-8")
    for fixture in sorted(GOLDEN.glob("*.json")):
        assert f"`{fixture.name}`" in sources, fixture.name


# --- (a) what we send ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "fixture"),
    [("delivery", "opencps_order_delivery.json"), ("pickup", "opencps_order_pickup.json")],
)
def test_our_order_is_the_order_opencps_sends(flow: str, fixture: str) -> None:
    theirs = golden(fixture)
    mine = ours(flow)
    assert set(mine) == set(theirs)  # every field OpenCPS sends, none added
    assert {k: json_type(v) for k, v in mine.items()} == {
        k: json_type(v) for k, v in theirs.items()
    }
    assert isinstance(mine["SenderProvince"], int)
    assert {k: v for k, v in mine.items() if k not in OURS_DIFFER} == {
        k: v for k, v in theirs.items() if k not in OURS_DIFFER
    }
    assert mine["OrderNumber"] == f"{theirs['OrderNumber']}-{flow}"


def test_our_paseto_order_is_the_order_paseto_sends() -> None:
    theirs = golden("paseto_order_delivery.json")
    mine = ours("delivery", "paseto")
    assert set(mine) == set(theirs)
    assert {k: json_type(v) for k, v in mine.items()} == {
        k: json_type(v) for k, v in theirs.items()
    }
    assert {k: v for k, v in mine.items() if k not in OURS_DIFFER} == {
        k: v for k, v in theirs.items() if k not in OURS_DIFFER
    }


def test_our_quote_is_the_quote_opencps_sends() -> None:
    quote = QuoteIn.model_validate(
        {"ma_dvc": SANDBOX_AGENCY, "flow": "delivery", "ma_tinh": "01", "ma_huyen": "001"}
    )
    mine = quote_to_wire(quote, CENTRE, service=CONFIG.service_name).model_dump(mode="json")
    assert mine == golden("opencps_quote_delivery.json")


# --- (b) what the platform answers, through our reader -----------------------------------------


def answering(path_answers: dict[str, tuple[int, Any]]) -> PostalConnector:
    """A connector whose platform answers each path with a golden fixture."""

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = path_answers[request.url.path]
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = PostalConfig.model_validate(
        {"base_url": "http://vnpost", "credential": "ngsp_client_credentials"}
    )
    connector = PostalConnector(config, http)
    connector.client = PostalClient(config, http, retry_wait=wait_none())
    return connector


TOKEN = {"/token": (200, golden("answer_token_ngsp.json"))}


@pytest.mark.parametrize(
    ("fixture", "status", "code"),
    [
        ("answer_order_sdk.json", 201, "100"),
        ("answer_order_paseto.json", 200, "100"),
        ("answer_order_exists_paseto.json", 200, "101"),
    ],
)
async def test_order_answers_are_read(fixture: str, status: int, code: str) -> None:
    connector = answering({**TOKEN, "/orders": (status, golden(fixture))})
    delivered = await connector.deliver("create_order", shipment())
    assert delivered.extra["code"] == code
    assert delivered.upstream_ref == delivered.extra["order_number"]


async def test_a_cancel_answer_is_read() -> None:
    connector = answering({**TOKEN, "/orders/cancel": (201, golden("answer_cancel_sdk.json"))})
    delivered = await connector.deliver("cancel_order", {"order_number": "N"})
    assert delivered.upstream_ref == "N"


async def test_the_quote_answer_is_read_at_content_price() -> None:
    connector = answering({**TOKEN, "/quote": (200, golden("answer_quote_lgsp.json"))})
    quote = QuoteIn.model_validate(
        {"ma_dvc": SANDBOX_AGENCY, "flow": "delivery", "ma_tinh": "01", "ma_huyen": "001"}
    )
    assert await connector.quote(quote) == 24_500


async def test_the_tracking_feed_is_read() -> None:
    connector = answering({**TOKEN, "/tracking": (200, golden("answer_tracking_sdk.json"))})
    events = await connector.track("000.00.01.H22-240105-0007-delivery")
    assert events is not None
    assert [(e.platform_code, e.status, e.item_code) for e in events] == [
        ("1", "created", "EH000000001VN"),
        ("2", "picked_up", "EH000000001VN"),
    ]
    assert events[0].at < events[1].at
    assert await connector.track("000.00.01.H22-240105-0009-delivery") is None


async def test_the_ngsp_token_is_read_and_sent_as_its_type() -> None:
    seen: list[str] = []
    answers = {**TOKEN, "/orders": (201, golden("answer_order_sdk.json"))}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        status, body = answers[request.url.path]
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = PostalConfig.model_validate(
        {"base_url": "http://vnpost", "credential": "ngsp_client_credentials"}
    )
    await PostalClient(config, http).create_order(order())
    assert seen[0].startswith("Basic ")
    assert seen[1] == "Bearer c2FuZGJveC1uZ3NwLXRva2Vu"


# --- (c) the public senders' packets, accepted by our simulator --------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "opencps_order_delivery.json",
        "opencps_order_pickup.json",
        "opencps_sdk_order_delivery.json",
        "paseto_order_delivery.json",
    ],
)
async def test_the_simulator_accepts_the_public_senders_orders(fixture: str) -> None:
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as sim:
        relayed = {LGSP_RELAY_HEADER: LGSP_RELAY_VALUE}
        r = await sim.post("/orders", json=golden(fixture), headers=relayed)
        assert (r.status_code, r.json()["Status"]) == (201, "100"), r.text
        r = await sim.post("/quote", json=golden("opencps_quote_delivery.json"), headers=relayed)
        assert r.json()["content"]["price"] == 24_500
    (made,) = app.state.sim.orders.values()
    assert made.packet["CODAmount"] == golden(fixture)["CODAmount"]
