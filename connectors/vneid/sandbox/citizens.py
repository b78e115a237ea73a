"""The identity simulator's test accounts and the userinfo claims each provider sends for them.

The accounts are deterministic, the same at both providers; only ``sub`` differs per provider
(a UUID derived from the provider and the account's TechID, so it is stable across runs). Every
ID number is well formed (:mod:`connectors.vneid.sandbox.idnumber`) and agrees with the
account's birth date; an account added through ``/_sandbox/citizens`` is held to the same
rules.

Claim sets, as the public readers read them:

* VNeID: PASETO ``DichVuCongApi/src/Core/Application/Common/SSO/UserInfoVneidRequest.cs``
  (``sub``, ``LoaiTaiKhoan`` and ``IAL`` typed as numbers, ``SoDinhDanh``, ``HoVaTen``,
  ``NgayThangNamSinh``, ``TechID``, ``loAs``, ``userProfileUri``, ``logoutUri``);
* DVCQG SSO: OpenCPS rc-3.0 ``DVCQGSSOActionImpl.java`` lines 250-256 and 634-648
  (``LoaiTaiKhoan``, ``SoCMND``, ``MaSoThue``, ``DiaChi``, ``SoDienThoai``, ``ThuDienTu``,
  ``HoVaTen``, ``TenDoanhNghiep``, ``MaSoDoanhNghiep``, ``SoDinhDanh``, ``TechID``, ``loAs``),
  PASETO ``UserInfoDvcqgRequest.cs`` (``LoaiTaiKhoan`` a string compared with ``"1"``), and
  the answer quoted in fat2fast/yii2-auth ``components/AuthHandler.php`` (``LoaiTaiKhoan``
  ``"1"``, ``NgayThangNamSinh`` ``"19880219"``, ``loginIdp`` ``"BCA"``, ``userProfileUri``,
  ``logoutUri``).

Both send ``NgayThangNamSinh`` year first as ``yyyyMMdd`` (the quoted answer; PASETO takes its
first four characters as the birth year, ``VneidService.cs`` and ``DVCQGService.cs``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.vneid.sandbox.idnumber import check, mask
from connectors.vneid.sandbox.providers import ProviderName

__all__ = [
    "BUSINESS_ACCOUNT",
    "LEVEL1_CITIZEN",
    "LEVEL2_CITIZEN",
    "ORGANISATION_ACCOUNT",
    "AccountType",
    "CitizenIn",
    "Level",
    "SandboxCitizen",
    "citizen_json",
    "default_citizens",
    "login_json",
    "subject",
    "userinfo_claims",
]

AccountType = Literal["1", "2", "3"]
"""``LoaiTaiKhoan``: 1 citizen, 2 business, 3 organisation."""
Level = Literal[1, 2]
"""Assurance level of the account (Nghị định 69/2024/NĐ-CP): 1 or 2."""

LEVEL2_CITIZEN = "001090012345"
LEVEL1_CITIZEN = "079301004567"
BUSINESS_ACCOUNT = "048085007788"
ORGANISATION_ACCOUNT = "036178003210"

_NAMESPACE = uuid.UUID("7b1f0c1e-5a3d-4c55-9d8e-2f6a1c0b9e41")
_TAX_CODE = re.compile(r"[0-9]{10}(?:-[0-9]{3})?")


def _tech_id(so_dinh_danh: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"techid:{so_dinh_danh}"))


@dataclass(frozen=True, slots=True, repr=False)
class SandboxCitizen:
    """A test account: the person (for a business or an organisation, its representative)."""

    so_dinh_danh: str
    ho_va_ten: str
    ngay_sinh: date
    loai_tai_khoan: AccountType
    level: Level
    thu_dien_tu: str
    so_dien_thoai: str
    tech_id: str = ""
    so_cmnd: str | None = None
    ma_so_thue: str | None = None
    ma_so_doanh_nghiep: str | None = None
    ten_doanh_nghiep: str | None = None
    dia_chi: str | None = None

    def __post_init__(self) -> None:
        check(self.so_dinh_danh, self.ngay_sinh)
        if not self.tech_id:
            object.__setattr__(self, "tech_id", _tech_id(self.so_dinh_danh))
        if self.loai_tai_khoan == "2" and not self.ma_so_doanh_nghiep:
            raise ValueError("a business account needs ma_so_doanh_nghiep")
        for code in (self.ma_so_thue, self.ma_so_doanh_nghiep):
            if code is not None and not _TAX_CODE.fullmatch(code):
                raise ValueError("tax and business codes are 10 digits (or 10-3 for a branch)")

    @property
    def masked(self) -> str:
        return mask(self.so_dinh_danh)

    def __repr__(self) -> str:
        # synthetic, but a repr lands in logs and tracebacks: the number stays masked
        return f"SandboxCitizen({self.masked}, level={self.level}, type={self.loai_tai_khoan})"


def default_citizens() -> list[SandboxCitizen]:
    """A level-2 citizen, a level-1 citizen, a business and an organisation (all level 2 but
    the second)."""
    return [
        SandboxCitizen(
            so_dinh_danh=LEVEL2_CITIZEN,
            ho_va_ten="Nguyễn Văn An",
            ngay_sinh=date(1990, 5, 15),
            loai_tai_khoan="1",
            level=2,
            thu_dien_tu="nguyen.van.an@example.com",
            so_dien_thoai="0912345678",
            so_cmnd="012345678",
        ),
        SandboxCitizen(
            so_dinh_danh=LEVEL1_CITIZEN,
            ho_va_ten="Trần Thị Bích Ngọc",
            ngay_sinh=date(2001, 11, 2),
            loai_tai_khoan="1",
            level=1,
            thu_dien_tu="tran.bich.ngoc@example.com",
            so_dien_thoai="0987654321",
        ),
        SandboxCitizen(
            so_dinh_danh=BUSINESS_ACCOUNT,
            ho_va_ten="Lê Hoàng Phúc",
            ngay_sinh=date(1985, 3, 20),
            loai_tai_khoan="2",
            level=2,
            thu_dien_tu="phuc.le@hoangphuc.example.com",
            so_dien_thoai="0905123456",
            ma_so_thue="0401234567",
            ma_so_doanh_nghiep="0401234567",
            ten_doanh_nghiep="Công ty TNHH Hoàng Phúc (thử nghiệm)",
            dia_chi="12 Trần Phú, Hải Châu, Đà Nẵng",
        ),
        SandboxCitizen(
            so_dinh_danh=ORGANISATION_ACCOUNT,
            ho_va_ten="Phạm Thu Hà",
            ngay_sinh=date(1978, 8, 9),
            loai_tai_khoan="3",
            level=2,
            thu_dien_tu="pham.thu.ha@hoinongdan.example.com",
            so_dien_thoai="0913456789",
            ma_so_thue="0600123456",
            ten_doanh_nghiep="Hội Nông dân xã Thử Nghiệm",
            dia_chi="Xã Thử Nghiệm, Nam Định",
        ),
    ]


def subject(citizen: SandboxCitizen, provider: ProviderName) -> str:
    """The account's ``sub`` at ``provider``: stable, different at each provider."""
    return str(uuid.uuid5(_NAMESPACE, f"sub:{provider}:{citizen.tech_id}"))


