"""The postal simulator on its own: the wire validated, tokens required, orders de-duplicated
by number and content, the tracking state machine (on request and on the accelerated clock),
webhooks kept and signed, statements with planted discrepancies, and faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.postal.client import webhook_signature
from connectors.postal.sandbox import PostalSimulator, create_app, get_simulator
from tests.connectors.postal.test_client import order


@pytest.fixture
def app() -> Any:
    return create_app()


@pytest.fixture
def sim(app: Any) -> PostalSimulator:
    return get_simulator(app)


@pytest.fixture
async def http(app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        yield client


async def token(http: httpx.AsyncClient) -> dict[str, str]:
    r = await http.post(
        "/token",
        json={
            "Username": "lgsp-sandbox",
            "Password": "sandbox-postal-password",
            "CustomerCode": "LGSP-SANDBOX",
        },
    )
    return {"access_token": r.json()["Token"]}


async def test_every_call_needs_a_token(http: httpx.AsyncClient) -> None:
    packet = order().model_dump(mode="json")
    r = await http.post("/orders", json=packet)
    assert r.json()["Code"] == "102"
    r = await http.post("/orders", json=packet, headers={"access_token": "forged"})
    assert r.json()["Code"] == "102"
    r = await http.post("/orders", json=packet, headers=await token(http))
    assert r.json()["Code"] == "100"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"CODAmount": 58_000.0}, "CODAmount"),
        ({"CODAmount": "58000"}, "CODAmount"),
        ({"ServiceName": "EMS"}, "ServiceName"),
        ({"SenderTel": "12"}, "SenderTel"),
        ({"Unexpected": 1}, "Unexpected"),
    ],
)
async def test_packets_are_validated_against_the_wire_models(
    http: httpx.AsyncClient, change: dict[str, Any], where: str
) -> None:
    packet = {**order().model_dump(mode="json"), **change}
    r = await http.post("/orders", json=packet, headers=await token(http))
    assert r.json()["Code"] == "104"
    assert r.json()["Message"].startswith(where)


async def test_the_same_order_again_is_the_same_order(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    auth = await token(http)
    packet = order().model_dump(mode="json")
    first = (await http.post("/orders", json=packet, headers=auth)).json()
    again = (await http.post("/orders", json=packet, headers=auth)).json()
    assert first == again
    assert (sim.stats.orders_created, sim.stats.duplicates) == (1, 1)
    other = {**packet, "CODAmount": 1}
    assert (await http.post("/orders", json=other, headers=auth)).json()["Code"] == "105"
    assert sim.received[0]["packet"]["Password"] == "***"


async def test_the_state_machine_and_its_webhooks(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    auth = await token(http)
    number = order().OrderNumber
    await http.post("/orders", json=order().model_dump(mode="json"), headers=auth)
    for _ in range(3):
        assert (await http.post(f"/_sandbox/orders/{number}/advance")).status_code == 200
    r = await http.post(f"/_sandbox/orders/{number}/advance", json={"outcome": "fail"})
    assert r.json()["statusCode"] == "6"
    r = await http.post(f"/_sandbox/orders/{number}/advance")
    assert r.json()["statusCode"] == "4"  # a second attempt
    r = await http.post(f"/_sandbox/orders/{number}/advance")
    assert r.json()["statusCode"] == "5"
    assert r.json()["CollectedAt"] == r.json()["Tracking"][-1]["time"]
    assert (await http.post(f"/_sandbox/orders/{number}/advance")).status_code == 409
    lines = r.json()["Tracking"]
    assert [line["statusCode"] for line in lines] == ["1", "2", "3", "4", "6", "4", "5"]
    assert [line["time"] for line in lines] == sorted({line["time"] for line in lines})
    tracked = await http.get(
        "/tracking", params={"CustomerCode": "LGSP-SANDBOX", "OrderNumber": number}, headers=auth
    )
    assert tracked.json()["Tracking"] == lines
    hooks = (await http.get("/_sandbox/webhooks")).json()
    assert len(hooks) == len(lines)
    for hook in hooks:  # each signed over its timestamp and body
        stamp = hook["headers"]["X-VNPost-Timestamp"]
        assert hook["headers"]["X-VNPost-Signature"] == webhook_signature(
            b"sandbox-postal-webhook", stamp, hook["body"].encode()
        )
    assert [json.loads(h["body"])["statusCode"] for h in hooks] == [
        line["statusCode"] for line in lines
    ]


async def test_cancel_only_before_pick_up(http: httpx.AsyncClient) -> None:
    auth = await token(http)
    cancel = {"CustomerCode": "LGSP-SANDBOX", "OrderNumber": order().OrderNumber}
    assert (await http.post("/orders/cancel", json=cancel, headers=auth)).json()["Code"] == "106"
    await http.post("/orders", json=order().model_dump(mode="json"), headers=auth)
    assert (await http.post("/orders/cancel", json=cancel, headers=auth)).json()["Code"] == "100"
    assert (await http.post("/orders/cancel", json=cancel, headers=auth)).json()["Code"] == "107"


async def test_the_accelerated_clock_moves_orders(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    auth = await token(http)
    await http.post("/orders", json=order().model_dump(mode="json"), headers=auth)
    assert (await http.post("/_sandbox/tick")).json() == {"moved": 0}  # off by default
    config = (await http.get("/_sandbox/config")).json()
    r = await http.put("/_sandbox/config", json={**config, "seconds_per_step": 10})
    assert r.status_code == 200
    (placed,) = sim.orders.values()
    placed.last_step_at -= 25  # two steps and a half are due
    assert (await http.post("/_sandbox/tick")).json() == {"moved": 2}
    assert placed.code == "3"


async def test_faults(http: httpx.AsyncClient, sim: PostalSimulator) -> None:
    auth = await token(http)
    assert (await http.put("/_sandbox/faults", json={"error_rate": 1.0})).status_code == 200
    r = await http.post("/quote", json={}, headers=auth)
    assert r.status_code == 503
    await http.put("/_sandbox/faults", json={"system_error_rate": 1.0})
    assert (await http.post("/quote", json={}, headers=auth)).json()["Code"] == "199"
    assert sim.stats.faults_injected == 2
    assert (await http.post("/_sandbox/reset")).status_code == 200
    assert sim.stats.faults_injected == 0
