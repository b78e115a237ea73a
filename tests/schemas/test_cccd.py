"""Every rule of the 12-digit personal identification number (schemas.cccd)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas import cccd
from schemas.cccd import (
    PROVINCES,
    IdNumberError,
    ParsedIdNumber,
    Sex,
    SoDinhDanh,
    mask,
    parse,
    validate,
)

#: the day the rules compare with, fixed: a run crossing midnight must not change an answer
TODAY = date(2026, 12, 3)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cccd, "today", lambda: TODAY)


SO_DINH_DANH: TypeAdapter[str] = TypeAdapter(SoDinhDanh)


def number(province: str = "001", digit: int = 0, yy: int = 90, serial: str = "012345") -> str:
    return f"{province}{digit}{yy:02d}{serial}"


def rule_of(value: Any, **kwargs: Any) -> str:
    with pytest.raises(IdNumberError) as caught:
        validate(value, **kwargs)
    return caught.value.rule


# --- structure -------------------------------------------------------------------------------


def test_a_valid_number_is_read() -> None:
    parsed = parse("025090012345")

    assert parsed == ParsedIdNumber(
        value="025090012345",
        province_code="025",
        province="Phú Thọ",
        sex=Sex.NAM,
        birth_year=1990,
    )
    assert parsed.masked == "025******345"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "00109001234",  # 11 digits
        "0010900123456",  # 13 digits
        "00109001234a",
        "O01090012345",  # a letter O for a zero
        "001 090 012 345",
        "001-090-012345",
        " 001090012345",
        "001090012345 ",
        "001090012345\n",
        "００１０９００１２３４５",  # full-width digits
        "٠٠١٠٩٠٠١٢٣٤٥",  # Arabic-Indic digits
        "+01090012345",
        "1.0109001234",
    ],
)
def test_only_twelve_ascii_digits_are_a_number(value: str) -> None:
    assert rule_of(value) == "format"


@pytest.mark.parametrize("value", [1090012345, None, b"001090012345", 1.0])
def test_a_number_must_be_text(value: Any) -> None:
    assert rule_of(value) == "format"


def test_an_id_number_error_is_a_value_error_naming_its_rule() -> None:
    with pytest.raises(ValueError, match="12 digits") as caught:
        parse("123")

    assert isinstance(caught.value, IdNumberError)
    assert caught.value.rule == "format"


# --- province --------------------------------------------------------------------------------


def test_the_63_provinces_of_birth_registration() -> None:
    assert len(PROVINCES) == 63
    assert len(set(PROVINCES.values())) == 63
    assert all(len(code) == 3 and code.isdigit() for code in PROVINCES)
    assert PROVINCES["001"] == "Hà Nội"
    assert PROVINCES["079"] == "Hồ Chí Minh"
    assert PROVINCES["096"] == "Cà Mau"


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_every_province_code_is_accepted(province: str) -> None:
    parsed = parse(number(province))

    assert parsed.province_code == province
    assert parsed.province == PROVINCES[province]


@pytest.mark.parametrize(
    "province",
    ["000", "003", "005", "007", "009", "013", "097", "098", "099", "100", "101", "500", "999"],
)
def test_a_code_that_is_no_province_is_refused(province: str) -> None:
    with pytest.raises(IdNumberError, match=province) as caught:
        parse(number(province))

    assert caught.value.rule == "province"


def test_every_unlisted_code_is_refused() -> None:
    for code in (f"{i:03d}" for i in range(1000)):
        if code in PROVINCES:
            continue
        assert rule_of(number(code)) == "province", code


# --- century and sex -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digit", "sex", "century"),
    [
        (0, Sex.NAM, 1900),
        (1, Sex.NU, 1900),
        (2, Sex.NAM, 2000),
        (3, Sex.NU, 2000),
    ],
)
def test_the_century_and_sex_digit(digit: int, sex: Sex, century: int) -> None:
    parsed = parse(number(digit=digit, yy=5))

    assert parsed.sex is sex
    assert parsed.birth_year == century + 5


@pytest.mark.parametrize(
    ("digit", "century"),
    [(4, 2100), (5, 2100), (6, 2200), (7, 2200), (8, 2300), (9, 2300)],
)
def test_centuries_still_to_come_are_refused(digit: int, century: int) -> None:
    with pytest.raises(IdNumberError) as caught:
        parse(number(digit=digit, yy=5))

    assert caught.value.rule == "century"
    assert f"({century + 5})" in str(caught.value)


@pytest.mark.parametrize("digit", range(10))
def test_every_year_of_a_past_century_is_read(digit: int) -> None:
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 2300}[digit // 2]
    for yy in range(100):
        year = century + yy
        if year <= TODAY.year:
            parsed = parse(number(digit=digit, yy=yy))
            assert parsed.birth_year == year
            assert parsed.sex is (Sex.NAM if digit % 2 == 0 else Sex.NU)
        else:
            assert rule_of(number(digit=digit, yy=yy)) == "century", (digit, yy)


def test_this_years_births_are_valid_and_next_years_are_not() -> None:
    yy = TODAY.year % 100
    assert parse(number(digit=2, yy=yy)).birth_year == TODAY.year
    assert parse(number(digit=3, yy=yy)).sex is Sex.NU
    if yy < 99:
        assert rule_of(number(digit=2, yy=yy + 1)) == "century"


# --- birth year against the stated birth date ------------------------------------------------


def test_the_birth_date_must_be_in_the_numbers_year() -> None:
    assert validate("001090012345", birth_date=date(1990, 1, 1)).birth_year == 1990
    assert validate("001090012345", birth_date=date(1990, 12, 31)).birth_year == 1990
    assert validate("001090012345").birth_year == 1990


@pytest.mark.parametrize("stated", [date(1989, 12, 31), date(1991, 1, 1), date(2009, 5, 5)])
def test_a_birth_date_in_another_year_is_refused(stated: date) -> None:
    with pytest.raises(IdNumberError) as caught:
        validate("001090012345", birth_date=stated)

    assert caught.value.rule == "birth_year"
    assert "1990" in str(caught.value)
    assert str(stated.year) in str(caught.value)


def test_the_same_two_year_digits_in_another_century_are_refused() -> None:
    # 001 0 05 ...: born 1905, not 2005
    assert rule_of("001005012345", birth_date=date(2005, 3, 3)) == "birth_year"
    assert validate("001205012345", birth_date=date(2005, 3, 3)).birth_year == 2005


def test_a_birth_date_in_the_future_is_refused() -> None:
    tomorrow = TODAY + timedelta(days=1)
    this_year = number(digit=2, yy=TODAY.year % 100)

    assert rule_of("001090012345", birth_date=tomorrow) == "birth_date"
    if tomorrow.year == TODAY.year:
        assert rule_of(this_year, birth_date=tomorrow) == "birth_date"
    assert validate(this_year, birth_date=TODAY).birth_year == TODAY.year


def test_structure_is_checked_before_the_birth_date() -> None:
    assert rule_of("000090012345", birth_date=date(1990, 1, 1)) == "province"
    assert rule_of("00109001234", birth_date=date(1990, 1, 1)) == "format"


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("001090012345", "001******345"),
        ("079305998877", "079******877"),
        ("123456789", "123***789"),  # an old 9-digit CMND
        ("1234567", "123*567"),
        ("123456", "******"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked
    assert len(mask(value)) == len(value)


def test_mask_never_shows_the_middle() -> None:
    value = "001090012345"
    shown = mask(value)

    assert "090012" not in shown
    assert shown.count("*") == 6
    assert parse(value).masked == shown


# --- the annotated type ----------------------------------------------------------------------


def test_the_annotated_type_accepts_a_valid_number() -> None:
    assert SO_DINH_DANH.validate_python("025090012345") == "025090012345"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("02509001234", "at least 12"),
        ("0250900123456", "at most 12"),
        ("02509001234x", "12 digits"),
        ("000090012345", "not a province code"),
        ("025490012345", "future"),
    ],
)
def test_the_annotated_type_reports_the_rule(value: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SO_DINH_DANH.validate_python(value)

    assert says in caught.value.errors()[0]["msg"]
    # the value itself is not echoed in the message
    assert value not in caught.value.errors()[0]["msg"]


def test_the_annotated_type_documents_itself() -> None:
    schema = SO_DINH_DANH.json_schema()

    assert schema["minLength"] == 12
    assert schema["maxLength"] == 12
    assert "định danh" in schema["description"]
