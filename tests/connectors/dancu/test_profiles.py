"""The credential profiles (authhash, basic, lgsp): what each puts on the wire, how the
configuration refuses a profile its transport cannot carry, and each one end to end against
the simulator, which checks them as the platform would."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from lxml import etree
from pydantic import SecretStr, ValidationError
from tenacity import wait_none

from connectors.dancu.client import DancuClient
from connectors.dancu.config import PLACEHOLDER_SECRET, DancuConfig
from connectors.dancu.errors import CitizenNotFound
from connectors.dancu.models import YeuCauCongDan
from connectors.dancu.profile import OfficerCredential
from connectors.dancu.sandbox import (
    RELAY_HEADER,
    RELAY_VALUE,
    SANDBOX_ACCOUNT,
    SANDBOX_SECRET,
    Citizen,
    DancuSimulator,
    Population,
    create_app,
    get_simulator,
)
from gateway.core.errors import InvalidUpstreamAnswer, UpstreamAuthError
from tests.connectors.dancu import answers

ENDPOINT = "http://dancu.test/dancu/ws"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
REQ_NS = "http://dancuquocgia.bca"
NOW = 1_767_225_600.25  # seconds since 1970: 2026-01-01T00:00:00.25Z
SECRET = "bí-mật:037/tỉnh"


def ask(**overrides: Any) -> YeuCauCongDan:
    data: dict[str, Any] = {
        "so_dinh_danh": answers.SO_DINH_DANH,
        "ho_va_ten": answers.HO_VA_TEN,
        "ngay_sinh": answers.NGAY_SINH,
        "ma_tthc": "1.001776",
        "ma_ho_so": "000.00.01.H22-240105-0007",
    }
    data.update(overrides)
    return YeuCauCongDan.model_validate(data)


def officer(**extra: Any) -> OfficerCredential:
    return OfficerCredential(
        ma_can_bo="CB0001", username="canbo0001", password=SecretStr("sandbox-canbo0001"), **extra
    )


def soap(content: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": "text/xml"})


def sha256hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def header_of(request: httpx.Request) -> etree._Element:
    header = etree.fromstring(request.content).find(f"{{{SOAP_NS}}}Header")
    assert header is not None, "the envelope carries a Header element, even empty"
    return header


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client_for(http: httpx.AsyncClient, clock: Any = lambda: NOW, **config: Any) -> DancuClient:
    settings = DancuConfig(endpoint_url=ENDPOINT, **config)
    return DancuClient(settings, http, retry_wait=wait_none(), clock=clock)


# --- configuration ---------------------------------------------------------------------------


def test_authhash_is_the_default_profile() -> None:
    config = DancuConfig()
    assert (config.credential, config.transport) == ("authhash", "direct")
    assert config.basic_secret.get_secret_value() == PLACEHOLDER_SECRET == SANDBOX_SECRET
    assert config.basic_username == SANDBOX_ACCOUNT


def test_lgsp_credential_needs_the_lgsp_transport() -> None:
    with pytest.raises(ValidationError, match="needs transport 'lgsp'"):
        DancuConfig(credential="lgsp")
    DancuConfig(credential="lgsp", transport="lgsp")


def test_basic_credential_is_for_a_direct_caller() -> None:
    with pytest.raises(ValidationError, match="Authorization header is the LGSP's"):
        DancuConfig(credential="basic", transport="lgsp")
    DancuConfig(credential="authhash", transport="lgsp")  # the AuthHash travels in the body


@pytest.mark.parametrize(
    "fields",
    [
        {"ma_don_vi": "x" * 36},
        {"ma_don_vi": "000 00"},
        {"unit_codes": {"Một cửa": "x" * 36}},
        {"so_dien_thoai": "09-12"},
        {"basic_auth_url": "c06.example/xacthuc"},
        {"credential": "oauth"},
    ],
)
def test_profile_settings_are_validated(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DancuConfig.model_validate(fields)


# --- what each profile puts on the wire --------------------------------------------------------


async def test_authhash_profile_sends_the_officers_hash_in_the_soap_header(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    await client_for(http).lookup(ask(), officer())

    sent = route.calls[0].request
    assert [child.tag for child in header_of(sent)] == [f"{{{REQ_NS}}}AuthHash"]
    assert "authorization" not in sent.headers
    assert "timestamp" not in sent.headers


async def test_basic_profile_signs_with_sha256_of_url_user_timestamp_and_secret(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    client = client_for(http, credential="basic", basic_username="TINH-037", basic_secret=SECRET)
    await client.lookup(ask(), officer())

    sent = route.calls[0].request
    stamp = str(int(NOW * 1000))  # milliseconds, as the C# caller sends it
    assert sent.headers["timestamp"] == stamp
    scheme, _, token = sent.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, digest = base64.b64decode(token).decode().partition(":")
    assert user == "TINH-037"
    assert digest == sha256hex(f"{ENDPOINT}TINH-037{stamp}{SECRET}")
    # the SOAP header is empty: no officer's credential anywhere
    assert len(header_of(sent)) == 0
    assert b"AuthHash" not in sent.content
    assert sent.headers["content-type"].startswith("application/xml")
    assert sent.headers["soapaction"] == '""'
    assert SECRET.encode() not in sent.content


async def test_basic_profile_in_seconds_hashing_its_configured_url(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    client = client_for(
        http,
        credential="basic",
        basic_secret=SECRET,
        basic_timestamp="seconds",
        basic_auth_url="https://c06.example/xacthuc",
    )
    await client.lookup(ask(), officer())

    sent = route.calls[0].request
    stamp = str(int(NOW))  # seconds, as the PHP caller sends it
    assert sent.headers["timestamp"] == stamp
    token = sent.headers["authorization"].partition(" ")[2]
    digest = base64.b64decode(token).decode().partition(":")[2]
    assert digest == sha256hex(f"https://c06.example/xacthuc{SANDBOX_ACCOUNT}{stamp}{SECRET}")


async def test_basic_profile_signs_every_attempt_afresh(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    ticks = iter([NOW, NOW + 7.5])
    route = mock.post(ENDPOINT).mock(
        side_effect=[soap(answers.lookup("009")), soap(answers.lookup())]
    )
    client = client_for(http, clock=lambda: next(ticks), credential="basic")
    await client.lookup(ask(), officer())

    stamps = [call.request.headers["timestamp"] for call in route.calls]
    assert stamps == [str(int(NOW * 1000)), str(int((NOW + 7.5) * 1000))]
    assert len({call.request.headers["authorization"] for call in route.calls}) == 2
    assert route.calls[0].request.content == route.calls[1].request.content


async def test_lgsp_profile_sends_no_platform_credential(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    await client_for(http, credential="lgsp", transport="lgsp").lookup(ask(), officer())

    sent = route.calls[0].request
    assert len(header_of(sent)) == 0
    assert "authorization" not in sent.headers  # the core's LGSP transport adds the Bearer
    assert "timestamp" not in sent.headers
    assert "soapaction" not in sent.headers  # OpenCPS callApiWithRawBody sends none
    assert sent.headers["content-type"].startswith("application/xml")


async def test_a_refused_credential_is_an_auth_error_without_the_secret(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    echo = f"Xác thực không thành công: hash for secret {SECRET} does not match"
    mock.post(ENDPOINT).mock(return_value=soap(answers.fault("soapenv:Client", echo), 401))
    client = client_for(http, credential="basic", basic_secret=SECRET)

    with pytest.raises(UpstreamAuthError) as caught:
        await client.lookup(ask(), officer())
    assert "HTTP 401" in str(caught.value)
    assert SECRET not in str(caught.value)


# --- tolerant answers ------------------------------------------------------------------------


def public_answer(records: str) -> bytes:
    """A CongdanCollection as public readers see it: the CongDan tree alone."""
    return answers.envelope(f"<dc:CongdanCollection>{records}</dc:CongdanCollection>")


async def test_an_answer_without_makequa_is_read_by_its_record(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    record = answers.elements(answers.record())
    mock.post(ENDPOINT).mock(return_value=soap(public_answer(f"<dc:CongDan>{record}</dc:CongDan>")))
    citizen = await client_for(http).lookup(ask(), officer())
    assert citizen.so_dinh_danh == answers.SO_DINH_DANH


async def test_an_answer_without_makequa_or_record_is_no_match(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(public_answer("")))
    with pytest.raises(CitizenNotFound):
        await client_for(http).lookup(ask(), officer())


async def test_a_nine_digit_number_is_sent_as_socmnd_and_checked_on_the_answer(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    citizen = await client_for(http).lookup(ask(so_dinh_danh="131234567"), officer())
    body = etree.fromstring(route.calls[0].request.content).find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    names = [etree.QName(child).localname for child in body[0]]
    assert "SoCMND" in names
    assert "SoDinhDanh" not in names
    assert citizen.so_cmnd == "131234567"

    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))
    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client_for(http).lookup(ask(so_dinh_danh="131234568"), officer())
    assert [e.loc for e in caught.value.errors] == ["CongdanCollection.CongDan[0].SoCMND"]


# --- each profile against the simulator ------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> Population:
    return Population()


@pytest.fixture(scope="module")
def citizen(population: Population) -> Citizen:
    return next(c for c in population.citizens if c.so_cmnd and c.chu_dem)


@pytest.fixture
def simulator(population: Population) -> Any:
    app = create_app(population=population)
    get_simulator(app).clock = lambda: NOW
    return app


class Relay(httpx.AsyncBaseTransport):
    """What the LGSP does for the platform's simulator: relays, adding its header."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[RELAY_HEADER] = RELAY_VALUE
        return await self._inner.handle_async_request(request)


