"""The population-database simulator speaks its WSDL, answers the platform's codes, and its
faults and hostile answers happen as configured."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
import zeep.exceptions
import zeep.helpers
import zeep.loader
from fastapi import FastAPI
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount
from zeep.transports import AsyncTransport

from connectors.dancu.config import BUNDLED_WSDL
from connectors.dancu.sandbox import (
    MALFORMED_BODIES,
    MAX_REQUEST_BYTES,
    Citizen,
    DancuSimulator,
    FaultConfig,
    Population,
    SimulatedConnectionDrop,
    create_app,
    get_simulator,
)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DAN = "http://dancuquocgia.bca"
DC = "http://www.mic.gov.vn/dancu/1.0"
LOOKUP = "TraCuuThongTinCongDan"
VERIFY = "XacThucThongTinCongDan"
CONGDAN_ORDER = [
    "SoDinhDanh",
    "SoCMND",
    "HoVaTen",
    "NgayThangNamSinh",
    "GioiTinh",
    "DanToc",
    "TonGiao",
    "TinhTrangHonNhan",
    "NhomMau",
    "QueQuan",
    "ThuongTru",
    "NoiOHienTai",
    "Cha",
    "Me",
    "VoChong",
    "ChuHo",
    "SoSoHoKhau",
]
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def population() -> Population:
    return Population()


@pytest.fixture(scope="module")
def rich(population: Population) -> Citizen:
    """A citizen whose record fills every optional field of CongDan."""
    return next(
        c
        for c in population.citizens
        if c.so_cmnd
        and c.chu_dem
        and c.cha is not None
        and c.cha.so_dinh_danh
        and c.me is not None
        and c.vo_chong is not None
        and c.vo_chong.so_cmnd
        and c.noi_o_hien_tai is not None
    )


@pytest.fixture
def app(population: Population) -> FastAPI:
    return create_app(population=population)


@pytest.fixture
def sim(app: FastAPI) -> DancuSimulator:
    return get_simulator(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


def auth_hash(username: str = "canbo0001", password: str = "sandbox-canbo0001") -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def envelope(
    citizen: Citizen,
    operation: str = LOOKUP,
    *,
    auth: str | None = None,
    header: bool = True,
    order: list[str] | None = None,
    **overrides: str | None,
) -> bytes:
    """A request as the platform expects it; ``overrides`` replace (None: drop) a field,
    ``NgayThangNamSinh`` takes the inner XML."""
    fields: dict[str, str | None] = {
        "MaYeuCau": "req-0001",
        "MaDVC": "1.001776",
        "MaTichHop": "LGSP-SANDBOX",
        "MaCanBo": "CB0001",
        "SoDinhDanh": citizen.so_dinh_danh,
        "HoVaTen": citizen.ten_chuan_hoa,
        "NgayThangNamSinh": f"<dan:NgayThangNam>{citizen.ngay_sinh:%Y%m%d}</dan:NgayThangNam>",
    }
    fields.update(overrides)
    names = order or list(fields)
    inner = "".join(
        f"<dan:{name}>{fields[name]}</dan:{name}>" for name in names if fields[name] is not None
    )
    head = ""
    if header:
        head = f"<soap:Header><dan:AuthHash>{auth or auth_hash()}</dan:AuthHash></soap:Header>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:dan="{DAN}">{head}'
        f"<soap:Body><dan:{operation}>{inner}</dan:{operation}></soap:Body></soap:Envelope>"
    ).encode()


def answer(response: httpx.Response, element: str = "CongdanCollection") -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content, PARSER)
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    found = body.find(f"{{{DC}}}{element}")
    assert found is not None, response.text
    return found


def text(element: etree._Element, path: str) -> str | None:
    return element.findtext("/".join(f"{{{DC}}}{step}" for step in path.split("/")))


def code(response: httpx.Response, element: str = "CongdanCollection") -> str | None:
    return text(answer(response, element), "MaKetQua")


def connector_answer_schema() -> etree.XMLSchema:
    """The answer namespace's XSD of the WSDL the connector ships (not the simulator's)."""
    wsdl = etree.parse(str(BUNDLED_WSDL), PARSER).getroot()
    for schema in wsdl.iter("{http://www.w3.org/2001/XMLSchema}schema"):
        if schema.get("targetNamespace") == DC:
            # a standalone schema needs the namespace declarations the WSDL's root makes
            nsmap = {k: v for k, v in schema.nsmap.items() if k is not None}
            standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=nsmap)
            standalone.extend(copy.deepcopy(child) for child in schema)
            return etree.XMLSchema(etree.ElementTree(standalone))
    raise AssertionError("the connector's WSDL has no answer schema")


def parse_like_zeep(body: bytes) -> None:
    """Parse an answer as a client configured like the connector's would."""
    settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    zeep.loader.parse_xml(body, None, settings=settings)  # type: ignore[arg-type]


