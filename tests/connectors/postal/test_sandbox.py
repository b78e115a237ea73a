"""The postal simulator on its own: the wire validated by its own models (what VNPost would
refuse, refused; what public senders send, accepted), credentials required unless the LGSP
relayed the request, orders de-duplicated by number and content, the tracking state machine (on
request and on the accelerated clock) and its feed, webhooks kept and signed, the LGSP's
``?service=`` routing, and faults."""

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


RELAYED = {"X-LGSP-Relay": "sandbox-lgsp-relay"}


async def test_every_call_needs_a_credential_unless_the_lgsp_relayed_it(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    packet = order().model_dump(mode="json")
    r = await http.post("/orders", json=packet)
    assert r.json()["Status"] == "102"
    r = await http.post("/orders", json=packet, headers={"access_token": "forged"})
    assert r.json()["Status"] == "102"
    r = await http.post("/orders", json=packet, headers={"X-LGSP-Relay": "someone"})
    assert r.json()["Status"] == "102"
    r = await http.post("/orders", json=packet, headers=await token(http))
    assert (r.status_code, r.json()["Status"]) == (201, "100")  # the SDK waits for 201
    r = await http.post("/orders", json={**packet, "OrderNumber": "N-2"}, headers=RELAYED)
    assert (r.status_code, r.json()["Status"]) == (201, "100")
    sim.config = sim.config.model_copy(update={"static_tokens": ["issued-once"]})
    r = await http.post(
        "/orders", json={**packet, "OrderNumber": "N-3"}, headers={"access_token": "issued-once"}
    )
    assert r.json()["Status"] == "100"


async def test_an_ngsp_client_credentials_token(http: httpx.AsyncClient) -> None:
    # OpenCPS's SDK IToken.getToken: Basic key:secret, grant_type=client_credentials
    basic = httpx.BasicAuth("lgsp-sandbox", "sandbox-postal-password")
    r = await http.post("/token", data={"grant_type": "client_credentials"}, auth=basic)
    assert r.status_code == 200
    issued = r.json()
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    r = await http.post("/orders", json=order().model_dump(mode="json"), headers=bearer)
    assert r.json()["Status"] == "100"
    wrong = httpx.BasicAuth("lgsp-sandbox", "wrong")
    r = await http.post("/token", data={"grant_type": "client_credentials"}, auth=wrong)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"CustomerCode": None}, "CustomerCode"),
        ({"OrderNumber": ""}, "OrderNumber"),
        ({"SenderProvince": "25"}, "SenderProvince"),  # a string: refused
        ({"ReceiverProvince": 25.5}, "ReceiverProvince"),
        ({"SenderDistrict": True}, "SenderDistrict"),
        ({"CODAmount": "58000"}, "CODAmount"),
        ({"CODAmount": 58_000.5}, "CODAmount"),
        ({"SenderTel": "12"}, "SenderTel"),
        ({"ReceiverName": ""}, "ReceiverName"),
    ],
)
async def test_what_vnpost_would_refuse_is_refused(
    http: httpx.AsyncClient, change: dict[str, Any], where: str
) -> None:
    packet = {**order().model_dump(mode="json"), **change}
    r = await http.post("/orders", json=packet, headers=await token(http))
    assert r.json()["Status"] == "104"
    assert r.json()["Message"].startswith(where)


