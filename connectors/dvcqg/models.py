"""The gateway's canonical (northbound) models for DVCQG.

The case system speaks these: snake_case Vietnamese domain names, ISO-8601 datetimes that carry
their UTC offset, enums with lowercase snake_case values. :mod:`connectors.dvcqg.mapping` turns
them into the portal's wire packets (:mod:`schemas.dvcqg`) and back; the numeric codes of the
enums live there, not here, so a deployment that numbers differently changes one table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from schemas.dvcqg import MA_HO_SO_PATTERN, MA_TTHC_PATTERN

__all__ = [
    "BuocXuLy",
    "CachThuc",
    "CapNhatTienDo",
    "CoQuan",
    "DinhDanh",
    "GiayTo",
    "GiayToKetQua",
    "HoSo",
    "KenhThucHien",
    "KetQua",
    "LePhi",
    "LinhVuc",
    "LoaiDoiTuong",
    "PhiLePhi",
    "TaiLieu",
    "TepDinhKemKhac",
    "ThanhPhanHoSo",
    "ThoiGian",
    "ThuTuc",
    "ThuTucChiTiet",
    "TrangThaiHoSo",
    "TrinhTu",
    "VanBan",
    "YeuCauBoSung",
]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# digits only (an optional leading + for international numbers): the portal stores it as text
# and officers dial it, so separators and letters are refused rather than guessed at
PHONE_PATTERN = r"^\+?[0-9]{9,15}$"


def _require_offset(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    # A naive datetime is ambiguous (server local time? UTC? Vietnam time?), and the wire form
    # has no zone marker, so guessing would silently shift deadlines by hours.
    try:
        result: datetime = handler(value)
    except ValidationError as exc:
        if any(e["type"] == "timezone_aware" for e in exc.errors()):
            raise PydanticCustomError(
                "timezone_aware",
                "datetime must carry a UTC offset (e.g. 2024-01-05T08:30:00+07:00 or ...Z); "
                "naive datetimes are refused because their instant is ambiguous",
            ) from None
        raise
    return result


#: the years a dossier's instants may fall in: the portal writes four-digit years and has no
#: dossier from before 1900 or after 2099 (issue 15: year 584 reached it and was answered 502)
FIRST_YEAR, LAST_YEAR = 1900, 2099


def _within_years(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "year {year} is outside {first} to {last}",
            {"year": value.year, "first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


#: an ISO-8601 datetime with its UTC offset, within the years the portal takes
Instant = Annotated[AwareDatetime, WrapValidator(_require_offset), AfterValidator(_within_years)]

#: the portal's bound on a packet's text fields (``Text`` / ``NonEmptyStr`` in
#: :mod:`schemas.dvcqg`): what the case system sends is held to it on arrival, so nothing is
#: accepted that the portal's schema refuses later
MAX_TEXT = 4000
#: tighter bounds where the portal's answers bound a field so (``ReadName`` and ``ReadId`` in
#: :mod:`schemas.dvcqg`): what we write must read back, so names and codes are held to them
MAX_NAME = 500
MAX_CODE = 255


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Inbound(_Model):
    """A model the case system sends: every string bounded as the portal bounds it."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT)


class KenhThucHien(StrEnum):
    """How the dossier was submitted (KenhThucHien)."""

    truc_tiep = "truc_tiep"  # in person at the one-stop desk
    truc_tuyen = "truc_tuyen"  # online
    buu_chinh = "buu_chinh"  # through the public postal service


class LoaiDoiTuong(StrEnum):
    """Who owns the dossier (LoaiDoiTuong)."""

    cong_dan = "cong_dan"
    doanh_nghiep = "doanh_nghiep"
    co_quan_nha_nuoc = "co_quan_nha_nuoc"
    khac = "khac"


class TrangThaiHoSo(StrEnum):
    """Dossier status (TrangThaiHoSo), the national list of ten."""

    moi_dang_ky = "moi_dang_ky"
    da_tiep_nhan = "da_tiep_nhan"
    khong_tiep_nhan = "khong_tiep_nhan"
    dang_xu_ly = "dang_xu_ly"
    yeu_cau_bo_sung = "yeu_cau_bo_sung"
    yeu_cau_nghia_vu_tai_chinh = "yeu_cau_nghia_vu_tai_chinh"
    rut_ho_so = "rut_ho_so"
    dung_xu_ly = "dung_xu_ly"
    da_xu_ly = "da_xu_ly"
    da_tra_ket_qua = "da_tra_ket_qua"


