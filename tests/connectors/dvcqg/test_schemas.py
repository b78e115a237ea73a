"""The DVCQG wire models refuse what the platform would refuse, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.core.validation import field_errors
from schemas.dvcqg import (
    SERVICE_REQUEST_ADAPTER,
    AuthAnswer,
    DongBoHoSoMCRequest,
    HoSoMC,
    HoSoTraCuu,
    LayThuTucRequest,
    ServiceAnswer,
    TraCuuHoSoAnswer,
)
from schemas.export import DEFAULT_OUT_DIR, export_json_schemas


def valid_packet(**overrides: Any) -> dict[str, Any]:
    """A packet as the gateway sends it under the newer profile: every scalar a string."""
    packet: dict[str, Any] = {
        "MaHoSo": "000.00.01.H22-240105-0007",
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "G03-HT01",
        "TenLinhVuc": "Hộ tịch",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "ThongTinKhac": "",
        "Email": "",
        "Fax": "",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayTiepNhan": "20240105083000",
        "NgayHenTra": "20240105163000",
        "TrangThaiHoSo": "2",
        "NgayTra": "",
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": "",
        "DonViXuLy": "UBND phường Phú Hội",
        "DanhSachLePhi": [
            {
                "TenPhiLePhi": "Lệ phí",
                "MaPhiLePhi": "",
                "HinhThucThu": "1",
                "Gia": "0",
                "LoaiPhiLePhi": "1",
            }
        ],
        "DanhSachTepDinhKemKhac": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
        "TaiLieuNop": [],
        "KenhThucHien": "2",
        "SoGiayToChuHoSo": "001090012345",
        "NgayTuChoi": "",
        "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "001090012345"}],
    }
    packet.update(overrides)
    return packet


def error_paths(exc: ValidationError) -> dict[str, str]:
    return {error.loc: error.msg for error in field_errors(exc)}


def test_valid_packet_is_accepted_and_round_trips() -> None:
    packet = HoSoMC.model_validate(valid_packet())
    assert packet.MaHoSo == "000.00.01.H22-240105-0007"
    assert packet.DanhSachLePhi[0].Gia == "0"
    assert packet.HinhThuc == "0"
    assert packet.GhiChu is None  # not in this packet: left out of the JSON
    again = HoSoMC.model_validate(packet.model_dump(exclude_none=True))
    assert again == packet


def test_local_procedure_codes_five_digit_counters_and_plus_phone_are_accepted() -> None:
    for code in ("2.000477.000.00.00.H56", "2.002621.H56"):
        packet = HoSoMC.model_validate(valid_packet(MaTTHC=code, SoDienThoai="+84912345678"))
        assert packet.MaTTHC == code
    # PASETO SyncLocalDataToDVCQGService.cs line 219: counters of five digits
    assert HoSoMC.model_validate(valid_packet(MaHoSo="000.00.01.H22-240105-12345"))


def test_a_dossier_without_a_due_date_sends_a_blank_date() -> None:
    assert HoSoMC.model_validate(valid_packet(NgayHenTra="")).NgayHenTra == ""


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"MaHoSo": "H22-240105-0007"}, "MaHoSo"),
        ({"MaTTHC": "4.001776"}, "MaTTHC"),
        ({"MaTTHC": "1.1776"}, "MaTTHC"),
        ({"NgayTiepNhan": "20240230120000"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "2024-01-05 08:30"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": ""}, "NgayTiepNhan"),
        ({"NgayHenTra": "2024"}, "NgayHenTra"),
        ({"KenhThucHien": "4"}, "KenhThucHien"),
        ({"KenhThucHien": 2}, "KenhThucHien"),  # we send strings, as the public senders do
        ({"LoaiDoiTuong": "0"}, "LoaiDoiTuong"),
        ({"LoaiDoiTuong": 1}, "LoaiDoiTuong"),
        ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": ""}, "TrangThaiHoSo"),
        ({"SoDienThoai": "09-123"}, "SoDienThoai"),
        ({"TenTTHC": ""}, "TenTTHC"),
        ({"HoSoCoThanhPhanSoHoa": "2"}, "HoSoCoThanhPhanSoHoa"),
        ({"Email": None}, "Email"),  # an OpenCPS field is never absent: "" when unknown
        (
            {
                "DanhSachLePhi": [
                    {
                        "TenPhiLePhi": "Lệ phí",
                        "MaPhiLePhi": "",
                        "HinhThucThu": "1",
                        "Gia": "1000.5",
                        "LoaiPhiLePhi": "1",
                    }
                ]
            },
            "DanhSachLePhi[0].Gia",
        ),
        (
            {
                "DanhSachLePhi": [
                    {
                        "TenPhiLePhi": "Lệ phí",
                        "MaPhiLePhi": "",
                        "HinhThucThu": "1",
                        "Gia": 1000,
                        "LoaiPhiLePhi": "1",
                    }
                ]
            },
            "DanhSachLePhi[0].Gia",
        ),
        ({"NgayHenTra": "20240104163000"}, "NgayHenTra"),
        ({"TrangThaiHoSo": "10"}, "NgayTra"),
        ({"TrangThaiHoSo": "3"}, "NgayTuChoi"),
        ({"TruongLa": "x"}, "TruongLa"),
    ],
)
def test_each_rule_is_refused_on_its_field(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(**overrides))
    paths = error_paths(info.value)
    assert list(paths) == [path], paths


def test_missing_opencps_field_is_refused() -> None:
    data = valid_packet()
    del data["MaDoiTuong"]
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(data)
    assert list(error_paths(info.value)) == ["MaDoiTuong"]


def test_cross_field_messages_are_clear() -> None:
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(NgayHenTra="20240104163000"))
    assert "must not be earlier than NgayTiepNhan" in error_paths(info.value)["NgayHenTra"]
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(TrangThaiHoSo="10"))
    assert "TrangThaiHoSo is 10" in error_paths(info.value)["NgayTra"]


def test_status_rules_pass_with_their_dates() -> None:
    returned = HoSoMC.model_validate(valid_packet(TrangThaiHoSo="10", NgayTra="20240105170000"))
    refused = HoSoMC.model_validate(valid_packet(TrangThaiHoSo="3", NgayTuChoi="20240105090000"))
    assert returned.NgayTra == "20240105170000"
    assert refused.NgayTuChoi == "20240105090000"
    # a profile that does not send NgayTuChoi (opencps) cannot be held to it
    assert HoSoMC.model_validate(valid_packet(TrangThaiHoSo="3", NgayTuChoi=None))


def test_request_union_dispatches_and_paths_start_with_the_service() -> None:
    request = SERVICE_REQUEST_ADAPTER.validate_python(
        {"session": "s", "madonvi": "000.00.01.H22", "service": "LayThuTuc", "maTTHC": "1.001776"}
    )
    assert isinstance(request, LayThuTucRequest)
    with pytest.raises(ValidationError) as info:
        SERVICE_REQUEST_ADAPTER.validate_python(
            {
                "session": "s",
                "madonvi": "000.00.01.H22",
                "service": "DongBoHoSoMC",
                "isUpdating": "False",
                "data": [valid_packet(NgayTiepNhan="20241301000000")],
            }
        )
    assert list(error_paths(info.value)) == ["DongBoHoSoMC.data[0].NgayTiepNhan"]


def test_request_limits() -> None:
    base = {"session": "s", "madonvi": "000.00.01.H22", "isUpdating": "False"}
    with pytest.raises(ValidationError):
        DongBoHoSoMCRequest.model_validate({**base, "data": []})
    with pytest.raises(ValidationError):
        DongBoHoSoMCRequest.model_validate({**base, "data": [valid_packet()] * 51})
    with pytest.raises(ValidationError) as info:
        DongBoHoSoMCRequest.model_validate({**base, "madonvi": "H22", "data": [valid_packet()]})
    assert list(error_paths(info.value)) == ["madonvi"]
    with pytest.raises(ValidationError) as info:
        DongBoHoSoMCRequest.model_validate({**base, "isUpdating": False, "data": [valid_packet()]})
    assert list(error_paths(info.value)) == ["isUpdating"]
    assert len(DongBoHoSoMCRequest.model_validate({**base, "data": [valid_packet()] * 50}).data)


def test_error_code_is_normalised_and_answers_ignore_new_fields() -> None:
    assert AuthAnswer.model_validate({"session": "abc", "error_code": 0}).error_code == "0"
    assert ServiceAnswer.model_validate({"error_code": -3, "extra": 1}).error_code == "-3"
    assert ServiceAnswer.model_validate({"error_code": "500"}).error_code == "500"
    with pytest.raises(ValidationError):
        ServiceAnswer.model_validate({"error_code": True})
    answer = TraCuuHoSoAnswer.model_validate(
        {"error_code": 0, "result": [{**valid_packet(), "TruongMoi": 1, "QuaTrinhXuLy": []}]}
    )
    assert answer.result[0].MaHoSo == "000.00.01.H22-240105-0007"


def test_the_reader_is_tolerant_of_what_real_senders_produce() -> None:
    read = HoSoTraCuu.model_validate(
        {
            "MaHoSo": " 000.00.01.H22-240105-0007 ",
            "LoaiDoiTuong": 1,  # a number where strings are usual
            "TrangThaiHoSo": "",  # an unmapped status (OpenCPS getMappingStatus)
            "NgayHenTra": "",  # no due date
            "NgayTra": None,
            "HoSoCoThanhPhanSoHoa": "True",
            "TaiLieuNop": {"TepDinhKemId": 12, "IsDeleted": "False"},  # one object for a list
            "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "50000"}],
            "QuaTrinhXuLy": [{"MaHoSo": "x", "ThoiDiemXuLy": "", "TrangThai": "4"}],
            "KhongBiet": {"x": 1},
        }
    )
    assert read.MaHoSo == "000.00.01.H22-240105-0007"
    assert (read.LoaiDoiTuong, read.TrangThaiHoSo, read.NgayHenTra) == (1, None, None)
    assert read.HoSoCoThanhPhanSoHoa is True
    assert read.TaiLieuNop[0].TepDinhKemId == "12"
    assert read.TaiLieuNop[0].IsDeleted is False
    assert read.DanhSachLePhi[0].Gia == 50000
    assert read.QuaTrinhXuLy[0].ThoiDiemXuLy is None


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"MaHoSo": None}, "MaHoSo"),
        ({"MaHoSo": "000.00.01.H22-240105-7"}, "MaHoSo"),
        ({"NgayTiepNhan": "2024-01-05"}, "NgayTiepNhan"),
        ({"TrangThaiHoSo": "mới"}, "TrangThaiHoSo"),
        ({"DanhSachLePhi": [{"TenPhiLePhi": "x", "Gia": "10.5"}]}, "DanhSachLePhi[0].Gia"),
        ({"TaiLieuNop": [{}] * 201}, "TaiLieuNop"),
    ],
)
def test_what_the_reader_still_refuses(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        HoSoTraCuu.model_validate({"MaHoSo": "000.00.01.H22-240105-0007", **overrides})
    assert list(error_paths(info.value)) == [path]


def test_exported_json_schemas_are_up_to_date(tmp_path: Path) -> None:
    fresh = export_json_schemas(tmp_path)
    assert fresh, "nothing exported"
    committed = sorted(path.name for path in DEFAULT_OUT_DIR.glob("*.json"))
    assert committed == sorted(path.name for path in fresh), "run: python -m schemas.export"
    for path in fresh:
        expected = path.read_text(encoding="utf-8")
        actual = (DEFAULT_OUT_DIR / path.name).read_text(encoding="utf-8")
        assert actual == expected, f"{path.name} is stale: run python -m schemas.export"
    assert (DEFAULT_OUT_DIR / "dvcqg.HoSoMC.json").read_text(encoding="utf-8").endswith("}\n")
