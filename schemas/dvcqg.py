"""DVCQG (Cổng Dịch vụ công quốc gia) wire packets as pydantic v2 models.

The attribute names are the platform's own field names (PascalCase, upper case in the
catalogue answers, lower case in the auth and envelope fields), so ``model_dump()`` is the
exact JSON the platform reads and ``model_validate()`` reads exactly what it sends.

The shapes follow the public record (``/work/shared/reference/national-platforms.md``):

* OpenCPS (``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``, file
  ``modules/backend-dossiermgt/backend-dossiermgt-service/src/main/java/org/opencps/
  dossiermgt/action/impl/DVCQGIntegrationActionImpl.java``, cited below as *OpenCPS*):
  the envelope (``session``, ``madonvi``, ``service``), the 26 fields of its DongBoHoSoMC
  builder (lines 334-508), the 9 fields of a processing step (lines 604-697), the look-up
  parameters ``maTTHC`` (line 355) and ``mahoso`` (line 2195), and the nested LayThuTuc
  answer it reads (lines 2708-3011);
* PASETO (``HuanVu201/DichVuCong_KhoaLuan_PASETO``, ``DichVuCongApi/src/Core/Application/
  Common/KetNoi/DVC/SyncLocalDataToDVCQG/ISyncLocalDataToDVCQGService.cs``, class
  ``HoSoDongBoDVC`` and its parts, cited below as *PASETO*): the newer dossier fields.

Contracts:

* Strict when we write. Packets we *send* (:class:`WirePacket` subclasses) forbid unknown
  fields, and every scalar is a JSON **string**, as both public senders send them (OpenCPS
  ``object.put("LoaiDoiTuong", String.valueOf(...))``, PASETO's ``string`` properties);
  an unknown optional value is ``""`` (OpenCPS ``StringPool.BLANK``), never absent. In
  :class:`HoSoMC` OpenCPS's 26 fields are required; the newer (PASETO) fields are ``None``
  when the profile does not send them, and the client drops ``None`` from the JSON.
* Tolerant when we read. Answers and packets we *receive* (:class:`WireAnswer`
  subclasses) ignore unknown fields and accept what real systems produce: numbers as JSON
  strings or numbers, ``""`` for an unset date or code, ``"True"``/``"False"`` for flags, a
  single object where a list is expected. What we do trust is still validated: dates must be
  real ``yyyyMMddHHmmss`` (or blank), codes numeric, sizes bounded, and a dossier's
  ``MaHoSo`` present and well formed.
* Wire datetimes are ``yyyyMMddHHmmss`` in local (Asia/Ho_Chi_Minh) time; because the
  format is fixed-width, string order is time order.
* ``error_code`` is normalised to ``str`` in every answer: the platform sends both ``0``
  and ``"0"`` (OpenCPS reads it with ``getInt`` and ``getString`` alike).

This module is pure pydantic and imports nothing from ``gateway`` or ``connectors``.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, Union

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
    "CanCuPhapLy",
    "CapNhatTienDoHoSoMCRequest",
    "CauHoi",
    "CitizenPush",
    "CoQuan",
    "CoQuanThucHien",
    "DanhGia",
    "DinhDanhCHS",
    "DoiTuongThucHien",
    "DongBoHoSoMCRequest",
    "DongBoHoiDapRequest",
    "DongBoKetQuaKhoRequest",
    "DongBoTraLoiPhanAnhRequest",
    "ErrorCode",
    "GiayTo",
    "GiayToKetQua",
    "GuiDanhGia",
    "GuiHoSoTrucTuyen",
    "GuiHoiDap",
    "GuiPhanAnhKienNghi",
    "HoSoBoSung",
    "HoSoMC",
    "HoSoTraCuu",
    "HoSoTrucTuyen",
    "KetNoiCSDL",
    "KetQuaKhoDuLieu",
    "KetQuaNhan",
    "KetQuaThucHien",
    "LayDanhMucCoQuanAnswer",
    "LayDanhMucCoQuanRequest",
    "LayDanhMucLinhVucAnswer",
    "LayDanhMucLinhVucRequest",
    "LayDanhSachHoSoTrucTuyenAnswer",
    "LayDanhSachHoSoTrucTuyenRequest",
    "LayDanhSachMucMoiAnswer",
    "LayDanhSachMucMoiRequest",
    "LayDanhSachTTHCAnswer",
    "LayDanhSachTTHCRequest",
    "LayThuTucAnswer",
    "LayThuTucRequest",
    "LePhi",
    "LePhiTraCuu",
    "LinhVucThucHien",
    "LoaiMuc",
    "MaHoSoStr",
    "MaTTHCStr",
    "PhanAnhKienNghi",
    "PhiLePhi",
    "QuaTrinhXuLy",
    "QuaTrinhXuLyTraCuu",
    "ServiceAnswer",
    "ServiceName",
    "ServiceRequest",
    "TaiLieuNop",
    "TaiLieuTraCuu",
    "TepDinhKemKhac",
    "TepHoSoTrucTuyen",
    "ThanhPhanHoSo",
    "ThoiGianThucHien",
    "ThuTuc",
    "ThuTucTomTat",
    "TraCuuHoSoAnswer",
    "TraCuuHoSoRequest",
    "TraLoi",
    "TrinhTu",
    "TrinhTuThucHien",
    "WireAnswer",
    "WireDateTime",
    "WirePacket",
    "XacNhanHoSo",
    "XacNhanHoSoTrucTuyenRequest",
    "XacNhanMuc",
    "XacNhanMucRequest",
]

T = TypeVar("T")

WIRE_DATETIME_PATTERN = r"^[0-9]{14}$"
"""``yyyyMMddHHmmss``, local time."""
WIRE_DATETIME_FORMAT = "%Y%m%d%H%M%S"
AGENCY_CODE_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$"
"""Agency code (mã định danh cơ quan), e.g. ``000.00.01.H22``."""
MA_HO_SO_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4,5}$"
"""Dossier code: agency code, ``yyMMdd``, daily counter, e.g. ``000.00.01.H22-240105-0007``.
The counter has 4 digits, or 5 (PASETO ``SyncLocalDataToDVCQGService.cs`` line 219 makes
``{agency}-{yyMMdd}-{10000..99999}``)."""
MA_TTHC_PATTERN = (
    r"^[1-3]\.[0-9]{6}(\.[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}|\.[A-Z][0-9]{2})?$"
)
"""Procedure code, national (``1.001776``) or with a local agency suffix, long
(``2.000477.000.00.00.H56``) or short (``2.002621.H56``, seen in PASETO's data)."""


# --- scalar types ---------------------------------------------------------------------------


def _check_calendar(value: str) -> str:
    # the regex only proves 14 digits; 20240230120000 must still be refused
    try:
        datetime.strptime(value, WIRE_DATETIME_FORMAT)
    except ValueError:
        # the value itself is left out: a date may be personal (a birth date)
        raise ValueError("not a real date and time in yyyyMMddHHmmss") from None
    return value


def _blank_or_calendar(value: str) -> str:
    return value if value == "" else _check_calendar(value)


def _error_code_to_str(value: Any) -> Any:
    # bool is an int subclass but never a valid code: leave it for str validation to refuse
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


WireDateTime = Annotated[
    str, StringConstraints(pattern=WIRE_DATETIME_PATTERN), AfterValidator(_check_calendar)
]
"""A wire datetime: ``yyyyMMddHHmmss`` (local time) that is a real calendar datetime."""
WireDateOrBlank = Annotated[
    str, StringConstraints(pattern=r"^([0-9]{14})?$"), AfterValidator(_blank_or_calendar)
]
"""A wire datetime, or ``""`` when unset (OpenCPS ``convertDate2String`` of a null date)."""
AgencyCode = Annotated[str, StringConstraints(pattern=AGENCY_CODE_PATTERN)]
MaHoSoStr = Annotated[str, StringConstraints(pattern=MA_HO_SO_PATTERN)]
MaTTHCStr = Annotated[str, StringConstraints(pattern=MA_TTHC_PATTERN)]
ErrorCode = Annotated[str, BeforeValidator(_error_code_to_str)]
"""The platform's ``error_code``; ints are normalised to their decimal string."""
NonEmptyStr = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Text = Annotated[str, StringConstraints(max_length=4000)]


TrangThaiCode = Annotated[str, StringConstraints(pattern=r"^(10|[1-9])$")]
"""TrangThaiHoSo / TrangThai as sent: "1" to "10"."""
LoaiDoiTuongCode = Annotated[str, StringConstraints(pattern=r"^[1-4]$")]
KenhCode = Annotated[str, StringConstraints(pattern=r"^[1-3]$")]
FlagCode = Annotated[str, StringConstraints(pattern=r"^[01]$")]
ReuseCode = Annotated[str, StringConstraints(pattern=r"^[0-2]$")]
PaymentCode = Annotated[str, StringConstraints(pattern=r"^[0-3]$")]
SmallCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")]
OptionalSmallCode = Annotated[str, StringConstraints(pattern=r"^([0-9]{1,3})?$")]
CopiesStr = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}$")]
AmountStr = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}$")]
"""A whole VND amount as a string (PASETO ``LePhiDongBoDVC.Gia`` is a string)."""
PhoneStr = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{9,15}$")]
TrueFalse = Literal["True", "False"]
"""A boolean as OpenCPS sends it (``data.put("IsDeleted", "False")``, ``isUpdating`` "True")."""


