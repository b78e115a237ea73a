"""The exchange axis client against its simulator (in process) and against scripted answers
(respx): the SDK's operations in our HTTP profile, credentials as headers and never recorded,
answers bounded, codes resolved, transient failures retried on reads only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from tenacity import wait_none

from connectors.qlvb import QlvbClient, QlvbConfig, QlvbConnector, VanBanGui
from connectors.qlvb.sandbox import QlvbSimulator, create_app, get_simulator
from gateway.core.errors import (
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing
from tests.connectors.qlvb.support import DOCUMENT_ID, document

BASE = "http://axis"
SECRET = "Secret-For-Test-7f3a"


@pytest.fixture
def app() -> Any:
    return create_app(secret=SECRET)


@pytest.fixture
def sim(app: Any) -> QlvbSimulator:
    return get_simulator(app)


def client_for(
    transport: httpx.AsyncBaseTransport, **overrides: Any
) -> tuple[QlvbClient, QlvbConnector, list[Crossing]]:
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    http = build_client(connector="qlvb", sink=sink, transport=transport)
    config = QlvbConfig.model_validate({"base_url": BASE, "secret": SECRET, **overrides})
    connector = QlvbConnector(config, http)
    client = QlvbClient(config, http, retry_wait=wait_none())
    return client, connector, recorded


def package(connector: QlvbConnector, **overrides: Any) -> bytes:
    return connector.package(VanBanGui.model_validate(document(**overrides)))


async def test_send_list_get_and_acknowledge_against_the_simulator(
    app: Any, sim: QlvbSimulator
) -> None:
    client, connector, recorded = client_for(httpx.ASGITransport(app=app))
    answer = await client.send_edoc(package(connector))
    assert answer.status == "OK"
    assert answer.DocID == sim.documents[DOCUMENT_ID].doc_id
    again = await client.send_edoc(package(connector))  # the axis de-duplicates by DocumentId
    assert again.ErrorCode == "DUPLICATE"
    assert again.DocID == answer.DocID
    sim.advance(DOCUMENT_ID)
    [item] = await client.received_list()
    data = await client.get_edoc(item.id)
    assert connector.read_status(data).code == "01"
    await client.update_status(item.id, "done")
    assert await client.received_list() == []
    operations = [c.operation.removeprefix("unscoped:") for c in recorded]
    assert operations == [
        "qlvb.sendEdoc",
        "qlvb.sendEdoc",
        "qlvb.getReceivedEdocList",
        "qlvb.getEdoc",
        "qlvb.updateStatus",
        "qlvb.getReceivedEdocList",
    ]
    for crossing in recorded:  # the secret travels as a header, never in a recorded body
        assert SECRET.encode() not in (crossing.request or b"")
        assert SECRET.encode() not in (crossing.response or b"")


async def test_wrong_credentials_are_a_refusal(app: Any) -> None:
    client, _, _ = client_for(httpx.ASGITransport(app=app), secret="wrong-secret-123")
    with pytest.raises(PermanentUpstreamError) as refused:
        await client.received_list()
    assert refused.value.code == "UNAUTHORIZED"
    assert "wrong-secret-123" not in str(refused.value)


async def test_a_package_the_hub_refuses_names_the_element(app: Any, sim: QlvbSimulator) -> None:
    client, connector, _ = client_for(httpx.ASGITransport(app=app))
    data = package(connector).replace(b"<edXML:Subject>", b"<edXML:Subject>" + b"x" * 600)
    with pytest.raises(PermanentUpstreamError) as refused:
        await client.send_edoc(data)
    assert refused.value.code == "INVALID_PACKAGE"
    assert "Subject" in refused.value.detail
    assert sim.stats.refused == 1


@respx.mock
async def test_5xx_and_timeouts_are_transient_and_reads_are_retried() -> None:
    client, connector, _ = client_for(httpx.AsyncHTTPTransport())
    route = respx.post(f"{BASE}/getReceivedEdocList").mock(
        side_effect=[
            httpx.Response(503),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"status": "OK", "data": [{"id": "st-1"}]}),
        ]
    )
    items = await client.received_list()
    assert [i.id for i in items] == ["st-1"]
    assert route.call_count == 3
    send = respx.post(f"{BASE}/sendEdoc").mock(return_value=httpx.Response(502))
    with pytest.raises(TransientUpstreamError):
        await client.send_edoc(package(connector))
    assert send.call_count == 1  # writes are the outbox's to retry


@respx.mock
async def test_answers_outside_the_profile_are_refused() -> None:
    client, connector, _ = client_for(httpx.AsyncHTTPTransport(), max_answer_bytes=2048)
    respx.post(f"{BASE}/sendEdoc").mock(return_value=httpx.Response(200, text="<html/>"))
    with pytest.raises(InvalidUpstreamAnswer):
        await client.send_edoc(package(connector))
    respx.post(f"{BASE}/getReceivedEdocList").mock(
        return_value=httpx.Response(200, json={"status": "OK", "data": [{"id": "x" * 5000}]})
    )
    with pytest.raises(InvalidUpstreamAnswer):
        await client.received_list()
    respx.post(f"{BASE}/updateStatus").mock(
        return_value=httpx.Response(200, json={"status": "FAIL", "ErrorCode": "BUSY"})
    )
    with pytest.raises(TransientUpstreamError):
        await client.update_status("st-1", "done")
    respx.post(f"{BASE}/getEdoc").mock(
        return_value=httpx.Response(200, json={"status": "FAIL", "ErrorCode": "NEW_CODE"})
    )
    with pytest.raises(PermanentUpstreamError):
        await client.get_edoc("st-1")


@respx.mock
async def test_the_request_carries_the_sdk_header() -> None:
    client, connector, _ = client_for(httpx.AsyncHTTPTransport())
    route = respx.post(f"{BASE}/sendEdoc").mock(
        return_value=httpx.Response(200, json={"status": "OK", "DocID": "d-1"})
    )
    await client.send_edoc(package(connector))
    request = route.calls.last.request
    assert json.loads(request.headers["header"]) == {
        "from": "000.00.00.H22",
        "servicetype": "eDoc",
        "messagetype": "edoc",
    }
    assert request.headers["systemid"] == "lgsp.sandbox.01"
    assert request.headers["content-type"] == "application/xml"


@respx.mock
async def test_a_bare_sdk_refusal_is_permanent_and_says_why() -> None:
    client, connector, _ = client_for(httpx.AsyncHTTPTransport())
    respx.post(f"{BASE}/sendEdoc").mock(
        return_value=httpx.Response(200, json={"status": "FAIL", "ErrorDesc": "Sai định dạng"})
    )
    with pytest.raises(PermanentUpstreamError) as refused:
        await client.send_edoc(package(connector))
    assert "Sai định dạng" in refused.value.detail
