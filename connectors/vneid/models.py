"""The verified identity the case system receives, and how providers' claims map onto it.

Both providers send Vietnamese PascalCase claims (``SoDinhDanh``, ``HoVaTen``, ``LoaiTaiKhoan``,
``loAs``...; ``/work/shared/reference/national-platforms.md``); the case system reads one
canonical :class:`DinhDanh`. The ID number is checked with the same rules as every other
connector (:mod:`schemas.cccd`): a provider asserting a malformed number, or one whose birth
year contradicts the stated birth date, is refused rather than passed on.

Assurance level (mức độ định danh, Nghị định 69/2024/NĐ-CP): level 1 or level 2. It is read
from ``IAL``, else ``loAs``, else the ID token's ``acr``; a value that cannot be read counts as
level 1, so that an unreadable claim never satisfies a level-2 requirement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from gateway.core.errors import FieldError, InvalidUpstreamAnswer
from schemas import cccd

__all__ = ["DinhDanh", "LoaiTaiKhoan", "assurance_level", "map_claims"]


class LoaiTaiKhoan(StrEnum):
    CONG_DAN = "cong_dan"  # 1: citizen
    DOANH_NGHIEP = "doanh_nghiep"  # 2: business
    TO_CHUC = "to_chuc"  # 3: organisation


_ACCOUNT = {"1": LoaiTaiKhoan.CONG_DAN, "2": LoaiTaiKhoan.DOANH_NGHIEP, "3": LoaiTaiKhoan.TO_CHUC}
_DATE_FORMATS = ("%d/%m/%Y", "%Y%m%d", "%Y-%m-%d")
_LEVEL = re.compile(r"(?:LoA|IAL)?\s*([12])$", re.IGNORECASE)


class DinhDanh(BaseModel):
    """A verified identity: who logged in, through which provider, at which level."""

    provider: str = Field(description="vneid or dvcqg")
    sub: str = Field(description="the provider's subject identifier")
    loai_tai_khoan: LoaiTaiKhoan
    so_dinh_danh: str | None = Field(None, description="12-digit personal identification number")
    so_cmnd: str | None = None
    ho_va_ten: str
    ngay_sinh: date | None = None
    ma_so_thue: str | None = None
    ma_so_doanh_nghiep: str | None = None
    thu_dien_tu: str | None = None
    so_dien_thoai: str | None = None
    tech_id: str | None = Field(None, description="TechID of the account")
    muc_dam_bao: int = Field(ge=1, le=2, description="assurance level: 1 or 2")


def assurance_level(userinfo: Mapping[str, Any], id_claims: Mapping[str, Any]) -> int:
    """The account's level, 1 or 2; 1 when no claim says which."""
    for value in (userinfo.get("IAL"), userinfo.get("loAs"), id_claims.get("acr")):
        if value is None:
            continue
        match = _LEVEL.search(str(value).strip())
        if match:
            return int(match.group(1))
    return 1


def _text(claims: Mapping[str, Any], name: str, limit: int = 255) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int):
        raise _bad(name, "not a string")
    text = str(value).strip()
    if len(text) > limit:
        raise _bad(name, f"longer than {limit} characters")
    return text or None


def _bad(name: str, message: str) -> InvalidUpstreamAnswer:
    return InvalidUpstreamAnswer(
        f"the identity provider's claim {name} is unusable: {message}",
        errors=[FieldError(f"userinfo.{name}", message)],
    )


def _birth_date(claims: Mapping[str, Any]) -> date | None:
    raw = _text(claims, "NgayThangNamSinh", 32)
    if raw is None:
        return None
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, form).date()
        except ValueError:
            continue
    raise _bad("NgayThangNamSinh", "not a date (dd/MM/yyyy, yyyyMMdd or yyyy-MM-dd)")


def map_claims(
    provider: str, id_claims: Mapping[str, Any], userinfo: Mapping[str, Any]
) -> DinhDanh:
    """The canonical identity from a verified ID token and its (sub-checked) userinfo."""
    account = _ACCOUNT.get(str(userinfo.get("LoaiTaiKhoan", "1")).strip())
    if account is None:
        raise _bad("LoaiTaiKhoan", "not 1, 2 or 3")
    name = _text(userinfo, "HoVaTen", 128)
    if name is None:
        raise _bad("HoVaTen", "missing")
    birth = _birth_date(userinfo)
    number = _text(userinfo, "SoDinhDanh", 12)
    if number is not None:
        try:
            cccd.validate(number, birth_date=birth)
        except cccd.IdNumberError as exc:
            raise _bad("SoDinhDanh", str(exc)) from None
    elif account is LoaiTaiKhoan.CONG_DAN:
        raise _bad("SoDinhDanh", "missing for a citizen account")
    return DinhDanh(
        provider=provider,
        sub=str(id_claims["sub"]),
        loai_tai_khoan=account,
        so_dinh_danh=number,
        so_cmnd=_text(userinfo, "SoCMND", 12),
        ho_va_ten=name,
        ngay_sinh=birth,
        ma_so_thue=_text(userinfo, "MaSoThue", 14),
        ma_so_doanh_nghiep=_text(userinfo, "MaSoDoanhNghiep", 14),
        thu_dien_tu=_text(userinfo, "ThuDienTu"),
        so_dien_thoai=_text(userinfo, "SoDienThoai", 20),
        tech_id=_text(userinfo, "TechID", 64),
        muc_dam_bao=assurance_level(userinfo, id_claims),
    )