def fault(response: httpx.Response) -> tuple[str | None, str | None]:
    assert response.status_code == 500, response.text
    root = etree.fromstring(response.content, PARSER)
    found = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert found is not None
    return found.findtext("faultcode"), found.findtext("faultstring")


# --- the WSDL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws?wsdl", "/ws?WSDL", "/ws/wsdl"])
async def test_wsdl_names_the_address_it_was_fetched_from(path: str, tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content, PARSER)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None
    assert address.get("location") == "http://sandbox/ws"

    wsdl_file = tmp_path / "dancu.wsdl"
    wsdl_file.write_bytes(response.content)
    loaded = zeep.Client(str(wsdl_file))  # type: ignore[no-untyped-call]
    binding = loaded.service._binding
    assert set(binding._operations) == {LOOKUP, VERIFY}
    assert loaded.service._binding_options["address"] == "http://sandbox/ws"


async def test_wsdl_address_keeps_the_mount() -> None:
    outer = Starlette(routes=[Mount("/dancu", app=create_app(size=10))])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="https://lgsp.example") as http:
        response = await http.get("/dancu/ws", params={"wsdl": ""})
    assert b'location="https://lgsp.example/dancu/ws"' in response.content


async def test_get_without_wsdl_is_not_a_call(client: httpx.AsyncClient) -> None:
    response = await client.get("/ws")
    assert response.status_code == 405


# --- look-up and verification -----------------------------------------------------------------


async def test_lookup_answers_every_field_in_schema_order(
    client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen
) -> None:
    response = await client.post("/ws", content=envelope(rich))
    collection = answer(response)
    # the answer is valid against the answer schema of the connector's WSDL
    schema = connector_answer_schema()
    assert schema.validate(collection), schema.error_log
    assert text(collection, "MaYeuCau") == "req-0001"
    assert text(collection, "MaKetQua") == "000"
    assert text(collection, "MoTaKetQua") == "Thành công"
    records = collection.findall(f"{{{DC}}}CongDan")
    assert len(records) == 1
    record = records[0]
    assert [etree.QName(child).localname for child in record] == CONGDAN_ORDER

    assert rich.cha is not None
    assert rich.me is not None
    assert rich.vo_chong is not None
    assert rich.chu_ho is not None
    expected: dict[str, str | None] = {
        "SoDinhDanh": rich.so_dinh_danh,
        "SoCMND": rich.so_cmnd,
        "HoVaTen/Ho": rich.ho,
        "HoVaTen/ChuDem": rich.chu_dem,
        "HoVaTen/Ten": rich.ten,
        "NgayThangNamSinh/Nam": str(rich.nam_sinh),
        "NgayThangNamSinh/NgayThangNam": f"{rich.ngay_sinh:%Y%m%d}",
        "GioiTinh": rich.gioi_tinh,
        "DanToc": rich.dan_toc,
        "TonGiao": rich.ton_giao,
        "TinhTrangHonNhan": rich.tinh_trang_hon_nhan,
        "NhomMau": rich.nhom_mau,
        "Cha/HoVaTen": rich.cha.ho_va_ten,
        "Cha/SoDinhDanh": rich.cha.so_dinh_danh,
        "Me/HoVaTen": rich.me.ho_va_ten,
        "VoChong/HoVaTen": rich.vo_chong.ho_va_ten,
        "VoChong/SoDinhDanh": rich.vo_chong.so_dinh_danh,
        "VoChong/SoCMND": rich.vo_chong.so_cmnd,
        "ChuHo/HoVaTen": rich.chu_ho.ho_va_ten,
        "ChuHo/SoDinhDanh": rich.chu_ho.so_dinh_danh,
        "ChuHo/QuanHe": rich.chu_ho.quan_he,
        "SoSoHoKhau": rich.so_so_ho_khau,
    }
    for name, address in (
        ("QueQuan", rich.que_quan),
        ("ThuongTru", rich.thuong_tru),
        ("NoiOHienTai", rich.noi_o_hien_tai),
    ):
        assert address is not None
        expected[f"{name}/MaTinhThanh"] = address.ma_tinh_thanh
        expected[f"{name}/MaQuanHuyen"] = address.ma_quan_huyen
        expected[f"{name}/MaPhuongXa"] = address.ma_phuong_xa
        expected[f"{name}/ChiTiet"] = address.chi_tiet
    for path, value in expected.items():
        assert value is not None, path
        assert text(record, path) == value, path


