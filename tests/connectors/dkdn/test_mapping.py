"""The mapping's own rules: the status table (ours, configurable; never "active" by default),
dates as the platforms write them, and the tolerant reading of the ``lgsp-entcert`` record."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from connectors.dkdn.config import DEFAULT_STATUS_CODES
from connectors.dkdn.mapping import from_entcert, status_of
from schemas import dkdn as wire
from schemas.dkdn import parse_wire_date


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ACT", "active"),
        ("act", "active"),
        (" DIS ", "dissolved"),
        ("XYZ", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_status_table(code: str | None, expected: str) -> None:
    status = status_of(code, None, DEFAULT_STATUS_CODES)
    assert status.trang_thai == expected
    assert status.con_hoat_dong is (expected == "active")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-03-12T00:00:00", date(2015, 3, 12)),
        ("2015-03-12T00:00:00.000", date(2015, 3, 12)),
        ("2015-03-12T00:00:00+07:00", date(2015, 3, 12)),
        ("2015-03-12", date(2015, 3, 12)),
        ("12/03/2015", date(2015, 3, 12)),
        ("  ", None),
        (None, None),
    ],
)
def test_dates_as_the_platforms_write_them(text: str | None, expected: date | None) -> None:
    assert parse_wire_date(text) == expected


def test_an_unreadable_date_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        wire.NgspMain.model_validate({"FOUNDING_DATE": "12.03.2015 morning"})
    assert caught.value.errors()[0]["loc"] == ("FOUNDING_DATE",)


def test_entcert_read_tolerantly() -> None:
    answer = wire.EntCertAnswer.model_validate(
        {
            "GetEntCert": {  # one object where a list is expected
                "MaSoDoanhNghiep": 2802345678,  # a number where text is expected
                "TenTiengViet": "DOANH NGHIỆP TƯ NHÂN AN PHÁT",
                "TinhTrangPhapLy": [],
                "DiaChiTruSo": {"DiaChi": {"SoNha": "Số 3", "TenTinhThanh": "Tỉnh Thanh Hoá"}},
                "NganhNgheKinhDoanh": [
                    {"MaNganh": "4690", "LaNganhChinh": "true"},
                    {"MaNganh": "4632", "LaNganhChinh": False},
                    {"MaNganh": None, "TenNganh": "no code: left out"},
                ],
                "SoLanDangKyThayDoi": "3",
                "FieldFromTheFuture": {"anything": 1},
            }
        }
    )
    found = from_entcert(answer, DEFAULT_STATUS_CODES)
    assert found is not None
    assert found.ma_so_doanh_nghiep == "2802345678"
    assert found.tinh_trang.trang_thai == "unknown"  # no legal status: never "active"
    assert found.tru_so_chinh.dia_chi_day_du == "Số 3, Tỉnh Thanh Hoá"
    assert [(n.ma, n.chinh) for n in found.nganh_nghe] == [("4690", True), ("4632", False)]
    assert found.so_lan_thay_doi == 3


def test_strings_are_bounded() -> None:
    with pytest.raises(ValidationError):
        wire.NgspMain.model_validate({"NAME": "x" * 1001})