class LePhi(_Inbound):
    """A fee or charge line (DanhSachLePhi). Amounts are whole VND: never floats."""

    ten: str = Field(
        max_length=MAX_NAME, min_length=1, description="fee name", examples=["Lệ phí cấp giấy phép"]
    )
    ma: str | None = Field(
        None, max_length=MAX_CODE, description="fee code, when the catalogue gives one"
    )
    hinh_thuc_thu: int = Field(description="collection method code (HinhThucThu)")
    gia: StrictInt = Field(ge=0, description="amount in VND (integer)", examples=[50000])
    loai: int = Field(description="fee type code (LoaiPhiLePhi)")


class TaiLieu(_Inbound):
    """A submitted document (TaiLieuNop)."""

    id: str = Field(max_length=MAX_CODE, min_length=1, description="file id in the case system")
    ten: str = Field(min_length=1, description="file name", examples=["to-khai.pdf"])
    da_xoa: bool = Field(False, description="withdrawn from the dossier")
    ma_thanh_phan: str | None = Field(
        None, max_length=MAX_CODE, description="dossier component code"
    )
    duong_dan: str | None = Field(None, description="where the portal can fetch the file")
    duoc_so_hoa: bool = Field(False, description="digitised (DuocSoHoa; newer profile only)")
    duoc_tai_su_dung: int = Field(
        0, ge=0, le=2, description="reuse code (DuocTaiSuDung 0, 1 or 2; newer profile only)"
    )
    duoc_lay_tu_kho_dmqg: bool = Field(
        False, description="taken from the national data store (DuocLayTuKhoDMQG; newer only)"
    )
    ma_ket_qua_thay_the: str | None = Field(
        None,
        max_length=MAX_CODE,
        description="result code it replaces (MaKetQuaThayThe; newer profile only)",
    )


class TepDinhKemKhac(_Inbound):
    """Another paper handed in (DanhSachTepDinhKemKhac)."""

    ten: str = Field(max_length=MAX_NAME, min_length=1, description="paper name")
    so_luong: int = Field(ge=1, description="number of copies")
    loai: int | None = Field(None, description="paper type code (LoaiGiayTo)")


class GiayToKetQua(_Inbound):
    """A result document (DanhSachGiayToKetQua)."""

    id: str = Field(max_length=MAX_CODE, min_length=1)
    ten: str = Field(min_length=1, examples=["Giấy phép xây dựng"])
    ma_thanh_phan: str | None = Field(None, max_length=MAX_CODE)
    duong_dan: str = Field(min_length=1, description="where the portal can fetch the result")
    ma_giay_to_ket_qua: str | None = Field(
        None,
        max_length=MAX_CODE,
        description="result code in the national list (MaGiayToKetQua; newer only)",
    )


class YeuCauBoSung(_Inbound):
    """A request to supplement the dossier (DanhSachHoSoBoSung)."""

    id: str = Field(max_length=MAX_CODE, min_length=1)
    nguoi_yeu_cau: str = Field(max_length=MAX_NAME, min_length=1, description="officer who asked")
    noi_dung: str = Field(min_length=1, description="what must be supplied")
    ngay_bo_sung: Instant
    ngay_hen_tra_truoc: Instant | None = Field(None, description="due date before the request")
    ngay_hen_tra_moi: Instant | None = Field(None, description="due date after the request")


class DinhDanh(_Inbound):
    """An identifier of the dossier owner (DinhDanhCHS)."""

    loai: int = Field(description="identifier type code (LoaiDinhDanh)")
    so: str = Field(
        max_length=MAX_CODE, min_length=1, description="identifier", examples=["001090000001"]
    )