def against(
    simulator: Any, *, relay: bool = False, clock: Any = lambda: NOW, **config: Any
) -> DancuClient:
    transport = Relay(simulator) if relay else httpx.ASGITransport(app=simulator)
    http = httpx.AsyncClient(transport=transport)
    settings = DancuConfig(endpoint_url="http://sandbox/ws", **config)
    return DancuClient(settings, http, retry_wait=wait_none(), clock=clock)


def ask_for(citizen: Citizen, **overrides: Any) -> YeuCauCongDan:
    fields = {
        "so_dinh_danh": citizen.so_dinh_danh,
        "ho_va_ten": citizen.ho_va_ten,
        "ngay_sinh": citizen.ngay_sinh.isoformat(),
    }
    return ask(**(fields | overrides))


@pytest.mark.parametrize(
    ("config", "relay", "credential"),
    [
        ({}, False, "authhash"),
        ({"credential": "basic"}, False, "basic"),
        ({"credential": "basic", "basic_timestamp": "seconds"}, False, "basic"),
        ({"credential": "lgsp", "transport": "lgsp"}, True, "lgsp"),
    ],
    ids=["authhash", "basic-ms", "basic-s", "lgsp"],
)
async def test_each_profile_looks_up_and_verifies_against_the_simulator(
    simulator: Any, citizen: Citizen, config: dict[str, Any], relay: bool, credential: str
) -> None:
    client = against(simulator, relay=relay, **config)
    who = officer(tai_khoan="canbo.tiepnhan", don_vi="Một cửa")

    found = await client.lookup(ask_for(citizen), who)
    verdict = await client.verify(ask_for(citizen), who)
    by_old_card = await client.lookup(ask_for(citizen, so_dinh_danh=citizen.so_cmnd), who)

    assert found.so_dinh_danh == citizen.so_dinh_danh
    assert found.ho_va_ten == citizen.ho_va_ten
    assert verdict.khop is True
    assert by_old_card.so_dinh_danh == citizen.so_dinh_danh
    sim: DancuSimulator = get_simulator(simulator)
    assert sim.stats.by_credential == {credential: 3}
    entry = sim.requests[0]
    assert (entry["ma_don_vi"], entry["tai_khoan"]) == ("000.00.01.H22", "canbo.tiepnhan")
    assert entry["ho_va_ten_spaced"] is True
    assert entry["authhash"] is (credential == "authhash")
    assert sim.requests[-1]["id_field"] == "SoCMND"


