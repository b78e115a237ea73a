"""The population-database client against a mocked platform (respx / httpx.MockTransport).

What is sent (the envelope, its header, its field order, the WSDL's own schema), how every
answer code and failure is mapped, and how hostile answers are refused unread.
"""

from __future__ import annotations

import base64
import copy
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import respx
from lxml import etree
from pydantic import SecretStr
from tenacity import wait_none

from connectors.dancu.client import DancuClient, OfficerCredential
from connectors.dancu.config import BUNDLED_WSDL, DancuConfig
from connectors.dancu.connector import DancuConnector
from connectors.dancu.errors import (
    CitizenNotFound,
    OfficerCredentialRefused,
    OfficerNotPermitted,
    ProcedureNotLicensed,
)
from connectors.dancu.models import CongDan, GioiTinh, YeuCauCongDan
from gateway.core.errors import (
    GatewayError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import AttemptContext, attempt_context, build_client
from gateway.core.log.exchange_log import Crossing
from tests.connectors.dancu import answers

ENDPOINT = "http://dancu.test/dancu/ws"
REQ_NS = "http://dancuquocgia.bca"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
USERNAME = "canbo.0042"
PASSWORD = "Mật-khẩu:7731&<x>"
AUTH_HASH = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
MA_CAN_BO = "CB-0042"
MA_TTHC = "1.001776"
MA_HO_SO = "000.00.01.H22-240105-0007"
FIELD_ORDER = [
    "MaYeuCau",
    "MaDVC",
    "MaTichHop",
    "MaCanBo",
    "MaDonVi",
    "SoDinhDanh",
    "HoVaTen",
    "NgayThangNamSinh",
]


def ask(**overrides: Any) -> YeuCauCongDan:
    data: dict[str, Any] = {
        "so_dinh_danh": answers.SO_DINH_DANH,
        "ho_va_ten": answers.HO_VA_TEN,
        "ngay_sinh": answers.NGAY_SINH,
        "ma_tthc": MA_TTHC,
        "ma_ho_so": MA_HO_SO,
    }
    data.update(overrides)
    return YeuCauCongDan.model_validate({k: v for k, v in data.items() if v is not None})


def soap(content: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": "text/xml"})


def streamed(content: bytes, status: int = 200, *, length: bool = True) -> httpx.Response:
    """An answer as a network transport hands it over: not yet read, streamed in chunks.

    (The recording transport reads answers as a stream, to bound them.)
    """
    headers = {"Content-Type": "text/xml"}
    if length:
        headers["Content-Length"] = str(len(content))
    return httpx.Response(status, headers=headers, stream=answers.Chunks(content))


def sent_body(request: httpx.Request) -> etree._Element:
    """The operation element of a sent envelope."""
    envelope = etree.fromstring(request.content)
    body = envelope.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    assert len(body) == 1
    return body[0]


def sent_header(request: httpx.Request) -> etree._Element:
    envelope = etree.fromstring(request.content)
    header = envelope.find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    return header


def local_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def every_text(exc: BaseException) -> str:
    """All the text an error exposes: str, repr, detail and each field error."""
    parts = [str(exc), repr(exc), getattr(exc, "detail", "")]
    parts += [f"{e.loc} {e.msg}" for e in getattr(exc, "errors", ())]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def request_schema() -> etree.XMLSchema:
    """The request namespace's xsd:schema of the bundled WSDL, as lxml's validator."""
    root = etree.parse(str(BUNDLED_WSDL)).getroot()
    for schema in root.iterfind(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema"):
        if schema.get("targetNamespace") == REQ_NS:
            # a standalone copy keeping the prefixes the WSDL root declares (dan:, xsd:)
            prefixes = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
            standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=prefixes)
            standalone.extend(copy.deepcopy(child) for child in schema)
            return etree.XMLSchema(standalone)
    raise AssertionError("the WSDL has no schema for the request namespace")


@pytest.fixture
def config() -> DancuConfig:
    return DancuConfig(endpoint_url=ENDPOINT, ma_tich_hop="LGSP-TEST-25")


@pytest.fixture
def officer() -> OfficerCredential:
    return OfficerCredential(ma_can_bo=MA_CAN_BO, username=USERNAME, password=SecretStr(PASSWORD))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def client(config: DancuConfig, http: httpx.AsyncClient) -> DancuClient:
    return DancuClient(config, http, retry_wait=wait_none())


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- the request ----------------------------------------------------------------------------


async def test_lookup_posts_the_envelope_in_the_platforms_form(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    request_schema: etree.XMLSchema,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    await client.lookup(ask(), officer)

    assert route.call_count == 1
    sent = route.calls[0].request
    assert str(sent.url) == ENDPOINT
    assert sent.headers["SOAPAction"].strip('"') == f"{REQ_NS}/TraCuuThongTinCongDan"
    assert sent.headers["Content-Type"].startswith("text/xml")
    body = sent_body(sent)
    assert body.tag == f"{{{REQ_NS}}}TraCuuThongTinCongDan"
    assert local_names(body) == FIELD_ORDER
    assert all(etree.QName(child).namespace == REQ_NS for child in body)
    fields = {etree.QName(child).localname: child for child in body}
    assert fields["MaDVC"].text == MA_TTHC
    assert fields["MaTichHop"].text == "LGSP-TEST-25"
    assert fields["MaCanBo"].text == MA_CAN_BO
    assert fields["SoDinhDanh"].text == answers.SO_DINH_DANH
    assert fields["MaDonVi"].text == "000.00.01.H22"
    assert fields["HoVaTen"].text == "NGUYEN VAN DUC"
    birth = fields["NgayThangNamSinh"]
    assert local_names(birth) == ["NgayThangNam"]
    assert birth[0].text == "19900517"
    request_schema.assertValid(body)


async def test_the_officers_credential_travels_in_the_auth_hash_header(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    request_schema: etree.XMLSchema,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    await client.lookup(ask(), officer)

    header = sent_header(route.calls[0].request)
    assert [child.tag for child in header] == [f"{{{REQ_NS}}}AuthHash"]
    assert header[0].text == AUTH_HASH
    assert base64.b64decode(header[0].text).decode() == f"{USERNAME}:{PASSWORD}"
    request_schema.assertValid(header[0])
    # the credential is in the header only, never in the body
    assert AUTH_HASH not in etree.tostring(sent_body(route.calls[0].request)).decode()


async def test_each_officer_sends_their_own_credential(
    client: DancuClient, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.lookup()))
    first = OfficerCredential(ma_can_bo="CB-1", username="a", password=SecretStr("pa"))
    second = OfficerCredential(ma_can_bo="CB-2", username="b", password=SecretStr("pb"))

    await client.lookup(ask(), first)
    await client.lookup(ask(), second)

    sent = [(sent_header(c.request)[0].text, sent_body(c.request)[3].text) for c in route.calls]
    assert all(local_names(sent_body(c.request))[3] == "MaCanBo" for c in route.calls)
    assert sent == [
        (base64.b64encode(b"a:pa").decode(), "CB-1"),
        (base64.b64encode(b"b:pb").decode(), "CB-2"),
    ]


async def test_verify_posts_its_own_operation_with_the_same_fields(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    request_schema: etree.XMLSchema,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.verify(ton_tai=True)))

    await client.verify(ask(), officer)

    sent = route.calls[0].request
    assert sent.headers["SOAPAction"].strip('"') == f"{REQ_NS}/XacThucThongTinCongDan"
    body = sent_body(sent)
    assert body.tag == f"{{{REQ_NS}}}XacThucThongTinCongDan"
    assert local_names(body) == FIELD_ORDER
    assert sent_header(sent)[0].text == AUTH_HASH
    request_schema.assertValid(body)


@pytest.mark.parametrize(
    ("name", "wire_name"),
    [
        ("Nguyễn Văn Đức", "NGUYEN VAN DUC"),
        ("đặng thị đào", "DANG THI DAO"),
        ("Trương Ưng Ơn", "TRUONG UNG ON"),
        ("  Lê   Thị\tHồng  ", "LE THI HONG"),
        ("Phạm Nguyễn-Thu Hà", "PHAM NGUYENTHU HA"),
        # the same name typed decomposed (NFD) goes out the same
        ("Nguye\u0302\u0303n Va\u0306n Đu\u031b\u0301c", "NGUYEN VAN DUC"),
    ],
)
async def test_the_name_goes_out_normalised(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    request_schema: etree.XMLSchema,
    name: str,
    wire_name: str,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    await client.lookup(ask(ho_va_ten=name), officer)

    body = sent_body(route.calls[0].request)
    assert local_names(body)[6] == "HoVaTen"
    assert body[6].text == wire_name
    request_schema.assertValid(body)


async def test_only_the_birth_year_goes_out_as_nam(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    request_schema: etree.XMLSchema,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    await client.lookup(ask(ngay_sinh=None, nam_sinh=1990), officer)

    birth = sent_body(route.calls[0].request)[7]
    assert local_names(birth) == ["Nam"]
    assert birth[0].text == "1990"
    request_schema.assertValid(sent_body(route.calls[0].request))


async def test_the_request_id_is_the_parent_exchange_and_survives_retries(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(
        side_effect=[soap(answers.lookup("009")), soap(answers.lookup())]
    )

    with attempt_context(AttemptContext(operation="lookup_citizen", parent_id="01JEXCHANGE0042")):
        await client.lookup(ask(), officer)

    assert [sent_body(c.request)[0].text for c in route.calls] == ["01JEXCHANGE0042"] * 2


async def test_without_an_exchange_each_call_gets_a_fresh_request_id(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.lookup()))

    await client.lookup(ask(), officer)
    await client.lookup(ask(), officer)
    with attempt_context(AttemptContext(operation="lookup_citizen")):  # no parent
        await client.lookup(ask(), officer)

    ids = [sent_body(c.request)[0].text or "" for c in route.calls]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert len(set(ids)) == 3


@pytest.mark.parametrize("name", ["张伟", "ー", "1990 – 05"])
async def test_a_name_the_platform_cannot_take_is_refused_before_sending(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, name: str
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    with pytest.raises(InvalidInput) as caught:
        await client.lookup(ask(ho_va_ten=name), officer)

    assert route.call_count == 0
    assert [e.loc for e in caught.value.errors] == ["HoVaTen"]


# --- the answer ------------------------------------------------------------------------------


async def test_lookup_maps_every_answer_field(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup()))

    citizen = await client.lookup(ask(), officer)

    assert isinstance(citizen, CongDan)
    assert citizen.model_dump(mode="json") == {
        "so_dinh_danh": "025090012345",
        "so_cmnd": "131234567",
        "ho_va_ten": "Nguyễn Văn Đức",
        "ho": "Nguyễn",
        "chu_dem": "Văn",
        "ten": "Đức",
        "ngay_sinh": "1990-05-17",
        "nam_sinh": 1990,
        "gioi_tinh": "nam",
        "dan_toc": {"ma": "01", "ten": "Kinh"},
        "ton_giao": {"ma": "02", "ten": "Công giáo"},
        "tinh_trang_hon_nhan": {"ma": "2", "ten": "Đã kết hôn"},
        "nhom_mau": {"ma": "04", "ten": "O"},
        "que_quan": {
            "ma_tinh": "25",
            "ten_tinh": "Phú Thọ",
            "ma_huyen": "227",
            "ma_xa": "08074",
            "chi_tiet": "Xóm Đồng, xã Thanh Vinh",
        },
        "thuong_tru": {
            "ma_tinh": "01",
            "ten_tinh": "Hà Nội",
            "ma_huyen": "005",
            "ma_xa": "00160",
            "chi_tiet": "Số 12 ngõ 34 phố Trần Duy Hưng",
        },
        "noi_o_hien_tai": {
            "ma_tinh": "79",
            "ten_tinh": "Hồ Chí Minh",
            "ma_huyen": "760",
            "ma_xa": "26734",
            "chi_tiet": "45 Lê Lợi, phường Bến Nghé",
        },
        "cha": {
            "ho_va_ten": "Nguyễn Văn Bình",
            "so_dinh_danh": "025060001111",
            "so_cmnd": "130000111",
        },
        "me": {"ho_va_ten": "Trần Thị Cúc", "so_dinh_danh": "025163002222", "so_cmnd": None},
        "vo_chong": {"ho_va_ten": "Lê Thị Hương", "so_dinh_danh": None, "so_cmnd": "001192003333"},
        "chu_ho": {
            "ho_va_ten": "Nguyễn Văn Bình",
            "so_dinh_danh": "025060001111",
            "quan_he": "Con",
        },
        "so_so_ho_khau": "HK-0012345",
    }


async def test_a_sparse_record_maps_to_nones(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    sparse = {
        "SoDinhDanh": answers.SO_DINH_DANH,
        "HoVaTen": {"Ho": "Nguyễn", "Ten": "Đức"},
        "NgayThangNamSinh": {"Nam": "1990"},
        "GioiTinh": "0",
    }
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup(records=[sparse])))

    citizen = await client.lookup(ask(ngay_sinh=None, nam_sinh=1990), officer)

    assert citizen.ho_va_ten == "Nguyễn Đức"
    assert citizen.chu_dem is None
    assert citizen.ngay_sinh is None
    assert citizen.nam_sinh == 1990
    assert citizen.gioi_tinh is GioiTinh.KHONG_RO
    unset = set(CongDan.model_fields) - {
        "so_dinh_danh",
        "ho_va_ten",
        "ho",
        "ten",
        "nam_sinh",
        "gioi_tinh",
    }
    assert all(getattr(citizen, name) is None for name in unset)


@pytest.mark.parametrize(("ton_tai", "khop"), [(True, True), (False, False)])
async def test_verify_answers_whether_the_data_match(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    ton_tai: bool,
    khop: bool,
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(answers.verify(ton_tai=ton_tai)))

    result = await client.verify(ask(), officer)

    assert result.khop is khop


async def test_verify_of_nobody_is_no_match(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.verify("006", ton_tai=None)))

    result = await client.verify(ask(), officer)

    assert result.khop is False
    assert route.call_count == 1


async def test_verify_success_without_ton_tai_is_an_invalid_answer(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(answers.verify("000", ton_tai=None)))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.verify(ask(), officer)

    assert [e.loc for e in caught.value.errors] == ["KetQuaXacThuc.TonTai"]


# --- result codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [
        ("001", PermanentUpstreamError, 502),
        ("002", OfficerCredentialRefused, 502),
        ("003", PermanentUpstreamError, 502),
        ("004", ProcedureNotLicensed, 403),
        ("005", OfficerNotPermitted, 403),
        ("006", CitizenNotFound, 404),
        ("777", PermanentUpstreamError, 502),
    ],
)
async def test_refusal_codes_raise_their_problem_type_without_retrying(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    code: str,
    error: type[GatewayError],
    status: int,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=soap(answers.lookup(code, message="Từ chối")))

    with pytest.raises(GatewayError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is error
    assert caught.value.status == status
    assert route.call_count == 1
    if code != "006":
        assert getattr(caught.value, "code", None) == code
        assert code in caught.value.detail


async def test_the_procedure_and_officer_refusals_say_so(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(
        side_effect=[soap(answers.lookup("004")), soap(answers.verify("005", ton_tai=None))]
    )

    with pytest.raises(ProcedureNotLicensed) as procedure:
        await client.lookup(ask(), officer)
    with pytest.raises(OfficerNotPermitted) as person:
        await client.verify(ask(), officer)

    assert "procedure is not licensed" in procedure.value.detail
    assert procedure.value.type_slug == "dancu-procedure-not-licensed"
    assert "officer is not permitted" in person.value.detail
    assert person.value.type_slug == "dancu-officer-not-permitted"


async def test_an_unknown_code_is_named(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup("777")))

    with pytest.raises(PermanentUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert "unknown code '777'" in caught.value.detail


@pytest.mark.parametrize("code", ["008", "009"])
@pytest.mark.parametrize("attempts", [1, 3])
async def test_busy_codes_are_retried_then_raised(
    http: httpx.AsyncClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    code: str,
    attempts: int,
) -> None:
    config = DancuConfig(endpoint_url=ENDPOINT, read_retry_attempts=attempts)
    client = DancuClient(config, http, retry_wait=wait_none())
    route = mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.lookup(code)))

    with pytest.raises(TransientUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is TransientUpstreamError
    assert caught.value.code == code
    assert route.call_count == attempts


async def test_a_busy_platform_that_recovers_answers(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(
        side_effect=[soap(answers.lookup("008")), soap(answers.lookup())]
    )

    citizen = await client.lookup(ask(), officer)

    assert citizen.so_dinh_danh == answers.SO_DINH_DANH
    assert route.call_count == 2


async def test_verify_retries_busy_codes_too(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(
        side_effect=[soap(answers.verify("009", ton_tai=None)), soap(answers.verify(ton_tai=True))]
    )

    result = await client.verify(ask(), officer)

    assert result.khop is True
    assert route.call_count == 2


@pytest.mark.parametrize("code", ["001", "002", "004", "009", "777"])
async def test_the_password_never_reaches_an_error_even_when_echoed(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, code: str
) -> None:
    echo = f"AuthHash {AUTH_HASH} = {USERNAME}:{PASSWORD} refused; password={PASSWORD}"
    mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.lookup(code, message=echo)))

    with pytest.raises(GatewayError) as caught:
        await client.lookup(ask(), officer)

    text = every_text(caught.value)
    assert PASSWORD not in text
    assert AUTH_HASH not in text
    assert "refused" in text  # the rest of the platform's explanation is kept


@pytest.mark.parametrize("faultcode", ["soap:Client", "soap:Server"])
async def test_the_password_never_reaches_an_error_from_a_fault(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, faultcode: str
) -> None:
    echo = f"bad AuthHash {AUTH_HASH} ({USERNAME}:{PASSWORD})"
    mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.fault(faultcode, echo), 500))

    with pytest.raises(GatewayError) as caught:
        await client.lookup(ask(), officer)

    text = every_text(caught.value)
    assert PASSWORD not in text
    assert AUTH_HASH not in text