async def test_optional_fields_absent_are_not_emitted(
    client: httpx.AsyncClient, population: Population
) -> None:
    plain = next(
        c for c in population.citizens if c.so_cmnd is None and c.vo_chong is None and c.chu_dem
    )
    record = answer(await client.post("/ws", content=envelope(plain))).find(f"{{{DC}}}CongDan")
    assert record is not None
    names = [etree.QName(child).localname for child in record]
    assert "SoCMND" not in names
    assert "VoChong" not in names


async def test_lookup_by_birth_year(client: httpx.AsyncClient, rich: Citizen) -> None:
    by_year = envelope(rich, NgayThangNamSinh=f"<dan:Nam>{rich.nam_sinh}</dan:Nam>")
    assert code(await client.post("/ws", content=by_year)) == "000"
    wrong = envelope(rich, NgayThangNamSinh=f"<dan:Nam>{rich.nam_sinh + 1}</dan:Nam>")
    assert code(await client.post("/ws", content=wrong)) == "006"


async def test_wsdl_driven_round_trip_with_zeep(
    client: httpx.AsyncClient, rich: Citizen, tmp_path: Path
) -> None:
    wsdl_file = tmp_path / "dancu.wsdl"
    wsdl_file.write_bytes((await client.get("/ws?wsdl")).content)
    with httpx.Client() as wsdl_http:
        transport = AsyncTransport(client=client, wsdl_client=wsdl_http)  # type: ignore[no-untyped-call]
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        soap = zeep.AsyncClient(  # type: ignore[no-untyped-call]
            str(wsdl_file), transport=transport, settings=settings
        )
        request = {
            "MaYeuCau": "zeep-1",
            "MaDVC": "2.000477",
            "MaTichHop": "LGSP-SANDBOX",
            "MaCanBo": "CB0002",
            "SoDinhDanh": rich.so_dinh_danh,
            "HoVaTen": rich.ten_chuan_hoa,
            "NgayThangNamSinh": {"NgayThangNam": f"{rich.ngay_sinh:%Y%m%d}"},
        }
        headers = {"AuthHash": auth_hash("canbo0002", "sandbox-canbo0002")}
        result = await soap.service.TraCuuThongTinCongDan(**request, _soapheaders=headers)
        data = zeep.helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]
        assert data["MaYeuCau"] == "zeep-1"
        assert data["MaKetQua"] == "000"
        record = data["CongDan"][0]
        assert record["SoDinhDanh"] == rich.so_dinh_danh
        assert record["HoVaTen"] == {"Ho": rich.ho, "ChuDem": rich.chu_dem, "Ten": rich.ten}
        assert rich.thuong_tru is not None
        assert record["ThuongTru"]["MaPhuongXa"] == rich.thuong_tru.ma_phuong_xa
        assert rich.vo_chong is not None
        assert record["VoChong"]["SoCMND"] == rich.vo_chong.so_cmnd

        verified = await soap.service.XacThucThongTinCongDan(**request, _soapheaders=headers)
        assert verified.MaKetQua == "000"
        assert verified.TonTai is True
        request["HoVaTen"] = "NGUYENVANKHONGCO"
        verified = await soap.service.XacThucThongTinCongDan(**request, _soapheaders=headers)
        assert verified.TonTai is False


async def test_verification(client: httpx.AsyncClient, rich: Citizen) -> None:
    def ton_tai(response: httpx.Response) -> tuple[str | None, str | None]:
        found = answer(response, "KetQuaXacThuc")
        return text(found, "MaKetQua"), text(found, "TonTai")

    assert ton_tai(await client.post("/ws", content=envelope(rich, VERIFY))) == ("000", "true")
    wrong_name = envelope(rich, VERIFY, HoVaTen="TRANVANKHAC")
    assert ton_tai(await client.post("/ws", content=wrong_name)) == ("000", "false")
    wrong_date = envelope(
        rich, VERIFY, NgayThangNamSinh="<dan:NgayThangNam>19000101</dan:NgayThangNam>"
    )
    assert ton_tai(await client.post("/ws", content=wrong_date)) == ("000", "false")
    unknown = envelope(rich, VERIFY, SoDinhDanh="000000000000")
    assert ton_tai(await client.post("/ws", content=unknown)) == ("000", "false")


