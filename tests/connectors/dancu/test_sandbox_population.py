"""The simulator's synthetic population is consistent, realistic in form, and deterministic."""

from __future__ import annotations

import random
import re
from collections import defaultdict

import pytest

from connectors.dancu.sandbox.population import (
    Citizen,
    Population,
    normalise_name,
    upper_unaccented,
)
from schemas import cccd


@pytest.fixture(scope="module")
def population() -> Population:
    return Population()


@pytest.fixture(scope="module")
def people(population: Population) -> list[Citizen]:
    return list(population.citizens)


def test_default_size_and_unique_numbers(population: Population, people: list[Citizen]) -> None:
    assert len(population) == len(people) == 5000
    assert len({c.so_dinh_danh for c in people}) == 5000
    assert all(population.get(c.so_dinh_danh) is c for c in people)
    assert population.get("000000000000") is None
    assert "000000000000" not in population
    assert people[0].so_dinh_danh in population


def test_every_number_is_valid_with_its_birth_date(people: list[Citizen]) -> None:
    for citizen in people:
        parsed = cccd.validate(citizen.so_dinh_danh, birth_date=citizen.ngay_sinh)
        assert parsed.sex == (cccd.Sex.NAM if citizen.gioi_tinh == "1" else cccd.Sex.NU)
        assert 1930 <= citizen.nam_sinh <= 2024


def test_births_span_the_century(people: list[Citizen]) -> None:
    years = {c.nam_sinh for c in people}
    assert min(years) < 1945
    assert max(years) >= 2020
    assert {c.so_dinh_danh[3] for c in people} == {"0", "1", "2", "3"}


def test_addresses_carry_consistent_administrative_codes(people: list[Citizen]) -> None:
    district_of: dict[str, str] = {}
    province_of: dict[str, str] = {}
    for citizen in people:
        for address in (citizen.que_quan, citizen.thuong_tru, citizen.noi_o_hien_tai):
            if address is None:
                continue
            assert address.ma_tinh_thanh is not None
            assert address.ma_quan_huyen is not None
            assert address.ma_phuong_xa is not None
            assert f"0{address.ma_tinh_thanh}" in cccd.PROVINCES
            assert re.fullmatch(r"[0-9]{2}", address.ma_tinh_thanh)
            assert re.fullmatch(r"[0-9]{3}", address.ma_quan_huyen)
            assert re.fullmatch(r"[0-9]{5}", address.ma_phuong_xa)
            # a commune lies in one district, a district in one province
            assert district_of.setdefault(address.ma_phuong_xa, address.ma_quan_huyen) == (
                address.ma_quan_huyen
            )
            assert province_of.setdefault(address.ma_quan_huyen, address.ma_tinh_thanh) == (
                address.ma_tinh_thanh
            )
            assert address.chi_tiet
            assert cccd.PROVINCES[f"0{address.ma_tinh_thanh}"] in address.chi_tiet
    assert len(province_of) > 100  # districts of many provinces are used


def test_names_are_vietnamese_with_diacritics(people: list[Citizen]) -> None:
    with_marks = [c for c in people if c.ho_va_ten.upper() != c.ten_chuan_hoa]
    assert len(with_marks) > 0.8 * len(people)
    assert {"Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Võ"} <= {c.ho for c in people}
    for citizen in people:
        middle = (citizen.chu_dem or "").split()
        if "Thị" in middle:
            assert citizen.gioi_tinh == "2"
        if "Văn" in middle:
            assert citizen.gioi_tinh == "1"
        assert re.fullmatch(r"[A-Z]{1,128}", citizen.ten_chuan_hoa)
    # the optional middle name is sometimes absent, as the WSDL allows
    assert any(c.chu_dem is None for c in people)


def test_normalise_name() -> None:
    assert normalise_name("Nguyễn Văn An") == "NGUYENVANAN"
    assert normalise_name("Đặng Thị Ánh") == "DANGTHIANH"
    assert normalise_name("  Huỳnh  Thanh-Kim Thư ") == "HUYNHTHANHKIMTHU"


def test_code_lists(people: list[Citizen]) -> None:
    assert {c.gioi_tinh for c in people} == {"1", "2"}
    assert {c.tinh_trang_hon_nhan for c in people} <= {"1", "2", "3", "4"}
    assert {c.nhom_mau for c in people} <= {"00", "01", "02", "03", "04"}
    assert {c.ton_giao for c in people} <= {"00", "01", "02", "03", "04", "05", "06"}
    ethnic = [c.dan_toc for c in people]
    assert all(e is not None and re.fullmatch(r"[0-9]{2}", e) and "01" <= e <= "54" for e in ethnic)
    assert ethnic.count("01") > 0.75 * len(ethnic)  # Kinh
    assert len(set(ethnic)) > 5