# --- transport failures ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_busy_statuses_are_transient_and_retried(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, status: int
) -> None:
    route = mock.post(ENDPOINT).mock(
        side_effect=lambda _: httpx.Response(status, text="busy, try later")
    )

    with pytest.raises(TransientUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is TransientUpstreamError
    assert str(status) in caught.value.detail
    assert route.call_count == 2  # the default read_retry_attempts


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("body", [b"", b"Unauthorized", b"<html><body>Unauthorized</body></html>"])
async def test_refused_gateway_is_an_auth_error(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    status: int,
    body: bytes,
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=httpx.Response(status, content=body))

    with pytest.raises(UpstreamAuthError):
        await client.lookup(ask(), officer)

    assert route.call_count == 1


@pytest.mark.parametrize("body", [b"", b"Not Found", b"<html><body>Not Found</body></html>"])
async def test_a_wrong_endpoint_is_permanent(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, body: bytes
) -> None:
    route = mock.post(ENDPOINT).mock(return_value=httpx.Response(404, content=body))

    with pytest.raises(PermanentUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is PermanentUpstreamError
    assert "404" in caught.value.detail
    assert route.call_count == 1


async def test_a_client_fault_is_permanent(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(
        return_value=soap(answers.fault("soap:Client", "Envelope không hợp lệ"), 500)
    )

    with pytest.raises(PermanentUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is PermanentUpstreamError
    assert "Envelope không hợp lệ" in caught.value.detail
    assert route.call_count == 1


async def test_a_server_fault_is_transient(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    route = mock.post(ENDPOINT).mock(
        side_effect=lambda _: soap(answers.fault("soap:Server", "quá tải"), 500)
    )

    with pytest.raises(TransientUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is TransientUpstreamError
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")],
)
async def test_connection_failures_are_transient_and_retried(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, failure: Exception
) -> None:
    route = mock.post(ENDPOINT).mock(side_effect=failure)

    with pytest.raises(TransientUpstreamError) as caught:
        await client.lookup(ask(), officer)

    assert type(caught.value) is TransientUpstreamError
    assert type(failure).__name__ in caught.value.detail
    assert route.call_count == 2


# --- answers outside the contract ------------------------------------------------------------


async def test_success_without_a_citizen_is_an_invalid_answer(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup("000", records=[])))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.lookup(ask(), officer)

    assert [e.loc for e in caught.value.errors] == ["CongdanCollection.CongDan"]


async def test_another_citizen_in_the_answer_is_an_invalid_answer(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    stranger = answers.record(SoDinhDanh="001085000999")
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup(records=[stranger])))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.lookup(ask(), officer)

    assert [e.loc for e in caught.value.errors] == ["CongdanCollection.CongDan[0].SoDinhDanh"]
    assert "001085000999" not in every_text(caught.value)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        (
            {"ThuongTru": {"MaTinhThanh": "ABC"}},
            "CongdanCollection.CongDan[0].ThuongTru.MaTinhThanh",
        ),
        ({"QueQuan": {"MaQuanHuyen": "12"}}, "CongdanCollection.CongDan[0].QueQuan.MaQuanHuyen"),
        (
            {"NoiOHienTai": {"MaPhuongXa": "1x345"}},
            "CongdanCollection.CongDan[0].NoiOHienTai.MaPhuongXa",
        ),
        ({"SoDinhDanh": "02509001234"}, "CongdanCollection.CongDan[0].SoDinhDanh"),
        ({"SoCMND": "1234"}, "CongdanCollection.CongDan[0].SoCMND"),
        (
            {"HoVaTen": {"Ho": "Nguyễn", "Ten": "Đ" * 2000}},
            "CongdanCollection.CongDan[0].HoVaTen.Ten",
        ),
        ({"NgayThangNamSinh": {"Nam": "90"}}, "CongdanCollection.CongDan[0].NgayThangNamSinh.Nam"),
        ({"GioiTinh": "nam"}, "CongdanCollection.CongDan[0].GioiTinh"),
        (
            {"Cha": {"HoVaTen": "A", "SoDinhDanh": "12345"}},
            "CongdanCollection.CongDan[0].Cha.SoDinhDanh",
        ),
        ({"ChuHo": {"HoVaTen": "B" * 129}}, "CongdanCollection.CongDan[0].ChuHo.HoVaTen"),
        ({"ThuongTru": {"ChiTiet": "x" * 1025}}, "CongdanCollection.CongDan[0].ThuongTru.ChiTiet"),
    ],
)
async def test_an_off_schema_field_is_an_invalid_answer_naming_it(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    overrides: dict[str, Any],
    path: str,
) -> None:
    record = answers.record(**overrides)
    mock.post(ENDPOINT).mock(side_effect=lambda _: soap(answers.lookup(records=[record])))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.lookup(ask(), officer)

    assert path in [e.loc for e in caught.value.errors]
    assert "CongdanCollection" in caught.value.detail


async def test_a_birth_date_that_is_no_date_is_an_invalid_answer(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter
) -> None:
    record = answers.record(NgayThangNamSinh={"Nam": "1990", "NgayThangNam": "19900231"})
    mock.post(ENDPOINT).mock(return_value=soap(answers.lookup(records=[record])))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.lookup(ask(), officer)

    assert any("NgayThangNam" in e.msg for e in caught.value.errors)


@pytest.mark.parametrize(
    "overrides",
    [
        {"MaKetQua": "0"},
        {"MaKetQua": "OK"},
        {"MoTaKetQua": "x" * 1025},
    ],
)
async def test_an_off_schema_envelope_is_an_invalid_answer(
    client: DancuClient,
    officer: OfficerCredential,
    mock: respx.MockRouter,
    overrides: dict[str, str],
) -> None:
    head = {"MaYeuCau": "req-1", "MaKetQua": "000", **overrides}
    content = answers.envelope(
        f"<dc:CongdanCollection>{answers.elements(head)}"
        f"<dc:CongDan>{answers.elements(answers.record())}</dc:CongDan></dc:CongdanCollection>"
    )
    mock.post(ENDPOINT).mock(side_effect=lambda _: soap(content))

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        await client.lookup(ask(), officer)

    field = next(iter(overrides))
    assert f"CongdanCollection.{field}" in [e.loc for e in caught.value.errors]


@pytest.mark.parametrize(
    "content",
    [
        b"not xml at all",
        b"<?xml version='1.0'?><unclosed>",
        # well-formed, but no SOAP envelope
        b'<dc:CongdanCollection xmlns:dc="http://www.mic.gov.vn/dancu/1.0"/>',
        # an element the WSDL does not declare, where the answer should be
        answers.envelope("<dc:Khac><dc:MaKetQua>000</dc:MaKetQua></dc:Khac>"),
    ],
)
async def test_an_answer_that_is_no_soap_envelope_is_an_invalid_answer(
    client: DancuClient, officer: OfficerCredential, mock: respx.MockRouter, content: bytes
) -> None:
    mock.post(ENDPOINT).mock(side_effect=lambda _: soap(content))

    with pytest.raises(InvalidUpstreamAnswer):
        await client.lookup(ask(), officer)


# --- hostile answers, through the recording client -------------------------------------------


class Platform:
    """A stand-in platform for httpx.MockTransport: answers with ``respond``, keeps requests."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


class Recorded:
    def __init__(self) -> None:
        self.crossings: list[Crossing] = []

    async def __call__(self, crossing: Crossing) -> None:
        self.crossings.append(crossing)


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def recording_http(
    recorded: Recorded,
) -> Callable[[Callable[[httpx.Request], httpx.Response]], tuple[httpx.AsyncClient, Platform]]:
    def make(
        respond: Callable[[httpx.Request], httpx.Response],
    ) -> tuple[httpx.AsyncClient, Platform]:
        platform = Platform(respond)
        http = build_client(
            connector="dancu", sink=recorded, transport=httpx.MockTransport(platform)
        )
        return http, platform

    return make


RecordingHttp = Callable[
    [Callable[[httpx.Request], httpx.Response]], tuple[httpx.AsyncClient, Platform]
]


async def test_the_recording_client_answers_a_lookup(
    config: DancuConfig,
    officer: OfficerCredential,
    recorded: Recorded,
    recording_http: RecordingHttp,
) -> None:
    http, platform = recording_http(lambda _: streamed(answers.lookup()))
    async with http:
        citizen = await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert citizen.ho_va_ten == "Nguyễn Văn Đức"
    assert len(platform.requests) == 1
    assert [c.outcome for c in recorded.crossings] == ["answered"]


@pytest.mark.timeout(10)
async def test_an_xxe_answer_is_refused_and_nothing_is_read_from_disk(
    config: DancuConfig,
    officer: OfficerCredential,
    recorded: Recorded,
    recording_http: RecordingHttp,
) -> None:
    http, platform = recording_http(lambda _: streamed(answers.xxe()))
    async with http:
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert platform.requests
    text = every_text(caught.value)
    assert "DTDForbidden" in text or "refused" in text
    assert "root:" not in text
    assert "/bin/" not in text
    for crossing in recorded.crossings:
        assert crossing.response == answers.xxe()  # what came, verbatim, nothing expanded
        assert b"root:" not in (crossing.response or b"")


@pytest.mark.timeout(10)
async def test_billion_laughs_is_refused_quickly_without_expansion(
    config: DancuConfig,
    officer: OfficerCredential,
    recorded: Recorded,
    recording_http: RecordingHttp,
) -> None:
    bomb = answers.billion_laughs()
    http, _ = recording_http(lambda _: streamed(bomb))
    started = time.perf_counter()
    async with http:
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert time.perf_counter() - started < 2
    assert "lollollol" not in every_text(caught.value)
    assert all(c.response == bomb for c in recorded.crossings)


@pytest.mark.parametrize("levels", [2, 3])
async def test_a_small_entity_declaration_is_refused_too(
    config: DancuConfig, officer: OfficerCredential, recording_http: RecordingHttp, levels: int
) -> None:
    http, _ = recording_http(lambda _: streamed(answers.billion_laughs(levels)))
    async with http:
        with pytest.raises(InvalidUpstreamAnswer):
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)


async def test_a_hostile_error_answer_is_refused_unread_too(
    config: DancuConfig, officer: OfficerCredential, recording_http: RecordingHttp
) -> None:
    hostile = (
        answers.fault("soap:Server", "XXE-HERE")
        .replace(b"XXE-HERE", b"&xxe;")
        .replace(b"?>\n", b'?>\n<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', 1)
    )
    http, _ = recording_http(lambda _: streamed(hostile, 500))
    async with http:
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert b"<!DOCTYPE" in hostile
    assert "DTDForbidden" in caught.value.detail
    assert "root:" not in every_text(caught.value)


async def test_a_plain_doctype_is_refused(
    config: DancuConfig, officer: OfficerCredential, recording_http: RecordingHttp
) -> None:
    http, _ = recording_http(lambda _: streamed(answers.plain_doctype()))
    async with http:
        client = DancuClient(config, http, retry_wait=wait_none())
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await client.lookup(ask(), officer)

    assert "DTDForbidden" in caught.value.detail


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
async def test_an_answer_not_in_utf8_is_refused_unread(
    config: DancuConfig, officer: OfficerCredential, recording_http: RecordingHttp, encoding: str
) -> None:
    """UTF-16 hides a DOCTYPE from a byte-level check: refused before any parser reads it."""
    hostile = answers.xxe().decode().replace('encoding="UTF-8"', f'encoding="{encoding}"')
    http, _ = recording_http(lambda _: streamed(hostile.encode(encoding)))
    async with http:
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert "NotUTF8" in caught.value.detail
    assert "root:" not in every_text(caught.value)


async def test_an_oversize_answer_with_its_length_declared_is_refused_unread(
    officer: OfficerCredential, recorded: Recorded, recording_http: RecordingHttp
) -> None:
    config = DancuConfig(endpoint_url=ENDPOINT, max_answer_bytes=8192)
    big = answers.padded(100_000)
    http, _ = recording_http(lambda _: streamed(big))
    async with http:
        with pytest.raises(InvalidUpstreamAnswer) as caught:
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert "8192" in caught.value.detail
    assert recorded.crossings
    for crossing in recorded.crossings:
        assert crossing.outcome.startswith("error:ResponseTooLarge")
        assert crossing.status_code == 200
        assert len(crossing.response or b"") <= 8192


async def test_an_oversize_streamed_answer_is_cut_off_at_the_bound(
    officer: OfficerCredential, recorded: Recorded, recording_http: RecordingHttp
) -> None:
    config = DancuConfig(endpoint_url=ENDPOINT, max_answer_bytes=8192, read_retry_attempts=1)
    stream = answers.Chunks(answers.padded(1_000_000))
    http, _ = recording_http(
        lambda _: httpx.Response(200, headers={"Content-Type": "text/xml"}, stream=stream)
    )
    async with http:
        with pytest.raises(InvalidUpstreamAnswer):
            await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert stream.pulled < 100_000  # the read stopped near the bound
    [crossing] = recorded.crossings
    assert crossing.outcome.startswith("error:ResponseTooLarge")
    assert 0 < len(crossing.response or b"") <= 8192


async def test_an_answer_just_under_the_bound_is_read(
    officer: OfficerCredential, recording_http: RecordingHttp
) -> None:
    config = DancuConfig(endpoint_url=ENDPOINT, max_answer_bytes=8192)
    content = answers.padded(8000)
    assert len(content) <= 8192
    http, _ = recording_http(lambda _: streamed(content, length=False))
    async with http:
        citizen = await DancuClient(config, http, retry_wait=wait_none()).lookup(ask(), officer)

    assert citizen.so_dinh_danh == answers.SO_DINH_DANH


# --- the connector ---------------------------------------------------------------------------


def wsdl_server(
    wsdl: bytes, status: int = 200
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET" and "wsdl" in request.url.params:
            return httpx.Response(status, content=wsdl, headers={"Content-Type": "text/xml"})
        return httpx.Response(404)

    return respond, seen


async def test_check_is_ok_when_the_endpoint_serves_the_wsdl(config: DancuConfig) -> None:
    respond, seen = wsdl_server(BUNDLED_WSDL.read_bytes())
    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        result = await DancuConnector(config, http).check()

    assert result.ok, result.detail
    assert result.latency_ms >= 0
    assert [(r.method, str(r.url.copy_with(query=None))) for r in seen] == [("GET", ENDPOINT)]


def _without_verify(wsdl: bytes) -> bytes:
    root = etree.fromstring(wsdl)
    for op in root.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation"):
        if op.get("name") == "XacThucThongTinCongDan":
            parent = op.getparent()
            assert parent is not None
            parent.remove(op)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(
    ("wsdl", "status", "says"),
    [
        (BUNDLED_WSDL.read_bytes(), 500, "HTTPStatusError"),
        (_without_verify(BUNDLED_WSDL.read_bytes()), 200, "XacThucThongTinCongDan"),
        (
            BUNDLED_WSDL.read_bytes().replace(
                b"?>\n", b'?>\n<!DOCTYPE definitions [<!ENTITY x "y">]>\n', 1
            ),
            200,
            "WSDL not served",
        ),
        (b"<html>nothing here", 200, "XMLSyntaxError"),
    ],
    ids=["http-500", "missing-operation", "doctype", "not-xml"],
)
async def test_check_fails_cleanly(
    config: DancuConfig, wsdl: bytes, status: int, says: str
) -> None:
    respond, _ = wsdl_server(wsdl, status)
    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        result = await DancuConnector(config, http).check()

    assert result.ok is False
    assert says in result.detail


async def test_check_fails_cleanly_when_nobody_listens(config: DancuConfig) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        result = await DancuConnector(config, http).check()

    assert result.ok is False
    assert "ConnectError" in result.detail


async def test_deliver_refuses_everything(config: DancuConfig) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500))) as h:
        connector = DancuConnector(config, h)
        with pytest.raises(PermanentUpstreamError) as caught:
            await connector.deliver("lookup_citizen", {"so_dinh_danh": answers.SO_DINH_DANH})

    assert connector.operations == frozenset()
    assert "lookup_citizen" in caught.value.detail


async def test_the_connector_passes_lookups_and_verifications_to_the_client(
    config: DancuConfig, officer: OfficerCredential
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if "XacThuc" in request.headers.get("SOAPAction", ""):
            return soap(answers.verify(ton_tai=False))
        return soap(answers.lookup())

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        connector = DancuConnector(config, http)
        citizen = await connector.lookup(ask(), officer)
        verdict = await connector.verify(ask(), officer)

    assert citizen.ngay_sinh == date(1990, 5, 17)
    assert verdict.khop is False
    assert connector.client.operations == {"TraCuuThongTinCongDan", "XacThucThongTinCongDan"}