class HoSo(_Inbound):
    """A dossier as the case system sends it for synchronisation with DVCQG (HoSoMC).

    Contract: ``ma_ho_so`` is ``{agency}-{yyMMdd}-{NNNN}`` (or ``{NNNNN}``) with a real date;
    ``ngay_hen_tra >= ngay_tiep_nhan`` when the dossier has a due date (one without goes to the
    portal as ``NgayHenTra ""``); ``ngay_tra`` is required once the result is returned,
    ``ngay_tu_choi`` once the dossier is refused. Datetimes carry their UTC offset; sub-second
    precision is dropped on the wire (``yyyyMMddHHmmss``).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0001",
                    "ma_tthc": "1.001776",
                    "ten_tthc": "Đăng ký khai sinh",
                    "ma_linh_vuc": "G03-HT01",
                    "ten_linh_vuc": "Hộ tịch",
                    "kenh_thuc_hien": "truc_tiep",
                    "chu_ho_so": "Nguyễn Thị Lan",
                    "so_giay_to_chu_ho_so": "001190000001",
                    "loai_doi_tuong": "cong_dan",
                    "so_dien_thoai": "0912345678",
                    "trich_yeu": "Đăng ký khai sinh cho con",
                    "ngay_tiep_nhan": "2024-01-05T08:01:00+07:00",
                    "ngay_hen_tra": "2024-01-08T08:01:00+07:00",
                    "trang_thai": "da_tiep_nhan",
                    "don_vi_xu_ly": "UBND xã Tân Lập",
                }
            ]
        }
    )

    ma_ho_so: str = Field(
        pattern=MA_HO_SO_PATTERN,
        description="dossier code: {agency code}-{yyMMdd}-{4-digit daily counter}",
        examples=["000.00.01.H22-240105-0007"],
    )
    ma_tthc: str = Field(
        pattern=MA_TTHC_PATTERN,
        description="procedure code in the national procedure database",
        examples=["1.001776", "2.000477.000.00.00.H56"],
    )
    ten_tthc: str = Field(min_length=1, description="procedure name")
    ma_linh_vuc: str = Field(
        max_length=MAX_CODE, min_length=1, description="field code", examples=["G03-GD09"]
    )
    ten_linh_vuc: str = Field(max_length=MAX_NAME, min_length=1, description="field name")
    so_bien_nhan: str | None = Field(
        None,
        max_length=MAX_CODE,
        description="receipt number (kept; no public sender sends it, so neither does the gateway)",
    )
    kenh_thuc_hien: KenhThucHien = Field(description="submission channel")
    chu_ho_so: str | None = Field(None, max_length=MAX_NAME, description="dossier owner's name")
    so_giay_to_chu_ho_so: str = Field(
        min_length=1,
        max_length=MAX_CODE,
        description="owner's identity document number",
        examples=["001090000001"],  # synthetic: not a real person's number
    )
    loai_doi_tuong: LoaiDoiTuong = Field(description="kind of owner")
    ma_doi_tuong: str | None = Field(
        None, max_length=MAX_CODE, description="owner's DVCQG account TechID"
    )
    thong_tin_khac: str | None = None
    email: str | None = Field(
        None, max_length=MAX_NAME, pattern=EMAIL_PATTERN, examples=["nguoidan@example.vn"]
    )
    fax: str | None = Field(None, max_length=MAX_CODE)
    so_dien_thoai: str = Field(
        pattern=PHONE_PATTERN,
        description="digits only, 9 to 15, optional leading +",
        examples=["0912345678"],
    )
    trich_yeu: str = Field(min_length=1, description="summary of the request")
    ngay_tiep_nhan: Instant = Field(
        description="received at", examples=["2024-01-05T08:30:00+07:00"]
    )
    ngay_hen_tra: Instant | None = Field(
        None,
        description="result due at (not before ngay_tiep_nhan); absent for a dossier with no "
        'due date (sent as NgayHenTra "")',
        examples=["2024-01-12T17:00:00+07:00"],
    )
    trang_thai: TrangThaiHoSo = Field(description="dossier status")
    ngay_tra: Instant | None = Field(
        None,
        validate_default=True,
        description="result returned at; required when trang_thai is da_tra_ket_qua",
    )
    thong_tin_tra: str | None = None
    hinh_thuc: int = Field(0, description="HinhThuc code (0 unless the deployment uses it)")
    ngay_ket_thuc_xu_ly: Instant | None = None
    don_vi_xu_ly: str = Field(max_length=MAX_NAME, min_length=1, description="processing unit")
    ghi_chu: str | None = None
    noi_nop_ho_so: str | None = Field(None, max_length=MAX_NAME)
    co_thanh_phan_so_hoa: bool = Field(False, description="dossier has digitised components")
    xac_thuc_vneid: bool = Field(False, description="submitted from a VNeID-verified account")
    thanh_toan_truc_tuyen: int = Field(
        0, ge=0, le=3, description="online payment code (DuocThanhToanTrucTuyen, 0 to 3)"
    )
    ngay_tu_choi: Instant | None = Field(
        None,
        validate_default=True,
        description="refused at; required when trang_thai is khong_tiep_nhan",
    )
    ngay_nop_ho_so: Instant | None = None
    dinh_danh_chu_ho_so: list[DinhDanh] = Field(default_factory=list, max_length=10)
    tai_lieu_nop: list[TaiLieu] = Field(default_factory=list, max_length=200)
    le_phi: list[LePhi] = Field(default_factory=list, max_length=100)
    tep_dinh_kem_khac: list[TepDinhKemKhac] = Field(default_factory=list, max_length=100)
    ho_so_bo_sung: list[YeuCauBoSung] = Field(default_factory=list, max_length=100)
    giay_to_ket_qua: list[GiayToKetQua] = Field(default_factory=list, max_length=100)
    ket_noi_csdl: list[Annotated[str, StringConstraints(max_length=MAX_CODE)]] = Field(
        default_factory=list,
        max_length=20,
        description="national databases checked (DSKetNoiCSDL MaCSDL codes; newer profile only)",
    )

    @field_validator("ma_ho_so")
    @classmethod
    def _real_date(cls, value: str) -> str:
        # the pattern already guarantees the shape; a 31 February would still pass it
        yymmdd = value.split("-")[1]
        try:
            datetime.strptime(yymmdd, "%y%m%d")  # a calendar check only: no instant is kept
        except ValueError:
            raise ValueError(
                f"date part {yymmdd!r} of ma_ho_so is not a real yyMMdd date"
            ) from None
        return value

    @field_validator("ngay_hen_tra")
    @classmethod
    def _due_after_received(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        received = info.data.get("ngay_tiep_nhan")
        if value is not None and isinstance(received, datetime) and value < received:
            raise ValueError("ngay_hen_tra must not be before ngay_tiep_nhan")
        return value

    @field_validator("ngay_tra")
    @classmethod
    def _returned_needs_date(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None and info.data.get("trang_thai") is TrangThaiHoSo.da_tra_ket_qua:
            raise ValueError("ngay_tra is required when trang_thai is da_tra_ket_qua")
        return value

    @field_validator("ngay_tu_choi")
    @classmethod
    def _refused_needs_date(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None and info.data.get("trang_thai") is TrangThaiHoSo.khong_tiep_nhan:
            raise ValueError("ngay_tu_choi is required when trang_thai is khong_tiep_nhan")
        return value


class BuocXuLy(_Inbound):
    """One processing step (QuaTrinhXuLy) of a dossier."""

    nguoi_xu_ly: str = Field(
        max_length=MAX_NAME, min_length=1, description="officer", examples=["Nguyễn Văn A"]
    )
    chuc_danh: str | None = Field(None, max_length=MAX_NAME, description="officer's title")
    thoi_diem_xu_ly: Instant = Field(
        description="when the step happened", examples=["2024-01-05T09:00:00+07:00"]
    )
    phong_ban_xu_ly: str = Field(max_length=MAX_NAME, min_length=1, description="department")
    noi_dung_xu_ly: str = Field(min_length=1, description="what was done")
    trang_thai: TrangThaiHoSo = Field(description="dossier status after the step")
    ngay_bat_dau: Instant | None = None
    ngay_ket_thuc_theo_quy_dinh: Instant | None = Field(None, description="statutory deadline")


class CapNhatTienDo(_Inbound):
    """A batch of processing steps for one dossier (sent to DVCQG in chunks of 10)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "steps": [
                        {
                            "nguoi_xu_ly": "Trần Văn Bình",
                            "chuc_danh": "Công chức tư pháp - hộ tịch",
                            "thoi_diem_xu_ly": "2024-01-05T09:01:00+07:00",
                            "phong_ban_xu_ly": "Bộ phận một cửa",
                            "noi_dung_xu_ly": "Thẩm định hồ sơ",
                            "trang_thai": "dang_xu_ly",
                        }
                    ]
                }
            ]
        }
    )

    steps: list[BuocXuLy] = Field(min_length=1, max_length=500)


