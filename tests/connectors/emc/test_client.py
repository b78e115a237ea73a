"""The EMC client against a mocked EMC (respx): what TrackingMCDT receives, and how every kind
of answer is read (2xx success whatever the body, 5xx and 429 transient with Retry-After, 4xx
refused, transport failures transient); the aggregate (our profile): its bearer token, its
answer validated, a malformed one transient."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from connectors.emc import EmcClient, EmcConfig, EmcConnector
from connectors.emc.errors import EmcNotConfigured
from connectors.emc.mapping import SuKienHoSo
from gateway.core.errors import (
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from schemas import emc as wire
from tests.connectors.emc.support import event

BASE = "https://emc.example.vn"
CONFIG = EmcConfig(
    tracking_url=f"{BASE}/TrackingMCDT",
    aggregate_url=f"{BASE}/aggregate",
    site_id=3800,
    ma_tinh="38",
    aggregate_token="aggregate-token-123456",  # type: ignore[arg-type]
)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def connector() -> EmcConnector:
    return EmcConnector(CONFIG, httpx.AsyncClient())


def packet() -> wire.TrackingMCDT:
    return connector().tracking_packet(SuKienHoSo.model_validate(event()))


def aggregate() -> wire.MonthlyAggregate:
    return wire.MonthlyAggregate(
        SiteId=3800, MaDonVi="000.00.00.H56", Thang="2024-01", NgayLap="20240201080000", DuLieu=[]
    )


async def test_track_posts_the_packet_as_json(mock: respx.MockRouter) -> None:
    route = mock.post("/TrackingMCDT").respond(200, text="")
    async with httpx.AsyncClient() as http:
        status = await EmcClient(CONFIG, http).track(packet())
    assert status == 200
    request = route.calls.last.request
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers  # TrackingMCDT takes no credential
    body = json.loads(request.content)
    assert (body["SiteId"], body["Status"], body["Level"]) == (3800, "1", "3")
    assert json.loads(body["User"])["LOCATION"] == "38"


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_is_acceptance_whatever_the_body(mock: respx.MockRouter, status: int) -> None:
    mock.post("/TrackingMCDT").respond(status, text="" if status == 204 else "<html>ok</html>")
    async with httpx.AsyncClient() as http:
        assert await EmcClient(CONFIG, http).track(packet()) == status


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
async def test_failures_of_emc_are_transient(mock: respx.MockRouter, status: int) -> None:
    mock.post("/TrackingMCDT").respond(status, headers={"Retry-After": "7"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(TransientUpstreamError) as raised:
            await EmcClient(CONFIG, http).track(packet())
    if status != 408:
        assert raised.value.retry_after == 7


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422, 418])
async def test_refusals_are_permanent(mock: respx.MockRouter, status: int) -> None:
    mock.post("/TrackingMCDT").respond(status, json={"error": "no"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(PermanentUpstreamError) as raised:
            await EmcClient(CONFIG, http).track(packet())
    assert raised.value.code in (str(status), None)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")],
)
async def test_a_transport_failure_is_transient(
    mock: respx.MockRouter, failure: httpx.TransportError
) -> None:
    mock.post("/TrackingMCDT").mock(side_effect=failure)
    async with httpx.AsyncClient() as http:
        with pytest.raises(TransientUpstreamError):
            await EmcClient(CONFIG, http).track(packet())


async def test_the_aggregate_carries_its_token_and_its_answer_is_validated(
    mock: respx.MockRouter,
) -> None:
    route = mock.post("/aggregate").respond(
        200, json={"status": "accepted", "report_id": "3800-000.00.00.H56-2024-01"}
    )
    async with httpx.AsyncClient() as http:
        answer = await EmcClient(CONFIG, http).submit_aggregate(aggregate())
    assert answer.status == "accepted"
    assert route.calls.last.request.headers["authorization"] == "Bearer aggregate-token-123456"


@pytest.mark.parametrize(
    "body", ["<html>proxy error</html>", "[]", '{"status": "maybe", "report_id": "x"}']
)
async def test_a_malformed_aggregate_answer_is_transient(mock: respx.MockRouter, body: str) -> None:
    mock.post("/aggregate").respond(200, text=body)
    async with httpx.AsyncClient() as http:
        with pytest.raises(InvalidUpstreamAnswer):
            await EmcClient(CONFIG, http).submit_aggregate(aggregate())


async def test_no_aggregate_url_means_not_configured() -> None:
    config = CONFIG.model_copy(update={"aggregate_url": None})
    async with httpx.AsyncClient() as http:
        with pytest.raises(EmcNotConfigured):
            await EmcClient(config, http).submit_aggregate(aggregate())


async def test_check_probes_without_sending_an_event(mock: respx.MockRouter) -> None:
    options = mock.options("/TrackingMCDT").respond(405)
    post = mock.post("/TrackingMCDT").respond(200)
    result = await connector().check()
    assert result.ok, result.detail
    assert options.called
    assert not post.called


async def test_deliveries_never_name_the_owner_unmasked(mock: respx.MockRouter) -> None:
    mock.post("/TrackingMCDT").respond(200)
    delivered = await connector().deliver("track_dossier", event())
    assert "001090000001" not in delivered.detail
    assert "001******001" in delivered.detail


async def test_tracking_off_without_a_site_id() -> None:
    off = EmcConnector(CONFIG.model_copy(update={"site_id": None}), httpx.AsyncClient())
    with pytest.raises(EmcNotConfigured):
        await off.deliver("track_dossier", event())
