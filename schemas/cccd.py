"""The 12-digit personal identification number (số định danh cá nhân, printed on the CCCD).

Structure (Nghị định 137/2015/NĐ-CP, Điều 7; Thông tư 07/2016/TT-BCA, Điều 7 and its annex of
province codes): ``PPP C YY NNNNNN``

* ``PPP``: the province where the birth was registered, one of the 63 codes below;
* ``C``: century and sex: 0/1 born 1900-1999 male/female, 2/3 2000-2099, 4/5 2100-2199,
  6/7 2200-2299, 8/9 2300-2399;
* ``YY``: the last two digits of the birth year;
* ``NNNNNN``: a serial. There is no check digit.

One implementation for every connector (population database, identity, payment payers):
connectors may not import each other, so the rule lives with the national packet schemas.
The province codes are the birth-registration codes of the 63 provinces of 2016; the 2025
merger of provinces did not renumber identification numbers already issued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = [
    "PROVINCES",
    "IdNumberError",
    "ParsedIdNumber",
    "Sex",
    "SoDinhDanh",
    "mask",
    "parse",
    "validate",
]

#: birth-registration province codes (Thông tư 07/2016/TT-BCA, phụ lục) -> province name
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

_DIGITS = re.compile(r"[0-9]{12}")
#: first year of the century each even/odd digit pair stands for
_CENTURY_START = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 2300}


class Sex(StrEnum):
    NAM = "nam"  # male
    NU = "nu"  # female


class IdNumberError(ValueError):
    """The number breaks one rule; ``rule`` names it (for tests and error pages)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True, slots=True)
class ParsedIdNumber:
    value: str
    province_code: str
    province: str
    sex: Sex
    birth_year: int

    @property
    def masked(self) -> str:
        return mask(self.value)


def today() -> date:
    """The day the "not in the future" rules compare with (the tests fix it)."""
    return date.today()


def parse(value: str) -> ParsedIdNumber:
    """Check the structure of ``value`` and read what it encodes; raises :class:`IdNumberError`."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise IdNumberError("format", "must be exactly 12 digits")
    province_code = value[:3]
    province = PROVINCES.get(province_code)
    if province is None:
        raise IdNumberError(
            "province", f"{province_code} is not a province code of birth registration"
        )
    digit = int(value[3])
    start = _CENTURY_START[digit // 2]
    birth_year = start + int(value[4:6])
    if birth_year > today().year:
        raise IdNumberError(
            "century",
            f"century/sex digit {digit} with year digits {value[4:6]} is a birth year in the "
            f"future ({birth_year})",
        )
    return ParsedIdNumber(
        value=value,
        province_code=province_code,
        province=province,
        sex=Sex.NAM if digit % 2 == 0 else Sex.NU,
        birth_year=birth_year,
    )


def validate(value: str, *, birth_date: date | None = None) -> ParsedIdNumber:
    """:func:`parse`, and the birth year must be the year of ``birth_date`` when one is given."""
    parsed = parse(value)
    if birth_date is not None:
        if birth_date > today():
            raise IdNumberError("birth_date", "the birth date is in the future")
        if birth_date.year != parsed.birth_year:
            raise IdNumberError(
                "birth_year",
                f"the number encodes birth year {parsed.birth_year}, "
                f"the stated birth date is in {birth_date.year}",
            )
    return parsed


def mask(value: str) -> str:
    """``001******345``: province and last three digits; never the full number."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 6) + value[-3:]


def _checked(value: str) -> str:
    parse(value)
    return value


#: a field holding a structurally valid number (pydantic reports the rule's message)
SoDinhDanh = Annotated[
    str,
    Field(
        min_length=12,
        max_length=12,
        description="12-digit personal identification number (số định danh cá nhân)",
        examples=["001090012345"],
    ),
    AfterValidator(_checked),
]
