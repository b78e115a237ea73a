"""The verified identity the case system receives.

Both providers send Vietnamese PascalCase claims (``SoDinhDanh``, ``HoVaTen``, ``LoaiTaiKhoan``,
``loAs``...); the case system reads one canonical :class:`DinhDanh`, made by
:func:`connectors.vneid.mapping.map_claims`, where the claims' names, types and checks live.

Assurance level (mức độ định danh, Nghị định 69/2024/NĐ-CP): level 1 or level 2.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

__all__ = ["DinhDanh", "LoaiTaiKhoan"]


class LoaiTaiKhoan(StrEnum):
    CONG_DAN = "cong_dan"  # 1: citizen
    DOANH_NGHIEP = "doanh_nghiep"  # 2: business
    TO_CHUC = "to_chuc"  # 3: organisation


class DinhDanh(BaseModel):
    """A verified identity: who logged in, through which provider, at which level."""

    provider: str = Field(description="vneid or dvcqg")
    sub: str = Field(description="the provider's subject identifier")
    loai_tai_khoan: LoaiTaiKhoan
    so_dinh_danh: str | None = Field(None, description="12-digit personal identification number")
    so_cmnd: str | None = Field(None, description="old ID card number (9 or 12 digits)")
    ho_va_ten: str | None = Field(
        None, description="the person's full name (always there for a citizen account)"
    )
    ten_doanh_nghiep: str | None = Field(
        None, description="the business's or organisation's name (LoaiTaiKhoan 2 or 3)"
    )
    ngay_sinh: date | None = None
    ma_so_thue: str | None = None
    ma_so_doanh_nghiep: str | None = None
    dia_chi: str | None = Field(None, description="the business's address, as the provider says")
    thu_dien_tu: str | None = None
    so_dien_thoai: str | None = None
    tech_id: str | None = Field(None, description="TechID of the account")
    muc_dam_bao: int = Field(ge=1, le=2, description="assurance level: 1 or 2")