class ThuTuc(_Model):
    """A procedure in the national catalogue (summary, from LayDanhSachTTHC; the portal may
    give only its code and name)."""

    ma_tthc: str = Field(examples=["1.001776"])
    ten_tthc: str = ""
    ma_linh_vuc: str | None = None
    ten_linh_vuc: str | None = None


class LinhVuc(_Model):
    """A field of activity (lĩnh vực) a procedure belongs to."""

    ma: str | None = Field(None, examples=["G03-GD09"])
    ten: str | None = None


class CoQuan(_Model):
    """An agency (LayDanhMucCoQuan, COQUANTHUCHIEN)."""

    ma: str | None = Field(None, examples=["000.00.01.H22"])
    ten: str | None = None
    cap: int | None = Field(None, description="level (CAPDONVI)")


class TrinhTu(_Model):
    """The steps of one case of the procedure (TRINHTUTHUCHIEN[])."""

    truong_hop: str | None = Field(None, description="the case (TRUONGHOP)")
    buoc: list[str] = Field(default_factory=list, description="steps (TRINHTU[].TENTRINHTU)")


class PhiLePhi(_Model):
    """A fee of a time limit (PHILEPHI[])."""

    ma: str | None = None
    so_tien: float | None = Field(None, description="amount (SOTIEN)")
    don_vi: str | None = Field(None, description="unit of the amount (DONVI)")
    mo_ta: str | None = None


