"""Golden packets of the population database (``tests/golden/dancu/``, sources in SOURCES.md).

(a) What we send, compared with what each public sender sends for the same look-up: OpenCPS
    (through the LGSP), the C# caller ``CallApi037`` (HTTP Basic, milliseconds) and the PHP
    caller ``traCuuThongTinCongDanC06`` (HTTP Basic, seconds, SoCMND): the same SOAP 1.1
    envelope, an empty ``Header``, the same operation and field namespace, every field the
    public sender sends in the same order with the same value, and only the fields listed
    here added. Our own envelopes are fixtures too (``gateway/``), compared byte for byte.
(b) What the platform answers, as the public readers read it (the ``CongDan`` tree only, no
    ``MaYeuCau``/``MaKetQua``, fields we do not use, empty elements), read by our reader.
(c) Each public sender's own packet, exactly as it builds it, accepted by our simulator with
    the sender's own credential (its HTTP headers, its clock).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from lxml import etree
from pydantic import SecretStr
from tenacity import wait_none

from connectors.dancu.client import DancuClient
from connectors.dancu.config import DancuConfig
from connectors.dancu.errors import CitizenNotFound
from connectors.dancu.models import YeuCauCongDan
from connectors.dancu.profile import OfficerCredential
from connectors.dancu.sandbox import (
    RELAY_HEADER,
    RELAY_VALUE,
    IntegrationAccount,
    Officer,
    get_simulator,
)
from gateway.core.http.recording import AttemptContext, attempt_context

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dancu"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
REQ_NS = "http://dancuquocgia.bca"
ENDPOINT = "http://sandbox/ws"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

#: the citizen of every fixture (a synthetic record of the sandbox's population, seed 2024)
CITIZEN = {
    "so_dinh_danh": "038186737712",
    "so_cmnd": "239396562",
    "ho_va_ten": "Lê Phương Hạnh",
    "ngay_sinh": date(1986, 6, 21),
}

#: what each sender's field list lacks that ours sends, per profile (and nothing else)
ADDED_TO_OPENCPS = ["MaDonVi", "TaiKhoan"]
ADDED_TO_PHP = ["MaDonVi", "TaiKhoan"]


def read(path: str) -> bytes:
    return (GOLDEN / path).read_bytes()


def headers_of(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read(path))
    return data


def operation(envelope: bytes) -> etree._Element:
    root = etree.fromstring(envelope, PARSER)
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    header = root.find(f"{{{SOAP_NS}}}Header")
    assert header is not None, "the SOAP header is there"
    assert len(header) == 0, "and empty"
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    assert len(body) == 1
    return body[0]


def fields(element: etree._Element) -> list[tuple[str, str]]:
    """(local name, text) of each field, the birth date as its inner element's."""
    found: list[tuple[str, str]] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        assert etree.QName(child).namespace == REQ_NS, child.tag
        name = etree.QName(child).localname
        if name == "NgayThangNamSinh":
            inner = [c for c in child if isinstance(c.tag, str)]
            assert len(inner) == 1
            found.append((f"{name}/{etree.QName(inner[0]).localname}", inner[0].text or ""))
        else:
            found.append((name, (child.text or "").strip()))
    return found


def ask(number: str = CITIZEN["so_dinh_danh"]) -> YeuCauCongDan:
    return YeuCauCongDan(
        so_dinh_danh=number,
        ho_va_ten=CITIZEN["ho_va_ten"],
        ngay_sinh=CITIZEN["ngay_sinh"],
        ma_tthc="1.001776",
        ma_ho_so="000.00.01.H56-260101-0001",
    )


def officer(ma_can_bo: str) -> OfficerCredential:
    return OfficerCredential(
        ma_can_bo=ma_can_bo,
        username="canbo0001",
        password=SecretStr("sandbox-canbo0001"),
        tai_khoan="canbo.tiepnhan",
        don_vi="Bộ phận Một cửa",
    )