# --- tolerant scalar types (for what we read) -----------------------------------------------


def _scalar_text(value: Any) -> Any:
    """Numbers and booleans read as their text; everything else left for ``str`` to judge."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


def _code(value: Any) -> Any:
    """A numeric code sent as a number or a string; ``""`` (an unmapped code) reads as
    None (OpenCPS ``getMappingStatus`` answers ``StringPool.BLANK``, lines 1392-1416)."""
    if value is None or isinstance(value, bool):
        return value  # None passes; a bool is refused by int validation
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if not (text.isascii() and text.lstrip("-").isdigit()):
            raise ValueError("not a numeric code")
        return int(text)
    return value


def _blank_date(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        return None if value == "" else value
    return value


def _check_optional_date(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) != 14 or not (value.isascii() and value.isdigit()):
        raise ValueError("not a yyyyMMddHHmmss datetime")
    return _check_calendar(value)


def _flag(value: Any) -> Any:
    """``"True"``/``"False"`` (OpenCPS), ``"0"``/``"1"`` (PASETO), JSON booleans or 0/1."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    raise ValueError("not a flag (True/False, 1/0)")


def _number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        return None if text == "" else text
    return value


def _as_list(value: Any) -> Any:
    """A single object where a list is expected reads as a list of one; null or ``""`` as
    an empty list."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return [value]
    return value


ReadId = Annotated[
    Annotated[str, StringConstraints(max_length=255)] | None, BeforeValidator(_scalar_text)
]
"""A code or an id we read (numbers accepted as their text), None when absent."""
ReadName = Annotated[
    Annotated[str, StringConstraints(max_length=500)] | None, BeforeValidator(_scalar_text)
]
ReadText = Annotated[
    Annotated[str, StringConstraints(max_length=4000)] | None, BeforeValidator(_scalar_text)
]
ReadLongText = Annotated[
    Annotated[str, StringConstraints(max_length=20_000)] | None, BeforeValidator(_scalar_text)
]
ReadCode = Annotated[int | None, BeforeValidator(_code)]
"""A numeric code we read: a number or numeric string; ``""`` reads as None."""
ReadDateTime = Annotated[
    str | None, BeforeValidator(_blank_date), AfterValidator(_check_optional_date)
]
"""A wire datetime we read; ``""`` (unset) reads as None, anything else must be real."""
ReadFlag = Annotated[bool | None, BeforeValidator(_flag)]
ReadNumber = Annotated[float | None, BeforeValidator(_number)]
ReadAmount = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_number)]
"""Whole VND we read ("50000", 50000 or 50000.0); a fraction is refused."""
ReadMaHoSo = Annotated[
    str, BeforeValidator(_blank_date), StringConstraints(pattern=MA_HO_SO_PATTERN)
]
"""A dossier code we read: required and well formed (the portal refuses a packet without
one), surrounding blanks ignored."""


ReadList = Annotated[list[T], BeforeValidator(_as_list)]
"""A list we read: a single object is a list of one, null or ``""`` an empty list. Bound
it where used: ``Annotated[ReadList[X], Field(max_length=n)]``."""


class WirePacket(BaseModel):
    """Base of every packet the gateway sends: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class WireAnswer(BaseModel):
    """Base of every answer the platform sends: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False)


# --- the dossier packet we send (DongBoHoSoMC) ----------------------------------------------


class DinhDanhCHS(WirePacket):
    """An identifier of the dossier owner (PASETO ``DinhDanhCHS``: "1" 12-digit personal
    number, "2" 9-digit ID card, both strings)."""

    LoaiDinhDanh: SmallCode
    SoDinhDanh: NonEmptyStr


class KetNoiCSDL(WirePacket):
    """A national database the dossier was checked against (PASETO ``DSKetNoiCSDL``)."""

    MaCSDL: NonEmptyStr


class TaiLieuNop(WirePacket):
    """A submitted document. OpenCPS sends the first five (lines 486-490, ``IsDeleted``
    "False"); PASETO adds the digitisation fields (``TaiLieuNopDongBoDVC``)."""

    TenTepDinhKem: NonEmptyStr
    MaThanhPhanHoSo: Text
    TepDinhKemId: NonEmptyStr
    DuongDanTaiTepTin: Text
    IsDeleted: TrueFalse
    DuocSoHoa: FlagCode | None = None
    DuocTaiSuDung: ReuseCode | None = None
    DuocLayTuKhoDMQG: FlagCode | None = None
    MaKetQuaThayThe: Text | None = None


class LePhi(WirePacket):
    """A fee line (the template commented in OpenCPS lines 411-415; PASETO
    ``LePhiDongBoDVC``, every field a string, ``Gia`` whole VND)."""

    TenPhiLePhi: NonEmptyStr
    MaPhiLePhi: Text
    HinhThucThu: SmallCode
    Gia: AmountStr
    LoaiPhiLePhi: SmallCode


class TepDinhKemKhac(WirePacket):
    """Another paper handed in (OpenCPS template lines 419-421, strings)."""

    TenGiayTo: NonEmptyStr
    SoLuong: CopiesStr
    LoaiGiayTo: OptionalSmallCode


class HoSoBoSung(WirePacket):
    """A supplement request: the twelve fields of OpenCPS's template (lines 425-436) and of
    PASETO's ``HoSoBoSung``; what the case system does not give goes as ``""`` / ``[]``."""

    HoSoBoSungId: NonEmptyStr
    NguoiYeuCauBoSung: NonEmptyStr
    NoiDungBoSung: NonEmptyStr
    NgayBoSung: WireDateTime
    NguoiTiepNhanBoSung: Text
    ThongTinTiepNhan: Text
    NgayTiepNhanBoSung: WireDateOrBlank
    TrangThaiBoSung: Text
    DanhSachGiayToBoSung: list[TaiLieuNop]
    DanhSachLePhiBoSung: list[LePhi]
    NgayHenTraTruoc: WireDateOrBlank
    NgayHenTraMoi: WireDateOrBlank


