"""DVCQG (Cổng Dịch vụ công quốc gia) wire packets as pydantic v2 models.

The attribute names are the platform's own field names (PascalCase, upper case in the
catalogue answers, lower case in the auth and envelope fields), so ``model_dump()`` is the
exact JSON the platform reads and ``model_validate()`` reads exactly what it sends. The
field list follows the national data-packet standard (Thông tư 18/2019/TT-BTTTT) as seen in
public one-stop systems; see ``/work/shared/reference/national-platforms.md``.

Contracts:

* Packets we *send* (:class:`WirePacket` subclasses) forbid unknown fields: a typo in a
  mapping must fail here, not be silently dropped by the platform.
* Answers we *receive* (:class:`WireAnswer` subclasses) ignore unknown fields: the platform
  adds fields over time and that must not break the gateway.
* Wire datetimes are ``yyyyMMddHHmmss`` in local (Asia/Ho_Chi_Minh) time, and must be a real
  calendar datetime. Because the format is fixed-width, string order is time order.
* ``error_code`` is normalised to ``str`` in every answer: the platform sends both ``0``
  and ``"0"`` depending on the service.

This module is pure pydantic and imports nothing from ``gateway``, so the simulator, the
connector and the schema exporter can all share it.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "AGENCY_CODE_PATTERN",
    "CITIZEN_PUSH_ADAPTER",
    "MA_HO_SO_PATTERN",
    "MA_TTHC_PATTERN",
    "SERVICE_REQUEST_ADAPTER",
    "WIRE_DATETIME_FORMAT",
    "WIRE_DATETIME_PATTERN",
    "AgencyCode",
    "AuthAnswer",
    "AuthRequest",
    "CachThucThucHien",
    "CapNhatTienDoHoSoMCRequest",
    "CauHoi",
    "CitizenPush",
    "DanhGia",
    "DinhDanhCHS",
    "DongBoHoSoMCRequest",
    "DongBoHoiDapRequest",
    "DongBoKetQuaKhoRequest",
    "DongBoTraLoiPhanAnhRequest",
    "ErrorCode",
    "GiayToKetQua",
    "GuiDanhGia",
    "GuiHoSoTrucTuyen",
    "GuiHoiDap",
    "GuiPhanAnhKienNghi",
    "HoSoBoSung",
    "HoSoMC",
    "HoSoTraCuu",
    "HoSoTrucTuyen",
    "KetQuaKhoDuLieu",
    "KetQuaNhan",
    "LayDanhSachHoSoTrucTuyenAnswer",
    "LayDanhSachHoSoTrucTuyenRequest",
    "LayDanhSachMucMoiAnswer",
    "LayDanhSachMucMoiRequest",
    "LayDanhSachTTHCAnswer",
    "LayDanhSachTTHCRequest",
    "LayThuTucAnswer",
    "LayThuTucRequest",
    "LePhi",
    "LinhVucThucHien",
    "LoaiMuc",
    "MaHoSoStr",
    "MaTTHCStr",
    "PhanAnhKienNghi",
    "QuaTrinhXuLy",
    "ServiceAnswer",
    "ServiceName",
    "ServiceRequest",
    "TaiLieuNop",
    "TepDinhKemKhac",
    "TepHoSoTrucTuyen",
    "ThanhPhanHoSo",
    "ThuTuc",
    "ThuTucTomTat",
    "TraCuuHoSoAnswer",
    "TraCuuHoSoRequest",
    "TraLoi",
    "WireAnswer",
    "WireDateTime",
    "WirePacket",
    "XacNhanHoSo",
    "XacNhanHoSoTrucTuyenRequest",
    "XacNhanMuc",
    "XacNhanMucRequest",
]

WIRE_DATETIME_PATTERN = r"^\d{14}$"
"""``yyyyMMddHHmmss``, local time."""
WIRE_DATETIME_FORMAT = "%Y%m%d%H%M%S"
AGENCY_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
"""Agency code (mã định danh cơ quan), e.g. ``000.00.01.H22``."""
MA_HO_SO_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$"
"""Dossier code: agency code, ``yyMMdd``, sequence, e.g. ``000.00.01.H22-240105-0007``."""
MA_TTHC_PATTERN = r"^[1-3]\.\d{6}(\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?$"
"""Procedure code, national (``1.001776``) or with a local agency suffix
(``2.000477.000.00.00.H56``)."""


def _check_calendar(value: str) -> str:
    # the regex only proves 14 digits; 20240230120000 must still be refused
    try:
        datetime.strptime(value, WIRE_DATETIME_FORMAT)
    except ValueError:
        raise ValueError(f"not a real date and time in yyyyMMddHHmmss: {value!r}") from None
    return value


def _error_code_to_str(value: Any) -> Any:
    # bool is an int subclass but never a valid code: leave it for str validation to refuse
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


WireDateTime = Annotated[
    str, StringConstraints(pattern=WIRE_DATETIME_PATTERN), AfterValidator(_check_calendar)
]
"""A wire datetime: ``yyyyMMddHHmmss`` (local time) that is a real calendar datetime."""
AgencyCode = Annotated[str, StringConstraints(pattern=AGENCY_CODE_PATTERN)]
MaHoSoStr = Annotated[str, StringConstraints(pattern=MA_HO_SO_PATTERN)]
MaTTHCStr = Annotated[str, StringConstraints(pattern=MA_TTHC_PATTERN)]
ErrorCode = Annotated[str, BeforeValidator(_error_code_to_str)]
"""The platform's ``error_code``; ints are normalised to their decimal string."""
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
ServiceName = Literal[
    "DongBoHoSoMC",
    "CapNhatTienDoHoSoMC",
    "TraCuuHoSo",
    "LayDanhSachTTHC",
    "LayThuTuc",
    "LayDanhSachHoSoTrucTuyen",
    "XacNhanHoSoTrucTuyen",
    "LayDanhSachMucMoi",
    "XacNhanMuc",
    "DongBoTraLoiPhanAnh",
    "DongBoHoiDap",
    "DongBoKetQuaKho",
]
TrangThai = Annotated[int, Field(ge=1, le=10)]
Flag01 = Annotated[int, Field(ge=0, le=1)]


