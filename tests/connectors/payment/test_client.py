"""The payment client against a mocked platform (respx): INIT, QUERY, statement, callbacks,
answer codes, integer amounts, and the secret kept out of everything recorded or raised."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError
from tenacity import wait_none

from connectors.payment.client import PaymentClient
from connectors.payment.config import PLACEHOLDER_SECRETS, PaymentConfig
from connectors.payment.connector import PaymentConnector
from connectors.payment.errors import (
    ERROR_TABLE,
    CallbackRejected,
    PaymentChecksumRefused,
    PaymentNotFound,
    PaymentReferenceConflict,
)
from gateway.core.errors import (
    GatewayError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from schemas import payment as wire

BASE = "http://pay.test/payment"
SECRET = "pay-Secret-9931"
PARTNER = "LGSP-H22"
NOW = datetime(2024, 1, 5, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def init_packet(**overrides: Any) -> wire.InitRequest:
    data: dict[str, Any] = {
        "MaThamChieu": "HS-0007-01",
        "SoTien": "150000",
        "ThongTinGiaoDich": "Le phi ho so",
        "ThoiGianGD": "20240105093000",
        "Ip": "10.0.0.1",
        "ThongTinBienLai": {
            "MaDVC": "1.001.01",
            "MaTTHC": "1.001",
            "MaHoSo": "000.00.01.H22-240105-0007",
            "TKThuHuong": "0011001234567",
            "MaNHThuHuong": "970436",
            "TenTKThuHuong": "VP UBND",
            "NoiDungThanhToan": "Le phi ho so",
            "PhiLePhi": [
                {
                    "LoaiPhiLePhi": "2",
                    "MaPhiLePhi": "LP",
                    "TenPhiLePhi": "Le phi",
                    "SoTien": "100000",
                },
                {"LoaiPhiLePhi": "1", "MaPhiLePhi": "P", "TenPhiLePhi": "Phi", "SoTien": "50000"},
            ],
            "DSKhoanNop": [
                {"NoiDung": "Le phi", "SoTien": "100000"},
                {"NoiDung": "Phi", "SoTien": "50000"},
            ],
        },
    }
    data.update(overrides)
    return wire.InitRequest.model_validate(data)


def init_answer(url: str, ref: str = "HS-0007-01") -> dict[str, Any]:
    """INIT's answer as PASETO reads it: ``message`` a JSON text."""
    return {"error_code": "0", "message": json.dumps({"UrlThanhToan": url, "MaThamChieu": ref})}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[PaymentClient]:
    config = PaymentConfig(base_url=BASE, ma_doi_tac=PARTNER, secret=SecretStr(SECRET))
    async with httpx.AsyncClient() as http:
        yield PaymentClient(config, http, retry_wait=wait_none(), clock=lambda: NOW)


def sent(route: respx.Route, index: int = -1) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(route.calls[index].request.content)
    return data


def callback_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "LoaiBanTin": "PAYMENT",
        "MaLoi": "00",
        "MaDoiTac": PARTNER,
        "MaThamChieu": "HS-0007-01",
        "SoTien": 150000,
        "MaTienTe": "VND",
        "MaGiaoDich": "GD-991",
        "MaNganHang": "970436",
        "ThoiGianGD": "20240105093512",
        "ThongTinGiaoDich": "Le phi ho so",
    }
    body.update(overrides)
    return body