class GiayToKetQua(WirePacket):
    """A result document (OpenCPS lines 480-483; PASETO adds ``MaGiayToKetQua``)."""

    TenGiayTo: NonEmptyStr
    MaThanhPhanHoSo: Text
    GiayToId: NonEmptyStr
    DuongDanTepTinKetQua: NonEmptyStr
    MaGiayToKetQua: Text | None = None


# Aliases: a field named like its item class would otherwise resolve to its own default
_DinhDanhCHSList = list[DinhDanhCHS]
_TaiLieuNopList = list[TaiLieuNop]


class HoSoMC(WirePacket):
    """The one-stop dossier packet (hồ sơ một cửa) of ``DongBoHoSoMC``, as we send it.

    The first 26 fields are OpenCPS's (builder lines 350-503, in its order), all required:
    a value unknown to the case system goes as ``""``. The rest are PASETO's newer fields,
    sent only by a profile that has them (``None`` otherwise: left out of the JSON).

    Cross-field rules (each refused on the field that is wrong, so the path names it):
    ``NgayHenTra >= NgayTiepNhan`` when there is a due date; ``TrangThaiHoSo`` "10" (result
    returned) requires ``NgayTra``; "3" (not received) requires ``NgayTuChoi`` where the
    profile sends it.
    """

    # Required fields come first: the cross-field validators below read earlier fields
    # from ``info.data``, which only holds fields declared (and validated) before them.
    MaHoSo: MaHoSoStr
    MaTTHC: MaTTHCStr
    TenTTHC: NonEmptyStr
    MaLinhVuc: NonEmptyStr
    TenLinhVuc: Text
    ChuHoSo: Text
    LoaiDoiTuong: LoaiDoiTuongCode
    """"1" citizen, "2" business, "3" state agency, "4" other."""
    MaDoiTuong: Text
    ThongTinKhac: Text
    Email: Text
    Fax: Text
    SoDienThoai: PhoneStr
    TrichYeuHoSo: NonEmptyStr
    NgayTiepNhan: WireDateTime
    NgayHenTra: WireDateOrBlank
    """``""`` for a dossier with no due date (OpenCPS line 395; PASETO
    ``SyncLocalDataToDVCQGService.cs`` line 281)."""
    TrangThaiHoSo: TrangThaiCode
    NgayTra: WireDateOrBlank
    ThongTinTra: Text
    HinhThuc: SmallCode
    NgayKetThucXuLy: WireDateOrBlank
    DonViXuLy: NonEmptyStr
    DanhSachLePhi: Annotated[list[LePhi], Field(max_length=100)]
    DanhSachTepDinhKemKhac: Annotated[list[TepDinhKemKhac], Field(max_length=100)]
    DanhSachHoSoBoSung: Annotated[list[HoSoBoSung], Field(max_length=100)]
    DanhSachGiayToKetQua: Annotated[list[GiayToKetQua], Field(max_length=100)]
    TaiLieuNop: Annotated[_TaiLieuNopList, Field(max_length=200)]

    KenhThucHien: KenhCode | None = None
    """"1" in person, "2" online, "3" postal (PASETO)."""
    SoGiayToChuHoSo: Text | None = None
    GhiChu: Text | None = None
    NoiNopHoSo: Text | None = None
    HoSoCoThanhPhanSoHoa: FlagCode | None = None
    TaiKhoanDuocXacThucVoiVNeID: FlagCode | None = None
    DuocThanhToanTrucTuyen: PaymentCode | None = None
    """PASETO sends "1" when paid online and "3" otherwise
    (``SyncLocalDataToDVCQGService.cs`` lines 413-419)."""
    NgayTuChoi: WireDateOrBlank | None = None
    DinhDanhCHS: Annotated[_DinhDanhCHSList, Field(max_length=10)] | None = None
    NgayNopHoSo: WireDateOrBlank | None = None
    DSKetNoiCSDL: Annotated[list[KetNoiCSDL], Field(max_length=20)] | None = None

    @field_validator("NgayHenTra")
    @classmethod
    def _due_not_before_received(cls, value: str, info: ValidationInfo) -> str:
        received = info.data.get("NgayTiepNhan")
        # absent when NgayTiepNhan itself failed: that error is already reported
        if value and received is not None and value < received:
            raise ValueError(
                f"NgayHenTra ({value}) must not be earlier than NgayTiepNhan ({received})"
            )
        return value

    @field_validator("NgayTra")
    @classmethod
    def _returned_needs_date(cls, value: str, info: ValidationInfo) -> str:
        if value == "" and info.data.get("TrangThaiHoSo") == "10":
            raise ValueError("NgayTra is required when TrangThaiHoSo is 10 (result returned)")
        return value

    @field_validator("NgayTuChoi")
    @classmethod
    def _refused_needs_date(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value == "" and info.data.get("TrangThaiHoSo") == "3":
            raise ValueError("NgayTuChoi is required when TrangThaiHoSo is 3 (not received)")
        return value


class QuaTrinhXuLy(WirePacket):
    """A processing step of ``CapNhatTienDoHoSoMC``: OpenCPS's nine fields (lines 604-697)
    and PASETO's (``QuaTrinhXuLyDongBoDVC``), all strings, ``""`` when unknown
    (``ChucDanh``, ``NgayBatDau``, ``NgayKetThucTheoQuyDinh``)."""

    MaHoSo: MaHoSoStr
    NguoiXuLy: NonEmptyStr
    ChucDanh: Text
    ThoiDiemXuLy: WireDateTime
    PhongBanXuLy: Text
    NoiDungXuLy: Text
    TrangThai: TrangThaiCode
    NgayBatDau: WireDateOrBlank
    NgayKetThucTheoQuyDinh: WireDateOrBlank


# --- authentication -------------------------------------------------------------------------


class AuthRequest(WirePacket):
    """Body of the adapter's auth call (OpenCPS lines 1255-1256); the unit's code travels in
    the ``dstcode`` header."""

    username: str
    password: str


class AuthAnswer(WireAnswer):
    """Auth answer: ``error_code`` 0 with a ``session`` (OpenCPS line 1302)."""

    session: str | None = None
    error_code: ErrorCode
    message: str | None = None


# --- requests (the envelope of OpenCPS's getSharingData / syncData) -------------------------


class _ServiceRequestBase(WirePacket):
    session: str
    madonvi: AgencyCode


class DongBoHoSoMCRequest(_ServiceRequestBase):
    """Create (``isUpdating`` "False") or update ("True") up to 50 dossiers; OpenCPS sends
    the flag as a string (lines 2361-2365)."""

    service: Literal["DongBoHoSoMC"] = "DongBoHoSoMC"
    isUpdating: TrueFalse
    data: Annotated[list[HoSoMC], Field(min_length=1, max_length=50)]


class CapNhatTienDoHoSoMCRequest(_ServiceRequestBase):
    """Send up to 10 processing steps (PASETO sends chunks of 10,
    ``SyncLocalDataToDVCQGService.cs`` line 609)."""

    service: Literal["CapNhatTienDoHoSoMC"] = "CapNhatTienDoHoSoMC"
    data: Annotated[list[QuaTrinhXuLy], Field(min_length=1, max_length=10)]


class TraCuuHoSoRequest(_ServiceRequestBase):
    """Look a dossier up by its code: parameter ``mahoso`` (OpenCPS line 2195)."""

    service: Literal["TraCuuHoSo"] = "TraCuuHoSo"
    mahoso: MaHoSoStr


class LayDanhSachTTHCRequest(_ServiceRequestBase):
    """List the procedure catalogue (OpenCPS line 1424, on the share endpoint)."""

    service: Literal["LayDanhSachTTHC"] = "LayDanhSachTTHC"


class LayThuTucRequest(_ServiceRequestBase):
    """Fetch one procedure in full: parameter ``maTTHC`` (OpenCPS lines 355, 1445)."""

    service: Literal["LayThuTuc"] = "LayThuTuc"
    maTTHC: MaTTHCStr


class LayDanhMucCoQuanRequest(_ServiceRequestBase):
    """The list of agencies (OpenCPS line 708, on the share endpoint)."""

    service: Literal["LayDanhMucCoQuan"] = "LayDanhMucCoQuan"


class LayDanhMucLinhVucRequest(_ServiceRequestBase):
    """The list of fields of activity (OpenCPS line 886, on the share endpoint)."""

    service: Literal["LayDanhMucLinhVuc"] = "LayDanhMucLinhVuc"


# --- online dossiers from the portal (this project's profile: the reference names the
# dossier fields, not the envelope of their transfer) -----------------------------------------

SafeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
KetQuaNhan = Literal["accepted", "duplicate", "stale", "conflict", "rejected"]
"""What the gateway made of a received online dossier (sent back in the acknowledgement)."""
ReadPhone = Annotated[
    Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{9,15}$")] | None,
    BeforeValidator(lambda v: None if v == "" else _scalar_text(v)),
]
ReadCount = Annotated[int, Field(ge=0), BeforeValidator(_code)]
"""A count or version we read: a number or a numeric string."""


def _code_in(low: int, high: int) -> Any:
    return Annotated[Annotated[int, Field(ge=low, le=high)] | None, BeforeValidator(_code)]


class LePhiTraCuu(WireAnswer):
    """A fee line as we read it (strings or numbers)."""

    TenPhiLePhi: ReadName
    MaPhiLePhi: ReadId = None
    HinhThucThu: ReadCode = None
    Gia: ReadAmount = None
    LoaiPhiLePhi: ReadCode = None


class TepHoSoTrucTuyen(WireAnswer):
    """A document of an online dossier, held on the portal's file server (``DuongDan``);
    ``KichThuoc`` is its declared size in bytes, ``MaBam`` its SHA-256 (lower hex) if given."""

    TepDinhKemId: SafeId
    TenTepDinhKem: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    MaThanhPhanHoSo: ReadId = None
    DuongDanTaiTepTin: Annotated[
        str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)
    ]
    KichThuoc: ReadCount
    MaBam: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None,
        BeforeValidator(lambda v: None if v == "" else v),
    ] = None