async def ours(
    *,
    request_id: str,
    ma_can_bo: str,
    number: str = CITIZEN["so_dinh_danh"],
    clock: float = 1_767_225_600.123,
    **config: Any,
) -> httpx.Request:
    """The request our client sends for the fixtures' look-up under ``config``."""
    with respx.mock() as mock:
        empty = (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            b'<soapenv:Body><ns1:CongdanCollection xmlns:ns1="http://www.mic.gov.vn/dancu/1.0"/>'
            b"</soapenv:Body></soapenv:Envelope>"
        )
        route = mock.post(ENDPOINT).mock(return_value=httpx.Response(200, content=empty))
        async with httpx.AsyncClient() as http:
            client = DancuClient(
                DancuConfig(endpoint_url=ENDPOINT, **config),
                http,
                retry_wait=wait_none(),
                clock=lambda: clock,
            )
            with (
                attempt_context(AttemptContext(operation="lookup", parent_id=request_id)),
                pytest.raises(CitizenNotFound),
            ):
                await client.lookup(ask(number), officer(ma_can_bo))
        sent: httpx.Request = route.calls[0].request
        return sent


OPENCPS_PROFILE: dict[str, Any] = {"credential": "lgsp", "transport": "lgsp"}
CSHARP_PROFILE: dict[str, Any] = {
    "credential": "basic",
    "basic_username": "TINH-THANHHOA-037",
    "basic_secret": "fixture-secret-037",
    "basic_auth_url": "https://c06.example.gov.vn/xacthuc",
    "ma_tich_hop": "037",
    "ma_dvc": "VPCP",
    "ma_don_vi": "000.00.01.H56",
    "so_dien_thoai": "0",
    "ho_va_ten": "squeezed",
}
PHP_PROFILE: dict[str, Any] = {
    "credential": "basic",
    "basic_username": "DVC-THANHHOA",
    "basic_secret": "fixture-secret-php",
    "basic_auth_url": "https://c06.example.gov.vn",
    "basic_timestamp": "seconds",
    "ma_tich_hop": "037",
    "ma_dvc": "VPCP",
    "ma_don_vi": "000.00.01.H56",
}


# --- (a) what we send, against what the public senders send ---------------------------------


async def test_ours_against_opencps() -> None:
    theirs = fields(operation(read("opencps/TraCuuThongTinCongDan.request.xml")))
    sent = await ours(request_id="HGI-20260101-0001", ma_can_bo="CB0001", **OPENCPS_PROFILE)
    mine = fields(operation(sent.content))

    # OpenCPS puts its caller's "type" key among the fields (createRequestSoap iterates every
    # key); it names the operation, which our body element already is
    common = [(name, value) for name, value in theirs if name != "type"]
    assert [f for f in mine if f[0] in dict(common)] == common
    assert [name for name, _ in mine if name not in dict(common)] == ADDED_TO_OPENCPS
    assert operation(sent.content).tag == f"{{{REQ_NS}}}TraCuuThongTinCongDan"
    # through the LGSP: no platform credential; the LGSP transport adds its own headers
    opencps_headers = headers_of("opencps/TraCuuThongTinCongDan.headers.json")
    assert opencps_headers["Content-Type"] == "application/xml"
    assert sent.headers["content-type"].startswith("application/xml")
    assert "authorization" not in sent.headers
    assert sent.content == read("gateway/TraCuuThongTinCongDan.lgsp.request.xml")


async def test_ours_against_the_csharp_caller() -> None:
    golden = headers_of("csharp/TraCuuThongTinCongDan.headers.json")
    theirs = fields(operation(read("csharp/TraCuuThongTinCongDan.request.xml")))
    stamp = int(golden["headers"]["Timestamp"]) / 1000
    sent = await ours(
        request_id="RANDOM070000123", ma_can_bo="038085001234", clock=stamp, **CSHARP_PROFILE
    )

    # every field, in the same order, with the same value
    assert fields(operation(sent.content)) == theirs
    # the same credential for the same account and instant, in the same headers
    assert sent.headers["authorization"] == golden["headers"]["Authorization"]
    assert sent.headers["timestamp"] == golden["headers"]["Timestamp"]
    assert sent.headers["soapaction"] == golden["headers"]["SOAPAction"]
    assert sent.headers["content-type"] == golden["headers"]["Content-Type"]
    # X-Road-Client and ApiKey are that deployment's own: not sent (see SOURCES.md)
    assert "x-road-client" not in sent.headers
    assert sent.content == read("gateway/TraCuuThongTinCongDan.basic.request.xml")