def signed(body: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    text = "|".join(
        str(body[k])
        for k in (
            "LoaiBanTin",
            "MaLoi",
            "MaDoiTac",
            "MaThamChieu",
            "SoTien",
            "MaTienTe",
            "MaGiaoDich",
            "MaNganHang",
            "ThoiGianGD",
            "ThongTinGiaoDich",
        )
    )
    return {**body, "MaXacThuc": sha(f"{text}|{secret}")}


# --- INIT ------------------------------------------------------------------------------------


async def test_init_round_trip_signs_the_packet(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    url = f"{BASE}/pay/tok-1"
    route = mock.post("/init").respond(json=init_answer(url))
    answer = await client.init(init_packet())
    assert answer.message.UrlThanhToan == url
    body = sent(route)
    assert body["MaDoiTac"] == PARTNER
    assert body["SoTien"] == "150000"
    assert body["ThongTinBienLai"]["MaDichVu"] == "2"
    text = (
        f"INIT|1.0.6|{PARTNER}|HS-0007-01|150000|PAY|1|1|vi-VN|VND|PAYMENT|Le phi ho so|"
        f"20240105093000|10.0.0.1|{SECRET}"
    )
    assert body["MaXacThuc"] == sha(text)
    assert SECRET.encode() not in route.calls[-1].request.content
    assert route.calls[-1].request.extensions["lgsp_operation"] == "payment.init"


@pytest.mark.parametrize("amount", [150000.0, 150000, "12.5", "-1", "0150000", "1e5", True])
def test_amounts_sent_only_as_strings_of_digits(amount: object) -> None:
    with pytest.raises(ValidationError):
        init_packet(SoTien=amount)
    with pytest.raises(ValidationError):
        wire.KhoanNopLine.model_validate({"NoiDung": "x", "SoTien": amount})


def test_lines_must_add_up_and_separator_refused() -> None:
    with pytest.raises(ValidationError, match="DSKhoanNop"):
        init_packet(SoTien="150001")
    with pytest.raises(ValidationError):
        init_packet(ThongTinGiaoDich="Le phi|150000")
    with pytest.raises(ValidationError):
        wire.InitRequest.model_validate({**init_packet().model_dump(), "Extra": "x"})


async def test_init_answer_for_another_reference_is_refused(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    mock.post("/init").respond(json=init_answer(f"{BASE}/p", "X"))
    with pytest.raises(InvalidUpstreamAnswer) as info:
        await client.init(init_packet())
    assert info.value.errors[0].loc == "message.MaThamChieu"


@pytest.mark.parametrize(
    "answer",
    [
        # PASETO: message is a JSON text, parsed again
        {"error_code": "0", "message": json.dumps({"UrlThanhToan": f"{BASE}/p"})},
        # an object where a text was expected: read the same
        {"error_code": "0", "message": {"UrlThanhToan": f"{BASE}/p", "Extra": 1}},
        # OpenCPS: a top-level MaLoi "00"
        {"MaLoi": "00", "MoTaLoi": "Thành công", "UrlThanhToan": f"{BASE}/p"},
    ],
    ids=["message-text", "message-object", "flat"],
)
async def test_init_answer_read_in_every_public_shape(
    client: PaymentClient, mock: respx.MockRouter, answer: dict[str, Any]
) -> None:
    mock.post("/init").respond(json=answer)
    assert (await client.init(init_packet())).message.UrlThanhToan == f"{BASE}/p"


async def test_flat_init_refusal_is_resolved_by_its_code(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    mock.post("/init").respond(json={"MaLoi": "03", "MoTaLoi": "trùng mã tham chiếu"})
    with pytest.raises(PaymentReferenceConflict):
        await client.init(init_packet())


async def test_init_answer_off_schema_names_the_field(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    mock.post("/init").respond(json=init_answer("javascript:x"))
    with pytest.raises(InvalidUpstreamAnswer, match="UrlThanhToan"):
        await client.init(init_packet())


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("01", PaymentChecksumRefused),
        ("02", PermanentUpstreamError),
        ("03", PaymentReferenceConflict),
        ("04", PermanentUpstreamError),
        ("14", PaymentNotFound),
        ("77", PermanentUpstreamError),
    ],
)
async def test_codes_map_to_errors(
    client: PaymentClient, mock: respx.MockRouter, code: str, error: type[GatewayError]
) -> None:
    route = mock.post("/init").respond(
        json={"error_code": code, "message": f"refused, secret was {SECRET}"}
    )
    with pytest.raises(error) as info:
        await client.init(init_packet())
    assert not isinstance(info.value, TransientUpstreamError)
    assert SECRET not in str(info.value.detail)
    assert route.call_count == 1


def test_error_table_codes() -> None:
    assert set(ERROR_TABLE) == {"0", "01", "02", "03", "04", "14", "99"}


async def test_code_99_5xx_429_and_transport_errors_are_retried(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    answer = init_answer(f"{BASE}/p")
    route = mock.post("/init").mock(
        side_effect=[
            httpx.Response(200, json={"error_code": "99", "message": "busy"}),
            httpx.Response(503),
            httpx.Response(200, json=answer),
        ]
    )
    await client.init(init_packet())
    assert route.call_count == 3
    # resent byte for byte (INIT is idempotent per reference and content)
    assert route.calls[0].request.content == route.calls[2].request.content

    query = mock.post("/query").mock(
        side_effect=[
            httpx.ConnectError("boom"),
            httpx.ConnectError("boom"),
            httpx.Response(429, headers={"Retry-After": "7"}),
        ]
    )
    with pytest.raises(TransientUpstreamError) as info:
        await client.query("HS-0007-01")
    assert info.value.retry_after == 7.0
    assert query.call_count == 3


async def test_non_json_answer_is_invalid(client: PaymentClient, mock: respx.MockRouter) -> None:
    mock.post("/query").respond(200, content=b"<html>")
    with pytest.raises(InvalidUpstreamAnswer):
        await client.query("HS-0007-01")


# --- QUERY -----------------------------------------------------------------------------------


async def test_query_round_trip(client: PaymentClient, mock: respx.MockRouter) -> None:
    # flat, as PASETO's ConfirmDvcPaymentResponse reads it; a field we do not use is ignored
    route = mock.post("/query").respond(
        json={
            "LoaiBanTin": "QUERY",
            "MaLoi": "00",
            "MoTaLoi": "",
            "MaDoiTac": PARTNER,
            "MaThamChieu": "HS-0007-01",
            "MaGiaoDich": "GD-991",
            "SoTien": 150000,
            "MaTienTe": "VND",
            "MaNganHang": "970436",
            "ThoiGianGD": "20240105093512",
            "ThongTinGiaoDich": "Le phi ho so",
            "TrangThaiGD": "1",
            "MaXacThuc": "ab" * 32,
            "Unknown": {"x": 1},
        }
    )
    answer = await client.query("HS-0007-01")
    assert answer.MaLoi == "00"
    assert answer.SoTien == 150000
    body = sent(route)
    assert body["ThoiGianGD"] == "20240105093000"
    expected = sha(f"QUERY|1.0.6|{PARTNER}|HS-0007-01|20240105093000|{SECRET}")
    assert body["MaXacThuc"] == expected
    assert SECRET.encode() not in route.calls[-1].request.content


@pytest.mark.parametrize(
    ("state", "ma_loi"), [("1", "00"), ("3", "01"), ("4", "02"), (None, "01"), ("9", "01")]
)
async def test_query_state_read_from_trang_thai_gd(
    client: PaymentClient, mock: respx.MockRouter, state: str | None, ma_loi: str
) -> None:
    answer = {"MaLoi": "00", "SoTien": "150000", "MaTienTe": "VND", "TrangThaiGD": state}
    mock.post("/query").respond(json=answer)
    found = await client.query("HS-0007-01")
    assert (found.MaLoi, found.SoTien, found.MaThamChieu) == (ma_loi, 150000, "HS-0007-01")


@pytest.mark.parametrize("amount", [150000.5, "12.5", "-5", True])
async def test_query_answer_with_non_integer_amount_is_refused(
    client: PaymentClient, mock: respx.MockRouter, amount: object
) -> None:
    mock.post("/query").respond(
        json={"MaLoi": "00", "MaThamChieu": "HS-0007-01", "SoTien": amount, "MaTienTe": "VND"}
    )
    with pytest.raises(InvalidUpstreamAnswer) as info:
        await client.query("HS-0007-01")
    assert info.value.errors[0].loc == "SoTien"


async def test_query_refusals_flat_or_in_the_envelope(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    mock.post("/query").respond(json={"MaLoi": "14", "MoTaLoi": "không tồn tại"})
    with pytest.raises(PaymentNotFound):
        await client.query("HS-0007-01")
    mock.post("/query").respond(json={"error_code": "01", "message": "sai mã xác thực"})
    with pytest.raises(PaymentChecksumRefused):
        await client.query("HS-0007-01")


async def test_query_bad_reference_is_invalid_input(client: PaymentClient) -> None:
    with pytest.raises(InvalidInput):
        await client.query("has|pipe")


# --- statement -------------------------------------------------------------------------------


async def test_statement_round_trip(client: PaymentClient, mock: respx.MockRouter) -> None:
    route = mock.get("/statement").respond(
        json={
            "Ngay": "20240105",
            "GiaoDich": [
                {
                    "MaGiaoDich": "GD-991",
                    "MaThamChieu": "HS-0007-01",
                    "SoTien": 150000,
                    "MaTienTe": "VND",
                    "MaLoi": "00",
                    "ThoiGianGD": "20240105093512",
                }
            ],
        }
    )
    statement = await client.statement(date(2024, 1, 5))
    assert statement.GiaoDich[0].SoTien == 150000
    params = route.calls[-1].request.url.params
    assert params["Ngay"] == "20240105"
    assert params["MaDoiTac"] == PARTNER
    assert params["MaXacThuc"] == sha(f"20240105|{PARTNER}|{SECRET}")
    assert SECRET not in str(route.calls[-1].request.url)


async def test_statement_of_another_day_or_refused(
    client: PaymentClient, mock: respx.MockRouter
) -> None:
    mock.get("/statement").respond(200, json={"Ngay": "20240104", "GiaoDich": []})
    with pytest.raises(InvalidUpstreamAnswer):
        await client.statement(date(2024, 1, 5))
    mock.get("/statement").respond(200, json={"error_code": "01", "message": "checksum"})
    with pytest.raises(PaymentChecksumRefused):
        await client.statement(date(2024, 1, 5))


# --- callbacks -------------------------------------------------------------------------------


def test_callback_verified(client: PaymentClient) -> None:
    callback = client.verify_callback(json.dumps(signed(callback_body())).encode())
    assert callback.SoTien == 150000
    assert callback.MaLoi == "00"


@pytest.mark.parametrize(
    "change",
    [
        {"SoTien": 1500000},
        {"MaThamChieu": "HS-0007-02"},
        {"MaDoiTac": "OTHER"},
        {"MaLoi": "02"},
        {"MaGiaoDich": "GD-992"},
    ],
)
def test_tampered_callback_rejected(client: PaymentClient, change: dict[str, Any]) -> None:
    body = {**signed(callback_body()), **change}
    with pytest.raises(CallbackRejected) as info:
        client.verify_callback(json.dumps(body).encode())
    assert info.value.status == 401
    assert info.value.type_slug == "payment-callback-rejected"
    assert SECRET not in info.value.detail


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"SoTien": 1, "SoTien": 2}',
        b"{}",
    ],
)
def test_malformed_callbacks_rejected(client: PaymentClient, body: bytes) -> None:
    with pytest.raises(CallbackRejected):
        client.verify_callback(body)


def test_callback_amount_as_integer_or_digits_only(client: PaymentClient) -> None:
    # PASETO reads an int SoTien, OpenCPS getInt: a string of digits is read too, as signed
    taken = client.verify_callback(json.dumps(signed(callback_body(SoTien="150000"))).encode())
    assert taken.SoTien == 150000
    for amount in (150000.0, "150000.0", "-1", True):
        body = signed(callback_body(SoTien=amount))
        with pytest.raises(CallbackRejected):
            client.verify_callback(json.dumps(body).encode())


def test_callback_ack_has_the_public_fields(client: PaymentClient) -> None:
    body = signed(callback_body())
    ack = client.inbound.callback_ack(client.verify_callback(json.dumps(body).encode()))
    assert ack == {
        "MaLoi": "00",
        "MoTaLoi": "Thành công",
        "MaDoiTac": PARTNER,
        "MaThamChieu": "HS-0007-01",
        "ThoiGianGD": "20240105093512",
        "MaXacThuc": body["MaXacThuc"],
    }


def test_callback_signed_with_another_secret_rejected(client: PaymentClient) -> None:
    body = signed(callback_body(), secret="guess")
    with pytest.raises(CallbackRejected) as info:
        client.verify_callback(json.dumps(body).encode())
    assert "guess" not in info.value.detail
    assert SECRET not in info.value.detail


async def test_hmac2_variant_end_to_end(mock: respx.MockRouter) -> None:
    import hmac as hmac_module

    config = PaymentConfig(
        base_url=BASE,
        ma_doi_tac=PARTNER,
        checksum_variant="hmac2",
        send_key=SecretStr("k-send"),
        verify_key=SecretStr("k-verify"),
    )
    route = mock.post("/query").respond(json={"MaLoi": "14", "MoTaLoi": "none"})
    async with httpx.AsyncClient() as http:
        c = PaymentClient(config, http, retry_wait=wait_none(), clock=lambda: NOW)
        with pytest.raises(PaymentNotFound):
            await c.query("HS-0007-01")
        text = f"QUERY|1.0.6|{PARTNER}|HS-0007-01|20240105093000"
        key = b"k-send"
        assert sent(route)["MaXacThuc"] == hmac_module.new(key, text.encode(), "sha256").hexdigest()
        body = callback_body()
        cb_text = "|".join(str(v) for v in body.values())
        body["MaXacThuc"] = hmac_module.new(b"k-verify", cb_text.encode(), "sha256").hexdigest()
        assert c.verify_callback(json.dumps(body).encode()).MaGiaoDich == "GD-991"
        body["MaXacThuc"] = hmac_module.new(b"k-send", cb_text.encode(), "sha256").hexdigest()
        with pytest.raises(CallbackRejected):
            c.verify_callback(json.dumps(body).encode())


# --- connector and config --------------------------------------------------------------------


async def test_check_accepts_any_well_formed_code(mock: respx.MockRouter) -> None:
    config = PaymentConfig(base_url=BASE)
    async with httpx.AsyncClient() as http:
        connector = PaymentConnector(config, http)
        mock.post("/query").respond(json={"MaLoi": "14", "MoTaLoi": "not found"})
        assert (await connector.check()).ok
        mock.post("/query").respond(200, content=b"oops")
        assert not (await connector.check()).ok
        with pytest.raises(PermanentUpstreamError):
            await connector.deliver("x", {})
        await connector.aclose()


def test_placeholder_secrets_cover_every_secret_default() -> None:
    config = PaymentConfig()
    defaults = {v.get_secret_value() for _, v in config if isinstance(v, SecretStr)}
    assert defaults == PLACEHOLDER_SECRETS
    assert all(field.description for field in PaymentConfig.model_fields.values())
    assert "000.00.01.H22" in config.beneficiaries
