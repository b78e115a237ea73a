"""Canonical models (validation rules) and the canonical <-> wire mapping of DVCQG."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest

from connectors.dvcqg.mapping import (
    KENH_THUC_HIEN_CODES,
    LOAI_DOI_TUONG_CODES,
    TRANG_THAI_CODES,
    buoc_from_wire,
    buoc_to_wire,
    code_of,
    from_wire_datetime,
    ho_so_from_wire,
    ho_so_to_wire,
    member_of,
    thu_tuc_chi_tiet_from_wire,
    thu_tuc_from_wire,
    to_wire_datetime,
)
from connectors.dvcqg.models import (
    BuocXuLy,
    CapNhatTienDo,
    HoSo,
    KenhThucHien,
    LoaiDoiTuong,
    TrangThaiHoSo,
)
from connectors.dvcqg.portal_view import HoSoTrenCong
from connectors.dvcqg.profiles import PROFILES
from gateway.core.errors import InvalidInput
from gateway.core.validation import validate_model
from schemas import dvcqg as wire

VN = timezone(timedelta(hours=7))

MA_HO_SO = "000.00.01.H22-240105-0007"


def ho_so_json(**overrides: Any) -> dict[str, Any]:
    """A complete canonical dossier as the case system sends it (every optional field set)."""
    data: dict[str, Any] = {
        "ma_ho_so": MA_HO_SO,
        "ma_tthc": "1.001776",
        "ten_tthc": "Đăng ký khai sinh",
        "ma_linh_vuc": "G03-GD09",
        "ten_linh_vuc": "Hộ tịch",
        "so_bien_nhan": "BN-0007",
        "kenh_thuc_hien": "truc_tuyen",
        "chu_ho_so": "Nguyễn Văn A",
        "so_giay_to_chu_ho_so": "001090000001",
        "loai_doi_tuong": "cong_dan",
        "ma_doi_tuong": "tech-0001",
        "thong_tin_khac": "không",
        "email": "nguoidan@example.vn",
        "fax": "02103000000",
        "so_dien_thoai": "0912345678",
        "trich_yeu": "Đăng ký khai sinh cho con",
        "ngay_tiep_nhan": "2024-01-05T08:30:00+07:00",
        "ngay_hen_tra": "2024-01-12T17:00:00+07:00",
        "trang_thai": "da_tra_ket_qua",
        "ngay_tra": "2024-01-11T10:00:00+07:00",
        "thong_tin_tra": "trả tại bộ phận một cửa",
        "hinh_thuc": 0,
        "ngay_ket_thuc_xu_ly": "2024-01-10T16:00:00+07:00",
        "don_vi_xu_ly": "UBND xã A",
        "ghi_chu": "ghi chú",
        "noi_nop_ho_so": "Bộ phận một cửa xã A",
        "co_thanh_phan_so_hoa": True,
        "xac_thuc_vneid": True,
        "thanh_toan_truc_tuyen": 1,
        "ngay_tu_choi": None,
        "ngay_nop_ho_so": "2024-01-05T08:00:00+07:00",
        "dinh_danh_chu_ho_so": [{"loai": 1, "so": "001090000001"}],
        "tai_lieu_nop": [
            {
                "id": "tl-1",
                "ten": "to-khai.pdf",
                "da_xoa": False,
                "ma_thanh_phan": "TP1",
                "duong_dan": "https://files.example.vn/tl-1",
            }
        ],
        "le_phi": [{"ten": "Lệ phí", "ma": "LP1", "hinh_thuc_thu": 1, "gia": 50000, "loai": 1}],
        "tep_dinh_kem_khac": [{"ten": "Giấy chứng sinh", "so_luong": 1, "loai": 2}],
        "ho_so_bo_sung": [
            {
                "id": "bs-1",
                "nguoi_yeu_cau": "Cán bộ B",
                "noi_dung": "Bổ sung giấy chứng sinh",
                "ngay_bo_sung": "2024-01-06T09:00:00+07:00",
                "ngay_hen_tra_truoc": "2024-01-12T17:00:00+07:00",
                "ngay_hen_tra_moi": "2024-01-15T17:00:00+07:00",
            }
        ],
        "giay_to_ket_qua": [
            {
                "id": "kq-1",
                "ten": "Giấy khai sinh",
                "ma_thanh_phan": "KQ1",
                "duong_dan": "https://files.example.vn/kq-1",
            }
        ],
    }
    data.update(overrides)
    return data


def buoc_json(i: int = 0, **overrides: Any) -> dict[str, Any]:
    """One canonical processing step; ``i`` shifts its time by ``i`` minutes."""
    data: dict[str, Any] = {
        "nguoi_xu_ly": "Cán bộ B",
        "chuc_danh": "Công chức tư pháp",
        "thoi_diem_xu_ly": f"2024-01-05T09:{i % 60:02d}:00+07:00",
        "phong_ban_xu_ly": "Tư pháp - hộ tịch",
        "noi_dung_xu_ly": f"bước {i}",
        "trang_thai": "dang_xu_ly",
        "ngay_bat_dau": "2024-01-05T08:30:00+07:00",
        "ngay_ket_thuc_theo_quy_dinh": "2024-01-12T17:00:00+07:00",
    }
    data.update(overrides)
    return data


# the national code lists, written out independently of mapping.py
EXPECTED_STATUS = {
    "moi_dang_ky": 1,
    "da_tiep_nhan": 2,
    "khong_tiep_nhan": 3,
    "dang_xu_ly": 4,
    "yeu_cau_bo_sung": 5,
    "yeu_cau_nghia_vu_tai_chinh": 6,
    "rut_ho_so": 7,
    "dung_xu_ly": 8,
    "da_xu_ly": 9,
    "da_tra_ket_qua": 10,
}
EXPECTED_CHANNEL = {"truc_tiep": 1, "truc_tuyen": 2, "buu_chinh": 3}
EXPECTED_SUBJECT = {"cong_dan": 1, "doanh_nghiep": 2, "co_quan_nha_nuoc": 3, "khac": 4}


def refused_locs(model: type[HoSo] | type[CapNhatTienDo], data: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        validate_model(model, data)
    return {e.loc: e.msg for e in info.value.errors}


# --- validation rules -----------------------------------------------------------------------


def test_sample_is_valid() -> None:
    ho_so = HoSo.model_validate(ho_so_json())
    assert ho_so.trang_thai is TrangThaiHoSo.da_tra_ket_qua
    assert ho_so.ngay_tiep_nhan.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"ma_ho_so": "000.00.01.H22-2401050-007"}, "ma_ho_so"),
        ({"ma_ho_so": "000.00.01.H22-240230-0007"}, "ma_ho_so"),  # 30 February
        ({"ma_ho_so": "000.00.01.H22-241301-0007"}, "ma_ho_so"),  # month 13
        ({"ma_tthc": "4.001776"}, "ma_tthc"),
        ({"ma_tthc": "1.001776.000"}, "ma_tthc"),
        ({"ten_tthc": ""}, "ten_tthc"),
        ({"email": "not-an-email"}, "email"),
        ({"so_dien_thoai": "0912-345-678"}, "so_dien_thoai"),
        ({"so_dien_thoai": "12345678"}, "so_dien_thoai"),  # 8 digits
        ({"so_dien_thoai": "1234567890123456"}, "so_dien_thoai"),  # 16 digits
        ({"kenh_thuc_hien": "1"}, "kenh_thuc_hien"),
        ({"loai_doi_tuong": "citizen"}, "loai_doi_tuong"),
        ({"trang_thai": 10}, "trang_thai"),
        ({"ngay_tiep_nhan": "2024-01-05T08:30:00"}, "ngay_tiep_nhan"),
        ({"ngay_hen_tra": "2024-01-05T08:29:59+07:00"}, "ngay_hen_tra"),
        ({"ngay_tra": None}, "ngay_tra"),  # result returned without a date
        ({"trang_thai": "khong_tiep_nhan"}, "ngay_tu_choi"),
        ({"thanh_toan_truc_tuyen": 4}, "thanh_toan_truc_tuyen"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"le_phi": [{"ten": "x", "hinh_thuc_thu": 1, "gia": 1000.0, "loai": 1}]}, "le_phi[0].gia"),
        ({"le_phi": [{"ten": "x", "hinh_thuc_thu": 1, "gia": "1000", "loai": 1}]}, "le_phi[0].gia"),
        ({"le_phi": [{"ten": "x", "hinh_thuc_thu": 1, "gia": -1, "loai": 1}]}, "le_phi[0].gia"),
        (
            {
                "ho_so_bo_sung": [
                    {
                        "id": "1",
                        "nguoi_yeu_cau": "B",
                        "noi_dung": "x",
                        "ngay_bo_sung": "2024-01-06T09:00:00",
                    }
                ]
            },
            "ho_so_bo_sung[0].ngay_bo_sung",
        ),
        ({"tep_dinh_kem_khac": [{"ten": "x", "so_luong": 0}]}, "tep_dinh_kem_khac[0].so_luong"),
    ],
)
def test_each_rule_is_refused_naming_the_field(overrides: dict[str, Any], loc: str) -> None:
    assert loc in refused_locs(HoSo, ho_so_json(**overrides))


def test_naive_datetime_message_says_why() -> None:
    msg = refused_locs(HoSo, ho_so_json(ngay_tiep_nhan="2024-01-05T08:30:00"))["ngay_tiep_nhan"]
    assert "UTC offset" in msg


def test_missing_required_field_is_named() -> None:
    data = ho_so_json()
    del data["so_giay_to_chu_ho_so"]
    assert "so_giay_to_chu_ho_so" in refused_locs(HoSo, data)


def test_refused_dossier_with_refusal_date_is_valid() -> None:
    HoSo.model_validate(
        ho_so_json(trang_thai="khong_tiep_nhan", ngay_tu_choi="2024-01-05T09:00:00+07:00")
    )


@pytest.mark.parametrize(
    ("steps", "loc"),
    [
        ([], "steps"),
        ([buoc_json(i) for i in range(501)], "steps"),
        ([buoc_json(thoi_diem_xu_ly="2024-01-05T09:00:00")], "steps[0].thoi_diem_xu_ly"),
        ([buoc_json(trang_thai="processing")], "steps[0].trang_thai"),
        ([buoc_json(nguoi_xu_ly="")], "steps[0].nguoi_xu_ly"),
    ],
)
def test_step_rules_are_refused_naming_the_field(steps: list[Any], loc: str) -> None:
    assert loc in refused_locs(CapNhatTienDo, {"steps": steps})


# --- datetimes ------------------------------------------------------------------------------


def test_to_wire_datetime_converts_to_vietnam_time() -> None:
    assert to_wire_datetime(datetime(2024, 1, 5, 1, 30, tzinfo=UTC)) == "20240105083000"
    assert to_wire_datetime(datetime(2024, 1, 5, 8, 30, tzinfo=VN)) == "20240105083000"


def test_to_wire_datetime_truncates_sub_seconds() -> None:
    assert to_wire_datetime(datetime(2024, 1, 5, 8, 30, 0, 999_999, tzinfo=VN)) == "20240105083000"


def test_to_wire_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_wire_datetime(datetime(2024, 1, 5, 8, 30))


def test_from_wire_datetime_is_aware_vietnam_time() -> None:
    parsed = from_wire_datetime("20240105083000")
    assert parsed == datetime(2024, 1, 5, 1, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("value", ["2024010508300", "20240230083000", "2024-01-05"])
def test_from_wire_datetime_refuses_bad_values(value: str) -> None:
    with pytest.raises(ValueError, match=r"yyyyMMddHHmmss|does not match|unconverted|day"):
        from_wire_datetime(value)


# --- round trips ----------------------------------------------------------------------------


def read_back(packet: wire.HoSoMC) -> HoSoTrenCong:
    """The packet as sent (JSON), read back the way the portal's answers are read."""
    return ho_so_from_wire(wire.HoSoTraCuu.model_validate(packet.model_dump(exclude_none=True)))


