"""Claims of both providers mapped to one identity, with the shared ID-number rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.vneid.models import LoaiTaiKhoan, assurance_level, map_claims
from gateway.core.errors import InvalidUpstreamAnswer

TOKEN = {"sub": "abc-123", "acr": "LoA1"}


def vneid_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "sub": "abc-123",
        "LoaiTaiKhoan": "1",
        "SoDinhDanh": "001090012345",
        "HoVaTen": "Nguyễn Văn An",
        "NgayThangNamSinh": "15/05/1990",
        "TechID": "tech-1",
        "loAs": "LoA2",
        "IAL": "2",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_a_vneid_citizen() -> None:
    who = map_claims("vneid", TOKEN, vneid_claims())
    assert who.loai_tai_khoan is LoaiTaiKhoan.CONG_DAN
    assert (who.so_dinh_danh, who.ho_va_ten, who.ngay_sinh) == (
        "001090012345",
        "Nguyễn Văn An",
        date(1990, 5, 15),
    )
    assert (who.tech_id, who.muc_dam_bao, who.sub, who.provider) == (
        "tech-1",
        2,
        "abc-123",
        "vneid",
    )


def test_a_dvcqg_business_account() -> None:
    claims = {
        "sub": "abc-123",
        "LoaiTaiKhoan": "2",
        "SoDinhDanh": "048085007788",
        "HoVaTen": "Lê Hoàng Phúc",
        "NgayThangNamSinh": "19850320",
        "MaSoThue": "0401234567",
        "MaSoDoanhNghiep": "0401234567",
        "ThuDienTu": "phuc@example.vn",
        "SoDienThoai": "0905123456",
        "SoCMND": "201234567",
        "loAs": "LoA2",
    }
    who = map_claims("dvcqg", TOKEN, claims)
    assert who.loai_tai_khoan is LoaiTaiKhoan.DOANH_NGHIEP
    assert (who.ma_so_thue, who.ma_so_doanh_nghiep, who.so_cmnd) == (
        "0401234567",
        "0401234567",
        "201234567",
    )
    assert (who.thu_dien_tu, who.so_dien_thoai, who.ngay_sinh) == (
        "phuc@example.vn",
        "0905123456",
        date(1985, 3, 20),
    )


def test_an_organisation_without_a_personal_number() -> None:
    who = map_claims(
        "dvcqg",
        TOKEN,
        {"sub": "x", "LoaiTaiKhoan": "3", "HoVaTen": "Sở Tư pháp", "MaSoThue": "0600123456"},
    )
    assert who.loai_tai_khoan is LoaiTaiKhoan.TO_CHUC
    assert who.so_dinh_danh is None
    assert who.muc_dam_bao == 1  # the token's acr LoA1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"SoDinhDanh": "00109001234"}, "SoDinhDanh"),  # 11 digits
        ({"SoDinhDanh": "097090012345"}, "SoDinhDanh"),  # no such province
        ({"NgayThangNamSinh": "15/05/1991"}, "SoDinhDanh"),  # the number says 1990
        ({"SoDinhDanh": None}, "SoDinhDanh"),  # a citizen without one
        ({"NgayThangNamSinh": "1990-13-45"}, "NgayThangNamSinh"),
        ({"LoaiTaiKhoan": "9"}, "LoaiTaiKhoan"),
        ({"HoVaTen": None}, "HoVaTen"),
        ({"HoVaTen": "x" * 500}, "HoVaTen"),
        ({"HoVaTen": {"nested": True}}, "HoVaTen"),
    ],
)
def test_unusable_claims_are_refused_naming_the_claim(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidUpstreamAnswer) as caught:
        map_claims("vneid", TOKEN, vneid_claims(**overrides))
    assert caught.value.errors[0].loc == f"userinfo.{field}"


@pytest.mark.parametrize(
    ("userinfo", "token", "level"),
    [
        ({"IAL": "2", "loAs": "LoA1"}, {}, 2),  # IAL first
        ({"loAs": "LoA2"}, {}, 2),
        ({}, {"acr": "LoA2"}, 2),
        ({"IAL": "1"}, {"acr": "LoA2"}, 1),
        ({"loAs": "level-three"}, {}, 1),  # unreadable: the lowest, never more
        ({}, {}, 1),
    ],
)
def test_assurance_level(userinfo: dict[str, Any], token: dict[str, Any], level: int) -> None:
    assert assurance_level(userinfo, token) == level
