"""The client and the simulator were written apart, each from the public record; here they must
agree: checksums both ways, in both variants, both INIT profiles, both INIT answer shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from connectors.payment.client import PaymentClient
from connectors.payment.config import PaymentConfig
from connectors.payment.errors import CallbackRejected
from connectors.payment.sandbox import create_app
from schemas.payment import InitRequest, KhoanNopLine, PhiLePhiLine, ThongTinBienLai

VN = timezone(timedelta(hours=7))


def init_packet(ref: str, amount: int = 150_000) -> InitRequest:
    what = f"Lệ phí hồ sơ {ref}"
    return InitRequest(
        MaThamChieu=ref,
        SoTien=str(amount),
        ThongTinGiaoDich=what,
        ThoiGianGD=datetime.now(VN).strftime("%Y%m%d%H%M%S"),
        Ip="10.0.0.1",
        ThongTinBienLai=ThongTinBienLai(
            MaDVC="1.001776.01",
            MaTTHC="1.001776",
            MaDonVi="000.00.01.H22",
            MaHoSo="000.00.01.H22-240105-0007",
            TKThuHuong="0123456789",
            MaNHThuHuong="VCB",
            TenTKThuHuong="Văn phòng UBND tỉnh",
            NoiDungThanhToan=what,
            HoTenNguoiNop="Nguyễn Văn An",
            PhiLePhi=[
                PhiLePhiLine(
                    LoaiPhiLePhi="2", MaPhiLePhi="LP", TenPhiLePhi="Lệ phí", SoTien=str(amount)
                )
            ],
            DSKhoanNop=[KhoanNopLine(NoiDung="Lệ phí", SoTien=str(amount))],
        ),
    )


@pytest.fixture(
    params=[
        ("sha256", "paseto", "message_string"),
        ("hmac2", "opencps", "flat"),
        ("sha256", "opencps", "message_string"),
    ],
    ids=["sha256-paseto-text", "hmac2-opencps-flat", "sha256-opencps-text"],
)
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[PaymentClient, httpx.AsyncClient]]:
    variant, profile, style = request.param
    app = create_app(variant=variant, init_answer=style)
    transport = httpx.ASGITransport(app=app)
    config = PaymentConfig(base_url="http://sandbox", checksum_variant=variant, profile=profile)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        httpx.AsyncClient(transport=transport, base_url="http://sandbox") as admin,
    ):
        yield PaymentClient(config, http), admin


async def test_create_pay_query_callback_and_statement_agree(
    pair: tuple[PaymentClient, httpx.AsyncClient],
) -> None:
    client, admin = pair
    answer = await client.init(init_packet("TT-0001"))
    assert answer.message.UrlThanhToan.startswith("http://sandbox/pay/")
    again = await client.init(init_packet("TT-0001"))  # a retried INIT: the same payment
    assert again.message.UrlThanhToan == answer.message.UrlThanhToan
    pending = await client.query("TT-0001")
    assert pending.MaLoi == "01"
    paid = await admin.post("/_sandbox/payments/TT-0001/pay", json={})
    assert paid.status_code == 200, paid.text
    callback = client.verify_callback(_body(paid))
    assert (callback.MaThamChieu, callback.SoTien, callback.MaLoi) == ("TT-0001", 150_000, "00")
    assert (await client.query("TT-0001")).MaLoi == "00"
    statement = await client.statement(datetime.now(VN).date())
    assert [e.MaThamChieu for e in statement.GiaoDich] == ["TT-0001"]


async def test_forged_and_altered_callbacks_do_not_verify(
    pair: tuple[PaymentClient, httpx.AsyncClient],
) -> None:
    client, admin = pair
    await client.init(init_packet("TT-0002"))
    forged = await admin.post("/_sandbox/payments/TT-0002/pay", json={"wrong_signature": True})
    with pytest.raises(CallbackRejected):
        client.verify_callback(_body(forged))
    # signed correctly over another amount: the checksum holds, the amount check must refuse
    altered = await admin.post("/_sandbox/payments/TT-0002/pay", json={"altered_amount": True})
    assert client.verify_callback(_body(altered)).SoTien != 150_000


def _body(response: httpx.Response) -> bytes:
    """The callback JSON the simulator would POST (its admin answer may wrap it)."""
    data = response.json()
    packet = data.get("callback", data) if isinstance(data, dict) else data
    return json.dumps(packet, ensure_ascii=False).encode()