def sent_fields(ho_so: HoSo, *, dropped: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The canonical dossier as it should come back: what no profile sends is absent."""
    data = ho_so.model_dump()
    data["so_bien_nhan"] = None  # no public sender sends SoBienNhan, nor does the gateway
    for name in dropped:
        data[name] = HoSoTrenCong.model_fields[name].get_default(call_default_factory=True)
    return data


def test_ho_so_round_trip_keeps_every_field_the_profile_sends() -> None:
    ho_so = HoSo.model_validate(ho_so_json())
    packet = ho_so_to_wire(ho_so)
    assert isinstance(packet, wire.HoSoMC)
    assert read_back(packet).model_dump() == sent_fields(ho_so)
    # the deliver path: canonical JSON -> model -> wire -> model
    assert HoSo.model_validate(ho_so.model_dump(mode="json")) == ho_so


def test_the_opencps_profile_sends_exactly_opencps_fields() -> None:
    ho_so = HoSo.model_validate(ho_so_json())
    packet = ho_so_to_wire(ho_so, PROFILES["opencps"]).model_dump(exclude_none=True)
    assert list(packet) == list(PROFILES["opencps"].dossier_fields)
    assert len(packet) == 26
    assert set(packet["TaiLieuNop"][0]) == {
        "TenTepDinhKem",
        "MaThanhPhanHoSo",
        "TepDinhKemId",
        "DuongDanTaiTepTin",
        "IsDeleted",
    }
    assert set(packet["DanhSachGiayToKetQua"][0]) == {
        "TenGiayTo",
        "MaThanhPhanHoSo",
        "GiayToId",
        "DuongDanTepTinKetQua",
    }
    back = read_back(ho_so_to_wire(ho_so, PROFILES["opencps"]))
    assert back.kenh_thuc_hien is None  # not in OpenCPS's packet
    assert back.so_giay_to_chu_ho_so is None
    assert back.trang_thai is TrangThaiHoSo.da_tra_ket_qua


def test_ho_so_minimal_round_trip() -> None:
    data = {
        k: v
        for k, v in ho_so_json(trang_thai="da_tiep_nhan").items()
        if k
        in {
            "ma_ho_so",
            "ma_tthc",
            "ten_tthc",
            "ma_linh_vuc",
            "ten_linh_vuc",
            "kenh_thuc_hien",
            "so_giay_to_chu_ho_so",
            "loai_doi_tuong",
            "so_dien_thoai",
            "trich_yeu",
            "ngay_tiep_nhan",
            "trang_thai",
            "don_vi_xu_ly",
        }
    }
    ho_so = HoSo.model_validate(data)
    assert ho_so.ngay_hen_tra is None  # a dossier with no due date
    packet = ho_so_to_wire(ho_so)
    # OpenCPS rc-3.0 line 395: NgayHenTra "" when the dossier has no due date; every unknown
    # optional value an empty string, never absent
    assert packet.NgayHenTra == ""
    assert (packet.NgayTra, packet.NgayKetThucXuLy, packet.NgayTuChoi) == ("", "", "")
    assert (packet.MaDoiTuong, packet.ThongTinKhac, packet.Email, packet.Fax) == ("", "", "", "")
    assert (packet.ChuHoSo, packet.ThongTinTra, packet.GhiChu) == ("", "", "")
    back = read_back(packet)
    assert back.model_dump() == sent_fields(ho_so)


def test_wire_packet_fields_are_strings() -> None:
    packet = ho_so_to_wire(HoSo.model_validate(ho_so_json()))
    assert packet.NgayTiepNhan == "20240105083000"
    assert packet.KenhThucHien == "2"
    assert packet.LoaiDoiTuong == "1"
    assert packet.TrangThaiHoSo == "10"
    assert packet.HinhThuc == "0"
    assert packet.HoSoCoThanhPhanSoHoa == "1"
    assert packet.TaiKhoanDuocXacThucVoiVNeID == "1"
    assert packet.DuocThanhToanTrucTuyen == "1"
    assert packet.DanhSachLePhi[0].Gia == "50000"
    assert packet.TaiLieuNop[0].TepDinhKemId == "tl-1"
    assert packet.TaiLieuNop[0].IsDeleted == "False"
    assert packet.DanhSachHoSoBoSung[0].NgayHenTraMoi == "20240115170000"
    assert packet.DinhDanhCHS is not None
    assert packet.DinhDanhCHS[0].LoaiDinhDanh == "1"

    def scalars(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in scalars(v)]
        if isinstance(value, list):
            return [s for v in value for s in scalars(v)]
        return [value]

    assert {type(v) for v in scalars(packet.model_dump(exclude_none=True))} == {str}


def test_utc_datetime_comes_back_as_the_same_instant() -> None:
    ho_so = HoSo.model_validate(
        ho_so_json(ngay_tiep_nhan="2024-01-05T01:30:00Z", ngay_hen_tra="2024-01-12T10:00:00Z")
    )
    packet = ho_so_to_wire(ho_so)
    assert packet.NgayTiepNhan == "20240105083000"
    back = read_back(packet)
    assert back.ngay_tiep_nhan == datetime(2024, 1, 5, 1, 30, tzinfo=UTC)
    assert back.ngay_tiep_nhan is not None
    assert back.ngay_tiep_nhan.utcoffset() == timedelta(hours=7)


def test_sub_second_precision_is_dropped() -> None:
    ho_so = HoSo.model_validate(ho_so_json(ngay_nop_ho_so="2024-01-05T08:00:00.750+07:00"))
    back = read_back(ho_so_to_wire(ho_so))
    assert back.ngay_nop_ho_so == datetime(2024, 1, 5, 8, 0, tzinfo=VN)


def test_buoc_round_trip() -> None:
    step = BuocXuLy.model_validate(buoc_json(3))
    packet = buoc_to_wire(MA_HO_SO, step)
    assert packet.MaHoSo == MA_HO_SO
    assert packet.ThoiDiemXuLy == "20240105090300"
    assert packet.TrangThai == "4"
    back = buoc_from_wire(wire.QuaTrinhXuLyTraCuu.model_validate(packet.model_dump()))
    assert back.model_dump() == step.model_dump()
    bare = buoc_to_wire(
        MA_HO_SO, BuocXuLy.model_validate(buoc_json(chuc_danh=None, ngay_bat_dau=None))
    )
    assert (bare.ChucDanh, bare.NgayBatDau) == ("", "")


def test_blank_and_unknown_codes_read_as_none() -> None:
    back = ho_so_from_wire(
        wire.HoSoTraCuu.model_validate(
            {"MaHoSo": MA_HO_SO, "TrangThaiHoSo": "", "KenhThucHien": "0", "LoaiDoiTuong": 9}
        )
    )
    assert (back.trang_thai, back.kenh_thuc_hien, back.loai_doi_tuong) == (None, None, None)


def test_thu_tuc_from_wire() -> None:
    line = wire.ThuTucTomTat(
        MATTHC="1.001776", TENTTHC="Đăng ký khai sinh", MALINHVUC="G03-GD09", TENLINHVUC="Hộ tịch"
    )
    entry = thu_tuc_from_wire(line)
    assert (entry.ma_tthc, entry.ten_tthc, entry.ma_linh_vuc, entry.ten_linh_vuc) == (
        "1.001776",
        "Đăng ký khai sinh",
        "G03-GD09",
        "Hộ tịch",
    )
    only = thu_tuc_from_wire(wire.ThuTucTomTat.model_validate({"MATTHC": "1.001776"}))
    assert (only.ten_tthc, only.ma_linh_vuc) == ("", None)


def test_thu_tuc_chi_tiet_from_wire() -> None:
    detail = wire.ThuTuc.model_validate(
        {
            "MATTHC": "1.001776",
            "TENTTHC": "Đăng ký khai sinh",
            "LINHVUCTHUCHIEN": [{"MALINHVUC": "G03-GD09", "TENLINHVUC": "Hộ tịch"}],
            "TRINHTUTHUCHIEN": [{"TRUONGHOP": "", "TRINHTU": [{"TENTRINHTU": "Bước 1"}]}],
            "CACHTHUCTHUCHIEN": [
                {
                    "KENH": "2",
                    "THOIGIAN": [
                        {
                            "THOIGIANGIAIQUYET": 1,
                            "DONVITINH": "Ngày",
                            "MOTA": "",
                            "PHILEPHI": {"MAPHILEPHI": "LP", "SOTIEN": "0", "DONVI": "Đồng"},
                        }
                    ],
                },
                {"KENH": 7, "THOIGIAN": []},
            ],
            "THANHPHANHOSO": [{"GIAYTO": [{"MAGIAYTO": "GT1", "TENGIAYTO": "Tờ khai"}]}],
            "CANCUPHAPLY": [{"SOVANBAN": "60/2014/QH13", "TENVANBAN": "Luật Hộ tịch"}],
            "COQUANTHUCHIEN": [{"MADONVI": "", "TENDONVI": "UBND cấp xã"}],
            "KETQUATHUCHIEN": [{"MAKETQUA": "KQ1", "TENKETQUA": "Giấy khai sinh"}],
            "TRANGTHAI": 1,
        }
    )
    canonical = thu_tuc_chi_tiet_from_wire(detail)
    assert canonical.linh_vuc[0].ma == "G03-GD09"
    assert canonical.trinh_tu[0].buoc == ["Bước 1"]
    assert canonical.cach_thuc[0].kenh is KenhThucHien.truc_tuyen
    assert canonical.cach_thuc[1].kenh is None  # an unknown channel code is not a failure
    assert canonical.cach_thuc[0].thoi_gian[0].phi_le_phi[0].so_tien == 0
    assert canonical.thanh_phan_ho_so[0].giay_to[0].ten == "Tờ khai"
    assert canonical.can_cu_phap_ly[0].so == "60/2014/QH13"
    assert canonical.co_quan_thuc_hien[0].ten == "UBND cấp xã"
    assert canonical.ket_qua_thuc_hien[0].ten == "Giấy khai sinh"
    assert canonical.cong_khai is True


# --- code tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enum", "table", "expected"),
    [
        (TrangThaiHoSo, TRANG_THAI_CODES, EXPECTED_STATUS),
        (KenhThucHien, KENH_THUC_HIEN_CODES, EXPECTED_CHANNEL),
        (LoaiDoiTuong, LOAI_DOI_TUONG_CODES, EXPECTED_SUBJECT),
    ],
)
def test_code_tables_map_every_member_both_ways(
    enum: type[Enum], table: Mapping[Any, int], expected: dict[str, int]
) -> None:
    assert set(table) == set(enum)
    for member in enum:
        assert member.value == member.name  # lowercase snake_case values
        code = code_of(table, member)
        assert code == expected[member.value]
        assert member_of(table, code, field="x") is member


def test_unknown_code_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="TrangThaiHoSo: unknown code 11"):
        member_of(TRANG_THAI_CODES, 11, field="TrangThaiHoSo")


@pytest.mark.parametrize("status", list(TrangThaiHoSo))
def test_every_status_survives_the_packet(status: TrangThaiHoSo) -> None:
    ho_so = HoSo.model_validate(
        ho_so_json(trang_thai=status.value, ngay_tu_choi="2024-01-05T09:00:00+07:00")
    )
    packet = ho_so_to_wire(ho_so)
    assert packet.TrangThaiHoSo == str(EXPECTED_STATUS[status.value])
    assert read_back(packet).trang_thai is status
    step = BuocXuLy.model_validate(buoc_json(trang_thai=status.value))
    sent = buoc_to_wire(MA_HO_SO, step).model_dump()
    assert buoc_from_wire(wire.QuaTrinhXuLyTraCuu.model_validate(sent)).trang_thai is status


@pytest.mark.parametrize("channel", list(KenhThucHien))
def test_every_channel_survives_the_packet(channel: KenhThucHien) -> None:
    packet = ho_so_to_wire(HoSo.model_validate(ho_so_json(kenh_thuc_hien=channel.value)))
    assert packet.KenhThucHien == str(EXPECTED_CHANNEL[channel.value])
    assert read_back(packet).kenh_thuc_hien is channel


@pytest.mark.parametrize("subject", list(LoaiDoiTuong))
def test_every_subject_type_survives_the_packet(subject: LoaiDoiTuong) -> None:
    packet = ho_so_to_wire(HoSo.model_validate(ho_so_json(loai_doi_tuong=subject.value)))
    assert packet.LoaiDoiTuong == str(EXPECTED_SUBJECT[subject.value])
    assert read_back(packet).loai_doi_tuong is subject