async def test_no_match_gives_no_hint(client: httpx.AsyncClient, rich: Citizen) -> None:
    variants = [
        envelope(rich, HoVaTen="TRANVANKHAC"),
        envelope(rich, NgayThangNamSinh="<dan:NgayThangNam>19000101</dan:NgayThangNam>"),
        envelope(rich, SoDinhDanh="000000000000"),
    ]
    answers = [answer(await client.post("/ws", content=body)) for body in variants]
    assert {text(a, "MaKetQua") for a in answers} == {"006"}
    assert len({text(a, "MoTaKetQua") for a in answers}) == 1
    assert all(a.find(f"{{{DC}}}CongDan") is None for a in answers)


# --- the platform's refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "order", "names"),
    [
        ({"SoDinhDanh": "12345"}, None, "SoDinhDanh"),
        ({"SoDinhDanh": "0010900123ab"}, None, "SoDinhDanh"),
        ({"HoVaTen": "Nguyen Van An"}, None, "HoVaTen"),
        ({"HoVaTen": "nguyenvanan"}, None, "HoVaTen"),
        ({"MaDVC": None}, None, "MaDVC"),
        ({"MaDonVi": "x" * 36}, None, "MaDonVi"),
        ({"SoDinhDanh": None}, None, "SoDinhDanh"),
        ({"SoCMND": "12345"}, None, "SoCMND"),
        ({"HoVaTen": "NGUYỄN VĂN AN"}, None, "HoVaTen"),
        ({"HoVaTen": "A" * 101}, None, "HoVaTen"),
        ({"MaYeuCau": "x" * 65}, None, "MaYeuCau"),
        (
            {"NgayThangNamSinh": "<dan:NgayThangNam>1990-01-01</dan:NgayThangNam>"},
            None,
            "NgayThangNam",
        ),
        (
            {
                "NgayThangNamSinh": (
                    "<dan:Nam>1990</dan:Nam><dan:NgayThangNam>19900101</dan:NgayThangNam>"
                )
            },
            None,
            "NgayThangNam",
        ),
    ],
)
async def test_invalid_request_answers_001(
    client: httpx.AsyncClient,
    rich: Citizen,
    overrides: dict[str, Any],
    order: list[str] | None,
    names: str,
) -> None:
    for operation, element in ((LOOKUP, "CongdanCollection"), (VERIFY, "KetQuaXacThuc")):
        body = envelope(rich, operation, order=order, **overrides)
        found = answer(await client.post("/ws", content=body), element)
        assert text(found, "MaKetQua") == "001"
        description = text(found, "MoTaKetQua") or ""
        assert names in description
        # values are personal data: the platform names the element, never echoes the value
        for value in overrides.values():
            if value and len(value) > 3 and not value.startswith("<"):
                assert value not in description
        assert found.find(f"{{{DC}}}CongDan") is None
        assert found.find(f"{{{DC}}}TonTai") is None
    assert text(found, "MaYeuCau") == (overrides.get("MaYeuCau") or "req-0001")[:64]


@pytest.mark.parametrize(
    ("auth", "header"),
    [
        (auth_hash("canbo0001", "wrong"), True),
        (auth_hash("canbo0002", "sandbox-canbo0002"), True),  # another officer's credential
        (auth_hash("canbo0001", ""), True),
        (base64.b64encode(b"canbo0001sandbox-canbo0001").decode(), True),  # no colon
        ("!!not-base64!!", True),
    ],
)
async def test_bad_credential_answers_002(
    client: httpx.AsyncClient, rich: Citizen, auth: str | None, header: bool
) -> None:
    body = envelope(rich, auth=auth, header=header)
    assert code(await client.post("/ws", content=body)) == "002"


async def test_unknown_integration_code_answers_003(
    client: httpx.AsyncClient, rich: Citizen
) -> None:
    body = envelope(rich, MaTichHop="LGSP-KHAC")
    assert code(await client.post("/ws", content=body)) == "003"
    added = await client.post(
        "/_sandbox/integration-codes", json={"ma_tich_hop": "LGSP-KHAC", "known": True}
    )
    assert added.json() == {"ma_tich_hop": "LGSP-KHAC", "known": True}
    assert code(await client.post("/ws", content=body)) == "000"


