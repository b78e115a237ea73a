"""What the portal holds for a dossier, as the gateway reads it back (``TraCuuHoSo``).

The case system *sends* :class:`~connectors.dvcqg.models.HoSo` (strict: every rule of the
packet it makes); what comes *back* from the portal is whatever some system synchronised,
and real senders leave things blank: OpenCPS sends ``""`` for an unmapped status, a dossier
without a due date, a step without a time (``DVCQGIntegrationActionImpl.java``, rc-3.0,
lines 209-211, 620). So the read view has the same field names as :class:`HoSo`, but every
field except ``ma_ho_so`` may be absent (``None``), and an unknown code reads as ``None``
instead of failing the whole look-up.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from connectors.dvcqg.models import KenhThucHien, LoaiDoiTuong, TrangThaiHoSo

__all__ = [
    "BuocTrenCong",
    "DinhDanhTrenCong",
    "GiayToKetQuaTrenCong",
    "HoSoTrenCong",
    "LePhiTrenCong",
    "TaiLieuTrenCong",
    "TepDinhKemKhacTrenCong",
    "YeuCauBoSungTrenCong",
]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaiLieuTrenCong(_View):
    id: str | None = None
    ten: str | None = None
    da_xoa: bool | None = None
    ma_thanh_phan: str | None = None
    duong_dan: str | None = None
    duoc_so_hoa: bool | None = None
    duoc_tai_su_dung: int | None = None
    duoc_lay_tu_kho_dmqg: bool | None = None
    ma_ket_qua_thay_the: str | None = None


class LePhiTrenCong(_View):
    ten: str | None = None
    ma: str | None = None
    hinh_thuc_thu: int | None = None
    gia: int | None = None
    loai: int | None = None


class TepDinhKemKhacTrenCong(_View):
    ten: str | None = None
    so_luong: int | None = None
    loai: int | None = None


class YeuCauBoSungTrenCong(_View):
    id: str | None = None
    nguoi_yeu_cau: str | None = None
    noi_dung: str | None = None
    ngay_bo_sung: datetime | None = None
    ngay_hen_tra_truoc: datetime | None = None
    ngay_hen_tra_moi: datetime | None = None


class GiayToKetQuaTrenCong(_View):
    id: str | None = None
    ten: str | None = None
    ma_thanh_phan: str | None = None
    duong_dan: str | None = None
    ma_giay_to_ket_qua: str | None = None


class DinhDanhTrenCong(_View):
    loai: int | None = None
    so: str | None = None


class HoSoTrenCong(_View):
    """A dossier as the portal holds it (see the module docstring). Datetimes are aware,
    in Asia/Ho_Chi_Minh (+07:00)."""

    ma_ho_so: str
    ma_tthc: str | None = None
    ten_tthc: str | None = None
    ma_linh_vuc: str | None = None
    ten_linh_vuc: str | None = None
    so_bien_nhan: str | None = None
    kenh_thuc_hien: KenhThucHien | None = None
    chu_ho_so: str | None = None
    so_giay_to_chu_ho_so: str | None = None
    loai_doi_tuong: LoaiDoiTuong | None = None
    ma_doi_tuong: str | None = None
    thong_tin_khac: str | None = None
    email: str | None = None
    fax: str | None = None
    so_dien_thoai: str | None = None
    trich_yeu: str | None = None
    ngay_tiep_nhan: datetime | None = None
    ngay_hen_tra: datetime | None = None
    trang_thai: TrangThaiHoSo | None = None
    ngay_tra: datetime | None = None
    thong_tin_tra: str | None = None
    hinh_thuc: int | None = None
    ngay_ket_thuc_xu_ly: datetime | None = None
    don_vi_xu_ly: str | None = None
    ghi_chu: str | None = None
    noi_nop_ho_so: str | None = None
    co_thanh_phan_so_hoa: bool | None = None
    xac_thuc_vneid: bool | None = None
    thanh_toan_truc_tuyen: int | None = None
    ngay_tu_choi: datetime | None = None
    ngay_nop_ho_so: datetime | None = None
    dinh_danh_chu_ho_so: list[DinhDanhTrenCong] = Field(default_factory=list)
    tai_lieu_nop: list[TaiLieuTrenCong] = Field(default_factory=list)
    le_phi: list[LePhiTrenCong] = Field(default_factory=list)
    tep_dinh_kem_khac: list[TepDinhKemKhacTrenCong] = Field(default_factory=list)
    ho_so_bo_sung: list[YeuCauBoSungTrenCong] = Field(default_factory=list)
    giay_to_ket_qua: list[GiayToKetQuaTrenCong] = Field(default_factory=list)
    ket_noi_csdl: list[str] = Field(default_factory=list)


class BuocTrenCong(_View):
    """A processing step as the portal holds it; ``trang_thai`` None for an unmapped code."""

    nguoi_xu_ly: str | None = None
    chuc_danh: str | None = None
    thoi_diem_xu_ly: datetime | None = None
    phong_ban_xu_ly: str | None = None
    noi_dung_xu_ly: str | None = None
    trang_thai: TrangThaiHoSo | None = None
    ngay_bat_dau: datetime | None = None
    ngay_ket_thuc_theo_quy_dinh: datetime | None = None