def test_spouses_point_at_each_other(population: Population, people: list[Citizen]) -> None:
    married = [c for c in people if c.vo_chong is not None]
    assert len(married) > 1000
    for citizen in married:
        assert citizen.vo_chong is not None
        spouse = population.get(citizen.vo_chong.so_dinh_danh or "")
        assert spouse is not None
        assert spouse.vo_chong is not None
        assert spouse.vo_chong.so_dinh_danh == citizen.so_dinh_danh
        assert spouse.vo_chong.ho_va_ten == citizen.ho_va_ten
        assert citizen.vo_chong.ho_va_ten == spouse.ho_va_ten
        assert citizen.vo_chong.so_cmnd == spouse.so_cmnd
        assert spouse.gioi_tinh != citizen.gioi_tinh
        assert citizen.tinh_trang_hon_nhan == spouse.tinh_trang_hon_nhan == "2"


def test_parents_on_record_are_consistent(population: Population, people: list[Citizen]) -> None:
    linked = 0
    for child in people:
        for relative, sex in ((child.cha, "1"), (child.me, "2")):
            if relative is None or relative.so_dinh_danh is None:
                continue
            parent = population.get(relative.so_dinh_danh)
            assert parent is not None
            assert parent.gioi_tinh == sex
            assert parent.ho_va_ten == relative.ho_va_ten
            assert parent.nam_sinh + 15 <= child.nam_sinh
            linked += 1
        if child.cha is not None:
            assert child.cha.ho_va_ten.split()[0] == child.ho  # the father's family name
    assert linked > 2000
    # parents outside the population are named without a number
    assert any(c.cha is not None and c.cha.so_dinh_danh is None for c in people)


def test_households_have_one_head(population: Population, people: list[Citizen]) -> None:
    households: dict[str, list[Citizen]] = defaultdict(list)
    for citizen in people:
        assert citizen.chu_ho is not None
        assert citizen.so_so_ho_khau is not None
        households[citizen.so_so_ho_khau].append(citizen)
    assert len(households) > 1000
    moved_out = 0
    for members in households.values():
        heads = [m for m in members if m.chu_ho is not None and m.chu_ho.quan_he == "Chủ hộ"]
        assert len(heads) == 1
        head = heads[0]
        for member in members:
            assert member.chu_ho is not None
            assert member.chu_ho.so_dinh_danh == head.so_dinh_danh
            assert member.chu_ho.ho_va_ten == head.ho_va_ten
            assert member.thuong_tru == head.thuong_tru
            relation = member.chu_ho.quan_he
            if relation in {"Vợ", "Chồng"}:
                assert head.vo_chong is not None
                assert head.vo_chong.so_dinh_danh == member.so_dinh_danh
                assert (relation == "Vợ") == (member.gioi_tinh == "2")
            elif relation == "Con":
                parents = {r.so_dinh_danh for r in (member.cha, member.me) if r is not None}
                assert head.so_dinh_danh in parents
            else:
                assert relation == "Chủ hộ"
        # children who married live in another household than their parents
        for member in members:
            if member.cha is not None and member.cha.so_dinh_danh is not None:
                father = population.get(member.cha.so_dinh_danh)
                assert father is not None
                if father.so_so_ho_khau != member.so_so_ho_khau:
                    moved_out += 1
    assert moved_out > 50


def test_some_citizens_hold_an_old_card_number(people: list[Citizen]) -> None:
    cards = [c for c in people if c.so_cmnd is not None]
    assert 0.1 * len(people) < len(cards) < 0.5 * len(people)
    assert len({c.so_cmnd for c in cards}) == len(cards)
    for citizen in cards:
        assert citizen.so_cmnd is not None
        assert re.fullmatch(r"[0-9]{9}", citizen.so_cmnd)
        assert citizen.nam_sinh <= 2000


def test_optional_fields_are_sometimes_absent(people: list[Citizen]) -> None:
    assert any(c.noi_o_hien_tai is None for c in people)
    assert any(c.noi_o_hien_tai is not None and c.noi_o_hien_tai != c.thuong_tru for c in people)
    assert any(c.vo_chong is None for c in people)
    assert any(c.cha is None for c in people)


def test_same_seed_same_people_other_seed_other_people(people: list[Citizen]) -> None:
    assert list(Population(seed=2024).citizens) == people
    other = Population(seed=7)
    assert len(other) == 5000
    assert list(other.citizens) != people
    assert {c.so_dinh_danh for c in other.citizens} != {c.so_dinh_danh for c in people}


@pytest.mark.parametrize("size", [1, 2, 3, 17, 250])
def test_exact_size(size: int) -> None:
    assert len(Population(seed=size, size=size)) == size


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Population(size=0)


def test_sample_is_reproducible(population: Population) -> None:
    first = population.sample(10, random.Random(1))
    assert first == population.sample(10, random.Random(1))
    assert len({c.so_dinh_danh for c in first}) == 10
    assert population.sample(3) == population.sample(3)


def test_the_spaced_form_of_a_name() -> None:
    assert upper_unaccented("Nguyễn Văn An") == "NGUYEN VAN AN"
    assert upper_unaccented("  Huỳnh  Thanh-Kim Thư ") == "HUYNH THANHKIM THU"
    assert normalise_name(upper_unaccented("Đặng Thị Ánh")) == normalise_name("Đặng Thị Ánh")