async def test_what_public_senders_send_is_accepted(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    auth = await token(http)
    packet = order().model_dump(mode="json")
    del packet["CustomerCode"]
    missing = await http.post("/orders", json=packet, headers=auth)
    assert missing.json()["Message"].startswith("CustomerCode")
    gson = {  # the NGSP SDK's Gson: a Double, nulls serialized, PASETO's two extra fields
        **order().model_dump(mode="json"),
        "CODAmount": 58_000.0,
        "SenderEmail": None,
        "Description": None,
        "ItemCode": None,
        "FlagConfig": 2,
    }
    r = await http.post("/orders", json=gson, headers=auth)
    assert r.json()["Status"] == "100"
    (made,) = sim.orders.values()
    assert made.packet["CODAmount"] == 58_000


async def test_the_same_order_again_is_already_there(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    auth = await token(http)
    packet = order().model_dump(mode="json")
    first = await http.post("/orders", json=packet, headers=auth)
    again = await http.post("/orders", json=packet, headers=auth)
    assert (first.status_code, first.json()["Status"]) == (201, "100")
    assert again.json()["Status"] == "101"  # PASETO takes it as handed over
    assert (sim.stats.orders_created, sim.stats.duplicates) == (1, 1)
    other = {**packet, "CODAmount": 1}
    assert (await http.post("/orders", json=other, headers=auth)).json()["Status"] == "105"
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
    tracked = await http.get("/tracking", params={"pagesize": 1000}, headers=auth)
    feed = tracked.json()
    assert feed["_returned"] == len(lines)
    docs = feed["_embedded"]["rh:doc"]
    assert [d["StatusCode"] for d in docs] == [int(line["statusCode"]) for line in lines]
    assert {d["OrderNumber"] for d in docs} == {number}
    assert [d["EventTime"] for d in docs] == sorted({d["EventTime"] for d in docs})
    page = await http.get(
        "/tracking", params={"pagesize": 3, "lastId": docs[2]["_id"]["$oid"]}, headers=auth
    )
    assert page.json()["_embedded"]["rh:doc"] == docs[3:6]
    last = await http.get(
        "/tracking", params={"pagesize": 3, "lastId": docs[-1]["_id"]["$oid"]}, headers=auth
    )
    assert "_embedded" not in last.json()  # an empty page: OpenCPS's reader stops on it
    hooks = (await http.get("/_sandbox/webhooks")).json()
    assert len(hooks) == len(lines)
    for hook in hooks:  # each signed over its timestamp and body
        stamp = hook["headers"]["X-VNPost-Timestamp"]
        assert hook["headers"]["X-VNPost-Signature"] == webhook_signature(
            b"sandbox-postal-webhook", stamp, hook["body"].encode()
        )
    assert [json.loads(h["body"]) for h in hooks] == docs


async def test_cancel_only_before_pick_up(http: httpx.AsyncClient) -> None:
    auth = await token(http)
    cancel = {"CustomerCode": "LGSP-SANDBOX", "OrderNumber": order().OrderNumber}

    async def status() -> tuple[int, str]:
        r = await http.get("/orders/cancel", params=cancel, headers=auth)
        return r.status_code, r.json()["Status"]

    assert await status() == (200, "106")
    await http.post("/orders", json=order().model_dump(mode="json"), headers=auth)
    assert await status() == (201, "100")  # the SDK's cancelOrder waits for 201
    assert await status() == (200, "107")


async def test_a_quote_as_opencps_reads_it(http: httpx.AsyncClient) -> None:
    auth = await token(http)
    body = {
        "weight": 500,
        "mainSrv": "HCC",
        "isreturn": 1,
        "sender": {"provCode": 25, "distCode": 227},
        "receiver": {"provCode": 1, "distCode": 1},
    }
    r = await http.post("/quote", json=body, headers=auth)
    assert r.json()["content"]["price"] == 24_500
    r = await http.post("/quote", json={**body, "mainSrv": "EMS"}, headers=auth)
    assert r.json()["Status"] == "104"


async def test_the_lgsp_names_the_operation_with_service(
    http: httpx.AsyncClient, sim: PostalSimulator
) -> None:
    # OpenCPS rc-3.0 L178-180: lgspVnpostUrl + "?service=" + lgsp_vnpost_orderpost
    packet = order().model_dump(mode="json")
    r = await http.post("/", params={"service": "orderpost"}, json=packet, headers=RELAYED)
    assert (r.status_code, r.json()["Status"]) == (201, "100")
    r = await http.get("/", params={"service": "ordertracking", "pagesize": 10}, headers=RELAYED)
    assert r.json()["_embedded"]["rh:doc"][0]["OrderNumber"] == packet["OrderNumber"]
    assert (await http.get("/", params={"service": "nope"}, headers=RELAYED)).status_code == 404
    wrong = await http.get("/", params={"service": "orderpost"}, headers=RELAYED)
    assert wrong.status_code == 405
    assert sim.received[-1]["packet"] == {"pagesize": "10"}


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
    assert (await http.post("/quote", json={}, headers=auth)).json()["Status"] == "199"
    assert sim.stats.faults_injected == 2
    assert (await http.post("/_sandbox/reset")).status_code == 200
    assert sim.stats.faults_injected == 0
