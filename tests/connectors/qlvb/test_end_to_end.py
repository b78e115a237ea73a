"""The whole exchange against the simulator in process: a document accepted, delivered as an
edXML package, and its statuses brought back by the poller and by pushes, with faults."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.qlvb import VanBanGui
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import bearer, started_gateway
from tests.connectors.qlvb.support import (
    AGENCY,
    DOCUMENT_ID,
    DOCUMENTS,
    DOSSIER,
    Axis,
    connector_of,
    document,
    event_types,
    poll,
)


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "qlvb:send", "qlvb:read")


async def deliver_all(app: Any) -> None:
    while await app.state.delivery.run_once():
        pass


async def view(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["documents"][0]
    return found


async def test_a_document_sent_and_its_statuses_pulled(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    r = await api.post(DOCUMENTS, json=document(), headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["document_id"] == DOCUMENT_ID
    await deliver_all(app)
    kept = axis.sim.documents[DOCUMENT_ID]
    assert kept.received.recipients == [AGENCY]
    assert (await view(api, headers))["status"] == "sent"
    for _ in range(5):
        await axis.advance()
    assert await poll(gateway) == 5
    doc = await view(api, headers)
    recipient = doc["recipients"][0]
    assert recipient["status"] == "processed"
    assert [h["status_code"] for h in recipient["history"]] == ["01", "03", "04", "05", "06"]
    assert axis.sim.stats.acknowledged == {"done": 5}
    assert await poll(gateway) == 0  # nothing waits any more
    types = await event_types(gateway)
    assert types == [
        "qlvb.sent",
        "qlvb.received",
        "qlvb.registered",
        "qlvb.processing",
        "qlvb.processed",
    ]


async def test_through_the_provincial_lgsp(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    gw = await started_gateway(
        database_url, state_store, sandbox_app, connectors={"qlvb": {"transport": "lgsp"}}
    )
    try:
        connector = connector_of(gw)
        assert connector.config.base_url == "http://sandbox/lgsp/qlvb"
        result = await connector.check()
        assert result.ok, result.detail
        package = connector.package(VanBanGui.model_validate(document()))
        answer = await connector.client.send_edoc(package)
        assert answer.status == "OK"
    finally:
        await gw.aclose()