async def test_ours_against_the_php_caller() -> None:
    golden = headers_of("php/TraCuuThongTinCongDan.headers.json")
    theirs = fields(operation(read("php/TraCuuThongTinCongDan.request.xml")))
    stamp = float(golden["headers"]["timestamp"])
    sent = await ours(
        request_id="THA_DVC_01",
        ma_can_bo="CB0001",
        number=CITIZEN["so_cmnd"],
        clock=stamp,
        **PHP_PROFILE,
    )
    mine = fields(operation(sent.content))

    assert [f for f in mine if f[0] in dict(theirs)] == theirs  # SoCMND, the spaced name
    assert [name for name, _ in mine if name not in dict(theirs)] == ADDED_TO_PHP
    assert sent.headers["authorization"] == golden["headers"]["Authorization"]
    assert sent.headers["timestamp"] == golden["headers"]["timestamp"]
    assert sent.headers["content-type"].startswith(golden["headers"]["Content-Type"])


async def test_the_default_profile_sends_the_same_fields_with_the_authhash() -> None:
    sent = await ours(request_id="HGI-20260101-0001", ma_can_bo="CB0001")
    root = etree.fromstring(sent.content, PARSER)
    header = root.find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    assert [child.tag for child in header] == [f"{{{REQ_NS}}}AuthHash"]
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    lgsp = await ours(request_id="HGI-20260101-0001", ma_can_bo="CB0001", **OPENCPS_PROFILE)
    assert fields(body[0]) == fields(operation(lgsp.content))


# --- (b) what the platform answers, read by our reader --------------------------------------


async def read_answer(content: bytes, number: str = CITIZEN["so_dinh_danh"]) -> Any:
    with respx.mock() as mock:
        mock.post(ENDPOINT).mock(return_value=httpx.Response(200, content=content))
        async with httpx.AsyncClient() as http:
            client = DancuClient(DancuConfig(endpoint_url=ENDPOINT), http, retry_wait=wait_none())
            return await client.lookup(ask(number), officer("CB0001"))


async def test_the_public_answer_is_read() -> None:
    citizen = await read_answer(read("platform/CongdanCollection.public.xml"))

    assert citizen.so_dinh_danh == CITIZEN["so_dinh_danh"]
    assert citizen.so_cmnd == CITIZEN["so_cmnd"]
    assert (citizen.ho, citizen.chu_dem, citizen.ten) == ("Lê", "Phương", "Hạnh")
    assert citizen.ho_va_ten == CITIZEN["ho_va_ten"]
    assert citizen.ngay_sinh == CITIZEN["ngay_sinh"]
    assert citizen.gioi_tinh.value == "nu"
    assert citizen.thuong_tru is not None
    assert (citizen.thuong_tru.ma_tinh, citizen.thuong_tru.ten_tinh) == ("38", "Thanh Hóa")
    assert citizen.noi_o_hien_tai is not None
    assert citizen.noi_o_hien_tai.ma_xa == "05353"
    assert citizen.cha is not None
    # empty elements are unset values, not invalid numbers
    assert (citizen.cha.ho_va_ten, citizen.cha.so_dinh_danh, citizen.cha.so_cmnd) == (
        "Lê Văn Minh Tài",
        None,
        None,
    )
    assert citizen.chu_ho is not None
    assert (citizen.chu_ho.quan_he, citizen.chu_ho.so_dinh_danh) == ("Vợ", "038083443561")
    assert citizen.so_so_ho_khau == "038202591"
    # looked up by the old card's number, the same answer is the same citizen
    by_card = await read_answer(read("platform/CongdanCollection.public.xml"), CITIZEN["so_cmnd"])
    assert by_card.so_dinh_danh == CITIZEN["so_dinh_danh"]


async def test_a_public_answer_without_a_record_is_no_match() -> None:
    with pytest.raises(CitizenNotFound):
        await read_answer(read("platform/CongdanCollection.none.xml"))


# --- (c) the public senders' packets, accepted by our simulator --------------------------------