_TepHoSoTrucTuyenList = list[TepHoSoTrucTuyen]


class HoSoTrucTuyen(WireAnswer):
    """A dossier a citizen submitted on the national portal (seed 003 Điều 12), one version
    of it: ``PhienBan`` grows each time the citizen changes it (a supplement, a correction).
    Numbers may come as strings and unset optional fields as ``""``."""

    MaHoSo: ReadMaHoSo
    PhienBan: Annotated[int, Field(ge=1, le=10_000), BeforeValidator(_code)]
    MaTTHC: MaTTHCStr
    TenTTHC: NonEmptyStr
    MaCoQuan: AgencyCode
    ChuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    SoGiayToChuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    LoaiDoiTuong: Annotated[int, Field(ge=1, le=4), BeforeValidator(_code)]
    MaDoiTuong: ReadId = None
    SoDienThoai: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{9,15}$")]
    Email: ReadName = None
    DiaChi: ReadName = None
    TrichYeuHoSo: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    NgayNopHoSo: WireDateTime
    TaiKhoanDuocXacThucVoiVNeID: Annotated[int, BeforeValidator(lambda v: int(_flag(v) or 0))] = 0
    DuocThanhToanTrucTuyen: Annotated[
        int, Field(ge=0, le=3), BeforeValidator(lambda v: _code(v) or 0)
    ] = 0
    TaiLieuNop: Annotated[ReadList[TepHoSoTrucTuyen], Field(max_length=50)] = Field(
        default_factory=list
    )
    DanhSachLePhi: Annotated[ReadList[LePhiTraCuu], Field(max_length=50)] = Field(
        default_factory=list
    )

    @field_validator("MaDoiTuong", "Email", "DiaChi")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


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
LoaiMuc = Literal["PhanAnhKienNghi", "DanhGia", "HoiDap"]
"""The kinds of what citizens send through the portal besides dossiers."""
ReadFlag01 = Annotated[int, BeforeValidator(lambda v: int(_flag(v) or 0))]


