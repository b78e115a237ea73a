"""What the simulated portal accepts: its own reading of the packets, from the public record.

Written independently of the gateway's wire models (``schemas.dvcqg``): the simulator must be
able to disagree with the connector. It reads what real senders send:

* OpenCPS (``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``,
  ``.../dossiermgt/action/impl/DVCQGIntegrationActionImpl.java``): the envelope ``{session,
  madonvi, service, ...}``, ``isUpdating`` as the string "True"/"False" (lines 2361-2365),
  every scalar of a dossier a string, ``""`` for an unset date or an unmapped status (lines
  350-503), ``IsDeleted`` "False" (line 490), ``maTTHC`` (line 355) and ``mahoso`` (line
  2195) for the look-ups;
* PASETO (``HuanVu201/DichVuCong_KhoaLuan_PASETO``, ``ISyncLocalDataToDVCQGService.cs``): the
  newer dossier fields, counters of five digits, ``DuocThanhToanTrucTuyen`` "3".

Tolerant where the portal must be (numbers as strings or numbers, ``""``, a single object for
a list, fields it does not know), strict where it is (a dossier without a well-formed
``MaHoSo``, a date that is not a ``yyyyMMddHHmmss`` date, a code that is not a number).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

__all__ = [
    "AGENCY_PATTERN",
    "MA_HO_SO_PATTERN",
    "Ack",
    "Answer",
    "DataStoreResult",
    "DossierPacket",
    "ItemAck",
    "StepPacket",
    "problems",
]

MA_HO_SO_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4,5}$"
AGENCY_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
_DATE = re.compile(r"^\d{14}$")


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _code(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if not text.isdigit():
            raise ValueError("phải là mã số")
        return int(text)
    return value


def _date(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("phải là chuỗi yyyyMMddHHmmss")
    value = value.strip()
    if value == "":
        return None
    if not _DATE.fullmatch(value):
        raise ValueError("phải là yyyyMMddHHmmss")
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError("không phải ngày giờ có thật") from None
    return value


def _flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise ValueError("phải là True/False")


def _items(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return [value]
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


Text = Annotated[Annotated[str, Field(max_length=20_000)] | None, BeforeValidator(_text)]
Code = Annotated[int | None, BeforeValidator(_code)]
Date = Annotated[str | None, BeforeValidator(_date)]
Items = Annotated[list[dict[str, Any]], Field(max_length=500), BeforeValidator(_items)]
MaHoSo = Annotated[str, BeforeValidator(_strip), Field(pattern=MA_HO_SO_PATTERN)]


class _Read(BaseModel):
    # the portal ignores what it does not know
    model_config = ConfigDict(extra="ignore")


class DossierPacket(_Read):
    """One dossier of ``DongBoHoSoMC``, as the portal reads it."""

    MaHoSo: MaHoSo
    MaTTHC: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=64)]
    TenTTHC: Text = None
    MaLinhVuc: Text = None
    TenLinhVuc: Text = None
    SoBienNhan: Text = None
    KenhThucHien: Code = None
    ChuHoSo: Text = None
    SoGiayToChuHoSo: Text = None
    LoaiDoiTuong: Code = None
    MaDoiTuong: Text = None
    ThongTinKhac: Text = None
    Email: Text = None
    Fax: Text = None
    SoDienThoai: Text = None
    TrichYeuHoSo: Text = None
    NgayTiepNhan: Date = None
    NgayHenTra: Date = None
    TrangThaiHoSo: Code = None
    NgayTra: Date = None
    ThongTinTra: Text = None
    HinhThuc: Code = None
    NgayKetThucXuLy: Date = None
    DonViXuLy: Text = None
    GhiChu: Text = None
    NoiNopHoSo: Text = None
    HoSoCoThanhPhanSoHoa: Code = None
    TaiKhoanDuocXacThucVoiVNeID: Code = None
    DuocThanhToanTrucTuyen: Code = None
    NgayTuChoi: Date = None
    NgayNopHoSo: Date = None
    DinhDanhCHS: Items = Field(default_factory=list)
    DSKetNoiCSDL: Items = Field(default_factory=list)
    TaiLieuNop: Items = Field(default_factory=list)
    DanhSachLePhi: Items = Field(default_factory=list)
    DanhSachTepDinhKemKhac: Items = Field(default_factory=list)
    DanhSachHoSoBoSung: Items = Field(default_factory=list)
    DanhSachGiayToKetQua: Items = Field(default_factory=list)


class StepPacket(_Read):
    """One processing step of ``CapNhatTienDoHoSoMC`` (OpenCPS lines 604-697)."""

    MaHoSo: MaHoSo
    NguoiXuLy: Text = None
    ChucDanh: Text = None
    ThoiDiemXuLy: Date = None
    PhongBanXuLy: Text = None
    NoiDungXuLy: Text = None
    TrangThai: Code = None
    NgayBatDau: Date = None
    NgayKetThucTheoQuyDinh: Date = None


class Envelope(_Read):
    """What every ``/api`` or ``/share`` body carries."""

    session: Annotated[str, Field(min_length=1, max_length=256)]
    madonvi: Annotated[str, Field(pattern=AGENCY_PATTERN)]
    service: Annotated[str, Field(max_length=64)]


class SyncDossiers(Envelope):
    isUpdating: Annotated[bool, BeforeValidator(_flag)] = False
    data: Annotated[list[DossierPacket], Field(min_length=1, max_length=50)]


class SyncSteps(Envelope):
    data: Annotated[list[StepPacket], Field(min_length=1, max_length=50)]


class LookUpDossier(Envelope):
    mahoso: MaHoSo


class LookUpProcedure(Envelope):
    maTTHC: Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=64)]


# --- this project's own services (online dossiers, citizens' items, the data store) --------

KetQua = Literal["accepted", "duplicate", "stale", "conflict", "rejected"]
SafeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Loai = Literal["PhanAnhKienNghi", "DanhGia", "HoiDap"]


class Ack(_Read):
    MaHoSo: MaHoSo
    PhienBan: Annotated[int, Field(ge=1, le=10_000)]
    KetQua: KetQua


class ItemAck(_Read):
    Ma: SafeId
    KetQua: KetQua


class Answer(_Read):
    Ma: SafeId
    NoiDungTraLoi: Annotated[str, Field(min_length=1, max_length=10_000)]
    CoQuanTraLoi: Annotated[str, Field(min_length=1, max_length=200)]
    NgayTraLoi: Annotated[str, BeforeValidator(_date)]
    CongKhai: Annotated[int, Field(ge=0, le=1)]


class DataStoreResult(_Read):
    MaHoSo: MaHoSo
    MaGiayTo: SafeId
    SoDinhDanhChuSoHuu: Annotated[str, Field(pattern=r"^\d{12}$")]
    HoTenChuSoHuu: Annotated[str, Field(min_length=1, max_length=200)]
    TenGiayTo: Annotated[str, Field(min_length=1, max_length=500)]
    MaThanhPhanHoSo: Text = None
    SoKyHieu: Text = None
    NgayCap: Annotated[str, BeforeValidator(_date)]
    CoQuanCap: Annotated[str, Field(min_length=1, max_length=500)]
    HieuLucDen: Date = None
    TenTep: Annotated[str, Field(min_length=1, max_length=255)]
    DinhDang: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)]
    MaBam: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    DaKySo: Annotated[int, Field(ge=0, le=1)]
    NoiDungTep: Annotated[str, Field(min_length=4, max_length=40_000_000)]


class PullDossiers(Envelope):
    SoLuong: Annotated[int, Field(ge=1, le=50)] = 50


class AckDossiers(Envelope):
    data: Annotated[list[Ack], Field(min_length=1, max_length=50)]


class PullItems(Envelope):
    Loai: Loai
    SoLuong: Annotated[int, Field(ge=1, le=50)] = 50


class AckItems(Envelope):
    Loai: Loai
    data: Annotated[list[ItemAck], Field(min_length=1, max_length=50)]


class SendAnswers(Envelope):
    data: Annotated[list[Answer], Field(min_length=1, max_length=50)]


class StoreResult(Envelope):
    data: Annotated[list[DataStoreResult], Field(min_length=1, max_length=1)]


REQUESTS: dict[str, type[Envelope]] = {
    "DongBoHoSoMC": SyncDossiers,
    "CapNhatTienDoHoSoMC": SyncSteps,
    "TraCuuHoSo": LookUpDossier,
    "LayThuTuc": LookUpProcedure,
    "LayDanhSachTTHC": Envelope,
    "LayDanhMucCoQuan": Envelope,
    "LayDanhMucLinhVuc": Envelope,
    "LayDanhSachHoSoTrucTuyen": PullDossiers,
    "XacNhanHoSoTrucTuyen": AckDossiers,
    "LayDanhSachMucMoi": PullItems,
    "XacNhanMuc": AckItems,
    "DongBoTraLoiPhanAnh": SendAnswers,
    "DongBoHoiDap": SendAnswers,
    "DongBoKetQuaKho": StoreResult,
}
"""The services the simulated adapter knows, and how it reads each."""


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(body)"


def problems(exc: ValidationError) -> str:
    """The refusal message: each bad field path and why (input values left out: they may be
    personal data)."""
    return "; ".join(f"{field_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
