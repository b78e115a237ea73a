"""The citizen models (rules checked before any call) and the canonical <-> wire mapping."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.dancu.config import DancuConfig
from connectors.dancu.mapping import (
    DAN_TOC,
    HON_NHAN,
    NHOM_MAU,
    TON_GIAO,
    from_wire,
    normalise_name,
    to_wire,
)
from connectors.dancu.models import (
    CongDan,
    GioiTinh,
    YeuCauCongDan,
    check_consistency,
)
from connectors.dancu.profile import OfficerCredential, WireProfile, squeezed_name
from gateway.core.errors import FieldError
from schemas import dancu as wire
from schemas.cccd import PROVINCES
from tests.connectors.dancu import answers

FIELD_ORDER = [
    "MaYeuCau",
    "MaDVC",
    "MaTichHop",
    "MaCanBo",
    "MaDonVi",
    "TaiKhoan",
    "SoDienThoai",
    "SoDinhDanh",
    "SoCMND",
    "HoVaTen",
    "NgayThangNamSinh",
]
MA_HO_SO = "000.00.01.H22-240105-0007"


def ask(**overrides: Any) -> YeuCauCongDan:
    data: dict[str, Any] = {
        "so_dinh_danh": answers.SO_DINH_DANH,
        "ho_va_ten": answers.HO_VA_TEN,
        "ngay_sinh": answers.NGAY_SINH,
        "ma_tthc": "1.001776",
        "ma_ho_so": MA_HO_SO,
    }
    data.update(overrides)
    return YeuCauCongDan.model_validate({k: v for k, v in data.items() if v is not None})


def packet(
    request: YeuCauCongDan | None = None,
    *,
    ma_yeu_cau: str = "r",
    ma_tich_hop: str = "t",
    ma_can_bo: str = "c",
    config: dict[str, Any] | None = None,
    **officer: Any,
) -> wire.YeuCauCongDan:
    credential = OfficerCredential(ma_can_bo=ma_can_bo, username="u", password="p", **officer)  # type: ignore[arg-type]
    return to_wire(
        request or ask(),
        ma_yeu_cau=ma_yeu_cau,
        ma_tich_hop=ma_tich_hop,
        officer=credential,
        profile=WireProfile(DancuConfig.model_validate(config or {})),
    )


def record(**overrides: Any) -> wire.BanGhiCongDan:
    return wire.BanGhiCongDan.model_validate(answers.record(**overrides))


def locs(exc: ValidationError) -> list[tuple[int | str, ...]]:
    return [tuple(e["loc"]) for e in exc.errors()]


# --- name normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nguyễn Văn An", "NGUYEN VAN AN"),
        ("Nguyễn Văn Đức", "NGUYEN VAN DUC"),
        ("ĐẶNG ĐÌNH ĐÔNG", "DANG DINH DONG"),
        ("đỗ thị đào", "DO THI DAO"),
        ("Trương Ưng Ơn", "TRUONG UNG ON"),
        ("Lưu Thị Thương", "LUU THI THUONG"),
        ("Phạm   Thị\tHồng\n", "PHAM THI HONG"),
        ("  Lê  ", "LE"),
        ("Nguyễn-Hoàng Thu Hà", "NGUYENHOANG THU HA"),
        ("H'Hen Niê", "HHEN NIE"),
        ("Ksor Y'Bhin", "KSOR YBHIN"),
        ("Bùi Thị Ỷ", "BUI THI Y"),
        ("Hoàng Văn Thụ Jr. 2", "HOANG VAN THU JR"),
        # decomposed input (NFD, as some keyboards type it) is the same name
        ("Nguye\u0302\u0303n Va\u0306n Đu\u031b\u0301c", "NGUYEN VAN DUC"),
        ("", ""),
        ("1990 - 05", ""),
        ("张伟", ""),
    ],
)
def test_normalise_name_keeps_the_spaces(name: str, expected: str) -> None:
    # upper case with its spaces, as the PHP caller sends it (strtoupper(trim(...)))
    assert normalise_name(name) == expected
    # squeezed, as PASETO and the C# caller of CallApi037 send it
    assert squeezed_name(name) == expected.replace(" ", "")


@pytest.mark.parametrize("name", ["Nguyễn Văn Đức", "Đặng Thị Ơn", "Hồ   Ưng-Dũng"])
def test_normalised_names_are_what_the_wsdl_takes_and_normalise_to_themselves(name: str) -> None:
    once = normalise_name(name)
    assert once.isascii()
    assert once.replace(" ", "").isalpha()
    assert once.isupper()
    assert "  " not in once
    assert once == once.strip()
    assert normalise_name(once) == once
    wire.YeuCauCongDan.model_validate(packet().model_dump(exclude_none=True) | {"HoVaTen": once})


def test_every_vietnamese_vowel_with_every_tone_becomes_its_base_letter() -> None:
    vowels = {
        "a": "aàáảãạăằắẳẵặâầấẩẫậ",
        "e": "eèéẻẽẹêềếểễệ",
        "i": "iìíỉĩị",
        "o": "oòóỏõọôồốổỗộơờớởỡợ",
        "u": "uùúủũụưừứửữự",
        "y": "yỳýỷỹỵ",
    }
    for base, forms in vowels.items():
        assert normalise_name(forms) == base.upper() * len(forms)
        assert normalise_name(forms.upper()) == base.upper() * len(forms)
    assert normalise_name("đĐ") == "DD"


# --- request: canonical -> wire --------------------------------------------------------------


def test_to_wire_fills_the_fields_in_the_platforms_order() -> None:
    sent = packet(ma_yeu_cau="req-1", ma_tich_hop="LGSP-25", ma_can_bo="CB-0042")

    assert list(wire.YeuCauCongDan.model_fields) == FIELD_ORDER
    assert sent.model_dump(exclude_none=True) == {
        "MaYeuCau": "req-1",
        "MaDVC": "1.001776",
        "MaTichHop": "LGSP-25",
        "MaCanBo": "CB-0042",
        "MaDonVi": "000.00.01.H22",
        "SoDinhDanh": answers.SO_DINH_DANH,
        "HoVaTen": "NGUYEN VAN DUC",
        "NgayThangNamSinh": {"NgayThangNam": "19900517"},
    }


def test_madonvi_taikhoan_and_sodienthoai_follow_the_officer_and_the_profile() -> None:
    config = {
        "ma_don_vi": "000.00.01.H25",
        "unit_codes": {"Một cửa UBND huyện Thanh Sơn": "000.00.19.H25"},
        "so_dien_thoai": "02103812345",
    }
    mapped = packet(config=config, tai_khoan="canbo.a", don_vi="Một cửa UBND huyện Thanh Sơn")
    assert (mapped.MaDonVi, mapped.TaiKhoan, mapped.SoDienThoai) == (
        "000.00.19.H25",
        "canbo.a",
        "02103812345",
    )
    # a unit without a code of its own: the province's
    other = packet(config=config, tai_khoan="canbo.b", don_vi="Một cửa UBND tỉnh")
    assert (other.MaDonVi, other.TaiKhoan) == ("000.00.01.H25", "canbo.b")
    quiet = packet(config={"send_tai_khoan": False}, tai_khoan="canbo.a")
    assert (quiet.MaDonVi, quiet.TaiKhoan, quiet.SoDienThoai) == ("000.00.01.H22", None, None)


def test_a_nine_digit_number_goes_as_socmnd() -> None:
    old = packet(ask(so_dinh_danh="131234567"))
    assert (old.SoCMND, old.SoDinhDanh) == ("131234567", None)
    new = packet(ask())
    assert (new.SoCMND, new.SoDinhDanh) == (None, answers.SO_DINH_DANH)


def test_the_name_goes_squeezed_when_the_profile_says_so() -> None:
    assert packet(config={"ho_va_ten": "squeezed"}).HoVaTen == "NGUYENVANDUC"
    assert packet().HoVaTen == "NGUYEN VAN DUC"


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ({"ngay_sinh": "1990-05-17"}, {"NgayThangNam": "19900517"}),
        ({"ngay_sinh": "1990-01-02"}, {"NgayThangNam": "19900102"}),
        ({"ngay_sinh": None, "nam_sinh": 1990}, {"Nam": "1990"}),
        # both known: the full date goes out
        ({"ngay_sinh": "1990-12-31", "nam_sinh": 1990}, {"NgayThangNam": "19901231"}),
    ],
)
def test_to_wire_birth_forms(birth: dict[str, Any], expected: dict[str, str]) -> None:
    sent = packet(ask(**birth))

    assert sent.NgayThangNamSinh.model_dump(exclude_none=True) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ma_yeu_cau": ""}, "MaYeuCau"),
        ({"ma_can_bo": "C" * 65}, "MaCanBo"),
        ({"ma_tich_hop": ""}, "MaTichHop"),
    ],
)
def test_to_wire_refuses_what_the_wsdl_would(overrides: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        packet(**overrides)

    assert locs(caught.value) == [(field,)]


def test_to_wire_refuses_a_name_with_no_latin_letter() -> None:
    with pytest.raises(ValidationError) as caught:
        packet(ask(ho_va_ten="张伟"))

    assert locs(caught.value) == [("HoVaTen",)]


def test_the_wire_request_is_closed() -> None:
    data = packet().model_dump()

    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "SoCMND": "123456789"})  # both numbers
    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "SoDinhDanh": None})  # neither
    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "MaDonVi": "x" * 36})  # String 35
    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "HoVaTen": "A" * 101})  # String 100
    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "HoVaTen": "NGUYEN  VAN"})
    with pytest.raises(ValidationError):
        wire.YeuCauCongDan.model_validate({**data, "Khac": "x"})
    with pytest.raises(ValidationError):
        wire.NgayThangNamSinhYeuCau(NgayThangNam="19900517", Nam="1990")
    with pytest.raises(ValidationError):
        wire.NgayThangNamSinhYeuCau()


# --- answer: wire -> canonical ---------------------------------------------------------------


def _nones(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nones(v, f"{path}.{k}")]
    return [path] if value is None else []


def test_a_full_record_fills_every_canonical_field() -> None:
    full = record(
        Me={"HoVaTen": "Trần Thị Cúc", "SoDinhDanh": "025163002222", "SoCMND": "130000222"},
        VoChong={"HoVaTen": "Lê Thị Hương", "SoDinhDanh": "001192003333", "SoCMND": "001192003333"},
    )

    citizen = from_wire(full)

    assert _nones(citizen.model_dump()) == []
    assert set(citizen.model_dump()) == set(CongDan.model_fields)


def test_from_wire_maps_each_field() -> None:
    citizen = from_wire(record())

    assert citizen.so_dinh_danh == "025090012345"
    assert citizen.so_cmnd == "131234567"
    assert (citizen.ho, citizen.chu_dem, citizen.ten) == ("Nguyễn", "Văn", "Đức")
    assert citizen.ho_va_ten == "Nguyễn Văn Đức"
    assert citizen.ngay_sinh == date(1990, 5, 17)
    assert citizen.nam_sinh == 1990
    assert citizen.gioi_tinh is GioiTinh.NAM
    assert citizen.dan_toc is not None
    assert (citizen.dan_toc.ma, citizen.dan_toc.ten) == ("01", "Kinh")
    assert citizen.ton_giao is not None
    assert (citizen.ton_giao.ma, citizen.ton_giao.ten) == ("02", "Công giáo")
    assert citizen.tinh_trang_hon_nhan is not None
    assert (citizen.tinh_trang_hon_nhan.ma, citizen.tinh_trang_hon_nhan.ten) == ("2", "Đã kết hôn")
    assert citizen.nhom_mau is not None
    assert (citizen.nhom_mau.ma, citizen.nhom_mau.ten) == ("04", "O")
    assert citizen.que_quan is not None
    assert citizen.que_quan.model_dump() == {
        "ma_tinh": "25",
        "ten_tinh": "Phú Thọ",
        "ma_huyen": "227",
        "ma_xa": "08074",
        "chi_tiet": "Xóm Đồng, xã Thanh Vinh",
    }
    assert citizen.thuong_tru is not None
    assert (citizen.thuong_tru.ma_tinh, citizen.thuong_tru.ten_tinh) == ("01", "Hà Nội")
    assert (citizen.thuong_tru.ma_huyen, citizen.thuong_tru.ma_xa) == ("005", "00160")
    assert citizen.thuong_tru.chi_tiet == "Số 12 ngõ 34 phố Trần Duy Hưng"
    assert citizen.noi_o_hien_tai is not None
    assert (citizen.noi_o_hien_tai.ma_tinh, citizen.noi_o_hien_tai.ten_tinh) == (
        "79",
        "Hồ Chí Minh",
    )
    assert citizen.cha is not None
    assert citizen.cha.model_dump() == {
        "ho_va_ten": "Nguyễn Văn Bình",
        "so_dinh_danh": "025060001111",
        "so_cmnd": "130000111",
    }
    assert citizen.me is not None
    assert citizen.me.model_dump() == {
        "ho_va_ten": "Trần Thị Cúc",
        "so_dinh_danh": "025163002222",
        "so_cmnd": None,
    }
    assert citizen.vo_chong is not None
    assert citizen.vo_chong.model_dump() == {
        "ho_va_ten": "Lê Thị Hương",
        "so_dinh_danh": None,
        "so_cmnd": "001192003333",
    }
    assert citizen.chu_ho is not None
    assert citizen.chu_ho.model_dump() == {
        "ho_va_ten": "Nguyễn Văn Bình",
        "so_dinh_danh": "025060001111",
        "quan_he": "Con",
    }
    assert citizen.so_so_ho_khau == "HK-0012345"


@pytest.mark.parametrize(
    ("name", "joined"),
    [
        ({"Ho": "Nguyễn", "ChuDem": "Văn", "Ten": "Đức"}, "Nguyễn Văn Đức"),
        ({"Ho": "Nguyễn", "Ten": "Đức"}, "Nguyễn Đức"),
        ({"Ho": "Tôn Nữ", "ChuDem": "Thị Thu", "Ten": "Hà"}, "Tôn Nữ Thị Thu Hà"),
        ({"Ho": " Lê ", "ChuDem": "  ", "Ten": "Na "}, "Lê Na"),
        ({"Ho": "Lê", "ChuDem": "", "Ten": "Na"}, "Lê Na"),
    ],
)
def test_the_full_name_is_joined_from_its_parts(name: dict[str, str], joined: str) -> None:
    citizen = from_wire(record(HoVaTen=name))

    assert citizen.ho_va_ten == joined
    assert citizen.ho == name["Ho"]
    assert citizen.chu_dem == name.get("ChuDem")
    assert citizen.ten == name["Ten"]


def test_an_answer_with_only_the_year_has_no_birth_date() -> None:
    citizen = from_wire(record(NgayThangNamSinh={"Nam": "1948"}))

    assert citizen.ngay_sinh is None
    assert citizen.nam_sinh == 1948


@pytest.mark.parametrize("value", ["19900231", "19901301", "00000000"])
def test_a_birth_date_that_is_no_date_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValueError, match=r"NgayThangNamSinh\.NgayThangNam"):
        from_wire(record(NgayThangNamSinh={"Nam": "1990", "NgayThangNam": value}))


@pytest.mark.parametrize(
    ("code", "sex"),
    [
        ("1", GioiTinh.NAM),
        ("2", GioiTinh.NU),
        ("0", GioiTinh.KHONG_RO),
        ("3", GioiTinh.KHONG_RO),
        ("99", GioiTinh.KHONG_RO),
    ],
)
def test_sex_codes(code: str, sex: GioiTinh) -> None:
    assert from_wire(record(GioiTinh=code)).gioi_tinh is sex


@pytest.mark.parametrize(
    ("field", "attribute", "names"),
    [
        ("DanToc", "dan_toc", DAN_TOC),
        ("TonGiao", "ton_giao", TON_GIAO),
        ("TinhTrangHonNhan", "tinh_trang_hon_nhan", HON_NHAN),
        ("NhomMau", "nhom_mau", NHOM_MAU),
    ],
)
def test_every_listed_code_gets_its_name(field: str, attribute: str, names: dict[str, str]) -> None:
    for code, name in names.items():
        coded = getattr(from_wire(record(**{field: code})), attribute)
        assert (coded.ma, coded.ten) == (code, name)


@pytest.mark.parametrize(
    ("field", "attribute", "code"),
    [
        ("DanToc", "dan_toc", "56"),
        ("DanToc", "dan_toc", "00"),
        ("TonGiao", "ton_giao", "07"),
        ("TonGiao", "ton_giao", "1"),
        ("TinhTrangHonNhan", "tinh_trang_hon_nhan", "5"),
        ("TinhTrangHonNhan", "tinh_trang_hon_nhan", "0"),
        ("NhomMau", "nhom_mau", "05"),
        ("NhomMau", "nhom_mau", "4"),
    ],
)
def test_an_unknown_code_is_kept_without_a_name(field: str, attribute: str, code: str) -> None:
    coded = getattr(from_wire(record(**{field: code})), attribute)

    assert (coded.ma, coded.ten) == (code, None)


@pytest.mark.parametrize("field", ["DanToc", "TonGiao", "TinhTrangHonNhan", "NhomMau"])
def test_an_absent_code_is_none(field: str) -> None:
    citizen = from_wire(record(**{field: None}))

    attribute = {
        "DanToc": "dan_toc",
        "TonGiao": "ton_giao",
        "TinhTrangHonNhan": "tinh_trang_hon_nhan",
        "NhomMau": "nhom_mau",
    }[field]
    assert getattr(citizen, attribute) is None


def test_the_code_lists() -> None:
    # the 54 ethnic groups (Quyết định 121-TCTK/PPCĐ) and foreigners, numbered 01..55
    assert list(DAN_TOC) == [f"{i:02d}" for i in range(1, 56)]
    assert len(set(DAN_TOC.values())) == 55
    assert (DAN_TOC["01"], DAN_TOC["04"], DAN_TOC["08"], DAN_TOC["09"]) == (
        "Kinh",
        "Hoa",
        "Hmông",
        "Dao",
    )
    assert list(TON_GIAO) == ["00", "01", "02", "03", "04", "05", "06"]
    assert list(HON_NHAN) == ["1", "2", "3", "4"]
    assert NHOM_MAU == {"00": "Chưa xác định", "01": "A", "02": "B", "03": "AB", "04": "O"}


@pytest.mark.parametrize("field", ["QueQuan", "ThuongTru", "NoiOHienTai"])
@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_every_province_code_of_an_address_gets_its_name(field: str, province: str) -> None:
    address = {"MaTinhThanh": province[1:], "MaQuanHuyen": "001", "MaPhuongXa": "00001"}
    attribute = {"QueQuan": "que_quan", "ThuongTru": "thuong_tru", "NoiOHienTai": "noi_o_hien_tai"}

    mapped = getattr(from_wire(record(**{field: address})), attribute[field])

    assert mapped.ma_tinh == province[1:]
    assert mapped.ten_tinh == PROVINCES[province]
    assert (mapped.ma_huyen, mapped.ma_xa, mapped.chi_tiet) == ("001", "00001", None)


@pytest.mark.parametrize("code", ["00", "03", "97", "99"])
def test_an_unknown_province_is_kept_without_a_name(code: str) -> None:
    citizen = from_wire(record(ThuongTru={"MaTinhThanh": code, "ChiTiet": "x"}))

    assert citizen.thuong_tru is not None
    assert (citizen.thuong_tru.ma_tinh, citizen.thuong_tru.ten_tinh) == (code, None)


def test_an_address_with_only_details_or_nothing() -> None:
    citizen = from_wire(record(QueQuan={"ChiTiet": "Thôn 3"}, ThuongTru={}, NoiOHienTai=None))

    assert citizen.que_quan is not None
    assert citizen.que_quan.model_dump() == {
        "ma_tinh": None,
        "ten_tinh": None,
        "ma_huyen": None,
        "ma_xa": None,
        "chi_tiet": "Thôn 3",
    }
    assert citizen.thuong_tru is not None
    assert _nones(citizen.thuong_tru.model_dump()) == [
        ".ma_tinh",
        ".ten_tinh",
        ".ma_huyen",
        ".ma_xa",
        ".chi_tiet",
    ]
    assert citizen.noi_o_hien_tai is None


@pytest.mark.parametrize(
    ("field", "attribute"), [("Cha", "cha"), ("Me", "me"), ("VoChong", "vo_chong")]
)
def test_relatives(field: str, attribute: str) -> None:
    named = from_wire(record(**{field: {"HoVaTen": "Hà Văn Tư"}}))
    absent = from_wire(record(**{field: None}))

    relative = getattr(named, attribute)
    assert relative.model_dump() == {
        "ho_va_ten": "Hà Văn Tư",
        "so_dinh_danh": None,
        "so_cmnd": None,
    }
    assert getattr(absent, attribute) is None


def test_household_head() -> None:
    self_head = from_wire(record(ChuHo={"HoVaTen": "Nguyễn Văn Đức", "QuanHe": "Chủ hộ"}))
    no_head = from_wire(record(ChuHo=None, SoSoHoKhau=None))

    assert self_head.chu_ho is not None
    assert self_head.chu_ho.model_dump() == {
        "ho_va_ten": "Nguyễn Văn Đức",
        "so_dinh_danh": None,
        "quan_he": "Chủ hộ",
    }
    assert no_head.chu_ho is None
    assert no_head.so_so_ho_khau is None


def test_fields_the_gateway_does_not_read_are_ignored() -> None:
    data = answers.record()
    data["AnhChanDung"] = "base64..."
    data["QueQuan"] = {**data["QueQuan"], "TenTinhThanh": "Phú Thọ"}

    citizen = from_wire(wire.BanGhiCongDan.model_validate(data))

    assert citizen == from_wire(record())


# --- the request model and the rules across its fields ---------------------------------------


def test_the_documented_example_is_valid_and_consistent() -> None:
    example: dict[str, Any] = YeuCauCongDan.model_json_schema()["examples"][0]

    request = YeuCauCongDan.model_validate(example)

    assert check_consistency(request) == []
    assert request.purpose == f"{example['ma_tthc']} {example['ma_ho_so']}"


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("02509001234", "12"),  # 11 digits
        ("0250900123456", "12"),  # 13 digits
        ("02509001234A", "12 digits"),
        ("0250900 2345", "12 digits"),
        ("000090012345", "province"),
        ("003090012345", "province"),
        ("097090012345", "province"),
        ("025299012345", "future"),  # 2099
        ("025400012345", "future"),  # 2100
        ("025990012345", "future"),  # 2390
    ],
)
def test_the_id_number_is_checked_by_the_model(number: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ask(so_dinh_danh=number)

    assert locs(caught.value) == [("so_dinh_danh",)]
    assert why in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"ngay_sinh": None}, ()),
        ({"ho_va_ten": "   "}, ("ho_va_ten",)),
        ({"ho_va_ten": "A" * 129}, ("ho_va_ten",)),
        ({"nam_sinh": 1799}, ("nam_sinh",)),
        ({"nam_sinh": 2400}, ("nam_sinh",)),
        ({"ngay_sinh": "17/05/1990"}, ("ngay_sinh",)),
        ({"ma_tthc": "thủ tục"}, ("ma_tthc",)),
        ({"ma_ho_so": "?"}, ("ma_ho_so",)),
        ({"ghi_chu": "x"}, ("ghi_chu",)),
    ],
)
def test_other_fields_are_checked_by_the_model(
    overrides: dict[str, Any], loc: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        ask(**overrides)

    assert locs(caught.value) == [loc]


def test_the_purpose_is_optional_in_the_model_but_then_absent() -> None:
    no_purpose = ask(ma_tthc=None, ma_ho_so=None)
    half = ask(ma_ho_so=None)

    assert no_purpose.purpose is None
    assert half.purpose is None
    assert ask().purpose == f"1.001776 {MA_HO_SO}"


def test_birth_year() -> None:
    assert ask().birth_year == 1990
    assert ask(ngay_sinh=None, nam_sinh=1990).birth_year == 1990


def test_a_consistent_request_has_no_error() -> None:
    assert check_consistency(ask()) == []
    assert check_consistency(ask(ngay_sinh=None, nam_sinh=1990)) == []
    assert check_consistency(ask(nam_sinh=1990)) == []
    # born in the 2000s, female (digit 3)
    assert check_consistency(ask(so_dinh_danh="001305000001", ngay_sinh="2005-02-28")) == []


def fields_of(errors: list[FieldError]) -> list[str]:
    return [e.loc for e in errors]


def test_a_birth_date_in_another_year_than_the_number_is_an_error_on_the_number() -> None:
    errors = check_consistency(ask(ngay_sinh="1991-05-17"))

    assert fields_of(errors) == ["so_dinh_danh"]
    assert "1990" in errors[0].msg
    assert "1991" in errors[0].msg


def test_a_birth_year_alone_is_checked_against_the_number() -> None:
    errors = check_consistency(ask(ngay_sinh=None, nam_sinh=1989))

    assert fields_of(errors) == ["so_dinh_danh"]
    assert "1990" in errors[0].msg
    assert "1989" in errors[0].msg


def test_a_birth_date_in_the_future_is_an_error_on_the_date() -> None:
    future = date.today() + timedelta(days=30)

    errors = check_consistency(ask(ngay_sinh=future.isoformat()))

    assert fields_of(errors) == ["ngay_sinh"]
    assert "future" in errors[0].msg


def test_birth_date_and_year_that_disagree_are_an_error_on_the_year() -> None:
    errors = check_consistency(ask(nam_sinh=1991))

    assert fields_of(errors) == ["nam_sinh"]


def test_a_name_without_letters_is_an_error_on_the_name() -> None:
    errors = check_consistency(ask(ho_va_ten="123 - 456"))

    assert fields_of(errors) == ["ho_va_ten"]


def test_every_broken_rule_is_reported_at_once() -> None:
    errors = check_consistency(ask(ngay_sinh="1991-01-01", nam_sinh=1992, ho_va_ten="0000"))

    assert sorted(fields_of(errors)) == ["ho_va_ten", "nam_sinh", "so_dinh_danh"]
