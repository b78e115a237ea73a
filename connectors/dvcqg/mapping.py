"""Canonical models <-> DVCQG wire packets.

Everything that differs between the gateway's northbound form and the portal's wire form is
decided here and nowhere else: field names, the numeric code tables, and datetimes.

Datetimes: the wire carries ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh local time with no zone
marker. Outbound, any aware datetime is converted to that zone, so 01:30Z goes out as 08:30.
Sub-second precision does not exist on the wire and is truncated (not rounded: rounding could
move a step past a later one that was recorded in the same second). Inbound, datetimes come
back aware in Asia/Ho_Chi_Minh (+07:00). A round trip therefore keeps the instant to the second.

Outbound, every scalar is a string and an unknown value ``""`` (the public senders' form: see
:mod:`connectors.dvcqg.profiles` and :mod:`schemas.dvcqg`); the mapping builds every field it
knows and the deployment's profile keeps those its public sender sends. Inbound (what the
portal holds, :mod:`connectors.dvcqg.portal_view`), blanks and unknown codes read as None.

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
    CoQuan,
    GiayTo,
    HoSo,
    KenhThucHien,
    KetQua,
    LinhVuc,
    LoaiDoiTuong,
    PhiLePhi,
    ThanhPhanHoSo,
    ThoiGian,
    ThuTuc,
    ThuTucChiTiet,
    TrangThaiHoSo,
    TrinhTu,
    VanBan,
)
from connectors.dvcqg.portal_view import (
    BuocTrenCong,
    DinhDanhTrenCong,
    GiayToKetQuaTrenCong,
    HoSoTrenCong,
    LePhiTrenCong,
    TaiLieuTrenCong,
    TepDinhKemKhacTrenCong,
    YeuCauBoSungTrenCong,
)
from connectors.dvcqg.profiles import DEFAULT_PROFILE, PROFILES, WireProfile
from schemas import dvcqg as wire
from schemas.wire_time import wire_format

__all__ = [
    "KENH_THUC_HIEN_CODES",
    "LOAI_DOI_TUONG_CODES",
    "TRANG_THAI_CODES",
    "VIETNAM_TZ",
    "buoc_from_wire",
    "buoc_to_wire",
    "co_quan_from_wire",
    "code_of",
    "from_wire_datetime",
    "ho_so_from_wire",
    "ho_so_to_wire",
    "linh_vuc_from_wire",
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
    return wire_format(dt.astimezone(VIETNAM_TZ), wire.WIRE_DATETIME_FORMAT)


def from_wire_datetime(value: str) -> datetime:
    """Parse a wire ``yyyyMMddHHmmss`` as Vietnam local time (aware, +07:00)."""
    if not re.fullmatch(wire.WIRE_DATETIME_PATTERN, value):
        raise ValueError(f"not a yyyyMMddHHmmss datetime: {value!r}")
    # strptime refuses impossible dates (30 February); the zone is attached, not converted
    parsed = datetime.strptime(value, wire.WIRE_DATETIME_FORMAT)
    return parsed.replace(tzinfo=VIETNAM_TZ)


def _date_or_blank(dt: datetime | None) -> str:
    """A wire datetime, or ``""`` for none (OpenCPS ``convertDate2String`` of null)."""
    return "" if dt is None else to_wire_datetime(dt)


def _opt_dt(value: str | None) -> datetime | None:
    # the wire model has already checked the shape and the calendar
    return None if value is None else from_wire_datetime(value)


def _opt_member(table: Mapping[E, int], code: int | None) -> E | None:
    """The member of ``code``, None for a blank or an unknown code (read tolerantly)."""
    for member, value in table.items():
        if value == code:
            return member
    return None


def _flag(value: bool) -> str:
    return "1" if value else "0"


# --- dossiers ---------------------------------------------------------------------------


def _full_packet(h: HoSo) -> dict[str, object]:
    """Every field of the dossier packet the mapping can fill, in wire form (strings, ``""``
    when unknown); a profile keeps the ones its public sender sends."""
    return {
        "MaHoSo": h.ma_ho_so,
        "MaTTHC": h.ma_tthc,
        "TenTTHC": h.ten_tthc,
        "MaLinhVuc": h.ma_linh_vuc,
        "TenLinhVuc": h.ten_linh_vuc,
        "ChuHoSo": h.chu_ho_so or "",
        "LoaiDoiTuong": str(code_of(LOAI_DOI_TUONG_CODES, h.loai_doi_tuong)),
        "MaDoiTuong": h.ma_doi_tuong or "",
        "ThongTinKhac": h.thong_tin_khac or "",
        "Email": h.email or "",
        "Fax": h.fax or "",
        "SoDienThoai": h.so_dien_thoai,
        "TrichYeuHoSo": h.trich_yeu,
        "NgayTiepNhan": to_wire_datetime(h.ngay_tiep_nhan),
        "NgayHenTra": _date_or_blank(h.ngay_hen_tra),
        "TrangThaiHoSo": str(code_of(TRANG_THAI_CODES, h.trang_thai)),
        "NgayTra": _date_or_blank(h.ngay_tra),
        "ThongTinTra": h.thong_tin_tra or "",
        "HinhThuc": str(h.hinh_thuc),
        "NgayKetThucXuLy": _date_or_blank(h.ngay_ket_thuc_xu_ly),
        "DonViXuLy": h.don_vi_xu_ly,
        "DanhSachLePhi": [
            {
                "TenPhiLePhi": p.ten,
                "MaPhiLePhi": p.ma or "",
                "HinhThucThu": str(p.hinh_thuc_thu),
                "Gia": str(p.gia),
                "LoaiPhiLePhi": str(p.loai),
            }
            for p in h.le_phi
        ],
        "DanhSachTepDinhKemKhac": [
            {
                "TenGiayTo": k.ten,
                "SoLuong": str(k.so_luong),
                "LoaiGiayTo": "" if k.loai is None else str(k.loai),
            }
            for k in h.tep_dinh_kem_khac
        ],
        "DanhSachHoSoBoSung": [
            {
                "HoSoBoSungId": b.id,
                "NguoiYeuCauBoSung": b.nguoi_yeu_cau,
                "NoiDungBoSung": b.noi_dung,
                "NgayBoSung": to_wire_datetime(b.ngay_bo_sung),
                "NguoiTiepNhanBoSung": "",
                "ThongTinTiepNhan": "",
                "NgayTiepNhanBoSung": "",
                "TrangThaiBoSung": "",
                "DanhSachGiayToBoSung": [],
                "DanhSachLePhiBoSung": [],
                "NgayHenTraTruoc": _date_or_blank(b.ngay_hen_tra_truoc),
                "NgayHenTraMoi": _date_or_blank(b.ngay_hen_tra_moi),
            }
            for b in h.ho_so_bo_sung
        ],
        "DanhSachGiayToKetQua": [
            {
                "TenGiayTo": g.ten,
                "MaThanhPhanHoSo": g.ma_thanh_phan or "",
                "GiayToId": g.id,
                "DuongDanTepTinKetQua": g.duong_dan,
                "MaGiayToKetQua": g.ma_giay_to_ket_qua or "",
            }
            for g in h.giay_to_ket_qua
        ],
        "TaiLieuNop": [
            {
                "TenTepDinhKem": t.ten,
                "MaThanhPhanHoSo": t.ma_thanh_phan or "",
                "TepDinhKemId": t.id,
                "DuongDanTaiTepTin": t.duong_dan or "",
                "IsDeleted": "True" if t.da_xoa else "False",
                "DuocSoHoa": _flag(t.duoc_so_hoa),
                "DuocTaiSuDung": str(t.duoc_tai_su_dung),
                "DuocLayTuKhoDMQG": _flag(t.duoc_lay_tu_kho_dmqg),
                "MaKetQuaThayThe": t.ma_ket_qua_thay_the or "",
            }
            for t in h.tai_lieu_nop
        ],
        "KenhThucHien": str(code_of(KENH_THUC_HIEN_CODES, h.kenh_thuc_hien)),
        "SoGiayToChuHoSo": h.so_giay_to_chu_ho_so,
        "GhiChu": h.ghi_chu or "",
        "NoiNopHoSo": h.noi_nop_ho_so or "",
        "HoSoCoThanhPhanSoHoa": _flag(h.co_thanh_phan_so_hoa),
        "TaiKhoanDuocXacThucVoiVNeID": _flag(h.xac_thuc_vneid),
        "DuocThanhToanTrucTuyen": str(h.thanh_toan_truc_tuyen),
        "NgayTuChoi": _date_or_blank(h.ngay_tu_choi),
        "DinhDanhCHS": [
            {"LoaiDinhDanh": str(d.loai), "SoDinhDanh": d.so} for d in h.dinh_danh_chu_ho_so
        ],
        "NgayNopHoSo": _date_or_blank(h.ngay_nop_ho_so),
        "DSKetNoiCSDL": [{"MaCSDL": code} for code in h.ket_noi_csdl],
    }


def ho_so_to_wire(h: HoSo, profile: WireProfile = PROFILES[DEFAULT_PROFILE]) -> wire.HoSoMC:
    """The ``HoSoMC`` packet ``profile`` sends for a canonical dossier (the default profile
    unless told)."""
    return wire.HoSoMC.model_validate(profile.dossier(_full_packet(h)))


def ho_so_from_wire(p: wire.HoSoTraCuu) -> HoSoTrenCong:
    """What the portal holds for a dossier (a ``TraCuuHoSo`` record, or any DongBoHoSoMC
    packet read tolerantly), in canonical names; blanks and unknown codes read as None."""
    return HoSoTrenCong(
        ma_ho_so=p.MaHoSo,
        ma_tthc=p.MaTTHC or None,
        ten_tthc=p.TenTTHC or None,
        ma_linh_vuc=p.MaLinhVuc or None,
        ten_linh_vuc=p.TenLinhVuc or None,
        so_bien_nhan=p.SoBienNhan or None,
        kenh_thuc_hien=_opt_member(KENH_THUC_HIEN_CODES, p.KenhThucHien),
        chu_ho_so=p.ChuHoSo or None,
        so_giay_to_chu_ho_so=p.SoGiayToChuHoSo or None,
        loai_doi_tuong=_opt_member(LOAI_DOI_TUONG_CODES, p.LoaiDoiTuong),
        ma_doi_tuong=p.MaDoiTuong or None,
        thong_tin_khac=p.ThongTinKhac or None,
        email=p.Email or None,
        fax=p.Fax or None,
        so_dien_thoai=p.SoDienThoai or None,
        trich_yeu=p.TrichYeuHoSo or None,
        ngay_tiep_nhan=_opt_dt(p.NgayTiepNhan),
        ngay_hen_tra=_opt_dt(p.NgayHenTra),
        trang_thai=_opt_member(TRANG_THAI_CODES, p.TrangThaiHoSo),
        ngay_tra=_opt_dt(p.NgayTra),
        thong_tin_tra=p.ThongTinTra or None,
        hinh_thuc=p.HinhThuc,
        ngay_ket_thuc_xu_ly=_opt_dt(p.NgayKetThucXuLy),
        don_vi_xu_ly=p.DonViXuLy or None,
        ghi_chu=p.GhiChu or None,
        noi_nop_ho_so=p.NoiNopHoSo or None,
        co_thanh_phan_so_hoa=p.HoSoCoThanhPhanSoHoa,
        xac_thuc_vneid=p.TaiKhoanDuocXacThucVoiVNeID,
        thanh_toan_truc_tuyen=p.DuocThanhToanTrucTuyen,
        ngay_tu_choi=_opt_dt(p.NgayTuChoi),
        ngay_nop_ho_so=_opt_dt(p.NgayNopHoSo),
        dinh_danh_chu_ho_so=[
            DinhDanhTrenCong(loai=d.LoaiDinhDanh, so=d.SoDinhDanh) for d in p.DinhDanhCHS
        ],
        tai_lieu_nop=[
            TaiLieuTrenCong(
                id=t.TepDinhKemId or None,
                ten=t.TenTepDinhKem or None,
                da_xoa=t.IsDeleted,
                ma_thanh_phan=t.MaThanhPhanHoSo or None,
                duong_dan=t.DuongDanTaiTepTin or None,
                duoc_so_hoa=t.DuocSoHoa,
                duoc_tai_su_dung=t.DuocTaiSuDung,
                duoc_lay_tu_kho_dmqg=t.DuocLayTuKhoDMQG,
                ma_ket_qua_thay_the=t.MaKetQuaThayThe or None,
            )
            for t in p.TaiLieuNop
        ],
        le_phi=[
            LePhiTrenCong(
                ten=f.TenPhiLePhi or None,
                ma=f.MaPhiLePhi or None,
                hinh_thuc_thu=f.HinhThucThu,
                gia=f.Gia,
                loai=f.LoaiPhiLePhi,
            )
            for f in p.DanhSachLePhi
        ],
        tep_dinh_kem_khac=[
            TepDinhKemKhacTrenCong(ten=k.TenGiayTo or None, so_luong=k.SoLuong, loai=k.LoaiGiayTo)
            for k in p.DanhSachTepDinhKemKhac
        ],
        ho_so_bo_sung=[
            YeuCauBoSungTrenCong(
                id=b.HoSoBoSungId or None,
                nguoi_yeu_cau=b.NguoiYeuCauBoSung or None,
                noi_dung=b.NoiDungBoSung or None,
                ngay_bo_sung=_opt_dt(b.NgayBoSung),
                ngay_hen_tra_truoc=_opt_dt(b.NgayHenTraTruoc),
                ngay_hen_tra_moi=_opt_dt(b.NgayHenTraMoi),
            )
            for b in p.DanhSachHoSoBoSung
        ],
        giay_to_ket_qua=[
            GiayToKetQuaTrenCong(
                id=g.GiayToId or None,
                ten=g.TenGiayTo or None,
                ma_thanh_phan=g.MaThanhPhanHoSo or None,
                duong_dan=g.DuongDanTepTinKetQua or None,
                ma_giay_to_ket_qua=g.MaGiayToKetQua or None,
            )
            for g in p.DanhSachGiayToKetQua
        ],
        ket_noi_csdl=[c.MaCSDL for c in p.DSKetNoiCSDL if c.MaCSDL],
    )


# --- processing steps ---------------------------------------------------------------------


def buoc_to_wire(ma_ho_so: str, b: BuocXuLy) -> wire.QuaTrinhXuLy:
    """The ``QuaTrinhXuLy`` packet of one step of dossier ``ma_ho_so`` (the same nine string
    fields in both profiles)."""
    return wire.QuaTrinhXuLy(
        MaHoSo=ma_ho_so,
        NguoiXuLy=b.nguoi_xu_ly,
        ChucDanh=b.chuc_danh or "",
        ThoiDiemXuLy=to_wire_datetime(b.thoi_diem_xu_ly),
        PhongBanXuLy=b.phong_ban_xu_ly,
        NoiDungXuLy=b.noi_dung_xu_ly,
        TrangThai=str(code_of(TRANG_THAI_CODES, b.trang_thai)),
        NgayBatDau=_date_or_blank(b.ngay_bat_dau),
        NgayKetThucTheoQuyDinh=_date_or_blank(b.ngay_ket_thuc_theo_quy_dinh),
    )


def buoc_from_wire(q: wire.QuaTrinhXuLyTraCuu) -> BuocTrenCong:
    """A step as the portal holds it (its ``MaHoSo`` is the caller's key)."""
    return BuocTrenCong(
        nguoi_xu_ly=q.NguoiXuLy or None,
        chuc_danh=q.ChucDanh or None,
        thoi_diem_xu_ly=_opt_dt(q.ThoiDiemXuLy),
        phong_ban_xu_ly=q.PhongBanXuLy or None,
        noi_dung_xu_ly=q.NoiDungXuLy or None,
        trang_thai=_opt_member(TRANG_THAI_CODES, q.TrangThai),
        ngay_bat_dau=_opt_dt(q.NgayBatDau),
        ngay_ket_thuc_theo_quy_dinh=_opt_dt(q.NgayKetThucTheoQuyDinh),
    )


# --- procedure catalogue and code lists ---------------------------------------------------


def thu_tuc_from_wire(t: wire.ThuTucTomTat) -> ThuTuc:
    """The canonical catalogue entry of one ``LayDanhSachTTHC`` line."""
    return ThuTuc(
        ma_tthc=t.MATTHC,
        ten_tthc=t.TENTTHC or "",
        ma_linh_vuc=t.MALINHVUC or None,
        ten_linh_vuc=t.TENLINHVUC or None,
    )


def linh_vuc_from_wire(lv: wire.LinhVucThucHien) -> LinhVuc:
    return LinhVuc(ma=lv.MALINHVUC or None, ten=lv.TENLINHVUC or None)


def co_quan_from_wire(c: wire.CoQuan | wire.CoQuanThucHien) -> CoQuan:
    return CoQuan(
        ma=c.MADONVI or None,
        ten=c.TENDONVI or None,
        cap=c.CAPDONVI if isinstance(c, wire.CoQuan) else None,
    )


def _thoi_gian(t: wire.ThoiGianThucHien) -> ThoiGian:
    return ThoiGian(
        thoi_gian_giai_quyet=t.THOIGIANGIAIQUYET,
        don_vi_tinh=t.DONVITINH or None,
        mo_ta=t.MOTA or None,
        phi_le_phi=[
            PhiLePhi(ma=f.MAPHILEPHI or None, so_tien=f.SOTIEN, don_vi=f.DONVI, mo_ta=f.MOTA)
            for f in t.PHILEPHI
        ],
    )


def thu_tuc_chi_tiet_from_wire(t: wire.ThuTuc) -> ThuTucChiTiet:
    """The canonical detail of a ``LayThuTuc`` answer (the nested shape OpenCPS rc-3.0 reads
    in ``syncServiceInfo``); channel codes as in KenhThucHien, an unknown one None."""
    return ThuTucChiTiet(
        ma_tthc=t.MATTHC,
        ten_tthc=t.TENTTHC or "",
        ma_co_quan_cong_bo=t.MACOQUANCONGBO or None,
        linh_vuc=[linh_vuc_from_wire(lv) for lv in t.LINHVUCTHUCHIEN],
        trinh_tu=[
            TrinhTu(
                truong_hop=x.TRUONGHOP or None,
                buoc=[s.TENTRINHTU for s in x.TRINHTU if s.TENTRINHTU],
            )
            for x in t.TRINHTUTHUCHIEN
        ],
        cach_thuc=[
            CachThuc(
                kenh=_opt_member(KENH_THUC_HIEN_CODES, c.KENH),
                thoi_gian=[_thoi_gian(x) for x in c.THOIGIAN],
            )
            for c in t.CACHTHUCTHUCHIEN
        ],
        thanh_phan_ho_so=[
            ThanhPhanHoSo(
                truong_hop=x.TRUONGHOP or None,
                giay_to=[
                    GiayTo(
                        ma=g.MAGIAYTO or None,
                        ten=g.TENGIAYTO or None,
                        ten_mau_don=g.TENMAUDON or None,
                        url=g.URL or None,
                    )
                    for g in x.GIAYTO
                ],
            )
            for x in t.THANHPHANHOSO
        ],
        can_cu_phap_ly=[
            VanBan(so=v.SOVANBAN or None, ten=v.TENVANBAN or None) for v in t.CANCUPHAPLY
        ],
        co_quan_thuc_hien=[co_quan_from_wire(c) for c in t.COQUANTHUCHIEN],
        ket_qua_thuc_hien=[
            KetQua(ma=k.MAKETQUA or None, ten=k.TENKETQUA or None) for k in t.KETQUATHUCHIEN
        ],
        doi_tuong_thuc_hien=[d.TENDOITUONG for d in t.DOITUONGTHUCHIEN if d.TENDOITUONG],
        yeu_cau=t.YEUCAU or None,
        cong_khai=None if t.TRANGTHAI is None else t.TRANGTHAI == 1,
    )
