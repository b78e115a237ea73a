"""The registry assembles the business-register connector everywhere: the API's health view
(``/v1/connectors``), the OpenAPI document, the sandbox server
and the demo."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from tests.conftest import bearer


async def test_v1_connectors_shows_dkdn_healthy(api: httpx.AsyncClient, gateway: Gateway) -> None:
    r = await api.get("/v1/connectors", headers=await bearer(gateway, "ops:read"))
    assert r.status_code == 200, r.text
    row = next(c for c in r.json()["connectors"] if c["slug"] == "dkdn")
    assert (row["profile"], row["circuit"]) == ("ngsp", "closed"), row


async def test_the_route_is_in_the_openapi_document(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/dkdn/enterprises/lookup"]["post"]
    assert operation["operationId"] == "dkdn-lookup-enterprise"


async def test_the_sandbox_server_mounts_the_simulator(sandbox_app: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as sim:
        index = (await sim.get("/")).json()["simulators"]
        assert index["dkdn"]["path"] == "/dkdn"
        r = await sim.get("/dkdn/_sandbox/enterprises", params={"limit": 1})
        assert r.status_code == 200


def test_the_demo_part_is_registered() -> None:
    spec = load_specs()["dkdn"]
    assert spec.demo_parts is not None
    assert [(p.__name__, p.order) for p in spec.demo_parts()] == [("EnterpriseChecks", 45)]
