"""The simulator's own check of a 12-digit personal identification number, and its mask.

The simulator holds synthetic accounts only; it checks their numbers the way the population
database issues them (Nghị định 137/2015/NĐ-CP, Điều 7; Thông tư 07/2016/TT-BCA): the
province of birth registration, then one digit for century and sex (0/1 for 1900-1999, 2/3 for
2000-2099, ...), two digits of the birth year, a six-digit serial. Written here again rather
than imported, so that the simulator does not share the connector's idea of a valid number.
"""

from __future__ import annotations

from datetime import date

__all__ = ["check", "mask"]

# birth-registration province codes (Thông tư 07/2016/TT-BCA, phụ lục)
_PROVINCE_CODES = (
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
    "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 "
    "067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096"
)
_PROVINCES = frozenset(_PROVINCE_CODES.split())


def check(number: str, birth_date: date) -> None:
    """Raise ``ValueError`` unless ``number`` is a 12-digit number of someone born on
    ``birth_date``."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        raise ValueError("the ID number must be 12 digits")
    if number[:3] not in _PROVINCES:
        raise ValueError("the ID number does not start with a province code")
    century = 1900 + 100 * (int(number[3]) // 2)
    if century + int(number[4:6]) != birth_date.year:
        raise ValueError("the ID number encodes another birth year than the birth date")


def mask(number: str) -> str:
    """``001******345``: never the whole number."""
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]