class WirePacket(BaseModel):
    """Base of every packet the gateway sends: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class WireAnswer(BaseModel):
    """Base of every answer the platform sends: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False)


# --- dossier packet parts -------------------------------------------------------------------


class DinhDanhCHS(WirePacket):
    """An identifier of the dossier owner (định danh chủ hồ sơ)."""

    LoaiDinhDanh: int
    SoDinhDanh: str


class TaiLieuNop(WirePacket):
    """A submitted document (tài liệu nộp)."""

    TepDinhKemId: str
    TenTepDinhKem: str
    IsDeleted: bool = False
    MaThanhPhanHoSo: str | None = None
    DuongDanTaiTepTin: str | None = None


class LePhi(WirePacket):
    """A fee or charge (phí, lệ phí). ``Gia`` is whole VND: floats and strings are refused."""

    TenPhiLePhi: str
    MaPhiLePhi: str | None = None
    HinhThucThu: int
    Gia: Annotated[int, Field(strict=True, ge=0)]
    LoaiPhiLePhi: int


class TepDinhKemKhac(WirePacket):
    """Another paper attached to the dossier."""

    TenGiayTo: str
    SoLuong: Annotated[int, Field(ge=1)]
    LoaiGiayTo: int | None = None


class HoSoBoSung(WirePacket):
    """A supplement request (yêu cầu bổ sung hồ sơ)."""

    HoSoBoSungId: str
    NguoiYeuCauBoSung: str
    NoiDungBoSung: str
    NgayBoSung: WireDateTime
    NgayHenTraTruoc: WireDateTime | None = None
    NgayHenTraMoi: WireDateTime | None = None


class GiayToKetQua(WirePacket):
    """A result document (giấy tờ kết quả)."""

    TenGiayTo: str
    MaThanhPhanHoSo: str | None = None
    GiayToId: str
    DuongDanTepTinKetQua: str


# Aliases: a field named like its item class would otherwise resolve to its own default
_DinhDanhCHSList = list[DinhDanhCHS]
_TaiLieuNopList = list[TaiLieuNop]


