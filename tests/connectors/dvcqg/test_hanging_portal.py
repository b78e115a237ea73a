"""Accepting never waits on the portal (issue 15): with DVCQG's catalogue endpoint hanging,
writes are answered as usual, one background refresh is in flight, and an unknown code is
answered at once by the documented rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.dvcqg import DvcqgConnector
from connectors.dvcqg.catalogue import ProcedureCatalogue
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway
from tests.factories import dossier


class HangingShare(httpx.AsyncBaseTransport):
    """The sandbox, except that once ``hang`` is set the portal's share endpoint (where the
    catalogue is listed) answers only when ``release`` is set: a portal that hangs."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.hang = False
        self.hung = 0
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.hang and request.url.path.endswith("/share"):
            self.hung += 1
            await self.release.wait()
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def hanging(
    database_url: str,
    state_store: StateStore,
    sandbox_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient, HangingShare]]:
    # every use of the catalogue is due a refresh: the worst case for a write
    monkeypatch.setattr(ProcedureCatalogue, "MIN_REFRESH_INTERVAL_SECONDS", 0.0)
    transport = HangingShare(httpx.ASGITransport(app=sandbox_app))
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={"dvcqg": transport},
        connectors={
            "dvcqg": {"catalogue_ttl_seconds": 0.001, "catalogue_refresh_timeout_seconds": 300}
        },
    )
    try:
        async with serving(gw) as api:
            yield gw, api, transport
    finally:
        transport.release.set()
        await gw.aclose()


async def test_writes_are_answered_while_the_portal_hangs(
    hanging: tuple[Gateway, httpx.AsyncClient, HangingShare], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, api, portal = hanging
    connector = gw.connectors["dvcqg"]
    assert isinstance(connector, DvcqgConnector)
    assert connector.catalogue.loaded  # loaded at start-up, before the portal hung
    headers = await bearer(gw, "dvcqg:sync")
    portal.hang = True

    answers = await asyncio.gather(
        *(api.post("/v1/dvcqg/dossiers", json=dossier(n), headers=headers) for n in range(1, 21))
    )
    # every write answered while the catalogue request is still hanging (it never answered:
    # had any write waited on it, this line would not be reached)
    assert [a.status_code for a in answers] == [202] * 20
    assert portal.hung == 1  # one refresh in flight, not one per write
    assert connector.catalogue.refreshing

    # a code the cache lacks may be a procedure published since: answered at once, 503
    unknown = await api.post(
        "/v1/dvcqg/dossiers", json=dossier(21, ma_tthc="3.999999"), headers=headers
    )
    assert unknown.status_code == 503
    assert unknown.headers["content-type"] == "application/problem+json"
    assert int(unknown.headers["Retry-After"]) >= 1
    assert portal.hung == 1

    portal.release.set()
    await connector.catalogue.settled()
    assert not connector.catalogue.refreshing
    # refreshed within the minute and the code is still unknown: refused, naming the field
    monkeypatch.setattr(ProcedureCatalogue, "MIN_REFRESH_INTERVAL_SECONDS", 60.0)
    refused = await api.post(
        "/v1/dvcqg/dossiers", json=dossier(22, ma_tthc="3.999999"), headers=headers
    )
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == ["ma_tthc"]
