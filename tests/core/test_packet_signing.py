"""Signed packets across connectors: a connector's outbound JSON packets carry a detached
signature made by the eSign connector; the portal's inbound packets are refused when their
signature is missing or wrong (``LGSP_PACKET_SIGNING__*``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.dvcqg.tables import PortalDossier
from connectors.esign import EsignConnector, PacketSignatureInvalid
from gateway.core.errors import ConfigurationError
from gateway.core.runtime import Gateway
from gateway.core.settings import PacketSigningSettings
from gateway.core.store.db import ExchangeEntry
from gateway.core.store.state import StateStore
from tests.conftest import make_settings, started_gateway


class Capture(httpx.AsyncBaseTransport):
    """Keeps every request it forwards (headers included)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def capture(sandbox_app: Any) -> Capture:
    return Capture(httpx.ASGITransport(app=sandbox_app))


@pytest.fixture
async def signing_gw(
    database_url: str, state_store: StateStore, sandbox_app: Any, capture: Capture
) -> AsyncIterator[Gateway]:
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={"dvcqg": capture},
        packet_signing={"sign_outbound": ["dvcqg"]},
    )
    yield gw
    await gw.aclose()


def esign(gw: Gateway) -> EsignConnector:
    connector = gw.connector("esign")
    assert isinstance(connector, EsignConnector)
    return connector


async def test_outbound_packets_carry_a_signature_the_receiver_can_check(
    signing_gw: Gateway, capture: Capture
) -> None:
    from connectors.dvcqg import DvcqgConnector

    dvcqg = signing_gw.connector("dvcqg")
    assert isinstance(dvcqg, DvcqgConnector)
    procedures = await dvcqg.client.lay_danh_sach_tthc()
    assert procedures
    assert len(capture.requests) >= 2  # auth, the catalogue at start-up, then this call
    for request in capture.requests:
        token = request.headers["X-Packet-Signature"]
        packet = json.loads(request.content)
        # the portal's side: the detached signature checks against the packet as received
        await esign(signing_gw).verify_packet(packet, token, source="test")
        with pytest.raises(PacketSignatureInvalid):
            await esign(signing_gw).verify_packet({**packet, "x": 1}, token, source="test")


async def test_an_unknown_connector_in_the_settings_stops_the_start(database_url: str) -> None:
    with pytest.raises(ConfigurationError, match="LGSP_PACKET_SIGNING__SIGN_OUTBOUND"):
        Gateway(make_settings(database_url, packet_signing={"sign_outbound": ["nope"]}))


def test_the_header_name_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PacketSigningSettings(header="X Bad Header")


# --- inbound: the portal's pushes must be signed ----------------------------------------------


async def _push(portal: httpx.AsyncClient) -> tuple[bytes, dict[str, str]]:
    made = await portal.post("/dvcqg/_sandbox/online-dossiers", json={"documents": 0})
    assert made.status_code == 200
    built = (await portal.post("/dvcqg/_sandbox/online-dossiers/push")).json()
    return built["body"].encode(), dict(built["headers"])


@pytest.fixture
async def portal(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


async def rows(gw: Gateway, model: Any) -> list[Any]:
    async with gw.db.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_an_unsigned_or_wrongly_signed_push_is_refused_when_signatures_are_required(
    api: httpx.AsyncClient, gateway: Gateway, portal: httpx.AsyncClient
) -> None:
    gateway.settings.packet_signing.verify_inbound = ["dvcqg"]
    body, headers = await _push(portal)

    r = await api.post("/callbacks/dvcqg/dossiers", content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "urn:lgsp:problem:packet-signature-missing"

    other = await esign(gateway).sign_packet({"service": "other"}, purpose="test")
    r = await api.post(
        "/callbacks/dvcqg/dossiers", content=body, headers={**headers, "X-Packet-Signature": other}
    )
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "urn:lgsp:problem:esign-packet-signature-invalid"
    assert await rows(gateway, PortalDossier) == []
    refusals = [e.outcome for e in await rows(gateway, ExchangeEntry) if e.kind == "refusal"]
    assert refusals == ["packet-signature-missing", "esign-packet-signature-invalid"]

    token = await esign(gateway).sign_packet(json.loads(body), purpose="GuiHoSoTrucTuyen")
    r = await api.post(
        "/callbacks/dvcqg/dossiers", content=body, headers={**headers, "X-Packet-Signature": token}
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"][0]["KetQua"] == "accepted"
