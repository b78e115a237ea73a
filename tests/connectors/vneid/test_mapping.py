"""The wire profile: the authorization and token requests as the public callers make them (plus
what the gateway adds), the nonce rule, and the claims of both providers mapped tolerantly to
one identity, with the shared ID-number rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.vneid.config import VneidConfig
from connectors.vneid.mapping import (
    ADDED_AUTHORIZATION_PARAMETERS,
    PUBLIC_AUTHORIZATION_PARAMETERS,
    PUBLIC_TOKEN_FIELDS,
    assurance_level,
    authorization_params,
    map_claims,
    nonce_problem,
    supports_pkce,
    token_form,
)
from connectors.vneid.models import LoaiTaiKhoan
from gateway.core.errors import InvalidUpstreamAnswer

TOKEN = {"sub": "abc-123", "acr": "LoA1"}


def vneid_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "sub": "abc-123",
        "LoaiTaiKhoan": "1",
        "SoDinhDanh": "001090012345",
        "HoVaTen": "Nguyễn Văn An",
        "NgayThangNamSinh": "19900515",
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
        ({"NgayThangNamSinh": "19910515"}, "SoDinhDanh"),  # the number says 1990
        ({"SoDinhDanh": None}, "SoDinhDanh"),  # a citizen without one (nor a SoCMND)
        ({"SoCMND": "12345"}, "SoCMND"),
        ({"LoaiTaiKhoan": True}, "LoaiTaiKhoan"),
        ({"LoaiTaiKhoan": "2"}, "MaSoThue"),  # a business without a tax or business code
        ({"ThuDienTu": ["a@b.vn"]}, "ThuDienTu"),
        ({"TechID": False}, "TechID"),
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
        ({"IAL": 2}, {}, 2),  # a number, as VNeID sends it (PASETO: int?)
        ({"loAs": ["LoA1", "LoA2"]}, {}, 2),  # a list of levels: the highest
        ({"IAL": True}, {"acr": "1"}, 1),
        ({}, {"acr": "2"}, 2),
    ],
)
def test_assurance_level(userinfo: dict[str, Any], token: dict[str, Any], level: int) -> None:
    assert assurance_level(userinfo, token) == level


# --- tolerant reading --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19900515", date(1990, 5, 15)),  # the answer on record (fat2fast/yii2-auth)
        ("15/05/1990", date(1990, 5, 15)),
        ("1990-05-15", date(1990, 5, 15)),
        ("1990-05-15T00:00:00", date(1990, 5, 15)),
        ("", None),
        (None, None),
    ],
)
def test_birth_dates_in_the_forms_met(raw: str | None, expected: date | None) -> None:
    assert map_claims("vneid", TOKEN, vneid_claims(NgayThangNamSinh=raw)).ngay_sinh == expected


def test_numbers_where_strings_were_assumed_and_the_reverse() -> None:
    who = map_claims("vneid", TOKEN, vneid_claims(LoaiTaiKhoan=1, IAL=2))
    assert (who.loai_tai_khoan, who.muc_dam_bao) == (LoaiTaiKhoan.CONG_DAN, 2)
    assert map_claims("vneid", TOKEN, vneid_claims(SoCMND=123456789)).so_cmnd == "123456789"


def test_claims_not_used_are_ignored_and_optional_ones_may_be_missing() -> None:
    claims = vneid_claims(
        TechID=None,
        loAs=None,
        IAL=None,
        userProfileUri="https://sso.example/view-info",
        logoutUri="https://sso.example/logout",
        loginIdp="BCA",
        GioiTinh=1,
        ThuongTru={"MaTinhThanh": "01"},
        Cha=None,
    )
    who = map_claims("vneid", TOKEN, claims)
    assert (who.tech_id, who.muc_dam_bao, who.thu_dien_tu) == (None, 1, None)


def test_a_citizen_known_by_an_old_id_card_number() -> None:
    # OpenCPS DVCQGSSOActionImpl.java line 658: SoCMND or SoDinhDanh
    who = map_claims("dvcqg", TOKEN, vneid_claims(SoDinhDanh=None, SoCMND="012345678"))
    assert (who.so_dinh_danh, who.so_cmnd) == (None, "012345678")


def test_a_business_named_by_its_business_name() -> None:
    # OpenCPS DVCQGSSOActionImpl.java line 759: a business's name is TenDoanhNghiep
    claims = {
        "sub": "x",
        "LoaiTaiKhoan": "2",
        "TenDoanhNghiep": "Công ty TNHH Hoàng Phúc",
        "MaSoDoanhNghiep": "0401234567",
        "DiaChi": "12 Trần Phú, Đà Nẵng",
    }
    who = map_claims("dvcqg", TOKEN, claims)
    assert (who.ho_va_ten, who.ten_doanh_nghiep, who.dia_chi) == (
        None,
        "Công ty TNHH Hoàng Phúc",
        "12 Trần Phú, Đà Nẵng",
    )
    with pytest.raises(InvalidUpstreamAnswer, match="HoVaTen"):
        map_claims("dvcqg", TOKEN, {**claims, "TenDoanhNghiep": None})


# --- what goes out -----------------------------------------------------------------------------


def test_the_authorization_request_is_the_public_callers_plus_nonce_and_pkce() -> None:
    dvcqg = VneidConfig().provider("dvcqg")
    params = authorization_params(
        dvcqg,
        scope="openid",
        redirect_uri="http://127.0.0.1:8080/dang-nhap/dvcqg",
        state="s",
        nonce="n",
        code_challenge=None,
    )
    assert list(params) == [*PUBLIC_AUTHORIZATION_PARAMETERS, "nonce"]
    assert (params["scope"], params["acr_values"]) == ("openid", "LoA1")
    with_pkce = authorization_params(
        dvcqg, scope="openid", redirect_uri="r", state="s", nonce="n", code_challenge="c" * 43
    )
    assert list(with_pkce) == [*PUBLIC_AUTHORIZATION_PARAMETERS, *ADDED_AUTHORIZATION_PARAMETERS]
    assert with_pkce["code_challenge_method"] == "S256"
    # VNeID is asked without acr_values, as PASETO asks it
    vneid = authorization_params(
        VneidConfig().provider("vneid"),
        scope="openid",
        redirect_uri="r",
        state="s",
        nonce="n",
        code_challenge=None,
    )
    assert "acr_values" not in vneid


def test_acr_values_are_configured_per_provider() -> None:
    config = VneidConfig(vneid_acr_values="LoA2", dvcqg_acr_values="  ")
    assert config.provider("vneid").acr_values == "LoA2"
    assert config.provider("dvcqg").acr_values is None
    assert VneidConfig().provider("vneid").scopes == ("openid",)


def test_the_token_form_is_opencps_order_plus_the_verifier() -> None:
    provider = VneidConfig().provider("dvcqg")
    form = token_form(provider, code="c", redirect_uri="r", code_verifier=None)
    assert tuple(form) == PUBLIC_TOKEN_FIELDS
    form = token_form(provider, code="c", redirect_uri="r", code_verifier="v" * 43)
    assert tuple(form) == (*PUBLIC_TOKEN_FIELDS, "code_verifier")


@pytest.mark.parametrize(
    ("methods", "pkce"),
    [(("S256",), True), (("plain", "S256"), True), (("plain",), False), ((), False)],
)
def test_pkce_only_with_s256(methods: tuple[str, ...], pkce: bool) -> None:
    assert supports_pkce(methods) is pkce


def test_the_nonce_is_checked_where_it_is_returned() -> None:
    assert nonce_problem({"sub": "x"}, "n-1") is None  # the provider returns none
    assert nonce_problem({"nonce": "n-1"}, "n-1") is None
    assert nonce_problem({"nonce": "n-2"}, "n-1") is not None  # another login's
    assert nonce_problem({"nonce": ["n-1"]}, "n-1") is not None
    assert nonce_problem({"nonce": ""}, "n-1") is not None