@pytest.mark.parametrize(
    ("config", "clock", "why"),
    [
        ({"basic_secret": "not-the-secret"}, lambda: NOW, "hash does not match"),
        ({"basic_username": "UNKNOWN"}, lambda: NOW, "unknown integration account"),
        ({}, lambda: NOW - 301, "outside the accepted window"),
        ({}, lambda: NOW + 301, "outside the accepted window"),
        ({"basic_auth_url": "https://elsewhere/xacthuc"}, lambda: NOW, "hash does not match"),
    ],
    ids=["wrong-secret", "unknown-account", "stale", "future", "other-url"],
)
async def test_the_simulator_refuses_a_wrong_basic_credential(
    simulator: Any, citizen: Citizen, config: dict[str, Any], clock: Any, why: str
) -> None:
    client = against(simulator, clock=clock, credential="basic", **config)
    with pytest.raises(UpstreamAuthError, match=why):
        await client.lookup(ask_for(citizen), officer())
    assert get_simulator(simulator).stats.by_operation == {}


async def test_the_simulator_refuses_the_lgsp_profile_not_relayed(
    simulator: Any, citizen: Citizen
) -> None:
    client = against(simulator, relay=False, credential="lgsp", transport="lgsp")
    with pytest.raises(UpstreamAuthError, match="no credential"):
        await client.lookup(ask_for(citizen), officer())


async def test_the_simulator_refuses_a_wrong_authhash(simulator: Any, citizen: Citizen) -> None:
    wrong = OfficerCredential(ma_can_bo="CB0001", username="canbo0001", password=SecretStr("x"))
    with pytest.raises(Exception, match="credential"):
        await against(simulator).lookup(ask_for(citizen), wrong)
