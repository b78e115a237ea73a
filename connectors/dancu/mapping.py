"""The case system's citizen models <-> the population database's wire packets.

One place for every translation: the request's fields (the choices that differ between public
senders are asked of :mod:`connectors.dancu.profile`), the birth date forms, and the national
code lists (ethnic groups: Quyết định 121-TCTK/PPCĐ; religions,
marital status and blood groups as the platform's profile sends them). A code missing from a
list is kept with ``ten=None``: an answer is never refused for a label we lack.
"""

from __future__ import annotations

from datetime import date, datetime

from connectors.dancu.models import (
    ChuHo,
    CongDan,
    DiaChi,
    GioiTinh,
    MaTen,
    NguoiThan,
    YeuCauCongDan,
)
from connectors.dancu.profile import OfficerCredential, WireProfile, normalise_name
from schemas import cccd
from schemas import dancu as wire
from schemas.wire_time import wire_format

__all__ = ["from_wire", "normalise_name", "to_wire"]

#: the 54 ethnic groups in the order of Quyết định 121-TCTK/PPCĐ, and foreigners
DAN_TOC: dict[str, str] = {
    "01": "Kinh",
    "02": "Tày",
    "03": "Thái",
    "04": "Hoa",
    "05": "Khơ-me",
    "06": "Mường",
    "07": "Nùng",
    "08": "Hmông",
    "09": "Dao",
    "10": "Gia-rai",
    "11": "Ngái",
    "12": "Ê-đê",
    "13": "Ba-na",
    "14": "Xơ-đăng",
    "15": "Sán Chay",
    "16": "Cơ-ho",
    "17": "Chăm",
    "18": "Sán Dìu",
    "19": "Hrê",
    "20": "Mnông",
    "21": "Ra-glai",
    "22": "Xtiêng",
    "23": "Bru-Vân Kiều",
    "24": "Thổ",
    "25": "Giáy",
    "26": "Cơ-tu",
    "27": "Gié-Triêng",
    "28": "Mạ",
    "29": "Khơ-mú",
    "30": "Co",
    "31": "Ta-ôi",
    "32": "Chơ-ro",
    "33": "Kháng",
    "34": "Xinh-mun",
    "35": "Hà Nhì",
    "36": "Chu-ru",
    "37": "Lào",
    "38": "La Chí",
    "39": "La Ha",
    "40": "Phù Lá",
    "41": "La Hủ",
    "42": "Lự",
    "43": "Lô Lô",
    "44": "Chứt",
    "45": "Mảng",
    "46": "Pà Thẻn",
    "47": "Cơ Lao",
    "48": "Cống",
    "49": "Bố Y",
    "50": "Si La",
    "51": "Pu Péo",
    "52": "Brâu",
    "53": "Ơ Đu",
    "54": "Rơ-măm",
    "55": "Người nước ngoài",
}

TON_GIAO = {
    "00": "Không",
    "01": "Phật giáo",
    "02": "Công giáo",
    "03": "Tin lành",
    "04": "Cao Đài",
    "05": "Phật giáo Hòa Hảo",
    "06": "Hồi giáo",
}
HON_NHAN = {"1": "Chưa kết hôn", "2": "Đã kết hôn", "3": "Ly hôn", "4": "Góa"}
NHOM_MAU = {"00": "Chưa xác định", "01": "A", "02": "B", "03": "AB", "04": "O"}
GIOI_TINH = {"1": GioiTinh.NAM, "2": GioiTinh.NU}


