"""What the case system says and hears about citizens (snake_case, ISO dates).

The wire forms are in :mod:`schemas.dancu`; :mod:`connectors.dancu.mapping` translates. The
request names the citizen (ID number, name as written with diacritics, birth date) and the
purpose of the look-up (procedure and dossier codes: seed 004, Điều 8 requires that every query
serve a stated case). Field-level rules (12 digits, a real province, the century digit) are
checked by the model; the rule that binds the number's birth year to the stated birth date is
checked by :func:`check_consistency`, so its error can name the field.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from gateway.core.errors import FieldError
from schemas import cccd
from schemas.dvcqg import MA_HO_SO_PATTERN, MA_TTHC_PATTERN

__all__ = [
    "ChuHo",
    "CongDan",
    "DiaChi",
    "GioiTinh",
    "KetQuaXacThuc",
    "MaTen",
    "NguoiThan",
    "YeuCauCongDan",
    "check_consistency",
]

HoTen = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]

_OLD_CARD = re.compile(r"[0-9]{9}")


def _id_number(value: str) -> str:
    # a 9-digit number is an old identity card's (no structure to check); anything else must
    # be a valid 12-digit personal identification number (schemas.cccd)
    if _OLD_CARD.fullmatch(value):
        return value
    cccd.parse(value)
    return value


#: the number the citizen is asked about: 12 digits (sent as SoDinhDanh) or the 9 digits of an
#: old identity card (sent as SoCMND)
SoGiayTo = Annotated[
    str,
    Field(
        min_length=9,
        max_length=12,
        description="12-digit personal identification number (số định danh cá nhân), or the "
        "9-digit number of an old identity card (CMND)",
        examples=["001090012345", "012345678"],
    ),
    AfterValidator(_id_number),
]


class YeuCauCongDan(BaseModel):
    """A look-up or a verification: who, and for which case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "so_dinh_danh": "025090012345",
                    "ho_va_ten": "Nguyễn Văn An",
                    "ngay_sinh": "1990-05-17",
                    "ma_tthc": "1.001776",
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                }
            ]
        },
    )

    so_dinh_danh: SoGiayTo
    ho_va_ten: HoTen = Field(description="full name as written, with diacritics")
    ngay_sinh: date | None = Field(None, description="birth date; or give nam_sinh alone")
    nam_sinh: int | None = Field(
        None, ge=1800, le=2399, description="birth year, when only the year is known"
    )
    # the purpose: optional in the schema so that its absence is refused as a governance
    # failure (403) by the route, not as a malformed body
    ma_tthc: Annotated[str, StringConstraints(pattern=MA_TTHC_PATTERN)] | None = Field(
        None, description="procedure the look-up serves (purpose, required)"
    )
    ma_ho_so: Annotated[str, StringConstraints(pattern=MA_HO_SO_PATTERN)] | None = Field(
        None, description="dossier the look-up serves (purpose, required)"
    )

    @model_validator(mode="after")
    def _one_birth(self) -> YeuCauCongDan:
        if self.ngay_sinh is None and self.nam_sinh is None:
            raise ValueError("give ngay_sinh (or nam_sinh when only the year is known)")
        return self

    @property
    def birth_year(self) -> int:
        if self.ngay_sinh is not None:
            return self.ngay_sinh.year
        assert self.nam_sinh is not None
        return self.nam_sinh

    @property
    def purpose(self) -> str | None:
        """``"<ma_tthc> <ma_ho_so>"``, or None while either is missing."""
        if not self.ma_tthc or not self.ma_ho_so:
            return None
        return f"{self.ma_tthc} {self.ma_ho_so}"


def check_consistency(request: YeuCauCongDan) -> list[FieldError]:
    """Rules across fields, checked before any call: the birth year a 12-digit number encodes
    is the stated one, the birth date is not in the future, and the name holds at least one
    letter."""
    errors: list[FieldError] = []
    try:
        if _OLD_CARD.fullmatch(request.so_dinh_danh):
            # an old card's number encodes no birth year
            if request.ngay_sinh is not None and request.ngay_sinh > cccd.today():
                raise cccd.IdNumberError("birth_date", "the birth date is in the future")
        elif request.ngay_sinh is not None:
            cccd.validate(request.so_dinh_danh, birth_date=request.ngay_sinh)
        elif cccd.parse(request.so_dinh_danh).birth_year != request.nam_sinh:
            raise cccd.IdNumberError(
                "birth_year",
                f"the number encodes birth year {cccd.parse(request.so_dinh_danh).birth_year}, "
                f"nam_sinh is {request.nam_sinh}",
            )
    except cccd.IdNumberError as exc:
        field = "ngay_sinh" if exc.rule == "birth_date" else "so_dinh_danh"
        errors.append(FieldError(field, str(exc)))
    if (
        request.ngay_sinh is not None
        and request.nam_sinh is not None
        and request.ngay_sinh.year != request.nam_sinh
    ):
        errors.append(FieldError("nam_sinh", "differs from the year of ngay_sinh"))
    if not any(ch.isalpha() for ch in request.ho_va_ten):
        errors.append(FieldError("ho_va_ten", "must contain letters"))
    return errors


class GioiTinh(StrEnum):
    NAM = "nam"
    NU = "nu"
    KHONG_RO = "khong_ro"


class MaTen(BaseModel):
    """A code of a national list and its name (``ten`` is None for a code we do not know)."""

    ma: str
    ten: str | None = None


class DiaChi(BaseModel):
    ma_tinh: str | None = None
    ten_tinh: str | None = None
    ma_huyen: str | None = None
    ma_xa: str | None = None
    chi_tiet: str | None = None


class NguoiThan(BaseModel):
    ho_va_ten: str
    so_dinh_danh: str | None = None
    so_cmnd: str | None = None


class ChuHo(BaseModel):
    ho_va_ten: str
    so_dinh_danh: str | None = None
    quan_he: str | None = Field(None, description="the citizen's relation to the head")


class CongDan(BaseModel):
    """One citizen as the National Population Database holds them."""

    so_dinh_danh: str
    so_cmnd: str | None = None
    ho_va_ten: str
    ho: str
    chu_dem: str | None = None
    ten: str
    ngay_sinh: date | None = Field(None, description="None when only the year is recorded")
    nam_sinh: int
    gioi_tinh: GioiTinh
    dan_toc: MaTen | None = None
    ton_giao: MaTen | None = None
    tinh_trang_hon_nhan: MaTen | None = None
    nhom_mau: MaTen | None = None
    que_quan: DiaChi | None = None
    thuong_tru: DiaChi | None = None
    noi_o_hien_tai: DiaChi | None = None
    cha: NguoiThan | None = None
    me: NguoiThan | None = None
    vo_chong: NguoiThan | None = None
    chu_ho: ChuHo | None = None
    so_so_ho_khau: str | None = None


class KetQuaXacThuc(BaseModel):
    """Whether the stated number, name and birth date match the database's record."""

    khop: bool
