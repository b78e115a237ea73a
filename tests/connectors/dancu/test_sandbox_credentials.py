"""The simulator authenticates callers as the platform does under each public profile: HTTP
Basic with a SHA-256 hash and a fresh timestamp, relayed by the LGSP, or an officer's AuthHash
in the SOAP header; anything else is refused before the call is read."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from connectors.dancu.sandbox import (
    RELAY_HEADER,
    RELAY_VALUE,
    SANDBOX_ACCOUNT,
    SANDBOX_SECRET,
    TIMESTAMP_WINDOW_SECONDS,
    Citizen,
    DancuSimulator,
    Population,
    basic_hash,
    create_app,
    get_simulator,
)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DAN = "http://dancuquocgia.bca"
URL = "http://sandbox/ws"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the simulator's clock in these tests


@pytest.fixture(scope="module")
def population() -> Population:
    return Population()


@pytest.fixture(scope="module")
def citizen(population: Population) -> Citizen:
    return next(c for c in population.citizens if c.so_cmnd and c.chu_dem)


@pytest.fixture
def app(population: Population) -> FastAPI:
    app = create_app(population=population)
    get_simulator(app).clock = lambda: NOW
    return app


@pytest.fixture
def sim(app: FastAPI) -> DancuSimulator:
    return get_simulator(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


def empty_header_envelope(citizen: Citizen, *, number: str | None = None) -> bytes:
    """A look-up with ``<soapenv:Header/>`` empty, as the public direct callers send it."""
    number = number or citizen.so_dinh_danh
    field = "SoCMND" if len(number) == 9 else "SoDinhDanh"
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:dan="{DAN}"><soapenv:Header/>'
        "<soapenv:Body><dan:TraCuuThongTinCongDan>"
        "<dan:MaYeuCau>req-1</dan:MaYeuCau><dan:MaDVC>1.001776</dan:MaDVC>"
        "<dan:MaTichHop>LGSP-SANDBOX</dan:MaTichHop><dan:MaCanBo>CB0001</dan:MaCanBo>"
        f"<dan:MaDonVi>000.00.01.H22</dan:MaDonVi><dan:{field}>{number}</dan:{field}>"
        f"<dan:HoVaTen>{citizen.ten_in_hoa}</dan:HoVaTen>"
        f"<dan:NgayThangNamSinh><dan:NgayThangNam>{citizen.ngay_sinh:%Y%m%d}"
        "</dan:NgayThangNam></dan:NgayThangNamSinh>"
        "</dan:TraCuuThongTinCongDan></soapenv:Body></soapenv:Envelope>"
    ).encode()


def basic(
    timestamp: str,
    *,
    user: str = SANDBOX_ACCOUNT,
    secret: str = SANDBOX_SECRET,
    url: str = URL,
) -> dict[str, str]:
    digest = basic_hash(url, user, timestamp, secret)
    token = base64.b64encode(f"{user}:{digest}".encode()).decode()
    return {"Authorization": f"Basic {token}", "timestamp": timestamp}


def code(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    marker = b"<ns1:MaKetQua>"
    start = response.content.index(marker) + len(marker)
    return response.content[start : start + 3].decode()


def refused(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert b"<faultcode>soapenv:Client</faultcode>" in response.content
    return response.text


async def test_basic_with_a_fresh_timestamp_in_milliseconds_or_seconds(
    client: httpx.AsyncClient, sim: DancuSimulator, citizen: Citizen
) -> None:
    body = empty_header_envelope(citizen)
    millis = str(int(NOW * 1000) - 30_000)  # the C# caller: milliseconds
    assert code(await client.post("/ws", content=body, headers=basic(millis))) == "000"
    seconds = str(int(NOW) + 60)  # the PHP caller: seconds
    assert code(await client.post("/ws", content=body, headers=basic(seconds))) == "000"
    assert sim.stats.by_credential == {"basic": 2}
    assert [e["credential"] for e in sim.requests] == ["basic", "basic"]


@pytest.mark.parametrize(
    "headers",
    [
        basic(str(int(NOW)), secret="not-the-secret"),  # a wrong hash
        basic(str(int(NOW)), url="http://elsewhere/ws"),  # the hash names another URL
        basic(str(int(NOW)), user="UNKNOWN-037"),
        {"Authorization": basic(str(int(NOW)))["Authorization"]},  # no timestamp
        {**basic(str(int(NOW))), "timestamp": str(int(NOW) + 1)},  # hashed another time
        {**basic(str(int(NOW))), "timestamp": "yesterday"},
        {"Authorization": "Basic !!!", "timestamp": str(int(NOW))},
        {"Authorization": "Bearer some-lgsp-token"},  # the LGSP's token is not the platform's
        {RELAY_HEADER: "someone-else"},
        {},  # nothing at all, and no AuthHash in the envelope
    ],
    ids=[
        "wrong-hash",
        "other-url",
        "unknown-account",
        "no-timestamp",
        "timestamp-changed",
        "timestamp-not-a-number",
        "not-base64",
        "bearer",
        "wrong-relay",
        "no-credential",
    ],
)
async def test_refused_before_the_call_is_read(
    client: httpx.AsyncClient, sim: DancuSimulator, citizen: Citizen, headers: dict[str, str]
) -> None:
    body = empty_header_envelope(citizen)
    text = refused(await client.post("/ws", content=body, headers=headers))
    assert SANDBOX_SECRET not in text
    assert citizen.so_dinh_danh not in text
    assert sim.stats.refused_auth == 1
    assert sim.stats.by_operation == {}
    assert [e["code"] for e in sim.requests] == ["http:401"]


@pytest.mark.parametrize("offset", [TIMESTAMP_WINDOW_SECONDS + 1, -(TIMESTAMP_WINDOW_SECONDS + 1)])
async def test_a_stale_or_future_timestamp_is_refused(
    client: httpx.AsyncClient, sim: DancuSimulator, citizen: Citizen, offset: int
) -> None:
    body = empty_header_envelope(citizen)
    stamp = str(int(NOW) - offset)
    refused(await client.post("/ws", content=body, headers=basic(stamp)))
    # the same request is fresh once the platform's clock has moved with it
    sim.clock = lambda: NOW - offset
    assert code(await client.post("/ws", content=body, headers=basic(stamp))) == "000"


async def test_an_account_may_hash_its_configured_url(
    client: httpx.AsyncClient, citizen: Citizen
) -> None:
    account = {"username": "TINH-037", "secret": "s3", "auth_url": "https://c06.example/xacthuc"}
    assert (await client.post("/_sandbox/accounts", json=account)).status_code == 200
    listed = (await client.get("/_sandbox/accounts")).json()
    assert {"username": "TINH-037", "auth_url": "https://c06.example/xacthuc"} in listed
    assert "s3" not in str(listed)
    headers = basic(str(int(NOW)), user="TINH-037", secret="s3", url=account["auth_url"])
    body = empty_header_envelope(citizen)
    assert code(await client.post("/ws", content=body, headers=headers)) == "000"
    wrong = basic(str(int(NOW)), user="TINH-037", secret="s3")  # the endpoint's URL instead
    refused(await client.post("/ws", content=body, headers=wrong))


async def test_relayed_by_the_lgsp_without_a_platform_credential(
    client: httpx.AsyncClient, sim: DancuSimulator, citizen: Citizen
) -> None:
    relayed = {RELAY_HEADER: RELAY_VALUE}
    body = empty_header_envelope(citizen)
    assert code(await client.post("/ws", content=body, headers=relayed)) == "000"
    assert sim.stats.by_credential == {"lgsp": 1}


async def test_the_officer_is_still_checked_under_basic_and_the_lgsp(
    client: httpx.AsyncClient, citizen: Citizen
) -> None:
    for headers in (basic(str(int(NOW))), {RELAY_HEADER: RELAY_VALUE}):
        for officer, expected in (("CB0099", "005"), ("CB7777", "005"), ("CB0002", "000")):
            body = empty_header_envelope(citizen).replace(b"CB0001", officer.encode())
            assert code(await client.post("/ws", content=body, headers=headers)) == expected


async def test_an_old_card_number_is_looked_up_as_socmnd(
    client: httpx.AsyncClient, citizen: Citizen
) -> None:
    assert citizen.so_cmnd is not None
    body = empty_header_envelope(citizen, number=citizen.so_cmnd)
    response = await client.post("/ws", content=body, headers={RELAY_HEADER: RELAY_VALUE})
    assert code(response) == "000"
    assert f"<ns1:SoDinhDanh>{citizen.so_dinh_danh}</ns1:SoDinhDanh>".encode() in response.content
    other = empty_header_envelope(citizen, number="000000001")
    assert code(await client.post("/ws", content=other, headers={RELAY_HEADER: RELAY_VALUE})) == (
        "006"
    )


@pytest.mark.parametrize("form", ["spaced", "squeezed"])
async def test_names_match_with_or_without_their_spaces(
    client: httpx.AsyncClient, citizen: Citizen, form: str
) -> None:
    body = empty_header_envelope(citizen)
    if form == "squeezed":
        body = body.replace(citizen.ten_in_hoa.encode(), citizen.ten_chuan_hoa.encode())
    assert b" " in citizen.ten_in_hoa.encode()
    response = await client.post("/ws", content=body, headers={RELAY_HEADER: RELAY_VALUE})
    assert code(response) == "000"
