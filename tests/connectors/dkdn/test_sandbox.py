"""The register simulator on its own: strict on what it receives (the code's format, the
bearer token, the consumer's credentials), tolerant where senders are sloppy, its answers in
the public shapes, and its fault switches and control endpoints."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.dkdn.sandbox import (
    CONSUMER,
    MALFORMED,
    DkdnSimulator,
    Register,
    create_app,
    get_simulator,
)
from gateway.core.http.simulators import SimulatedConnectionDrop

NGSP = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
ENTCERT = "/apiDKKD/DoanhNghiep/chiTietDoanhNghiep"
HCM = "/TraCuuThongTinDoanhNghiep"


@pytest.fixture
def app() -> Any:
    return create_app()


@pytest.fixture
def sim(app: Any) -> DkdnSimulator:
    return get_simulator(app)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as c:
        yield c


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


async def token(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic(*CONSUMER)
    )
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def set_faults(client: httpx.AsyncClient, **faults: Any) -> None:
    r = await client.put("/_sandbox/faults", json=faults)
    assert r.status_code == 200, r.text


def some(sim: DkdnSimulator, status: str = "ACT") -> str:
    return sim.register.with_status(status)[0].code


def test_the_register_holds_every_status_and_branches(sim: DkdnSimulator) -> None:
    statuses = {e.status for e in sim.register.enterprises.values()}
    assert statuses == {"ACT", "SUS", "DIP", "DIS", "REV", "BKR"}
    assert len(sim.register.enterprises) == 300
    assert sim.register.branches
    assert all(code.count("-") == 1 for code in sim.register.branches)


def test_the_register_is_drawn_the_same_every_time() -> None:
    a, b = Register(), Register()
    assert [(e.code, e.name, e.status) for e in a.enterprises.values()] == [
        (e.code, e.name, e.status) for e in b.enterprises.values()
    ]


async def test_token_endpoint_is_strict(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic("x", "y")
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = await client.post("/token", data={"grant_type": "password"}, headers=basic(*CONSUMER))
    assert r.status_code == 400
    assert (await token(client))["Authorization"].startswith("Bearer ")


async def test_ngsp_needs_a_live_token(client: httpx.AsyncClient, sim: DkdnSimulator) -> None:
    code = some(sim)
    assert (await client.get(NGSP, params={"msdn": code})).status_code == 401
    bad = {"Authorization": "Bearer forged"}
    assert (await client.get(NGSP, params={"msdn": code}, headers=bad)).status_code == 401
    headers = await token(client)
    r = await client.get(NGSP, params={"msdn": code}, headers=headers)
    assert r.status_code == 200
    assert r.json()["Data"]["MainInformation"]["ENTERPRISE_GDT_CODE"] == code
    await client.post("/_sandbox/revoke")
    assert (await client.get(NGSP, params={"msdn": code}, headers=headers)).status_code == 401
    relayed = {"X-LGSP-Relay": "sandbox-lgsp-relay"}
    assert (await client.get(NGSP, params={"msdn": code}, headers=relayed)).status_code == 200


@pytest.mark.parametrize("code", ["123", "01234567890", "0123456789-1", "012345678A", ""])
async def test_the_code_format_is_checked(
    client: httpx.AsyncClient, sim: DkdnSimulator, code: str
) -> None:
    r = await client.get(NGSP, params={"msdn": code}, headers=await token(client))
    assert r.status_code == 400
    assert sim.stats.received == 0


async def test_sloppy_senders_are_tolerated(client: httpx.AsyncClient, sim: DkdnSimulator) -> None:
    code = some(sim)
    r = await client.get(ENTCERT, params={"MSDN": f" {code} "})
    assert r.status_code == 200
    assert r.json()["GetEntCert"][0]["MaSoDoanhNghiep"] == code
    assert sim.received[-1] == {"profile": "lgsp-entcert", "code": code, "relayed": False}


async def test_not_found_in_each_profile(client: httpx.AsyncClient) -> None:
    r = await client.get(NGSP, params={"msdn": "0999999999"}, headers=await token(client))
    assert r.json() == {"Data": {}}
    r = await client.get(ENTCERT, params={"msdn": "0999999999"})
    assert r.json() == {"GetEntCert": None}
    r = await client.get(
        HCM, params={"MaSoDoanhNghiep": "0999999999"}, headers={"Authorization": "k"}
    )
    assert (r.json()["Status"], r.json()["ResultObject"]) == ("SUCCESS", None)
    assert (await client.get(HCM, params={"MaSoDoanhNghiep": "0999999999"})).status_code == 401


async def test_answers_are_as_loose_as_the_public_callers_expect(
    client: httpx.AsyncClient, sim: DkdnSimulator
) -> None:
    lone = next(e for e in sim.register.enterprises.values() if len(e.representatives) == 1)
    r = await client.get(NGSP, params={"msdn": lone.code}, headers=await token(client))
    data = r.json()["Data"]
    assert isinstance(data["Representatives"], dict)
    assert isinstance(data["MainInformation"]["NUMBER_CHANGES"], str)
    await set_faults(client, sloppy=False)
    r = await client.get(NGSP, params={"msdn": lone.code}, headers=await token(client))
    assert isinstance(r.json()["Data"]["Representatives"], list)


async def test_suspension_dates_in_entcert(client: httpx.AsyncClient, sim: DkdnSimulator) -> None:
    r = await client.get(ENTCERT, params={"msdn": some(sim, "SUS")})
    legal = r.json()["GetEntCert"][0]["TinhTrangPhapLy"][0]
    assert legal["MaTinhTrangPhapLy"] == "SUS"
    assert legal["NgayBatDauTamNgung"]
    assert legal["NgayKetThucTamNgung"]


async def test_faults(client: httpx.AsyncClient, sim: DkdnSimulator) -> None:
    code = some(sim)
    await set_faults(client, error_rate=1)
    assert (await client.get(ENTCERT, params={"msdn": code})).status_code == 503
    await set_faults(client, malformed_rate=1, seed=1)
    bodies = {(await client.get(ENTCERT, params={"msdn": code})).content for _ in range(20)}
    assert bodies == set(MALFORMED)
    await set_faults(client, drop_rate=1)
    with pytest.raises(SimulatedConnectionDrop):
        await client.get(ENTCERT, params={"msdn": code})
    await set_faults(client, rate_limit_per_minute=1)
    assert (await client.get(ENTCERT, params={"msdn": code})).status_code == 200
    r = await client.get(ENTCERT, params={"msdn": code})
    assert (r.status_code, r.headers["Retry-After"]) == (429, "1")
    await set_faults(client, latency_ms=20, timeout_rate=1, timeout_seconds=0.03)
    started = time.perf_counter()
    assert (await client.get(ENTCERT, params={"msdn": code})).status_code == 200
    assert time.perf_counter() - started >= 0.05
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["faults_injected"] >= 24
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert (await client.get("/_sandbox/stats")).json()["received"] == 0


async def test_control_lists_the_register(client: httpx.AsyncClient) -> None:
    r = await client.get("/_sandbox/enterprises", params={"status": "dis", "limit": 3})
    rows = r.json()["enterprises"]
    assert len(rows) == 3
    assert {row["status"] for row in rows} == {"DIS"}
