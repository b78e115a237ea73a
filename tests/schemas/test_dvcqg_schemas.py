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
    LayThuTucRequest,
    ServiceAnswer,
    TraCuuHoSoAnswer,
)
from schemas.export import DEFAULT_OUT_DIR, export_json_schemas


def valid_packet(**overrides: Any) -> dict[str, Any]:
    packet: dict[str, Any] = {
        "MaHoSo": "000.00.01.H22-240105-0007",
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "G03-HT01",
        "TenLinhVuc": "Hộ tịch",
        "KenhThucHien": 2,
        "ChuHoSo": "Nguyễn Văn An",
        "SoGiayToChuHoSo": "001090012345",
        "LoaiDoiTuong": 1,
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayTiepNhan": "20240105083000",
        "NgayHenTra": "20240105163000",
        "TrangThaiHoSo": 2,
        "DonViXuLy": "UBND phường Phú Hội",
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "HinhThucThu": 1, "Gia": 0, "LoaiPhiLePhi": 1}],
        "DinhDanhCHS": [{"LoaiDinhDanh": 1, "SoDinhDanh": "001090012345"}],
    }
    packet.update(overrides)
    return packet


def error_paths(exc: ValidationError) -> dict[str, str]:
    return {error.loc: error.msg for error in field_errors(exc)}


def test_valid_packet_is_accepted_and_round_trips() -> None:
    packet = HoSoMC.model_validate(valid_packet())
    assert packet.MaHoSo == "000.00.01.H22-240105-0007"
    assert packet.DanhSachLePhi[0].Gia == 0
    assert packet.HinhThuc == 0
    assert packet.TaiLieuNop == []
    again = HoSoMC.model_validate(packet.model_dump())
    assert again == packet


def test_local_procedure_code_and_plus_phone_are_accepted() -> None:
    packet = HoSoMC.model_validate(
        valid_packet(MaTTHC="2.000477.000.00.00.H56", SoDienThoai="+84912345678")
    )
    assert packet.MaTTHC == "2.000477.000.00.00.H56"


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"MaHoSo": "H22-240105-0007"}, "MaHoSo"),
        ({"MaTTHC": "4.001776"}, "MaTTHC"),
        ({"MaTTHC": "1.1776"}, "MaTTHC"),
        ({"NgayTiepNhan": "20240230120000"}, "NgayTiepNhan"),
        ({"NgayTiepNhan": "2024-01-05 08:30"}, "NgayTiepNhan"),
        ({"KenhThucHien": 4}, "KenhThucHien"),
        ({"LoaiDoiTuong": 0}, "LoaiDoiTuong"),
        ({"TrangThaiHoSo": 11}, "TrangThaiHoSo"),
        ({"SoDienThoai": "09-123"}, "SoDienThoai"),
        ({"TenTTHC": ""}, "TenTTHC"),
        ({"HoSoCoThanhPhanSoHoa": 2}, "HoSoCoThanhPhanSoHoa"),
        (
            {
                "DanhSachLePhi": [
                    {"TenPhiLePhi": "Lệ phí", "HinhThucThu": 1, "Gia": 1000.5, "LoaiPhiLePhi": 1}
                ]
            },
            "DanhSachLePhi[0].Gia",
        ),
        (
            {
                "DanhSachLePhi": [
                    {"TenPhiLePhi": "Lệ phí", "HinhThucThu": 1, "Gia": "1000", "LoaiPhiLePhi": 1}
                ]
            },
            "DanhSachLePhi[0].Gia",
        ),
        ({"NgayHenTra": "20240104163000"}, "NgayHenTra"),
        ({"TrangThaiHoSo": 10}, "NgayTra"),
        ({"TrangThaiHoSo": 3}, "NgayTuChoi"),
        ({"TruongLa": "x"}, "TruongLa"),
    ],
)
def test_each_rule_is_refused_on_its_field(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(**overrides))
    paths = error_paths(info.value)
    assert list(paths) == [path], paths


def test_cross_field_messages_are_clear() -> None:
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(NgayHenTra="20240104163000"))
    assert "must not be earlier than NgayTiepNhan" in error_paths(info.value)["NgayHenTra"]
    with pytest.raises(ValidationError) as info:
        HoSoMC.model_validate(valid_packet(TrangThaiHoSo=10))
    assert "TrangThaiHoSo is 10" in error_paths(info.value)["NgayTra"]


def test_status_rules_pass_with_their_dates() -> None:
    returned = HoSoMC.model_validate(valid_packet(TrangThaiHoSo=10, NgayTra="20240105170000"))
    refused = HoSoMC.model_validate(valid_packet(TrangThaiHoSo=3, NgayTuChoi="20240105090000"))
    assert returned.NgayTra == "20240105170000"
    assert refused.NgayTuChoi == "20240105090000"


def test_request_union_dispatches_and_paths_start_with_the_service() -> None:
    request = SERVICE_REQUEST_ADAPTER.validate_python(
        {"session": "s", "madonvi": "000.00.01.H22", "service": "LayThuTuc", "MaTTHC": "1.001776"}
    )
    assert isinstance(request, LayThuTucRequest)
    with pytest.raises(ValidationError) as info:
        SERVICE_REQUEST_ADAPTER.validate_python(
            {
                "session": "s",
                "madonvi": "000.00.01.H22",
                "service": "DongBoHoSoMC",
                "isUpdating": False,
                "data": [valid_packet(NgayTiepNhan="20241301000000")],
            }
        )
    assert list(error_paths(info.value)) == ["DongBoHoSoMC.data[0].NgayTiepNhan"]


def test_request_limits() -> None:
    base = {"session": "s", "madonvi": "000.00.01.H22", "isUpdating": False}
    with pytest.raises(ValidationError):
        DongBoHoSoMCRequest.model_validate({**base, "data": []})
    with pytest.raises(ValidationError):
        DongBoHoSoMCRequest.model_validate({**base, "data": [valid_packet()] * 51})
    with pytest.raises(ValidationError) as info:
        DongBoHoSoMCRequest.model_validate({**base, "madonvi": "H22", "data": [valid_packet()]})
    assert list(error_paths(info.value)) == ["madonvi"]
    assert len(DongBoHoSoMCRequest.model_validate({**base, "data": [valid_packet()] * 50}).data)


def test_error_code_is_normalised_and_answers_ignore_new_fields() -> None:
    assert AuthAnswer.model_validate({"session": "abc", "error_code": 0}).error_code == "0"
    assert ServiceAnswer.model_validate({"error_code": -3, "extra": 1}).error_code == "-3"
    assert ServiceAnswer.model_validate({"error_code": "500"}).error_code == "500"
    with pytest.raises(ValidationError):
        ServiceAnswer.model_validate({"error_code": True})
    answer = TraCuuHoSoAnswer.model_validate(
        {"error_code": 0, "result": {**valid_packet(), "TruongMoi": 1, "QuaTrinhXuLy": []}}
    )
    assert answer.result is not None
    assert answer.result.MaHoSo == "000.00.01.H22-240105-0007"


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
