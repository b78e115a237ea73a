"""Canonical models <-> DVCQG wire packets.

Everything that differs between the gateway's northbound form and the portal's wire form is
decided here and nowhere else: field names, the numeric code tables, and datetimes.

Datetimes: the wire carries ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh local time with no zone
marker. Outbound, any aware datetime is converted to that zone, so 01:30Z goes out as 08:30.
Sub-second precision does not exist on the wire and is truncated (not rounded: rounding could
move a step past a later one that was recorded in the same second). Inbound, datetimes come
back aware in Asia/Ho_Chi_Minh (+07:00). A round trip therefore keeps the instant to the second.

The mapping functions build validated models; a value that breaks the target model raises
:class:`pydantic.ValidationError` (a :class:`ValueError`), and an unknown code or bad wire
datetime raises :class:`ValueError` naming the field. Callers turn these into the right gateway
error (invalid input outbound, invalid upstream answer inbound).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import TypeVar
from zoneinfo import ZoneInfo

from connectors.dvcqg.models import (
    BuocXuLy,
    CachThuc,
    DinhDanh,
    GiayToKetQua,
    HoSo,
    KenhThucHien,
    LePhi,
    LinhVuc,
    LoaiDoiTuong,
    TaiLieu,
    TepDinhKemKhac,
    ThanhPhanHoSo,
    ThuTuc,
    ThuTucChiTiet,
    TrangThaiHoSo,
    YeuCauBoSung,
)
from schemas import dvcqg as wire

__all__ = [
    "KENH_THUC_HIEN_CODES",
    "LOAI_DOI_TUONG_CODES",
    "TRANG_THAI_CODES",
    "VIETNAM_TZ",
    "buoc_from_wire",
    "buoc_to_wire",
    "code_of",
    "from_wire_datetime",
    "ho_so_from_wire",
    "ho_so_to_wire",
    "member_of",
    "thu_tuc_chi_tiet_from_wire",
    "thu_tuc_from_wire",
    "to_wire_datetime",
]

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

E = TypeVar("E", bound=Enum)

# --- code tables: defined once, read both ways --------------------------------------------

TRANG_THAI_CODES: Mapping[TrangThaiHoSo, int] = MappingProxyType(
    {
        TrangThaiHoSo.moi_dang_ky: 1,
        TrangThaiHoSo.da_tiep_nhan: 2,
        TrangThaiHoSo.khong_tiep_nhan: 3,
        TrangThaiHoSo.dang_xu_ly: 4,
        TrangThaiHoSo.yeu_cau_bo_sung: 5,
        TrangThaiHoSo.yeu_cau_nghia_vu_tai_chinh: 6,
        TrangThaiHoSo.rut_ho_so: 7,
        TrangThaiHoSo.dung_xu_ly: 8,
        TrangThaiHoSo.da_xu_ly: 9,
        TrangThaiHoSo.da_tra_ket_qua: 10,
    }
)
KENH_THUC_HIEN_CODES: Mapping[KenhThucHien, int] = MappingProxyType(
    {KenhThucHien.truc_tiep: 1, KenhThucHien.truc_tuyen: 2, KenhThucHien.buu_chinh: 3}
)
LOAI_DOI_TUONG_CODES: Mapping[LoaiDoiTuong, int] = MappingProxyType(
    {
        LoaiDoiTuong.cong_dan: 1,
        LoaiDoiTuong.doanh_nghiep: 2,
        LoaiDoiTuong.co_quan_nha_nuoc: 3,
        LoaiDoiTuong.khac: 4,
    }
)


def code_of(table: Mapping[E, int], member: E) -> int:
    """The wire code of ``member`` (every member is in its table; a test checks it)."""
    return table[member]


def member_of(table: Mapping[E, int], code: int, *, field: str) -> E:
    """The enum member whose wire code is ``code``; :class:`ValueError` naming ``field``."""
    for member, value in table.items():
        if value == code:
            return member
    raise ValueError(f"{field}: unknown code {code!r}")


# --- datetimes ----------------------------------------------------------------------------


def to_wire_datetime(dt: datetime) -> str:
    """``dt`` as Vietnam local ``yyyyMMddHHmmss``; sub-seconds truncated; naive refused."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a naive datetime has no instant: give it a UTC offset")
    return dt.astimezone(VIETNAM_TZ).strftime(wire.WIRE_DATETIME_FORMAT)