async def test_unlicensed_procedure_answers_004(client: httpx.AsyncClient, rich: Citizen) -> None:
    unlicensed = envelope(rich, MaDVC="1.004227")
    assert code(await client.post("/ws", content=unlicensed)) == "004"
    verify = envelope(rich, VERIFY, MaDVC="9.999999")
    assert code(await client.post("/ws", content=verify), "KetQuaXacThuc") == "004"
    # a local variant counts as its national code
    local = envelope(rich, MaDVC="1.001776.000.00.00.H56")
    assert code(await client.post("/ws", content=local)) == "000"

    response = await client.post(
        "/_sandbox/procedures", json={"ma_dvc": "1.004227", "licensed": True}
    )
    assert response.json() == {"ma_dvc": "1.004227", "licensed": True}
    assert code(await client.post("/ws", content=unlicensed)) == "000"
    await client.post("/_sandbox/procedures", json={"ma_dvc": "1.001776", "licensed": False})
    assert code(await client.post("/ws", content=envelope(rich))) == "004"
    assert "1.001776" not in (await client.get("/_sandbox/procedures")).json()["licensed"]


async def test_unknown_or_unpermitted_officer_answers_005(
    client: httpx.AsyncClient, rich: Citizen
) -> None:
    unknown = envelope(rich, MaCanBo="CB7777", auth=auth_hash("canbo7777", "x"))
    assert code(await client.post("/ws", content=unknown)) == "005"
    barred = envelope(rich, MaCanBo="CB0099", auth=auth_hash("canbo0099", "sandbox-canbo0099"))
    assert code(await client.post("/ws", content=barred)) == "005"
    # a wrong credential is 002 even for a barred officer: authentication comes first
    barred_wrong = envelope(rich, MaCanBo="CB0099", auth=auth_hash("canbo0099", "nope"))
    assert code(await client.post("/ws", content=barred_wrong)) == "002"

    officer = {"ma_can_bo": "CB7777", "username": "canbo7777", "password": "x", "permitted": True}
    added = await client.post("/_sandbox/officers", json=officer)
    assert added.json() == {"ma_can_bo": "CB7777", "username": "canbo7777", "permitted": True}
    assert code(await client.post("/ws", content=unknown)) == "000"
    await client.post("/_sandbox/officers", json={**officer, "permitted": False})
    assert code(await client.post("/ws", content=unknown)) == "005"
    listed = (await client.get("/_sandbox/officers")).json()
    assert {"ma_can_bo": "CB7777", "username": "canbo7777", "permitted": False} in listed
    assert "password" not in json.dumps(listed)


async def test_default_officers(client: httpx.AsyncClient, rich: Citizen) -> None:
    for n in (1, 25, 50):
        body = envelope(
            rich, MaCanBo=f"CB{n:04d}", auth=auth_hash(f"canbo{n:04d}", f"sandbox-canbo{n:04d}")
        )
        assert code(await client.post("/ws", content=body)) == "000"
    body = envelope(rich, MaCanBo="CB0051", auth=auth_hash("canbo0051", "sandbox-canbo0051"))
    assert code(await client.post("/ws", content=body)) == "005"


# --- what is not a SOAP call ------------------------------------------------------------------

