"""Wire packets of the DVCQG online payment platform (Nền tảng thanh toán trực tuyến), version
1.0.6, with the platform's own field names.

Contracts:

* Money is integer VND everywhere (:data:`Amount`): a strict ``int`` >= 0. A float (even
  ``12.0``), a numeric string (``"12"``, ``"12.5"``) or a boolean is refused.
* What the gateway sends (:class:`InitRequest`, :class:`QueryRequest`) forbids unknown fields
  and bounds every string; free-text fields may not hold ``|``, the separator of the checksum
  (so no value can shift content into its neighbour's place).
* What the platform sends (answers, callbacks, statements) ignores fields it does not know
  (unsigned, so never used), and bounds every string.
* ``ThoiGianGD`` is ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (:func:`wire_time`); ``Ngay`` of a
  statement is ``yyyyMMdd``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CALLBACK_MA_LOI",
    "Amount",
    "Bill",
    "BillAnswer",
    "BillRequest",
    "Callback",
    "ChiTietBienLai",
    "Envelope",
    "InitAnswer",
    "InitRequest",
    "InitResult",
    "QueryAnswer",
    "QueryRequest",
    "QueryResult",
    "Statement",
    "StatementEntry",
    "ThongTinBienLai",
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

#: integer VND: floats, numeric strings and booleans refused
Amount = Annotated[int, Field(strict=True, ge=0, le=10**15)]
#: a code or reference: printable, no checksum separator
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^|\s]+$")]
#: free text we send: bounded, no checksum separator
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^|]*$")]
WireTime = Annotated[str, Field(pattern=r"^\d{14}$")]
WireDay = Annotated[str, Field(pattern=r"^\d{8}$")]
MaLoi = Literal["00", "01", "02", "03", "04"]
#: strings the platform sends: bounded
Received = Annotated[str, Field(max_length=512)]


def wire_time(moment: datetime) -> str:
    """``moment`` as ``ThoiGianGD`` (yyyyMMddHHmmss, Vietnam time); a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("a wire time needs a timezone-aware datetime")
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def parse_wire_time(text: str) -> datetime:
    """A ``ThoiGianGD`` (yyyyMMddHHmmss, Vietnam time) as an aware datetime (ValueError when
    it is no real moment)."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError("not yyyyMMddHHmmss")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)


def wire_day(day: date) -> str:
    """``day`` as a statement's ``Ngay`` (yyyyMMdd)."""
    return day.strftime("%Y%m%d")


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Received(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChiTietBienLai(_Sent):
    """One fee line of the receipt."""

    NoiDung: Text
    SoTien: Amount


class ThongTinBienLai(_Sent):
    """The receipt: which service, procedure and dossier, the beneficiary, the fee lines."""

    MaDVC: Code
    MaTTHC: Code
    MaHoSo: Code
    TKThuHuong: Code
    MaNHThuHuong: Code
    TenTKThuHuong: Text
    ChiTiet: list[ChiTietBienLai] = Field(min_length=1, max_length=50)


class InitRequest(_Sent):
    """INIT: create a payment. ``MaDoiTac`` and ``MaXacThuc`` are filled in by the client."""

    LoaiBanTin: Literal["INIT"] = "INIT"
    PhienBan: Literal["1.0.6"] = PHIEN_BAN
    MaDoiTac: str = Field("", max_length=64, pattern=r"^[^|]*$")
    MaThamChieu: Code
    SoTien: Amount
    LoaiHinhThanhToan: Literal["PAY"] = "PAY"
    MaKenhThanhToan: Code
    MaThietBi: Code
    NgonNgu: Literal["vi", "en"] = "vi"
    MaTienTe: Literal["VND"] = "VND"
    MaNganHang: str = Field("", max_length=64, pattern=r"^[^|\s]*$")
    ThongTinGiaoDich: Text
    ThoiGianGD: WireTime
    Ip: str = Field(min_length=2, max_length=45, pattern=r"^[0-9A-Fa-f.:]+$")
    ThongTinBienLai: ThongTinBienLai
    MaXacThuc: str = Field("", max_length=128)

    @model_validator(mode="after")
    def _lines_add_up(self) -> InitRequest:
        total = sum(line.SoTien for line in self.ThongTinBienLai.ChiTiet)
        if total != self.SoTien:
            raise ValueError("SoTien is not the sum of ThongTinBienLai.ChiTiet[].SoTien")
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
    """Every answer: ``error_code`` "0" with a ``message`` object, or a code and its text."""

    error_code: str = Field(min_length=1, max_length=16)
    message: Any = None


class InitResult(_Received):
    UrlThanhToan: str = Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$")
    MaThamChieu: Received


class InitAnswer(_Received):
    error_code: Literal["0"]
    message: InitResult


class QueryResult(_Received):
    MaLoi: MaLoi
    MaThamChieu: Received
    MaGiaoDich: Received = ""
    SoTien: Amount
    MaTienTe: Received
    MaNganHang: Received = ""
    ThoiGianGD: Received = ""


class QueryAnswer(_Received):
    error_code: Literal["0"]
    message: QueryResult


class Callback(_Received):
    """The platform's notice of a payment's outcome (POSTed to the partner)."""

    LoaiBanTin: Literal["PAYMENT"]
    MaLoi: MaLoi
    MaDoiTac: Received
    MaThamChieu: Received
    SoTien: Amount
    MaTienTe: Received
    MaGiaoDich: Received
    MaNganHang: Received
    ThoiGianGD: WireTime
    ThongTinGiaoDich: Received
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