class PhanAnhKienNghi(WireAnswer):
    """Feedback or a complaint (phản ánh, kiến nghị; seed 003 Điều 15, seed 004 Điều 27):
    answered within 10 working days, and published when the citizen agrees."""

    MaPhanAnh: SafeId
    MaCoQuan: AgencyCode
    TieuDe: Text500
    NoiDung: Text10k
    NguoiGui: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    SoDienThoai: ReadPhone = None
    Email: ReadName = None
    MaHoSo: Annotated[
        Annotated[str, StringConstraints(pattern=MA_HO_SO_PATTERN)] | None,
        BeforeValidator(_blank_date),
    ] = None
    NgayGui: WireDateTime
    DongYCongKhai: ReadFlag01 = 0


class DanhGia(WireAnswer):
    """A rating of how a dossier was handled (seed 004 Điều 26), for the agency and, when
    named, the officer: ``MucDo`` 1 very satisfied, 2 satisfied, 3 not satisfied."""

    MaDanhGia: SafeId
    MaHoSo: ReadMaHoSo
    MaCoQuan: AgencyCode
    MaCanBo: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=64)] | None,
        BeforeValidator(lambda v: None if v == "" else _scalar_text(v)),
    ] = None
    MucDo: Annotated[int, Field(ge=1, le=3), BeforeValidator(_code)]
    NoiDung: ReadText = None
    NgayDanhGia: WireDateTime


