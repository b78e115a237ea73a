"""The payment-platform simulator's wire vocabulary: field orders, codes, checksums, checks.

What the platform accepts and answers, as the public callers show it (OpenCPS
``PayGateIntegrationActionImpl`` / ``PayGateUtil``, PASETO ``DvcPaymentService.cs``,
``InitDvcPaymentRequest.cs``, ``ConfirmDvcPaymentCommand.cs``; see ``tests/golden/payment/
SOURCES.md``): amounts arrive as JSON strings (both senders: ``SoTien`` of INIT and of
``DSKhoanNop``) or numbers (OpenCPS's ``PhiLePhi[].SoTien``, ``MaDichVu``), so both are read;
the checksum covers the value as sent. A QUERY answer is flat, ``MaLoi`` "00" meaning "the
query was answered" and ``TrangThaiGD`` the payment's state (PASETO
``CheckConfirmGiaoDichThanhToanHandler.cs``: 1 paid, 3 pending, 4 failed).

Computed here independently of the connector's own checksum module (a simulator is a separate
model of the platform): fields joined by ``|``; ``sha256`` appends the shared secret and
hashes, ``hmac2`` is HMAC-SHA256 over the fields alone, keyed with ``send_key`` for what the
partner sends and ``verify_key`` for what the platform sends (callbacks).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

__all__ = [
    "BILL_ANSWER_FIELDS",
    "BILL_FIELDS",
    "CALLBACK_FIELDS",
    "INIT_FIELDS",
    "MAX_AMOUNT",
    "QUERY_FIELDS",
    "RECEIPT_FIELDS",
    "RECEIPT_PRESENT",
    "STATEMENT_FIELDS",
    "STATUS_CODE",
    "TRANG_THAI_GD",
    "VN",
    "VOLATILE",
    "MaLoi",
    "Refusal",
    "Status",
    "Variant",
    "amount_field",
    "amount_sent",
    "checksum",
    "now_text",
    "text_field",
    "timestamp_field",
]


VN = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
Variant = Literal["sha256", "hmac2"]
MaLoi = Literal["00", "01", "02", "03", "04"]
Status = Literal["pending", "paid", "failed", "cancelled", "expired"]

INIT_FIELDS = (
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
)
QUERY_FIELDS = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD")
CALLBACK_FIELDS = (
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
STATEMENT_FIELDS = ("Ngay", "MaDoiTac")
BILL_FIELDS = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaHoSo", "ThoiGianGD")
BILL_ANSWER_FIELDS = ("LoaiBanTin", "MaDoiTac", "MaHoSo", "SoHoaDon", "TongTien", "ThoiGianGD")
BILL_LINE_FIELDS = ("MaThamChieu", "MaDVC", "MaTTHC", "TKThuHuong", "MaNHThuHuong", "SoTien")
#: ThongTinBienLai fields that must be non-empty strings for MaDichVu 2 (fees; OpenCPS marks them
#: "bb khi madichvu = 2", mandatory when the service is fees)
RECEIPT_FIELDS = ("MaDVC", "MaTTHC", "MaHoSo", "TKThuHuong", "MaNHThuHuong", "TenTKThuHuong")
#: ThongTinBienLai fields both public senders always send, possibly empty (OpenCPS: "bb")
RECEIPT_PRESENT = (
    "MaDonVi",
    "TenDonVi",
    "NoiDungThanhToan",
    "HoTenNguoiNop",
    "SoCMNDNguoiNop",
    "DiaChiNguoiNop",
)
# not part of what makes two INITs "the same payment": a retry re-stamps them
VOLATILE = frozenset({"MaXacThuc", "ThoiGianGD", "Ip", "MaThietBi"})
STATUS_CODE: dict[Status, MaLoi] = {
    "paid": "00",
    "pending": "01",
    "failed": "02",
    "cancelled": "03",
    "expired": "04",
}
#: a payment's state as a QUERY answer's TrangThaiGD (PASETO: 1 paid, 3 pending, 4 failed; the
#: platform publishes no code of its own for a cancelled or expired payment: 4)
TRANG_THAI_GD: dict[Status, str] = {
    "paid": "1",
    "pending": "3",
    "failed": "4",
    "cancelled": "4",
    "expired": "4",
}
MAX_AMOUNT = 10**13
"""Amounts above this (VND) are refused as invalid (code 04)."""


def now_text() -> str:
    """The current time as the platform writes it: yyyyMMddHHmmss, Asia/Ho_Chi_Minh."""
    return datetime.now(UTC).astimezone(VN).strftime("%Y%m%d%H%M%S")


def checksum(values: list[str], variant: Variant, *, secret: str, key: str) -> str:
    """MaXacThuc over ``values`` (already in the packet's field order)."""
    joined = "|".join(values)
    if variant == "sha256":
        return hashlib.sha256(f"{joined}|{secret}".encode()).hexdigest()
    return hmac.new(key.encode(), joined.encode(), hashlib.sha256).hexdigest()


class Refusal(Exception):
    """A packet refused with a platform ``error_code`` and message text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text_field(packet: dict[str, Any], name: str, *, max_length: int = 255) -> str:
    value = packet.get(name)
    if not isinstance(value, str) or len(value) > max_length:
        raise Refusal("04", f"{name} must be a string of at most {max_length} characters")
    return value


def amount_field(value: Any, name: str) -> int:
    # bool is an int in Python; floats (1000.0) and strings are refused, never coerced
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise Refusal("04", f"{name} must be a positive integer amount in VND")
    return value


def amount_sent(value: Any, name: str) -> tuple[int, str]:
    """An amount as a sender wrote it: a JSON string of digits (``"50000"``, what both public
    senders put in ``SoTien``) or an integer; ``(amount, text)``, the text being what the
    checksum covers. Floats, signs, spaces, booleans and zero are refused."""
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > 14 or value.startswith("0"):
            raise Refusal("04", f"{name} must be a positive amount in VND")
        return int(value), value
    return amount_field(value, name), str(value)


def timestamp_field(value: str, name: str, fmt: str = "%Y%m%d%H%M%S") -> None:
    width = 14 if fmt == "%Y%m%d%H%M%S" else 8
    try:
        if len(value) != width or not value.isdigit():
            raise ValueError(value)
        datetime.strptime(value, fmt)
    except ValueError:
        shape = "yyyyMMddHHmmss" if width == 14 else "yyyyMMdd"
        raise Refusal("04", f"{name} must be {shape}") from None