class ThoiGian(_Model):
    """A time limit (THOIGIAN[])."""

    thoi_gian_giai_quyet: float | None = Field(None, description="THOIGIANGIAIQUYET")
    don_vi_tinh: str | None = Field(None, description="unit (DONVITINH), e.g. Ngày làm việc")
    mo_ta: str | None = None
    phi_le_phi: list[PhiLePhi] = Field(default_factory=list)


class CachThuc(_Model):
    """A channel a procedure can be carried out through, with its time limits and fees.
    ``kenh`` is None for a channel code the gateway does not know."""

    kenh: KenhThucHien | None
    thoi_gian: list[ThoiGian] = Field(default_factory=list)


class GiayTo(_Model):
    """A paper of a dossier component (GIAYTO[])."""

    ma: str | None = Field(None, description="MAGIAYTO")
    ten: str | None = Field(None, description="TENGIAYTO")
    ten_mau_don: str | None = Field(None, description="form file name (TENMAUDON)")
    url: str | None = Field(None, description="where the form is published (URL)")


class ThanhPhanHoSo(_Model):
    """A dossier component: its case and papers (THANHPHANHOSO[])."""

    truong_hop: str | None = None
    giay_to: list[GiayTo] = Field(default_factory=list)


class VanBan(_Model):
    """A legal basis (CANCUPHAPLY[])."""

    so: str | None = Field(None, description="SOVANBAN")
    ten: str | None = Field(None, description="TENVANBAN")


class KetQua(_Model):
    """A result the procedure issues (KETQUATHUCHIEN[])."""

    ma: str | None = Field(None, description="MAKETQUA")
    ten: str | None = Field(None, description="TENKETQUA")


class ThuTucChiTiet(_Model):
    """One procedure in full (LayThuTuc), in the nested shape the portal answers (OpenCPS rc-3.0
    ``DVCQGIntegrationActionImpl.syncServiceInfo``). Texts are passed through as given."""

    ma_tthc: str = Field(examples=["1.001776"])
    ten_tthc: str = ""
    ma_co_quan_cong_bo: str | None = Field(None, description="publishing agency (MACOQUANCONGBO)")
    linh_vuc: list[LinhVuc] = Field(default_factory=list)
    trinh_tu: list[TrinhTu] = Field(default_factory=list, description="TRINHTUTHUCHIEN")
    cach_thuc: list[CachThuc] = Field(default_factory=list, description="CACHTHUCTHUCHIEN")
    thanh_phan_ho_so: list[ThanhPhanHoSo] = Field(default_factory=list)
    can_cu_phap_ly: list[VanBan] = Field(default_factory=list, description="CANCUPHAPLY")
    co_quan_thuc_hien: list[CoQuan] = Field(default_factory=list, description="COQUANTHUCHIEN")
    ket_qua_thuc_hien: list[KetQua] = Field(default_factory=list, description="KETQUATHUCHIEN")
    doi_tuong_thuc_hien: list[str] = Field(default_factory=list, description="DOITUONGTHUCHIEN")
    yeu_cau: str | None = Field(None, description="conditions (YEUCAU)")
    cong_khai: bool | None = Field(None, description="published (TRANGTHAI 1)")