class CauHoi(WireAnswer):
    """A question (hỏi đáp) about a procedure or a field, answered back (``DongBoHoiDap``)."""

    MaCauHoi: SafeId
    MaCoQuan: AgencyCode
    MaLinhVuc: ReadId = None
    TieuDe: Text500
    NoiDung: Text10k
    NguoiHoi: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    Email: ReadName = None
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


Flag01 = Annotated[int, Field(ge=0, le=1)]


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
    SoDinhDanhChuSoHuu: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
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


ServiceName = Literal[
    "DongBoHoSoMC",
    "CapNhatTienDoHoSoMC",
    "TraCuuHoSo",
    "LayDanhSachTTHC",
    "LayThuTuc",
    "LayDanhMucCoQuan",
    "LayDanhMucLinhVuc",
    "LayDanhSachHoSoTrucTuyen",
    "XacNhanHoSoTrucTuyen",
    "LayDanhSachMucMoi",
    "XacNhanMuc",
    "DongBoTraLoiPhanAnh",
    "DongBoHoiDap",
    "DongBoKetQuaKho",
]
ServiceRequest = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads clearer spelled out
        DongBoHoSoMCRequest,
        CapNhatTienDoHoSoMCRequest,
        TraCuuHoSoRequest,
        LayDanhSachTTHCRequest,
        LayThuTucRequest,
        LayDanhMucCoQuanRequest,
        LayDanhMucLinhVucRequest,
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
"""Any request we send, told apart by its ``service`` field.

Validation error locations start with the service name (the union tag), e.g.
``("DongBoHoSoMC", "data", 0, "NgayTiepNhan")``.
"""
SERVICE_REQUEST_ADAPTER: TypeAdapter[ServiceRequest] = TypeAdapter(ServiceRequest)


# --- answers --------------------------------------------------------------------------------


class ServiceAnswer(WireAnswer):
    """Generic answer of the adapter; ``error_code`` "0" is success."""

    error_code: ErrorCode
    message: ReadLongText = None


class TaiLieuTraCuu(WireAnswer):
    """A document of a dossier as we read it back."""

    TepDinhKemId: ReadId = None
    TenTepDinhKem: ReadText = None
    IsDeleted: ReadFlag = None
    MaThanhPhanHoSo: ReadId = None
    DuongDanTaiTepTin: ReadText = None
    DuocSoHoa: ReadFlag = None
    DuocTaiSuDung: ReadCode = None
    DuocLayTuKhoDMQG: ReadFlag = None
    MaKetQuaThayThe: ReadId = None


class TepDinhKemKhacTraCuu(WireAnswer):
    TenGiayTo: ReadName = None
    SoLuong: ReadCode = None
    LoaiGiayTo: ReadCode = None


class HoSoBoSungTraCuu(WireAnswer):
    HoSoBoSungId: ReadId = None
    NguoiYeuCauBoSung: ReadName = None
    NoiDungBoSung: ReadText = None
    NgayBoSung: ReadDateTime = None
    NgayHenTraTruoc: ReadDateTime = None
    NgayHenTraMoi: ReadDateTime = None


class GiayToKetQuaTraCuu(WireAnswer):
    TenGiayTo: ReadText = None
    MaThanhPhanHoSo: ReadId = None
    GiayToId: ReadId = None
    DuongDanTepTinKetQua: ReadText = None
    MaGiayToKetQua: ReadId = None


class DinhDanhTraCuu(WireAnswer):
    LoaiDinhDanh: ReadCode = None
    SoDinhDanh: ReadId = None


class KetNoiCSDLTraCuu(WireAnswer):
    MaCSDL: ReadId = None


class QuaTrinhXuLyTraCuu(WireAnswer):
    """A processing step as we read it back: every field may be ``""`` (OpenCPS sends a
    blank ``ThoiDiemXuLy`` when it has no action, lines 619-620)."""

    MaHoSo: ReadId = None
    NguoiXuLy: ReadName = None
    ChucDanh: ReadName = None
    ThoiDiemXuLy: ReadDateTime = None
    PhongBanXuLy: ReadName = None
    NoiDungXuLy: ReadText = None
    TrangThai: ReadCode = None
    NgayBatDau: ReadDateTime = None
    NgayKetThucTheoQuyDinh: ReadDateTime = None