@pytest.fixture
def simulator() -> Any:
    # the synthetic population of the SPEC's simulator (seed 2024) holds the fixtures' citizen
    from connectors.dancu import SPEC

    assert SPEC.sandbox_factory is not None
    app = SPEC.sandbox_factory()
    sim = get_simulator(app)
    # the deployments of the C# and PHP callers: integration code 037, a fixed MaDVC, an
    # officer known by their CCCD number (C#) or a code (PHP)
    sim.set_integration_code("037", True)
    sim.set_procedure("VPCP", True)
    sim.add_officer(Officer("038085001234", "canbo.tiepnhan", "unused", True))
    return app


async def post(app: Any, content: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        return await http.post("/ws", content=content, headers=headers)


def answered(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content, PARSER)
    code = root.findtext(".//{http://www.mic.gov.vn/dancu/1.0}MaKetQua")
    record = root.find(".//{http://www.mic.gov.vn/dancu/1.0}CongDan")
    assert (code == "000") == (record is not None)
    assert code is not None
    return code


async def test_opencps_envelope_relayed_by_the_lgsp_is_answered(simulator: Any) -> None:
    content = read("opencps/TraCuuThongTinCongDan.request.xml")
    headers = {"Content-Type": "application/xml", RELAY_HEADER: RELAY_VALUE}
    assert answered(await post(simulator, content, headers)) == "000"
    # the order of a JSON object's keys is not promised: any order is read alike
    reordered = content.replace(
        b"<qldc:MaYeuCau>HGI-20260101-0001</qldc:MaYeuCau><qldc:MaDVC>1.001776</qldc:MaDVC>",
        b"<qldc:MaDVC>1.001776</qldc:MaDVC><qldc:MaYeuCau>HGI-20260101-0001</qldc:MaYeuCau>",
    )
    assert reordered != content
    assert answered(await post(simulator, reordered, headers)) == "000"
    # not relayed, it carries no credential at all: refused
    refused = await post(simulator, content, {"Content-Type": "application/xml"})
    assert refused.status_code == 401


async def test_csharp_envelope_with_its_basic_credential_is_answered(simulator: Any) -> None:
    golden = headers_of("csharp/TraCuuThongTinCongDan.headers.json")
    account = golden["account"]
    sim = get_simulator(simulator)
    sim.add_account(IntegrationAccount(account["username"], account["secret"], account["auth_url"]))
    sim.clock = lambda: int(golden["headers"]["Timestamp"]) / 1000 + 2
    content = read("csharp/TraCuuThongTinCongDan.request.xml")
    assert answered(await post(simulator, content, golden["headers"])) == "000"
    assert sim.requests[-1]["credential"] == "basic"
    # ten minutes later the same packet is stale
    sim.clock = lambda: int(golden["headers"]["Timestamp"]) / 1000 + 600
    assert (await post(simulator, content, golden["headers"])).status_code == 401


async def test_php_envelope_with_its_basic_credential_is_answered(simulator: Any) -> None:
    golden = headers_of("php/TraCuuThongTinCongDan.headers.json")
    account = golden["account"]
    sim = get_simulator(simulator)
    sim.add_account(IntegrationAccount(account["username"], account["secret"], account["auth_url"]))
    sim.clock = lambda: float(golden["headers"]["timestamp"])
    content = read("php/TraCuuThongTinCongDan.request.xml")
    assert b'">\n' in content  # the stray text of the PHP template is part of the packet
    assert answered(await post(simulator, content, golden["headers"])) == "000"
    assert sim.requests[-1]["id_field"] == "SoCMND"


async def test_our_golden_envelopes_are_answered_by_the_simulator(simulator: Any) -> None:
    sim = get_simulator(simulator)
    lgsp = read("gateway/TraCuuThongTinCongDan.lgsp.request.xml")
    assert answered(await post(simulator, lgsp, {RELAY_HEADER: RELAY_VALUE})) == "000"
    golden = headers_of("csharp/TraCuuThongTinCongDan.headers.json")
    account = golden["account"]
    sim.add_account(IntegrationAccount(account["username"], account["secret"], account["auth_url"]))
    sim.clock = lambda: int(golden["headers"]["Timestamp"]) / 1000
    basic = read("gateway/TraCuuThongTinCongDan.basic.request.xml")
    assert answered(await post(simulator, basic, golden["headers"])) == "000"
