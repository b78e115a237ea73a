"""Wire packets of the DVCQG online payment platform (Nền tảng thanh toán trực tuyến), version
1.0.6, with the platform's own field names.

Contracts:

* Money is integer VND. What the gateway sends carries it as the public senders do: INIT's
  ``SoTien`` and every line's ``SoTien`` a JSON string of digits (:data:`AmountText`; OpenCPS
  ``PayGateIntegrationActionImpl`` L1429 ``String.valueOf``, PASETO ``InitDvcPaymentRequest.cs``
  ``string SoTien``). What the platform sends is read tolerantly (:data:`ReceivedAmount`: an
  integer or a string of digits, as PASETO's ``int SoTien`` and OpenCPS's ``getInt`` read it).
* What the gateway sends (:class:`InitRequest`, :class:`QueryRequest`) forbids unknown fields
  and bounds every string; free-text fields may not hold ``|``, the separator of the checksum
  (so no value can shift content into its neighbour's place).
* What the platform sends (answers, callbacks, statements) ignores fields it does not know
  (unsigned, so never used), and bounds every string. INIT's answer comes in two public
  shapes, read by :func:`init_result`: ``{"error_code": "0", "message": "<JSON text>"}``
  (PASETO ``DvcPaymentService.InitPayment`` parses ``message`` again) or a flat object with
  ``MaLoi`` "00" (OpenCPS ``ppInitTransaction`` L1392). QUERY's answer is flat
  (:class:`QueryAnswer`, PASETO ``ConfirmDvcPaymentResponse``).
* ``ThoiGianGD`` is ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (:func:`wire_time`); ``Ngay`` of a
  statement is ``yyyyMMdd``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from schemas.wire_time import wire_format

__all__ = [
    "CALLBACK_MA_LOI",
    "TRANG_THAI_GD",
    "Amount",
    "AmountText",
    "Bill",
    "BillAnswer",
    "BillRequest",
    "Callback",
    "CallbackAck",
    "ChiTietBienLai",
    "Envelope",
    "InitAnswer",
    "InitRequest",
    "InitResult",
    "KhoanNopLine",
    "PhiLePhiLine",
    "QueryAnswer",
    "QueryRequest",
    "ReceivedAmount",
    "Statement",
    "StatementEntry",
    "ThongTinBienLai",
    "init_result",
    "parse_wire_time",
    "wire_day",
    "wire_time",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PHIEN_BAN: Literal["1.0.6"] = "1.0.6"

#: MaLoi of a QUERY answer, a callback or a statement line
CALLBACK_MA_LOI = {
    "00": "paid",
    "01": "pending",
    "02": "failed",
    "03": "cancelled",
    "04": "expired",
}

#: a QUERY answer's TrangThaiGD -> the MaLoi of a callback saying the same (PASETO
#: ``CheckConfirmGiaoDichThanhToanHandler.cs``: 1 paid, 3 pending, 4 failed)
TRANG_THAI_GD = {"1": "00", "3": "01", "4": "02"}

#: integer VND: floats, numeric strings and booleans refused
Amount = Annotated[int, Field(strict=True, ge=0, le=10**15)]
#: integer VND as the public senders write it: a JSON string of digits, no sign, no leading zero
AmountText = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,14})$")]


def _received_amount(value: Any) -> Any:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return int(value)
    return value


#: integer VND as the platform sends it: a JSON integer or a string of digits (floats, signs and
#: booleans refused)
ReceivedAmount = Annotated[
    int, BeforeValidator(_received_amount), Field(strict=True, ge=0, le=10**15)
]
#: a code or reference: printable, no checksum separator
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^|\s]+$")]
#: free text we send: bounded, no checksum separator
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^|]*$")]
WireTime = Annotated[str, Field(pattern=r"^[0-9]{14}$")]
WireDay = Annotated[str, Field(pattern=r"^[0-9]{8}$")]
MaLoi = Literal["00", "01", "02", "03", "04"]
#: strings the platform sends: bounded
Received = Annotated[str, Field(max_length=512)]


def wire_time(moment: datetime) -> str:
    """``moment`` as ``ThoiGianGD`` (yyyyMMddHHmmss, Vietnam time); a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("a wire time needs a timezone-aware datetime")
    return wire_format(moment.astimezone(VIETNAM), "%Y%m%d%H%M%S")