class HoSoTraCuu(WireAnswer):
    """A dossier packet as we read it (``TraCuuHoSo``'s answer, or any DongBoHoSoMC packet
    a real sender builds): OpenCPS's 26 fields, PASETO's newer ones, and its steps.

    Tolerant: every scalar may be a string or a number, dates and codes may be ``""``
    (an unmapped ``TrangThaiHoSo``, a dossier with no ``NgayHenTra``), lists may be a single
    object. Only ``MaHoSo`` is required and checked for its shape.
    """

    MaHoSo: ReadMaHoSo
    MaTTHC: ReadId = None
    TenTTHC: ReadText = None
    MaLinhVuc: ReadId = None
    TenLinhVuc: ReadName = None
    SoBienNhan: ReadId = None
    KenhThucHien: ReadCode = None
    ChuHoSo: ReadName = None
    SoGiayToChuHoSo: ReadId = None
    LoaiDoiTuong: ReadCode = None
    MaDoiTuong: ReadId = None
    ThongTinKhac: ReadText = None
    Email: ReadName = None
    Fax: ReadId = None
    SoDienThoai: ReadId = None
    TrichYeuHoSo: ReadText = None
    NgayTiepNhan: ReadDateTime = None
    NgayHenTra: ReadDateTime = None
    TrangThaiHoSo: ReadCode = None
    NgayTra: ReadDateTime = None
    ThongTinTra: ReadText = None
    HinhThuc: ReadCode = None
    NgayKetThucXuLy: ReadDateTime = None
    DonViXuLy: ReadName = None
    GhiChu: ReadText = None
    NoiNopHoSo: ReadName = None
    HoSoCoThanhPhanSoHoa: ReadFlag = None
    TaiKhoanDuocXacThucVoiVNeID: ReadFlag = None
    DuocThanhToanTrucTuyen: ReadCode = None
    NgayTuChoi: ReadDateTime = None
    NgayNopHoSo: ReadDateTime = None
    DinhDanhCHS: Annotated[ReadList[DinhDanhTraCuu], Field(max_length=10)] = Field(
        default_factory=list
    )
    DSKetNoiCSDL: Annotated[ReadList[KetNoiCSDLTraCuu], Field(max_length=20)] = Field(
        default_factory=list
    )
    TaiLieuNop: Annotated[ReadList[TaiLieuTraCuu], Field(max_length=200)] = Field(
        default_factory=list
    )
    DanhSachLePhi: Annotated[ReadList[LePhiTraCuu], Field(max_length=100)] = Field(
        default_factory=list
    )
    DanhSachTepDinhKemKhac: Annotated[ReadList[TepDinhKemKhacTraCuu], Field(max_length=100)] = (
        Field(default_factory=list)
    )
    DanhSachHoSoBoSung: Annotated[ReadList[HoSoBoSungTraCuu], Field(max_length=100)] = Field(
        default_factory=list
    )
    DanhSachGiayToKetQua: Annotated[ReadList[GiayToKetQuaTraCuu], Field(max_length=100)] = Field(
        default_factory=list
    )
    QuaTrinhXuLy: Annotated[ReadList[QuaTrinhXuLyTraCuu], Field(max_length=1000)] = Field(
        default_factory=list
    )


class TraCuuHoSoAnswer(ServiceAnswer):
    """Answer of ``TraCuuHoSo``: ``result`` is a list (OpenCPS reads ``getJSONArray("result")``
    and tests its length, line 2137); a single object is read as a list of one, and an empty
    list means the portal does not know the dossier."""

    result: Annotated[ReadList[HoSoTraCuu], Field(max_length=10)] = Field(default_factory=list)


class ThuTucTomTat(WireAnswer):
    """One line of the procedure list; OpenCPS reads only ``MATTHC`` and ``TENTTHC``
    (line 1431), so the field of activity may be absent."""

    MATTHC: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    TENTTHC: ReadText = None
    MALINHVUC: ReadId = None
    TENLINHVUC: ReadName = None


class LayDanhSachTTHCAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachTTHC``."""

    result: Annotated[ReadList[ThuTucTomTat], Field(max_length=20_000)] = Field(
        default_factory=list
    )


class CoQuan(WireAnswer):
    """An agency of ``LayDanhMucCoQuan`` (OpenCPS lines 729-731)."""

    MADONVI: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    TENDONVI: ReadName = None
    CAPDONVI: ReadCode = None


class LayDanhMucCoQuanAnswer(ServiceAnswer):
    result: Annotated[ReadList[CoQuan], Field(max_length=20_000)] = Field(default_factory=list)


class LinhVucThucHien(WireAnswer):
    """A field of activity (``LINHVUCTHUCHIEN[]``, and the entries of ``LayDanhMucLinhVuc``,
    OpenCPS lines 1528, 2765-2766)."""

    MALINHVUC: ReadId = None
    TENLINHVUC: ReadName = None


class LayDanhMucLinhVucAnswer(ServiceAnswer):
    result: Annotated[ReadList[LinhVucThucHien], Field(max_length=20_000)] = Field(
        default_factory=list
    )


# LayThuTuc's nested answer, as OpenCPS's syncServiceInfo reads it (lines 2713-3011); every
# part optional (OpenCPS guards each with has()), fields not listed are ignored.


class TrinhTu(WireAnswer):
    TENTRINHTU: ReadLongText = None


class TrinhTuThucHien(WireAnswer):
    """A case (``TRUONGHOP``) and its steps (``TRINHTU[].TENTRINHTU``), lines 2738-2750."""

    TRUONGHOP: ReadText = None
    TRINHTU: Annotated[ReadList[TrinhTu], Field(max_length=200)] = Field(default_factory=list)


class PhiLePhi(WireAnswer):
    """A fee of a time limit (``PHILEPHI[]``: MAPHILEPHI, SOTIEN, DONVI, MOTA; lines 2832-2837)."""

    MAPHILEPHI: ReadId = None
    SOTIEN: ReadNumber = None
    DONVI: ReadName = None
    MOTA: ReadText = None


class ThoiGianThucHien(WireAnswer):
    """A time limit (``THOIGIAN[]``: THOIGIANGIAIQUYET, DONVITINH, MOTA, PHILEPHI[]; lines
    2819-2831)."""

    THOIGIANGIAIQUYET: ReadNumber = None
    DONVITINH: ReadName = None
    MOTA: ReadText = None
    PHILEPHI: Annotated[ReadList[PhiLePhi], Field(max_length=50)] = Field(default_factory=list)


class CachThucThucHien(WireAnswer):
    """A channel (``KENH`` 1 in person, 2 online, 3 postal) with its time limits (lines
    2806-2812)."""

    KENH: ReadCode = None
    THOIGIAN: Annotated[ReadList[ThoiGianThucHien], Field(max_length=50)] = Field(
        default_factory=list
    )


class GiayTo(WireAnswer):
    """A paper of a dossier component (``GIAYTO[]``: MAGIAYTO, TENGIAYTO, TENMAUDON, URL;
    lines 2992-3000)."""

    MAGIAYTO: ReadId = None
    TENGIAYTO: ReadText = None
    TENMAUDON: ReadName = None
    URL: ReadText = None


class ThanhPhanHoSo(WireAnswer):
    """A dossier component (``THANHPHANHOSO[]``) and its papers (``GIAYTO[]``), line 2992."""

    TRUONGHOP: ReadText = None
    GIAYTO: Annotated[ReadList[GiayTo], Field(max_length=200)] = Field(default_factory=list)


class CanCuPhapLy(WireAnswer):
    """A legal basis (SOVANBAN, TENVANBAN; lines 2912-2913)."""

    SOVANBAN: ReadName = None
    TENVANBAN: ReadText = None


class CoQuanThucHien(WireAnswer):
    """A competent agency (MADONVI, TENDONVI; lines 2940-2941)."""

    MADONVI: ReadId = None
    TENDONVI: ReadName = None


class KetQuaThucHien(WireAnswer):
    """A result the procedure issues (MAKETQUA, TENKETQUA; lines 2894-2895)."""

    MAKETQUA: ReadId = None
    TENKETQUA: ReadText = None


class DoiTuongThucHien(WireAnswer):
    """Who may use the procedure (TENDOITUONG; line 2878)."""

    TENDOITUONG: ReadName = None


class ThuTuc(WireAnswer):
    """A procedure (thủ tục hành chính) in full, as ``LayThuTuc`` returns it."""

    MATTHC: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    TENTTHC: ReadText = None
    MACOQUANCONGBO: ReadId = None
    LINHVUCTHUCHIEN: Annotated[ReadList[LinhVucThucHien], Field(max_length=20)] = Field(
        default_factory=list
    )
    TRINHTUTHUCHIEN: Annotated[ReadList[TrinhTuThucHien], Field(max_length=50)] = Field(
        default_factory=list
    )
    CACHTHUCTHUCHIEN: Annotated[ReadList[CachThucThucHien], Field(max_length=10)] = Field(
        default_factory=list
    )
    THANHPHANHOSO: Annotated[ReadList[ThanhPhanHoSo], Field(max_length=50)] = Field(
        default_factory=list
    )
    CANCUPHAPLY: Annotated[ReadList[CanCuPhapLy], Field(max_length=100)] = Field(
        default_factory=list
    )
    COQUANTHUCHIEN: Annotated[ReadList[CoQuanThucHien], Field(max_length=50)] = Field(
        default_factory=list
    )
    KETQUATHUCHIEN: Annotated[ReadList[KetQuaThucHien], Field(max_length=50)] = Field(
        default_factory=list
    )
    DOITUONGTHUCHIEN: Annotated[ReadList[DoiTuongThucHien], Field(max_length=20)] = Field(
        default_factory=list
    )
    YEUCAU: ReadLongText = None
    TRANGTHAI: ReadCode = None


class LayThuTucAnswer(ServiceAnswer):
    """Answer of ``LayThuTuc``: ``result`` is a list, OpenCPS reads ``result[0]`` (lines
    172-176); a single object is read as a list of one, an empty list means unknown."""

    result: Annotated[ReadList[ThuTuc], Field(max_length=10)] = Field(default_factory=list)


class LayDanhSachHoSoTrucTuyenAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachHoSoTrucTuyen``: the dossiers still to acknowledge (up to the
    number asked), oldest first, raw: the caller validates each as :class:`HoSoTrucTuyen`,
    so one malformed dossier is refused alone and names its own path."""

    result: Annotated[list[dict[str, Any]], Field(max_length=50)] = Field(default_factory=list)


class LayDanhSachMucMoiAnswer(ServiceAnswer):
    """Answer of ``LayDanhSachMucMoi``: raw items of the kind asked for (validated by kind
    by the caller, so one bad item names its own path)."""

    result: Annotated[list[dict[str, Any]], Field(max_length=50)] = Field(default_factory=list)