def userinfo_claims(
    citizen: SandboxCitizen, provider: ProviderName, sub: str, issuer: str
) -> dict[str, Any]:
    """What ``provider``'s userinfo endpoint (at ``issuer``) answers for ``citizen``."""
    loa = f"LoA{citizen.level}"
    # links to the provider's own pages for the account (not served by the simulator)
    links = {
        "userProfileUri": f"{issuer}/api/idp/third-party/view-info",
        "logoutUri": f"{issuer}/api/idp/third-party/logout",
    }
    birth = f"{citizen.ngay_sinh:%Y%m%d}"
    if provider == "vneid":
        return {
            "sub": sub,
            "LoaiTaiKhoan": int(citizen.loai_tai_khoan),  # a number (PASETO: int?)
            "SoDinhDanh": citizen.so_dinh_danh,
            "HoVaTen": citizen.ho_va_ten,
            "NgayThangNamSinh": birth,
            "TechID": citizen.tech_id,
            "loAs": loa,
            "IAL": citizen.level,  # a number (PASETO: int?)
            **links,
        }
    claims: dict[str, Any] = {"sub": sub, "LoaiTaiKhoan": citizen.loai_tai_khoan}
    optional = {
        "SoCMND": citizen.so_cmnd,
        "SoDinhDanh": citizen.so_dinh_danh,
        "MaSoThue": citizen.ma_so_thue,
        "MaSoDoanhNghiep": citizen.ma_so_doanh_nghiep,
        "TenDoanhNghiep": citizen.ten_doanh_nghiep,
        "DiaChi": citizen.dia_chi,
    }
    claims.update({name: value for name, value in optional.items() if value is not None})
    claims.update(
        HoVaTen=citizen.ho_va_ten,
        NgayThangNamSinh=birth,
        ThuDienTu=citizen.thu_dien_tu,
        SoDienThoai=citizen.so_dien_thoai,
        TechID=citizen.tech_id,
        loAs=loa,
        loginIdp="BCA",  # the account logged in through VNeID (the quoted answer)
        **links,
    )
    return claims


