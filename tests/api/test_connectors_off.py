"""LGSP_CONNECTORS_OFF over HTTP: an off connector's routes are not mounted (404 like any
unknown path), /v1/connectors shows it as off with no health figures."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway


async def test_off_routes_404_and_connectors_lists_it_as_off(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    gw: Gateway = await started_gateway(
        database_url, state_store, sandbox_app, connectors_off=["qlvb", "dkdn"]
    )
    try:
        async with serving(gw) as api:
            headers = await bearer(gw, "qlvb:read", "ops:read")  # its scopes can still be granted
            missing = await api.get("/v1/qlvb/documents/000.00.00.H00-261204-0001", headers=headers)
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/problem+json")
            paths = (await api.get("/openapi.json")).json()["paths"]
            assert not [p for p in paths if p.startswith(("/v1/qlvb", "/v1/dkdn"))]
            assert [p for p in paths if p.startswith("/v1/dvcqg")]

            answer = (await api.get("/v1/connectors", headers=headers)).json()
            on = {c["slug"] for c in answer["connectors"]}
            assert on == set(load_specs()) - {"qlvb", "dkdn"}
            assert answer["off"] == [
                {"slug": "dkdn", "title": load_specs()["dkdn"].title, "state": "off"},
                {"slug": "qlvb", "title": load_specs()["qlvb"].title, "state": "off"},
            ]
    finally:
        await gw.aclose()


async def test_nothing_is_off_by_default(api: httpx.AsyncClient, gateway: Gateway) -> None:
    headers = await bearer(gateway, "ops:read")
    answer = (await api.get("/v1/connectors", headers=headers)).json()
    assert answer["off"] == []
    assert {c["slug"] for c in answer["connectors"]} == set(load_specs())


async def test_the_console_lists_an_off_connector_as_off(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    from gateway.api.console.views import connectors as console_connectors

    gw = await started_gateway(database_url, state_store, sandbox_app, connectors_off=["qlvb"])
    try:
        views = {v.slug: v for v in await console_connectors(gw)}
        assert views["qlvb"].state == "off"
        assert views["qlvb"].queued == 0
        assert views["dvcqg"].state != "off"
    finally:
        await gw.aclose()