class HoSoMC(WirePacket):
    """The one-stop dossier packet (hồ sơ một cửa) sent by ``DongBoHoSoMC``.

    Cross-field rules (each refused on the field that is wrong, so the path names it):
    ``NgayHenTra >= NgayTiepNhan``; ``TrangThaiHoSo`` 10 (result returned) requires
    ``NgayTra``; ``TrangThaiHoSo`` 3 (not received) requires ``NgayTuChoi``.
    """

    # Required fields come first: the cross-field validators below read earlier fields
    # from ``info.data``, which only holds fields declared (and validated) before them.
    MaHoSo: MaHoSoStr
    MaTTHC: MaTTHCStr
    TenTTHC: NonEmptyStr
    MaLinhVuc: NonEmptyStr
    TenLinhVuc: str
    KenhThucHien: Annotated[int, Field(ge=1, le=3)]
    """1 in person, 2 online, 3 postal."""
    SoGiayToChuHoSo: NonEmptyStr
    LoaiDoiTuong: Annotated[int, Field(ge=1, le=4)]
    """1 citizen, 2 business, 3 state agency, 4 other."""
    SoDienThoai: Annotated[str, StringConstraints(pattern=r"^\+?\d{9,15}$")]
    TrichYeuHoSo: NonEmptyStr
    NgayTiepNhan: WireDateTime
    NgayHenTra: WireDateTime
    TrangThaiHoSo: TrangThai
    DonViXuLy: NonEmptyStr
    HinhThuc: int = 0

    SoBienNhan: str | None = None
    ChuHoSo: str | None = None
    MaDoiTuong: str | None = None
    ThongTinKhac: str | None = None
    Email: str | None = None
    Fax: str | None = None
    # validate_default so the status rules run even when the date is simply absent
    NgayTra: WireDateTime | None = Field(default=None, validate_default=True)
    ThongTinTra: str | None = None
    NgayKetThucXuLy: WireDateTime | None = None
    GhiChu: str | None = None
    NoiNopHoSo: str | None = None
    HoSoCoThanhPhanSoHoa: Flag01 | None = None
    TaiKhoanDuocXacThucVoiVNeID: Flag01 | None = None
    DuocThanhToanTrucTuyen: Annotated[int, Field(ge=0, le=2)] | None = None
    NgayTuChoi: WireDateTime | None = Field(default=None, validate_default=True)
    NgayNopHoSo: WireDateTime | None = None

    DinhDanhCHS: _DinhDanhCHSList = Field(default_factory=list)
    TaiLieuNop: _TaiLieuNopList = Field(default_factory=list)
    DanhSachLePhi: list[LePhi] = Field(default_factory=list)
    DanhSachTepDinhKemKhac: list[TepDinhKemKhac] = Field(default_factory=list)
    DanhSachHoSoBoSung: list[HoSoBoSung] = Field(default_factory=list)
    DanhSachGiayToKetQua: list[GiayToKetQua] = Field(default_factory=list)

    @field_validator("NgayHenTra")
    @classmethod
    def _due_not_before_received(cls, value: str, info: ValidationInfo) -> str:
        received = info.data.get("NgayTiepNhan")
        # absent when NgayTiepNhan itself failed: that error is already reported
        if received is not None and value < received:
            raise ValueError(
                f"NgayHenTra ({value}) must not be earlier than NgayTiepNhan ({received})"
            )
        return value

    @field_validator("NgayTra")
    @classmethod
    def _returned_needs_date(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("TrangThaiHoSo") == 10:
            raise ValueError("NgayTra is required when TrangThaiHoSo is 10 (result returned)")
        return value

    @field_validator("NgayTuChoi")
    @classmethod
    def _refused_needs_date(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("TrangThaiHoSo") == 3:
            raise ValueError("NgayTuChoi is required when TrangThaiHoSo is 3 (not received)")
        return value


class QuaTrinhXuLy(WirePacket):
    """A processing step (quá trình xử lý) sent by ``CapNhatTienDoHoSoMC``."""

    MaHoSo: MaHoSoStr
    NguoiXuLy: str
    ChucDanh: str | None = None
    ThoiDiemXuLy: WireDateTime
    PhongBanXuLy: str
    NoiDungXuLy: str
    TrangThai: TrangThai
    NgayBatDau: WireDateTime | None = None
    NgayKetThucTheoQuyDinh: WireDateTime | None = None


# --- authentication -------------------------------------------------------------------------


class AuthRequest(WirePacket):
    """Body of the adapter's auth call; the caller's agency code travels in a header."""

    username: str
    password: str


class AuthAnswer(WireAnswer):
    """Auth answer: ``error_code`` "0" with a ``session``, anything else is a refusal."""

    session: str | None = None
    error_code: ErrorCode
    message: str | None = None


# --- requests to the single integration endpoint --------------------------------------------


class _ServiceRequestBase(WirePacket):
    session: str
    madonvi: AgencyCode


class DongBoHoSoMCRequest(_ServiceRequestBase):
    """Create (``isUpdating`` false) or update (true) up to 50 dossiers."""

    service: Literal["DongBoHoSoMC"] = "DongBoHoSoMC"
    isUpdating: bool
    data: Annotated[list[HoSoMC], Field(min_length=1, max_length=50)]


class CapNhatTienDoHoSoMCRequest(_ServiceRequestBase):
    """Send up to 10 processing steps (the platform's observed chunk size)."""

    service: Literal["CapNhatTienDoHoSoMC"] = "CapNhatTienDoHoSoMC"
    data: Annotated[list[QuaTrinhXuLy], Field(min_length=1, max_length=10)]


class TraCuuHoSoRequest(_ServiceRequestBase):
    """Look a dossier up by its code."""

    service: Literal["TraCuuHoSo"] = "TraCuuHoSo"
    MaHoSo: MaHoSoStr


class LayDanhSachTTHCRequest(_ServiceRequestBase):
    """List the procedure catalogue."""

    service: Literal["LayDanhSachTTHC"] = "LayDanhSachTTHC"


class LayThuTucRequest(_ServiceRequestBase):
    """Fetch one procedure in full."""

    service: Literal["LayThuTuc"] = "LayThuTuc"
    MaTTHC: MaTTHCStr


# --- online dossiers from the portal (this project's profile: the reference names the
# dossier fields, not the envelope of their transfer) -----------------------------------------

SafeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
KetQuaNhan = Literal["accepted", "duplicate", "stale", "conflict", "rejected"]
"""What the gateway made of a received online dossier (sent back in the acknowledgement)."""


class TepHoSoTrucTuyen(WireAnswer):
    """A document of an online dossier, held on the portal's file server (``DuongDan``);
    ``KichThuoc`` is its declared size in bytes, ``MaBam`` its SHA-256 (lower hex) if given."""

    TepDinhKemId: SafeId
    TenTepDinhKem: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    MaThanhPhanHoSo: Annotated[str, StringConstraints(max_length=64)] | None = None
    DuongDanTaiTepTin: Annotated[
        str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)
    ]
    KichThuoc: Annotated[int, Field(strict=True, ge=0)]
    MaBam: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


_TepHoSoTrucTuyenList = list[TepHoSoTrucTuyen]


class HoSoTrucTuyen(WireAnswer):
    """A dossier a citizen submitted on the national portal (seed 003 Điều 12), one version
    of it: ``PhienBan`` grows each time the citizen changes it (a supplement, a correction)."""

    MaHoSo: MaHoSoStr
    PhienBan: Annotated[int, Field(strict=True, ge=1, le=10_000)]
    MaTTHC: MaTTHCStr
    TenTTHC: NonEmptyStr
    MaCoQuan: AgencyCode
    ChuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    SoGiayToChuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    LoaiDoiTuong: Annotated[int, Field(ge=1, le=4)]
    MaDoiTuong: Annotated[str, StringConstraints(max_length=64)] | None = None
    SoDienThoai: Annotated[str, StringConstraints(pattern=r"^\+?\d{9,15}$")]
    Email: Annotated[str, StringConstraints(max_length=254)] | None = None
    DiaChi: Annotated[str, StringConstraints(max_length=500)] | None = None
    TrichYeuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    NgayNopHoSo: WireDateTime
    TaiKhoanDuocXacThucVoiVNeID: Flag01 = 0
    DuocThanhToanTrucTuyen: Annotated[int, Field(ge=0, le=2)] = 0
    TaiLieuNop: Annotated[_TepHoSoTrucTuyenList, Field(max_length=50)] = Field(default_factory=list)
    DanhSachLePhi: Annotated[list[LePhi], Field(max_length=50)] = Field(default_factory=list)


_HoSoTrucTuyenList = list[HoSoTrucTuyen]


class GuiHoSoTrucTuyen(WireAnswer):
    """What the portal pushes to ``/callbacks/dvcqg/dossiers``: up to 50 online dossiers for
    the province (``madonvi``), signed with the push secret (Standard Webhooks headers)."""

    service: Literal["GuiHoSoTrucTuyen"]
    madonvi: AgencyCode
    data: Annotated[_HoSoTrucTuyenList, Field(min_length=1, max_length=50)]


class LayDanhSachHoSoTrucTuyenRequest(_ServiceRequestBase):
    """Pull: the online dossiers the portal holds for the province, not yet acknowledged."""

    service: Literal["LayDanhSachHoSoTrucTuyen"] = "LayDanhSachHoSoTrucTuyen"
    SoLuong: Annotated[int, Field(ge=1, le=50)] = 50


class XacNhanHoSo(WirePacket):
    """The acknowledgement of one received version: sent only once it is durably stored."""

    MaHoSo: MaHoSoStr
    PhienBan: Annotated[int, Field(ge=1, le=10_000)]
    KetQua: KetQuaNhan


class XacNhanHoSoTrucTuyenRequest(_ServiceRequestBase):
    """Acknowledge pulled online dossiers (the portal stops offering them)."""

    service: Literal["XacNhanHoSoTrucTuyen"] = "XacNhanHoSoTrucTuyen"
    data: Annotated[list[XacNhanHoSo], Field(min_length=1, max_length=50)]


# --- feedback, ratings and questions from the portal (this project's profile) ---------------

Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Text10k = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?\d{9,15}$")]
LoaiMuc = Literal["PhanAnhKienNghi", "DanhGia", "HoiDap"]
"""The kinds of what citizens send through the portal besides dossiers."""


class PhanAnhKienNghi(WireAnswer):
    """Feedback or a complaint (phản ánh, kiến nghị; seed 003 Điều 15, seed 004 Điều 27):
    answered within 10 working days, and published when the citizen agrees."""

    MaPhanAnh: SafeId
    MaCoQuan: AgencyCode
    TieuDe: Text500
    NoiDung: Text10k
    NguoiGui: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    SoDienThoai: Phone | None = None
    Email: Annotated[str, StringConstraints(max_length=254)] | None = None
    MaHoSo: MaHoSoStr | None = None
    NgayGui: WireDateTime
    DongYCongKhai: Flag01 = 0


class DanhGia(WireAnswer):
    """A rating of how a dossier was handled (seed 004 Điều 26), for the agency and, when
    named, the officer: ``MucDo`` 1 very satisfied, 2 satisfied, 3 not satisfied."""

    MaDanhGia: SafeId
    MaHoSo: MaHoSoStr
    MaCoQuan: AgencyCode
    MaCanBo: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    MucDo: Annotated[int, Field(strict=True, ge=1, le=3)]
    NoiDung: Annotated[str, StringConstraints(max_length=2000)] | None = None
    NgayDanhGia: WireDateTime


class CauHoi(WireAnswer):
    """A question (hỏi đáp) about a procedure or a field, answered back (``DongBoHoiDap``)."""

    MaCauHoi: SafeId
    MaCoQuan: AgencyCode
    MaLinhVuc: Annotated[str, StringConstraints(max_length=64)] | None = None
    TieuDe: Text500
    NoiDung: Text10k
    NguoiHoi: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    Email: Annotated[str, StringConstraints(max_length=254)] | None = None
    NgayHoi: WireDateTime


class GuiPhanAnhKienNghi(WireAnswer):
    service: Literal["GuiPhanAnhKienNghi"]
    madonvi: AgencyCode
    data: Annotated[list[PhanAnhKienNghi], Field(min_length=1, max_length=50)]


class GuiDanhGia(WireAnswer):
    service: Literal["GuiDanhGia"]
    madonvi: AgencyCode
    data: Annotated[list[DanhGia], Field(min_length=1, max_length=50)]


class GuiHoiDap(WireAnswer):
    service: Literal["GuiHoiDap"]
    madonvi: AgencyCode
    data: Annotated[list[CauHoi], Field(min_length=1, max_length=50)]


CitizenPush = Annotated[
    Union[GuiPhanAnhKienNghi, GuiDanhGia, GuiHoiDap],  # noqa: UP007
    Field(discriminator="service"),
]
"""What the portal pushes to ``/callbacks/dvcqg/citizens``, told apart by ``service``."""
CITIZEN_PUSH_ADAPTER: TypeAdapter[CitizenPush] = TypeAdapter(CitizenPush)


class LayDanhSachMucMoiRequest(_ServiceRequestBase):
    """Pull: feedback, ratings or questions (``Loai``) not yet acknowledged."""

    service: Literal["LayDanhSachMucMoi"] = "LayDanhSachMucMoi"
    Loai: LoaiMuc
    SoLuong: Annotated[int, Field(ge=1, le=50)] = 50


class XacNhanMuc(WirePacket):
    Ma: SafeId
    KetQua: KetQuaNhan


class XacNhanMucRequest(_ServiceRequestBase):
    """Acknowledge pulled items of one kind, once stored."""

    service: Literal["XacNhanMuc"] = "XacNhanMuc"
    Loai: LoaiMuc
    data: Annotated[list[XacNhanMuc], Field(min_length=1, max_length=50)]


class TraLoi(WirePacket):
    """An answer to feedback (``Ma`` = MaPhanAnh) or a question (``Ma`` = MaCauHoi)."""

    Ma: SafeId
    NoiDungTraLoi: Text10k
    CoQuanTraLoi: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    NgayTraLoi: WireDateTime
    CongKhai: Flag01


class DongBoTraLoiPhanAnhRequest(_ServiceRequestBase):
    """Send answers to feedback back to the portal, with their publication flag."""

    service: Literal["DongBoTraLoiPhanAnh"] = "DongBoTraLoiPhanAnh"
    data: Annotated[list[TraLoi], Field(min_length=1, max_length=50)]


class DongBoHoiDapRequest(_ServiceRequestBase):
    """Send answers to questions back to the portal (the ``DongBoHoiDap`` family)."""

    service: Literal["DongBoHoiDap"] = "DongBoHoiDap"
    data: Annotated[list[TraLoi], Field(min_length=1, max_length=50)]


# --- results to the citizen's electronic data store (this project's profile) ----------------


class KetQuaKhoDuLieu(WirePacket):
    """A result document for the citizen's data store (Kho quản lý dữ liệu điện tử; seed 002
    Điều 4.3, seed 004 Điều 14.2.c): its metadata, SHA-256 and content (base64). ``MaGiayTo``
    is the gateway's id of the result: the store keeps one document per id."""

    MaHoSo: MaHoSoStr
    MaGiayTo: SafeId
    SoDinhDanhChuSoHuu: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    HoTenChuSoHuu: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    TenGiayTo: Text500
    MaThanhPhanHoSo: Annotated[str, StringConstraints(max_length=64)] | None = None
    SoKyHieu: Annotated[str, StringConstraints(max_length=100)] | None = None
    NgayCap: WireDateTime
    CoQuanCap: Text500
    HieuLucDen: WireDateTime | None = None
    TenTep: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    DinhDang: Annotated[str, StringConstraints(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)]
    MaBam: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    DaKySo: Flag01
    NoiDungTep: Annotated[str, StringConstraints(min_length=4, max_length=40_000_000)]


class DongBoKetQuaKhoRequest(_ServiceRequestBase):
    """Send one result document to the citizen's data store on the portal."""

    service: Literal["DongBoKetQuaKho"] = "DongBoKetQuaKho"
    data: Annotated[list[KetQuaKhoDuLieu], Field(min_length=1, max_length=1)]


ServiceRequest = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads clearer spelled out
        DongBoHoSoMCRequest,
        CapNhatTienDoHoSoMCRequest,
        TraCuuHoSoRequest,
        LayDanhSachTTHCRequest,
        LayThuTucRequest,
        LayDanhSachHoSoTrucTuyenRequest,
        XacNhanHoSoTrucTuyenRequest,
        LayDanhSachMucMoiRequest,
        XacNhanMucRequest,
        DongBoTraLoiPhanAnhRequest,
        DongBoHoiDapRequest,
        DongBoKetQuaKhoRequest,
    ],
    Field(discriminator="service"),
]
"""Any request to the integration endpoint, told apart by its ``service`` field.

Validation error locations start with the service name (the union tag), e.g.
``("DongBoHoSoMC", "data", 0, "NgayTiepNhan")``.
"""
SERVICE_REQUEST_ADAPTER: TypeAdapter[ServiceRequest] = TypeAdapter(ServiceRequest)