class CitizenIn(BaseModel):
    """A test account to add (or replace, by ID number) through ``POST /_sandbox/citizens``."""

    model_config = ConfigDict(extra="forbid")

    so_dinh_danh: str = Field(min_length=12, max_length=12)
    ho_va_ten: str = Field(min_length=1, max_length=200)
    ngay_sinh: date
    loai_tai_khoan: AccountType = "1"
    level: Level = 2
    thu_dien_tu: str = Field("cong.dan@example.com", max_length=254)
    so_dien_thoai: str = Field("0900000000", pattern=r"^[0-9+]{8,15}$")
    tech_id: str = Field("", max_length=64)
    so_cmnd: str | None = Field(None, pattern=r"^[0-9]{9}$")
    ma_so_thue: str | None = None
    ma_so_doanh_nghiep: str | None = None
    ten_doanh_nghiep: str | None = Field(None, max_length=300)
    dia_chi: str | None = Field(None, max_length=300)

    def to_citizen(self) -> SandboxCitizen:
        """The account; raises ``ValueError`` (a broken ID number, a missing business code)."""
        return SandboxCitizen(**self.model_dump())


def citizen_json(citizen: SandboxCitizen) -> dict[str, Any]:
    """A record for ``/_sandbox/citizens`` (synthetic data, served in full on purpose), with
    the ``sub`` each provider gives the account."""
    return {
        "so_dinh_danh": citizen.so_dinh_danh,
        "ho_va_ten": citizen.ho_va_ten,
        "ngay_sinh": citizen.ngay_sinh.isoformat(),
        "loai_tai_khoan": citizen.loai_tai_khoan,
        "level": citizen.level,
        "tech_id": citizen.tech_id,
        "thu_dien_tu": citizen.thu_dien_tu,
        "so_dien_thoai": citizen.so_dien_thoai,
        "so_cmnd": citizen.so_cmnd,
        "ma_so_thue": citizen.ma_so_thue,
        "ma_so_doanh_nghiep": citizen.ma_so_doanh_nghiep,
        "ten_doanh_nghiep": citizen.ten_doanh_nghiep,
        "dia_chi": citizen.dia_chi,
        "sub": {"vneid": subject(citizen, "vneid"), "dvcqg": subject(citizen, "dvcqg")},
    }


def login_json(citizen: SandboxCitizen, provider: ProviderName, client_id: str) -> dict[str, Any]:
    """An entry of ``/_sandbox/logins``: the ID number masked."""
    return {
        "provider": provider,
        "client_id": client_id,
        "citizen": citizen.masked,
        "loai_tai_khoan": citizen.loai_tai_khoan,
        "level": citizen.level,
    }