def from_wire_datetime(value: str) -> datetime:
    """Parse a wire ``yyyyMMddHHmmss`` as Vietnam local time (aware, +07:00)."""
    if not re.fullmatch(wire.WIRE_DATETIME_PATTERN, value):
        raise ValueError(f"not a yyyyMMddHHmmss datetime: {value!r}")
    # strptime refuses impossible dates (30 February); the zone is attached, not converted
    parsed = datetime.strptime(value, wire.WIRE_DATETIME_FORMAT)
    return parsed.replace(tzinfo=VIETNAM_TZ)


def _opt_to_wire(dt: datetime | None) -> str | None:
    return None if dt is None else to_wire_datetime(dt)


def _field_dt(value: str, field: str) -> datetime:
    try:
        return from_wire_datetime(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def _opt_field_dt(value: str | None, field: str) -> datetime | None:
    return None if value is None else _field_dt(value, field)


# --- dossiers -----------------------------------------------------------------------------


def ho_so_to_wire(h: HoSo) -> wire.HoSoMC:
    """The ``HoSoMC`` packet for a canonical dossier."""
    return wire.HoSoMC(
        MaHoSo=h.ma_ho_so,
        MaTTHC=h.ma_tthc,
        TenTTHC=h.ten_tthc,
        MaLinhVuc=h.ma_linh_vuc,
        TenLinhVuc=h.ten_linh_vuc,
        SoBienNhan=h.so_bien_nhan,
        KenhThucHien=code_of(KENH_THUC_HIEN_CODES, h.kenh_thuc_hien),
        ChuHoSo=h.chu_ho_so,
        SoGiayToChuHoSo=h.so_giay_to_chu_ho_so,
        LoaiDoiTuong=code_of(LOAI_DOI_TUONG_CODES, h.loai_doi_tuong),
        MaDoiTuong=h.ma_doi_tuong,
        ThongTinKhac=h.thong_tin_khac,
        Email=h.email,
        Fax=h.fax,
        SoDienThoai=h.so_dien_thoai,
        TrichYeuHoSo=h.trich_yeu,
        NgayTiepNhan=to_wire_datetime(h.ngay_tiep_nhan),
        NgayHenTra=to_wire_datetime(h.ngay_hen_tra),
        TrangThaiHoSo=code_of(TRANG_THAI_CODES, h.trang_thai),
        NgayTra=_opt_to_wire(h.ngay_tra),
        ThongTinTra=h.thong_tin_tra,
        HinhThuc=h.hinh_thuc,
        NgayKetThucXuLy=_opt_to_wire(h.ngay_ket_thuc_xu_ly),
        DonViXuLy=h.don_vi_xu_ly,
        GhiChu=h.ghi_chu,
        NoiNopHoSo=h.noi_nop_ho_so,
        HoSoCoThanhPhanSoHoa=int(h.co_thanh_phan_so_hoa),
        TaiKhoanDuocXacThucVoiVNeID=int(h.xac_thuc_vneid),
        DuocThanhToanTrucTuyen=h.thanh_toan_truc_tuyen,
        NgayTuChoi=_opt_to_wire(h.ngay_tu_choi),
        NgayNopHoSo=_opt_to_wire(h.ngay_nop_ho_so),
        DinhDanhCHS=[
            wire.DinhDanhCHS(LoaiDinhDanh=d.loai, SoDinhDanh=d.so) for d in h.dinh_danh_chu_ho_so
        ],
        TaiLieuNop=[
            wire.TaiLieuNop(
                TepDinhKemId=t.id,
                TenTepDinhKem=t.ten,
                IsDeleted=t.da_xoa,
                MaThanhPhanHoSo=t.ma_thanh_phan,
                DuongDanTaiTepTin=t.duong_dan,
            )
            for t in h.tai_lieu_nop
        ],
        DanhSachLePhi=[
            wire.LePhi(
                TenPhiLePhi=p.ten,
                MaPhiLePhi=p.ma,
                HinhThucThu=p.hinh_thuc_thu,
                Gia=p.gia,
                LoaiPhiLePhi=p.loai,
            )
            for p in h.le_phi
        ],
        DanhSachTepDinhKemKhac=[
            wire.TepDinhKemKhac(TenGiayTo=k.ten, SoLuong=k.so_luong, LoaiGiayTo=k.loai)
            for k in h.tep_dinh_kem_khac
        ],
        DanhSachHoSoBoSung=[
            wire.HoSoBoSung(
                HoSoBoSungId=b.id,
                NguoiYeuCauBoSung=b.nguoi_yeu_cau,
                NoiDungBoSung=b.noi_dung,
                NgayBoSung=to_wire_datetime(b.ngay_bo_sung),
                NgayHenTraTruoc=_opt_to_wire(b.ngay_hen_tra_truoc),
                NgayHenTraMoi=_opt_to_wire(b.ngay_hen_tra_moi),
            )
            for b in h.ho_so_bo_sung
        ],
        DanhSachGiayToKetQua=[
            wire.GiayToKetQua(
                TenGiayTo=g.ten,
                MaThanhPhanHoSo=g.ma_thanh_phan,
                GiayToId=g.id,
                DuongDanTepTinKetQua=g.duong_dan,
            )
            for g in h.giay_to_ket_qua
        ],
    )


def ho_so_from_wire(p: wire.HoSoMC) -> HoSo:
    """The canonical dossier for a ``HoSoMC`` packet (or a ``HoSoTraCuu`` answer).

    Absent wire flags read as false/0, which is what the portal assumes for them.
    """
    return HoSo(
        ma_ho_so=p.MaHoSo,
        ma_tthc=p.MaTTHC,
        ten_tthc=p.TenTTHC,
        ma_linh_vuc=p.MaLinhVuc,
        ten_linh_vuc=p.TenLinhVuc,
        so_bien_nhan=p.SoBienNhan,
        kenh_thuc_hien=member_of(KENH_THUC_HIEN_CODES, p.KenhThucHien, field="KenhThucHien"),
        chu_ho_so=p.ChuHoSo,
        so_giay_to_chu_ho_so=p.SoGiayToChuHoSo,
        loai_doi_tuong=member_of(LOAI_DOI_TUONG_CODES, p.LoaiDoiTuong, field="LoaiDoiTuong"),
        ma_doi_tuong=p.MaDoiTuong,
        thong_tin_khac=p.ThongTinKhac,
        email=p.Email,
        fax=p.Fax,
        so_dien_thoai=p.SoDienThoai,
        trich_yeu=p.TrichYeuHoSo,
        ngay_tiep_nhan=_field_dt(p.NgayTiepNhan, "NgayTiepNhan"),
        ngay_hen_tra=_field_dt(p.NgayHenTra, "NgayHenTra"),
        trang_thai=member_of(TRANG_THAI_CODES, p.TrangThaiHoSo, field="TrangThaiHoSo"),
        ngay_tra=_opt_field_dt(p.NgayTra, "NgayTra"),
        thong_tin_tra=p.ThongTinTra,
        hinh_thuc=p.HinhThuc,
        ngay_ket_thuc_xu_ly=_opt_field_dt(p.NgayKetThucXuLy, "NgayKetThucXuLy"),
        don_vi_xu_ly=p.DonViXuLy,
        ghi_chu=p.GhiChu,
        noi_nop_ho_so=p.NoiNopHoSo,
        co_thanh_phan_so_hoa=bool(p.HoSoCoThanhPhanSoHoa),
        xac_thuc_vneid=bool(p.TaiKhoanDuocXacThucVoiVNeID),
        thanh_toan_truc_tuyen=p.DuocThanhToanTrucTuyen or 0,
        ngay_tu_choi=_opt_field_dt(p.NgayTuChoi, "NgayTuChoi"),
        ngay_nop_ho_so=_opt_field_dt(p.NgayNopHoSo, "NgayNopHoSo"),
        dinh_danh_chu_ho_so=[DinhDanh(loai=d.LoaiDinhDanh, so=d.SoDinhDanh) for d in p.DinhDanhCHS],
        tai_lieu_nop=[
            TaiLieu(
                id=t.TepDinhKemId,
                ten=t.TenTepDinhKem,
                da_xoa=t.IsDeleted,
                ma_thanh_phan=t.MaThanhPhanHoSo,
                duong_dan=t.DuongDanTaiTepTin,
            )
            for t in p.TaiLieuNop
        ],
        le_phi=[
            LePhi(
                ten=f.TenPhiLePhi,
                ma=f.MaPhiLePhi,
                hinh_thuc_thu=f.HinhThucThu,
                gia=f.Gia,
                loai=f.LoaiPhiLePhi,
            )
            for f in p.DanhSachLePhi
        ],
        tep_dinh_kem_khac=[
            TepDinhKemKhac(ten=k.TenGiayTo, so_luong=k.SoLuong, loai=k.LoaiGiayTo)
            for k in p.DanhSachTepDinhKemKhac
        ],
        ho_so_bo_sung=[
            YeuCauBoSung(
                id=b.HoSoBoSungId,
                nguoi_yeu_cau=b.NguoiYeuCauBoSung,
                noi_dung=b.NoiDungBoSung,
                ngay_bo_sung=_field_dt(b.NgayBoSung, "NgayBoSung"),
                ngay_hen_tra_truoc=_opt_field_dt(b.NgayHenTraTruoc, "NgayHenTraTruoc"),
                ngay_hen_tra_moi=_opt_field_dt(b.NgayHenTraMoi, "NgayHenTraMoi"),
            )
            for b in p.DanhSachHoSoBoSung
        ],
        giay_to_ket_qua=[
            GiayToKetQua(
                id=g.GiayToId,
                ten=g.TenGiayTo,
                ma_thanh_phan=g.MaThanhPhanHoSo,
                duong_dan=g.DuongDanTepTinKetQua,
            )
            for g in p.DanhSachGiayToKetQua
        ],
    )


# --- processing steps ---------------------------------------------------------------------


def buoc_to_wire(ma_ho_so: str, b: BuocXuLy) -> wire.QuaTrinhXuLy:
    """The ``QuaTrinhXuLy`` packet of one step of dossier ``ma_ho_so``."""
    return wire.QuaTrinhXuLy(
        MaHoSo=ma_ho_so,
        NguoiXuLy=b.nguoi_xu_ly,
        ChucDanh=b.chuc_danh,
        ThoiDiemXuLy=to_wire_datetime(b.thoi_diem_xu_ly),
        PhongBanXuLy=b.phong_ban_xu_ly,
        NoiDungXuLy=b.noi_dung_xu_ly,
        TrangThai=code_of(TRANG_THAI_CODES, b.trang_thai),
        NgayBatDau=_opt_to_wire(b.ngay_bat_dau),
        NgayKetThucTheoQuyDinh=_opt_to_wire(b.ngay_ket_thuc_theo_quy_dinh),
    )


def buoc_from_wire(q: wire.QuaTrinhXuLy) -> BuocXuLy:
    """The canonical step of a ``QuaTrinhXuLy`` packet (its ``MaHoSo`` is the caller's key)."""
    return BuocXuLy(
        nguoi_xu_ly=q.NguoiXuLy,
        chuc_danh=q.ChucDanh,
        thoi_diem_xu_ly=_field_dt(q.ThoiDiemXuLy, "ThoiDiemXuLy"),
        phong_ban_xu_ly=q.PhongBanXuLy,
        noi_dung_xu_ly=q.NoiDungXuLy,
        trang_thai=member_of(TRANG_THAI_CODES, q.TrangThai, field="TrangThai"),
        ngay_bat_dau=_opt_field_dt(q.NgayBatDau, "NgayBatDau"),
        ngay_ket_thuc_theo_quy_dinh=_opt_field_dt(
            q.NgayKetThucTheoQuyDinh, "NgayKetThucTheoQuyDinh"
        ),
    )


# --- procedure catalogue ------------------------------------------------------------------


def thu_tuc_from_wire(t: wire.ThuTucTomTat) -> ThuTuc:
    """The canonical catalogue entry of one ``LayDanhSachTTHC`` line."""
    return ThuTuc(
        ma_tthc=t.MATTHC, ten_tthc=t.TENTTHC, ma_linh_vuc=t.MALINHVUC, ten_linh_vuc=t.TENLINHVUC
    )


def thu_tuc_chi_tiet_from_wire(t: wire.ThuTuc) -> ThuTucChiTiet:
    """The canonical detail of a ``LayThuTuc`` answer (channel codes as in KenhThucHien)."""
    return ThuTucChiTiet(
        ma_tthc=t.MATTHC,
        ten_tthc=t.TENTTHC,
        linh_vuc=[LinhVuc(ma=lv.MALINHVUC, ten=lv.TENLINHVUC) for lv in t.LINHVUCTHUCHIEN],
        trinh_tu=t.TRINHTUTHUCHIEN,
        cach_thuc=[
            CachThuc(
                kenh=member_of(KENH_THUC_HIEN_CODES, c.KENH, field="CACHTHUCTHUCHIEN.KENH"),
                thoi_gian=c.THOIGIAN,
                phi_le_phi=c.PHILEPHI,
                mo_ta=c.MOTA,
            )
            for c in t.CACHTHUCTHUCHIEN
        ],
        phi_le_phi=t.PHILEPHI,
        thanh_phan_ho_so=[
            ThanhPhanHoSo(ten_giay_to=x.TENGIAYTO, so_luong=x.SOLUONG, bat_buoc=x.BATBUOC)
            for x in t.THANHPHANHOSO
        ],
        can_cu_phap_ly=t.CANCUPHAPLY,
        co_quan_thuc_hien=t.COQUANTHUCHIEN,
        ket_qua_thuc_hien=t.KETQUATHUCHIEN,
    )