def parse_wire_time(text: str) -> datetime:
    """A ``ThoiGianGD`` (yyyyMMddHHmmss, Vietnam time) as an aware datetime (ValueError when
    it is no real moment)."""
    if len(text) != 14 or not (text.isascii() and text.isdigit()):
        raise ValueError("not yyyyMMddHHmmss")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)


def wire_day(day: date) -> str:
    """``day`` as a statement's ``Ngay`` (yyyyMMdd)."""
    return wire_format(day, "%Y%m%d")


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Received(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChiTietBienLai(_Sent):
    """One fee line as the case system gives it (the bill look-up's lines, this project's
    profile)."""

    NoiDung: Text
    SoTien: Amount


#: a receipt's free text: bounded, no checksum separator, may be empty (the public senders send
#: "" for what they do not know)
Blank = Annotated[str, Field(max_length=500, pattern=r"^[^|]*$")]


class PhiLePhiLine(_Sent):
    """One fee of the receipt (``LoaiPhiLePhi`` "1" phí, "2" lệ phí; OpenCPS ``PayGateTerm``
    L101-107, PASETO ``PhiLePhiDetail``)."""

    LoaiPhiLePhi: Literal["1", "2"]
    MaPhiLePhi: Code
    TenPhiLePhi: Text
    SoTien: AmountText


class KhoanNopLine(_Sent):
    """One line of what is paid (``DSKhoanNop``; both senders: ``{NoiDung, SoTien}``)."""

    NoiDung: Text
    SoTien: AmountText


class ThongTinBienLai(_Sent):
    """The receipt, with every field PASETO's ``ThongTinBienLaiDvcPayment`` sends (OpenCPS
    ``createReceiptInfo`` sends the same set): the service (``MaDichVu`` "2": phí, lệ phí),
    the public service and procedure, the agency, the dossier, the beneficiary, the payer, the
    fee lines; the fields of a fine (``MaDichVu`` 1) are sent empty, as both senders do."""

    MaDichVu: Literal["2"] = "2"
    MaDVC: Code
    TenDVC: Blank = ""
    MaTTHC: Code
    TenTTHC: Blank = ""
    MaDonVi: Blank = ""
    TenDonVi: Blank = ""
    MaHoSo: Code
    TKThuHuong: Code
    MaNHThuHuong: Code
    TenTKThuHuong: Text
    MaLoaiHinhThuPhat: Blank = ""
    TenLoaiHinhThuPhat: Blank = ""
    MaCoQuanQD: Blank = ""
    TenCoQuanQD: Blank = ""
    KhoBac: Blank = ""
    NgayQD: Blank = ""
    SoQD: Blank = ""
    ThoiGianViPham: Blank = ""
    DiaDiemViPham: Blank = ""
    TenNguoiViPham: Blank = ""
    TaiKhoanThuNSNN: Blank = ""
    NoiDungThanhToan: Text
    HoTenNguoiNop: Blank = ""
    SoCMNDNguoiNop: Blank = ""
    DiaChiNguoiNop: Blank = ""
    HuyenNguoiNop: Blank = ""
    TinhNguoiNop: Blank = ""
    PhiLePhi: list[PhiLePhiLine] = Field(min_length=1, max_length=50)
    DSKhoanNop: list[KhoanNopLine] = Field(min_length=1, max_length=50)


class InitRequest(_Sent):
    """INIT: create a payment. ``MaDoiTac`` and ``MaXacThuc`` are filled in by the client.
    Defaults are PASETO's (``InitDvcPaymentRequest.cs`` constructor: ``MaKenhThanhToan`` "1",
    ``MaThietBi`` "1", ``NgonNgu`` "vi-VN", ``MaNganHang`` "PAYMENT")."""

    LoaiBanTin: Literal["INIT"] = "INIT"
    PhienBan: Literal["1.0.6"] = PHIEN_BAN
    MaDoiTac: str = Field("", max_length=64, pattern=r"^[^|]*$")
    MaThamChieu: Code
    SoTien: AmountText
    LoaiHinhThanhToan: Literal["PAY"] = "PAY"
    MaKenhThanhToan: Code = "1"
    MaThietBi: Code = "1"
    NgonNgu: Literal["vi-VN", "en-US"] = "vi-VN"
    MaTienTe: Literal["VND"] = "VND"
    MaNganHang: str = Field("PAYMENT", max_length=64, pattern=r"^[^|\s]*$")
    ThongTinGiaoDich: Text
    ThoiGianGD: WireTime
    Ip: str = Field(min_length=2, max_length=45, pattern=r"^[0-9A-Fa-f.:]+$")
    ThongTinBienLai: ThongTinBienLai
    MaXacThuc: str = Field("", max_length=128)

    @model_validator(mode="after")
    def _lines_add_up(self) -> InitRequest:
        total = int(self.SoTien)
        if total <= 0:
            raise ValueError("SoTien must be positive")
        if sum(int(line.SoTien) for line in self.ThongTinBienLai.DSKhoanNop) != total:
            raise ValueError("SoTien is not the sum of ThongTinBienLai.DSKhoanNop[].SoTien")
        if sum(int(line.SoTien) for line in self.ThongTinBienLai.PhiLePhi) != total:
            raise ValueError("SoTien is not the sum of ThongTinBienLai.PhiLePhi[].SoTien")
        return self


class QueryRequest(_Sent):
    """QUERY: the state of one payment."""

    LoaiBanTin: Literal["QUERY"] = "QUERY"
    PhienBan: Literal["1.0.6"] = PHIEN_BAN
    MaDoiTac: Code
    MaThamChieu: Code
    ThoiGianGD: WireTime
    MaXacThuc: str = Field("", max_length=128)


class Envelope(_Received):
    """An answer in the ``error_code`` form: "0" with a ``message`` (an object, or a JSON text
    to be parsed again), or a code and its text."""

    error_code: str = Field(min_length=1, max_length=16)
    message: Any = None


class InitResult(_Received):
    UrlThanhToan: str = Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$")
    MaThamChieu: Received | None = None


class InitAnswer(_Received):
    """INIT's answer once read (:func:`init_result`)."""

    error_code: Literal["0"]
    message: InitResult


def init_result(raw: dict[str, Any]) -> dict[str, Any]:
    """INIT's answer in one shape, ``{"error_code", "message": {...}}``, whichever public shape
    it came in: ``message`` as an object or as a JSON text (PASETO), or flat with ``MaLoi``
    (OpenCPS: "00" answered, else its ``MoTaLoi``). A ``message`` text that is not JSON is
    left as it is (a refusal's text)."""
    if "error_code" not in raw and "MaLoi" in raw:
        code = raw.get("MaLoi")
        if code == "00":
            return {"error_code": "0", "message": raw}
        return {"error_code": code, "message": raw.get("MoTaLoi")}
    message = raw.get("message")
    if isinstance(message, str) and message.lstrip().startswith("{"):
        try:
            parsed = json.loads(message)
        except ValueError:
            return raw
        if isinstance(parsed, dict):
            return {**raw, "message": parsed}
    return raw


class QueryAnswer(_Received):
    """QUERY's answer, flat (PASETO ``ConfirmDvcPaymentResponse``): ``MaLoi`` "00" answered
    (anything else is a refusal, ``MoTaLoi`` its text), ``TrangThaiGD`` the payment's state
    (:data:`TRANG_THAI_GD`)."""

    MaLoi: Received
    MoTaLoi: Received | None = None
    MaThamChieu: Received | None = None
    MaGiaoDich: Received | None = None
    SoTien: ReceivedAmount | None = None
    MaTienTe: Received | None = None
    MaNganHang: Received | None = None
    ThoiGianGD: Received | None = None
    ThongTinGiaoDich: Received | None = None
    TrangThaiGD: Received | None = None


class QueryResult(_Received):
    """What a QUERY said of a payment, as the callback's vocabulary: ``MaLoi`` "00" paid, "01"
    still pending, "02" failed (:data:`TRANG_THAI_GD`)."""

    MaLoi: MaLoi
    MaThamChieu: Received
    MaGiaoDich: Received = ""
    SoTien: ReceivedAmount
    MaTienTe: Received
    MaNganHang: Received = ""
    ThoiGianGD: Received = ""


class Callback(_Received):
    """The platform's notice of a payment's outcome (POSTed to the partner). ``MaLoi`` "00" is
    paid; the other codes are read by :data:`CALLBACK_MA_LOI` (an unknown one: failed, as
    PASETO's ``ConfirmDvcPaymentCommandHandler`` reads it). ``SoTien`` may be a JSON integer
    (PASETO ``int SoTien``) or a string; the checksum covers it as sent."""

    LoaiBanTin: Received
    MaLoi: str = Field(min_length=1, max_length=8, pattern=r"^[0-9A-Za-z]+$")
    MaDoiTac: Received
    MaThamChieu: Received
    SoTien: ReceivedAmount
    MaTienTe: Received
    MaGiaoDich: Received
    MaNganHang: Received
    ThoiGianGD: WireTime
    ThongTinGiaoDich: Received
    MaXacThuc: str = Field(max_length=128)


class CallbackAck(_Sent):
    """The partner's answer to a callback, OpenCPS ``PayGateUtil.createResponseMessage``
    (L169-180): ``MaLoi`` "00" "Thành công", the partner, the reference, the time and the
    callback's own ``MaXacThuc`` echoed (OpenCPS and PASETO both echo it)."""

    MaLoi: Literal["00", "99"]
    MoTaLoi: str = Field(max_length=200)
    MaDoiTac: str = Field(max_length=64)
    MaThamChieu: str = Field(max_length=512)
    ThoiGianGD: str = Field(max_length=32)
    MaXacThuc: str = Field(max_length=128)


class StatementEntry(_Received):
    MaGiaoDich: Received
    MaThamChieu: Received
    SoTien: Amount
    MaTienTe: Received
    MaLoi: MaLoi
    ThoiGianGD: Received


class Statement(_Received):
    """The platform's transactions of one day."""

    Ngay: WireDay
    GiaoDich: list[StatementEntry] = Field(default_factory=list, max_length=100_000)


# --- the portal's reverse look-up: what does a dossier owe? (this project's profile) ----------


class BillRequest(_Received):
    """The portal asks what a dossier (``MaHoSo``) owes; signed like a callback."""

    LoaiBanTin: Literal["BILL"]
    PhienBan: Received
    MaDoiTac: Received
    MaHoSo: Code
    ThoiGianGD: WireTime
    MaXacThuc: str = Field(max_length=128)


class Bill(_Sent):
    """One bill: a payment the case system registered and nobody has paid yet."""

    MaThamChieu: Code
    MaDVC: Code
    MaTTHC: Code
    TKThuHuong: Code
    MaNHThuHuong: Code
    TenTKThuHuong: Text
    SoTien: Amount
    MaTienTe: Literal["VND"] = "VND"
    UrlThanhToan: str | None = Field(None, max_length=2048)
    ChiTiet: list[ChiTietBienLai] = Field(min_length=1, max_length=50)


class BillAnswer(_Sent):
    """The answer: the dossier's unpaid bills, or none ("nothing to pay": ``SoHoaDon`` 0).
    ``TongTien`` is their sum; ``MaXacThuc`` is filled in by the client."""

    LoaiBanTin: Literal["BILL"] = "BILL"
    MaDoiTac: Code
    MaHoSo: Code
    SoHoaDon: int = Field(strict=True, ge=0, le=1000)
    TongTien: Amount
    ThoiGianGD: WireTime
    ThongBao: Text
    HoaDon: list[Bill] = Field(max_length=1000)
    MaXacThuc: str = Field("", max_length=128)

    @model_validator(mode="after")
    def _totals(self) -> BillAnswer:
        if self.SoHoaDon != len(self.HoaDon):
            raise ValueError("SoHoaDon must be the number of bills")
        if self.TongTien != sum(bill.SoTien for bill in self.HoaDon):
            raise ValueError("TongTien must be the sum of the bills")
        return self