XXE_REQUEST = b"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:dan="http://dancuquocgia.bca"><soap:Body><dan:TraCuuThongTinCongDan>
<dan:MaYeuCau>&xxe;</dan:MaYeuCau></dan:TraCuuThongTinCongDan></soap:Body></soap:Envelope>"""

LAUGHS_REQUEST = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap:Body>&lol9;</soap:Body></soap:Envelope>"
)


@pytest.mark.parametrize(
    "body",
    [
        XXE_REQUEST,
        LAUGHS_REQUEST,
        XXE_REQUEST.decode().replace('<?xml version="1.0"?>', "").encode("utf-16"),
        b'<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/x.dtd"><soap:Envelope/>',
    ],
    ids=["xxe", "billion-laughs", "xxe-utf16", "external-dtd"],
)
async def test_dtd_or_entity_in_the_request_is_refused(
    client: httpx.AsyncClient, sim: DancuSimulator, body: bytes
) -> None:
    started = time.perf_counter()
    response = await client.post("/ws", content=body)
    assert time.perf_counter() - started < 1
    faultcode, message = fault(response)
    assert faultcode == "soapenv:Client"
    assert "root:" not in response.text
    assert "lollol" not in response.text
    assert message
    assert sim.stats.soap_faults == 1
    assert sim.stats.by_code == {}


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>",
        b"<Envelope><Body/></Envelope>",
        f"<soap:Envelope xmlns:soap='{SOAP}'/>".encode(),
        f"<soap:Envelope xmlns:soap='{SOAP}'><soap:Body/></soap:Envelope>".encode(),
        f"<soap:Envelope xmlns:soap='{SOAP}'><soap:Body><x:Other xmlns:x='{DAN}'/>"
        f"</soap:Body></soap:Envelope>".encode(),
        f"<soap:Envelope xmlns:soap='{SOAP}'><soap:Body><x:{LOOKUP} xmlns:x='urn:other'/>"
        f"</soap:Body></soap:Envelope>".encode(),
        f"<soap:Envelope xmlns:soap='{SOAP}'><soap:Body><x:{LOOKUP} xmlns:x='{DAN}'/>"
        f"<x:{VERIFY} xmlns:x='{DAN}'/></soap:Body></soap:Envelope>".encode(),
        b"<a>&undefined;</a>",
    ],
)
async def test_malformed_envelopes_are_faults(client: httpx.AsyncClient, body: bytes) -> None:
    faultcode, _ = fault(await client.post("/ws", content=body))
    assert faultcode == "soapenv:Client"


async def test_soap_action_must_match_the_body(client: httpx.AsyncClient, rich: Citizen) -> None:
    body = envelope(rich)
    matching = {"SOAPAction": f'"{DAN}/{LOOKUP}"'}
    assert code(await client.post("/ws", content=body, headers=matching)) == "000"
    other = {"SOAPAction": f'"{DAN}/{VERIFY}"'}
    faultcode, _ = fault(await client.post("/ws", content=body, headers=other))
    assert faultcode == "soapenv:Client"
    assert code(await client.post("/ws", content=body, headers={"SOAPAction": '""'})) == "000"


async def test_request_body_is_bounded(client: httpx.AsyncClient, sim: DancuSimulator) -> None:
    response = await client.post("/ws", content=b"<a>" + b"x" * MAX_REQUEST_BYTES + b"</a>")
    assert response.status_code == 413
    assert sim.stats.too_large == 1


# --- faults -----------------------------------------------------------------------------------


async def set_faults(client: httpx.AsyncClient, **config: Any) -> dict[str, Any]:
    response = await client.put("/_sandbox/faults", json=config)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_error_rate_answers_503(
    client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen
) -> None:
    await set_faults(client, error_rate=1)
    response = await client.post("/ws", content=envelope(rich))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert sim.stats.faults_injected == 1
    assert sim.stats.by_code == {}


async def test_http_500_rate_answers_a_server_fault(
    client: httpx.AsyncClient, rich: Citizen
) -> None:
    await set_faults(client, http_500_rate=1)
    faultcode, _ = fault(await client.post("/ws", content=envelope(rich)))
    assert faultcode == "soapenv:Server"


@pytest.mark.parametrize(("rate", "expected"), [("quota_rate", "008"), ("busy_rate", "009")])
async def test_quota_and_busy_answer_their_codes(
    client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen, rate: str, expected: str
) -> None:
    await set_faults(client, **{rate: 1})
    found = answer(await client.post("/ws", content=envelope(rich)))
    assert text(found, "MaKetQua") == expected
    assert text(found, "MaYeuCau") == "req-0001"
    assert found.find(f"{{{DC}}}CongDan") is None
    verify = answer(await client.post("/ws", content=envelope(rich, VERIFY)), "KetQuaXacThuc")
    assert text(verify, "MaKetQua") == expected
    assert verify.find(f"{{{DC}}}TonTai") is None
    assert sim.stats.by_code == {expected: 2}


async def test_latency_and_timeout(client: httpx.AsyncClient, rich: Citizen) -> None:
    await set_faults(client, latency_ms=30)
    started = time.perf_counter()
    assert code(await client.post("/ws", content=envelope(rich))) == "000"
    assert time.perf_counter() - started >= 0.03
    await set_faults(client, timeout_rate=1, timeout_seconds=0.05)
    started = time.perf_counter()
    assert code(await client.post("/ws", content=envelope(rich))) == "000"
    assert time.perf_counter() - started >= 0.05


async def test_drop_raises_under_asgi_transport(client: httpx.AsyncClient, rich: Citizen) -> None:
    await set_faults(client, drop_rate=1)
    with pytest.raises(SimulatedConnectionDrop):
        await client.post("/ws", content=envelope(rich))


async def test_malformed_answers(
    client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen
) -> None:
    await set_faults(client, malformed_rate=1, seed=3)
    seen = set()
    for _ in range(12):
        response = await client.post("/ws", content=envelope(rich))
        assert response.status_code == 200
        assert (response.content, response.headers["content-type"]) in MALFORMED_BODIES
        seen.add(response.content)
    assert len(seen) == len(MALFORMED_BODIES)
    for body, _ in MALFORMED_BODIES:
        try:
            root = etree.fromstring(body, PARSER)
        except etree.XMLSyntaxError:
            continue
        payload = root.find(f"{{{SOAP}}}Body/*")
        assert payload is None or not connector_answer_schema().validate(payload)


async def test_fault_draws_are_reproducible(population: Population, rich: Citizen) -> None:
    async def statuses() -> list[int]:
        transport = httpx.ASGITransport(app=create_app(population=population, seed=11))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            await set_faults(http, error_rate=0.5)
            return [(await http.post("/ws", content=envelope(rich))).status_code for _ in range(20)]

    first = await statuses()
    assert first == await statuses()
    assert set(first) == {200, 503}


async def test_fault_config_is_validated(client: httpx.AsyncClient) -> None:
    assert (await client.put("/_sandbox/faults", json={"error_rate": 1.5})).status_code == 422
    assert (await client.put("/_sandbox/faults", json={"hostile": "zip-bomb"})).status_code == 422
    assert (await client.put("/_sandbox/faults", json={"nonsense": 1})).status_code == 422
    assert FaultConfig().oversize_bytes == 5 * 1024 * 1024


# --- hostile answers (one-shot) ---------------------------------------------------------------


async def test_hostile_xxe(client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen) -> None:
    stored = await set_faults(client, hostile="xxe")
    assert stored["hostile"] == "xxe"
    response = await client.post("/ws", content=envelope(rich))
    assert response.status_code == 200
    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in response.content
    assert b"<ns1:MoTaKetQua>&xxe;</ns1:MoTaKetQua>" in response.content
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<!DOCTYPE")
    # the rest is still the answer to the call
    root = etree.fromstring(response.content, PARSER)
    assert root.findtext(f".//{{{DC}}}MaYeuCau") == "req-0001"
    assert "root:" not in etree.tostring(root).decode()
    # one-shot: the next answer is clean, and the configuration says so
    assert b"DOCTYPE" not in (await client.post("/ws", content=envelope(rich))).content
    assert (await client.get("/_sandbox/faults")).json()["hostile"] is None
    assert sim.stats.hostile_sent == {"xxe": 1}


async def test_hostile_count_covers_retries(client: httpx.AsyncClient, rich: Citizen) -> None:
    await set_faults(client, hostile="dtd", hostile_count=2)
    for _ in range(2):
        assert b"<!DOCTYPE" in (await client.post("/ws", content=envelope(rich))).content
    assert b"<!DOCTYPE" not in (await client.post("/ws", content=envelope(rich))).content
    stored = (await client.get("/_sandbox/faults")).json()
    assert (stored["hostile"], stored["hostile_count"]) == (None, 1)


async def test_hostile_billion_laughs(client: httpx.AsyncClient, rich: Citizen) -> None:
    await set_faults(client, hostile="billion_laughs")
    response = await client.post("/ws", content=envelope(rich, VERIFY))
    assert response.content.count(b"<!ENTITY lol") == 10
    assert b'<!ENTITY lol9 "&lol8;&lol8;' in response.content
    assert b"<ns1:MoTaKetQua>&lol9;</ns1:MoTaKetQua>" in response.content
    assert len(response.content) < 4096  # small on the wire, 10^9 "lol" once expanded
    # refused either way: by the DTD rule, or by libxml2's amplification limit
    with pytest.raises((zeep.exceptions.DTDForbidden, zeep.exceptions.XMLSyntaxError)):
        parse_like_zeep(response.content)


async def test_hostile_oversize(client: httpx.AsyncClient, rich: Citizen) -> None:
    await set_faults(client, hostile="oversize", oversize_bytes=200_000)
    response = await client.post("/ws", content=envelope(rich))
    assert len(response.content) >= 200_000
    root = etree.fromstring(response.content, etree.XMLParser(huge_tree=True))
    details = [e.text or "" for e in root.iter(f"{{{DC}}}ChiTiet")]
    assert max(len(d.encode()) for d in details) > 190_000
    # without a record to pad, the description is
    await set_faults(client, hostile="oversize", oversize_bytes=2048)
    response = await client.post("/ws", content=envelope(rich, VERIFY))
    assert len(response.content) >= 2048


async def test_hostile_dtd(client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen) -> None:
    await set_faults(client, hostile="dtd")
    response = await client.post("/ws", content=envelope(rich))
    assert b"<!DOCTYPE soapenv:Envelope>\n<soapenv:Envelope" in response.content
    assert b"<!ENTITY" not in response.content
    root = etree.fromstring(response.content, PARSER)
    assert connector_answer_schema().validate(root[0][0])
    with pytest.raises(zeep.exceptions.DTDForbidden):
        parse_like_zeep(response.content)


# --- inspection and reset ---------------------------------------------------------------------


async def test_stats_and_requests(client: httpx.AsyncClient, rich: Citizen) -> None:
    await client.post("/ws", content=envelope(rich))
    await client.post("/ws", content=envelope(rich, VERIFY, MaDVC="1.004227"))
    await client.post("/ws", content=envelope(rich, SoDinhDanh="12"))
    await client.post("/ws", content=b"junk")
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["received"] == 4
    assert stats["soap_faults"] == 1
    assert stats["by_operation"] == {LOOKUP: 2, VERIFY: 1}
    assert stats["by_code"] == {"000": 1, "004": 1, "001": 1}

    response = await client.get("/_sandbox/requests", params={"limit": 10})
    entries = response.json()
    assert [e["code"] for e in entries] == ["000", "004", "001", "soap:Client"]
    first = entries[0]
    assert first["operation"] == LOOKUP
    assert first["ma_yeu_cau"] == "req-0001"
    assert first["ma_dvc"] == "1.001776"
    assert first["ma_can_bo"] == "CB0001"
    assert first["so_dinh_danh"] == f"{rich.so_dinh_danh[:3]}******{rich.so_dinh_danh[-3:]}"
    # no full ID number in the inspection view
    assert rich.so_dinh_danh not in response.text
    latest = (await client.get("/_sandbox/requests", params={"limit": 1})).json()
    assert latest == entries[-1:]


async def test_citizens_for_test_set_up(client: httpx.AsyncClient, population: Population) -> None:
    page = (await client.get("/_sandbox/citizens", params={"limit": 5, "offset": 10})).json()
    assert page["total"] == 5000
    numbers = [c["so_dinh_danh"] for c in page["citizens"]]
    assert numbers == [c.so_dinh_danh for c in population.citizens[10:15]]
    record = page["citizens"][0]
    assert record["ten_chuan_hoa"] == population.citizens[10].ten_chuan_hoa
    assert record["ngay_sinh"] == population.citizens[10].ngay_sinh.isoformat()
    one = await client.get(f"/_sandbox/citizens/{numbers[0]}")
    assert one.json() == record
    assert (await client.get("/_sandbox/citizens/000000000000")).status_code == 404
    assert (await client.get("/_sandbox/citizens", params={"limit": 501})).status_code == 422


async def test_reset_restores_the_defaults(
    client: httpx.AsyncClient, sim: DancuSimulator, rich: Citizen
) -> None:
    await client.post(
        "/_sandbox/officers",
        json={"ma_can_bo": "CB0001", "username": "x", "password": "y", "permitted": False},
    )
    await client.post("/_sandbox/procedures", json={"ma_dvc": "1.004227", "licensed": True})
    await set_faults(client, busy_rate=1, hostile="dtd")
    await client.post("/ws", content=envelope(rich))
    assert (await client.post("/_sandbox/reset")).json() == {"status": "reset"}
    assert sim.stats.received == 0
    assert list(sim.requests) == []
    assert (await client.get("/_sandbox/faults")).json() == FaultConfig().model_dump()
    assert code(await client.post("/ws", content=envelope(rich))) == "000"
    assert code(await client.post("/ws", content=envelope(rich, MaDVC="1.004227"))) == "004"


def test_get_simulator_checks_the_type() -> None:
    app = FastAPI()
    app.state.sim = object()
    with pytest.raises(TypeError):
        get_simulator(app)


async def test_concurrent_callers_get_their_own_answers(
    client: httpx.AsyncClient, population: Population
) -> None:
    chosen = population.sample(20)

    async def ask(citizen: Citizen) -> str | None:
        body = envelope(citizen, MaYeuCau=f"r-{citizen.so_dinh_danh[-4:]}")
        return text(answer(await client.post("/ws", content=body)), "CongDan/SoDinhDanh")

    found = await asyncio.gather(*(ask(c) for c in chosen))
    assert found == [c.so_dinh_danh for c in chosen]