def to_wire(
    request: YeuCauCongDan,
    *,
    ma_yeu_cau: str,
    ma_tich_hop: str,
    officer: OfficerCredential,
    profile: WireProfile,
) -> wire.YeuCauCongDan:
    """The request packet (validated: raises pydantic's ValidationError on a bad field).

    A 9-digit number is an old identity card's and goes as ``SoCMND``, 12 digits as
    ``SoDinhDanh`` (PHP ``traCuuThongTinCongDanC06``: ``strlen(...) === 9 ? SoCMND :
    SoDinhDanh``). ``MaDonVi`` is always sent; ``TaiKhoan`` and ``SoDienThoai`` when the
    profile sends them (C# ``CallApi037``)."""
    if request.ngay_sinh is not None:
        birth = wire.NgayThangNamSinhYeuCau(NgayThangNam=wire_format(request.ngay_sinh, "%Y%m%d"))
    else:
        birth = wire.NgayThangNamSinhYeuCau(Nam=f"{request.birth_year:04d}")
    assert request.ma_tthc is not None, "the route refuses look-ups without a purpose"
    old_card = len(request.so_dinh_danh) == 9
    return wire.YeuCauCongDan(
        MaYeuCau=ma_yeu_cau,
        MaDVC=profile.ma_dvc(request.ma_tthc),
        MaTichHop=ma_tich_hop,
        MaCanBo=officer.ma_can_bo,
        MaDonVi=profile.ma_don_vi(officer),
        TaiKhoan=profile.tai_khoan(officer),
        SoDienThoai=profile.so_dien_thoai,
        SoDinhDanh=None if old_card else request.so_dinh_danh,
        SoCMND=request.so_dinh_danh if old_card else None,
        HoVaTen=profile.ho_va_ten(request.ho_va_ten),
        NgayThangNamSinh=birth,
    )


def _coded(code: str | None, names: dict[str, str]) -> MaTen | None:
    if code is None:
        return None
    return MaTen(ma=code, ten=names.get(code))


def _address(value: wire.DiaChi | None) -> DiaChi | None:
    if value is None:
        return None
    province = cccd.PROVINCES.get(f"0{value.MaTinhThanh}") if value.MaTinhThanh else None
    return DiaChi(
        ma_tinh=value.MaTinhThanh,
        ten_tinh=province,
        ma_huyen=value.MaQuanHuyen,
        ma_xa=value.MaPhuongXa,
        chi_tiet=value.ChiTiet,
    )


def _relative(value: wire.NguoiThan | None) -> NguoiThan | None:
    if value is None:
        return None
    return NguoiThan(ho_va_ten=value.HoVaTen, so_dinh_danh=value.SoDinhDanh, so_cmnd=value.SoCMND)


def _birth_date(value: wire.NgaySinh) -> date | None:
    if value.NgayThangNam is None:
        return None
    try:
        return datetime.strptime(value.NgayThangNam, "%Y%m%d").date()
    except ValueError as exc:
        raise ValueError(f"NgayThangNamSinh.NgayThangNam: not a date: {exc}") from exc


def from_wire(record: wire.BanGhiCongDan) -> CongDan:
    """One answer record as the case system reads it. Raises ValueError naming the wire field
    when a value is not what its form says (a date that is no date)."""
    name = record.HoVaTen
    parts = [name.Ho, name.ChuDem, name.Ten]
    head = record.ChuHo
    return CongDan(
        so_dinh_danh=record.SoDinhDanh,
        so_cmnd=record.SoCMND,
        ho_va_ten=" ".join(p.strip() for p in parts if p and p.strip()),
        ho=name.Ho,
        chu_dem=name.ChuDem,
        ten=name.Ten,
        ngay_sinh=_birth_date(record.NgayThangNamSinh),
        nam_sinh=int(record.NgayThangNamSinh.Nam),
        gioi_tinh=GIOI_TINH.get(record.GioiTinh, GioiTinh.KHONG_RO),
        dan_toc=_coded(record.DanToc, DAN_TOC),
        ton_giao=_coded(record.TonGiao, TON_GIAO),
        tinh_trang_hon_nhan=_coded(record.TinhTrangHonNhan, HON_NHAN),
        nhom_mau=_coded(record.NhomMau, NHOM_MAU),
        que_quan=_address(record.QueQuan),
        thuong_tru=_address(record.ThuongTru),
        noi_o_hien_tai=_address(record.NoiOHienTai),
        cha=_relative(record.Cha),
        me=_relative(record.Me),
        vo_chong=_relative(record.VoChong),
        chu_ho=None
        if head is None
        else ChuHo(ho_va_ten=head.HoVaTen, so_dinh_danh=head.SoDinhDanh, quan_he=head.QuanHe),
        so_so_ho_khau=record.SoSoHoKhau,
    )