# --- answers --------------------------------------------------------------------------------


class ServiceAnswer(WireAnswer):
    """Generic answer of the integration endpoint; ``error_code`` "0" is success."""

    error_code: ErrorCode
    message: str | None = None


_QuaTrinhXuLyList = list[QuaTrinhXuLy]


class HoSoTraCuu(HoSoMC):
    """A dossier as ``TraCuuHoSo`` returns it: the packet plus its processing steps."""

    model_config = ConfigDict(extra="ignore")

    QuaTrinhXuLy: _QuaTrinhXuLyList = Field(default_factory=list)


class TraCuuHoSoAnswer(ServiceAnswer):
    """Answer of ``TraCuuHoSo``; ``result`` is absent when the dossier is unknown."""

    result: HoSoTraCuu | None = None


class ThuTucTomTat(WireAnswer):
    """One line of the procedure list."""

    MATTHC: str
    TENTTHC: str
    MALINHVUC: str
    TENLINHVUC: str


class LayDanhSachTTHCAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachTTHC``."""

    result: list[ThuTucTomTat] = Field(default_factory=list)


class LinhVucThucHien(WireAnswer):
    """A field of activity (lĩnh vực) a procedure belongs to."""

    MALINHVUC: str
    TENLINHVUC: str


class CachThucThucHien(WireAnswer):
    """A channel the procedure can be done through, with its time limit and fee."""

    KENH: int
    THOIGIAN: str
    PHILEPHI: str | None = None
    MOTA: str | None = None


class ThanhPhanHoSo(WireAnswer):
    """A paper the dossier must (or may) contain."""

    TENGIAYTO: str
    SOLUONG: int
    BATBUOC: bool


class ThuTuc(WireAnswer):
    """A procedure (thủ tục hành chính) in full, as ``LayThuTuc`` returns it."""

    MATTHC: str
    TENTTHC: str
    LINHVUCTHUCHIEN: list[LinhVucThucHien]
    TRINHTUTHUCHIEN: str
    CACHTHUCTHUCHIEN: list[CachThucThucHien]
    PHILEPHI: str | None = None
    THANHPHANHOSO: list[ThanhPhanHoSo]
    CANCUPHAPLY: str
    COQUANTHUCHIEN: str
    KETQUATHUCHIEN: str


class LayThuTucAnswer(ServiceAnswer):
    """Answer of ``LayThuTuc``; ``result`` is absent when the procedure is unknown."""

    result: ThuTuc | None = None


class LayDanhSachHoSoTrucTuyenAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachHoSoTrucTuyen``: the dossiers still to acknowledge (up to the
    number asked), oldest first, raw: the caller validates each as :class:`HoSoTrucTuyen`,
    so one malformed dossier is refused alone and names its own path."""

    result: Annotated[list[dict[str, Any]], Field(max_length=50)] = Field(default_factory=list)


class LayDanhSachMucMoiAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachMucMoi``: raw items of the kind asked for (validated by kind
    by the caller, so one bad item names its own path)."""

    result: Annotated[list[dict[str, Any]], Field(max_length=50)] = Field(default_factory=list)
