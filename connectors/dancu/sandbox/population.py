"""A deterministic synthetic population: the records the population-database simulator holds.

Nothing here is a real person. ``Population(seed, size)`` draws ``size`` citizens from
``random.Random(seed)`` (no global randomness: the same seed always gives the same people,
field for field) and indexes them by ID number. The records are consistent the way the
platform's are:

* ID numbers follow Nghị định 137/2015/NĐ-CP, Điều 7: a real
  birth-registration province, the century/sex digit of the sex and birth year, the year's
  last two digits, a 6-digit serial; birth years 1930-2024.
* Names are Vietnamese, with diacritics, sex-consistent; children carry the father's family
  name; a wife keeps her own.
* People live in households: one head (``QuanHe`` "Chủ hộ"), a household book number
  (``SoSoHoKhau``) shared by its members, who name the head and their relation to them.
  Spouses point at each other; children point at both parents. Adult children may have moved
  out and head a household of their own, so three generations link across households. Parents
  outside the population are named without a number (the platform returns what it has).
* Addresses carry administrative codes: ``MaTinhThanh`` the province code without its
  leading 0 ("25" Phú Thọ), ``MaQuanHuyen`` 3 digits, ``MaPhuongXa`` 5 digits. Districts and
  communes are synthetic, but fixed: the same codes and names for every seed, each commune
  in one district, each district in one province.
* Code lists as the platform's profile sends them: ``GioiTinh`` "1"/"2", ``DanToc`` "01"..,
  ``TonGiao`` "00".., ``TinhTrangHonNhan`` "1".."4", ``NhomMau`` "00".."04".
* Some people born before 2001 also hold an old 9-digit identity-card number (``SoCMND``).

Generating 5000 people takes a few tens of milliseconds; look-up by ID number is a dict read.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from itertools import accumulate

from connectors.dancu.sandbox.provinces import PROVINCES

__all__ = [
    "ChuHo",
    "Citizen",
    "DiaChi",
    "NguoiThan",
    "Population",
    "normalise_name",
    "upper_unaccented",
]

# --- names ----------------------------------------------------------------------------------

#: family names with their approximate share of the population (percent)
_FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 3.0),
    ("Huỳnh", 2.1),
    ("Phan", 4.5),
    ("Vũ", 2.2),
    ("Võ", 1.7),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.8),
    ("Trịnh", 0.7),
    ("Đoàn", 0.6),
    ("Lâm", 0.5),
    ("Mai", 0.5),
    ("Trương", 0.6),
    ("Lương", 0.4),
    ("Hà", 0.4),
)

_MIDDLE_MALE = ("Văn", "Đức", "Minh", "Hữu", "Quang", "Công", "Thành", "Xuân", "Quốc", "Duy")
_MIDDLE_MALE_MODERN = ("Minh", "Gia", "Đức", "Anh", "Hoàng", "Bảo", "Quốc", "Trọng", "Tuấn")
_MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Bích")
_MIDDLE_FEMALE_MODERN = ("Ngọc", "Thu", "Thanh", "Phương", "Minh", "Khánh", "Thùy", "Diệu", "Mỹ")

_GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Huy", "Khánh", "Khoa", "Long",
    "Minh", "Nam", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Tiến",
    "Trung", "Tuấn", "Việt", "Vinh", "Hoàng", "Hiếu", "Kiên", "Đạt", "Hưng", "Lâm", "Nghĩa",
    "Toàn", "Bảo", "Duy", "Hậu", "Lộc", "Phát", "Tâm",
)  # fmt: skip
_GIVEN_FEMALE = (
    "An", "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương",
    "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung",
    "Oanh", "Phương", "Quỳnh", "Thảo", "Thư", "Thủy", "Trang", "Trinh", "Uyên", "Vân", "Yến",
    "Hồng", "Diệp", "Nhi", "Tuyết", "Xuân", "Ánh", "Hiền",
)  # fmt: skip

# --- code lists (the platform's profile; see connectors/dancu/mapping.py for the labels) -----

#: Tày, Thái, Hoa, Khơ-me, Mường, Nùng, Hmông, Dao are the largest minorities
_ETHNIC_MINORITIES = tuple((f"{code:02d}", 8.0 if code <= 9 else 0.5) for code in range(2, 55))
_RELIGIONS = (("00", 80), ("01", 8), ("02", 7), ("03", 1.2), ("04", 1.5), ("05", 1.5), ("06", 0.3))
_BLOOD = (("04", 42.0), ("02", 30.0), ("01", 20.0), ("03", 5.0), ("00", 3.0))

#: the five centrally-run cities: districts are "Quận", communes "Phường"
_CITIES = frozenset({"001", "031", "048", "079", "092"})
#: the two largest cities hold a larger share of households
_PROVINCE_CODES = tuple(sorted(PROVINCES))
_PROVINCE_SHARES = tuple((code, 9.0 if code in {"001", "079"} else 1.4) for code in _PROVINCE_CODES)

_PLACE_NAMES = (
    "An Bình", "An Phú", "Bình An", "Bình Minh", "Cẩm Thạch", "Đông Hòa", "Đông Xuyên",
    "Hòa Bình", "Hòa Lạc", "Hưng Long", "Hương Sơn", "Kim Liên", "Long Thạnh", "Minh Khai",
    "Nam Sơn", "Ngọc Lâm", "Phú Lợi", "Phú Mỹ", "Phước Long", "Quang Trung", "Tân An",
    "Tân Bình", "Tân Phú", "Tân Thành", "Thạch Bàn", "Thanh Xuân", "Thịnh Liệt", "Trung Hòa",
    "Vĩnh Hưng", "Vĩnh Lộc", "Xuân La", "Yên Hòa", "Bắc Sơn", "Cửa Nam", "Đồng Tâm",
    "Hải Châu", "Lạc Long", "Mỹ Đình", "Nghĩa Đô", "Phúc Xá",
)  # fmt: skip
_STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Phan Chu Trinh", "Hùng Vương", "Điện Biên Phủ", "Nguyễn Trãi", "Lê Duẩn", "Võ Thị Sáu",
    "Bạch Đằng", "Trần Phú", "Nguyễn Du", "Lê Thánh Tông",
)  # fmt: skip
_HAMLETS = ("Đông", "Đoài", "Thượng", "Hạ", "Trung", "Nam", "Bắc", "Tân Lập", "Đồng Tâm")


def normalise_name(full_name: str) -> str:
    """The name as the simulated platform compares it: NFD, marks dropped, Đ/đ -> D, upper
    case, the letters A-Z only, spaces dropped.

    ``"Nguyễn Văn An"``, ``"NGUYEN VAN AN"`` and ``"NGUYENVANAN"`` all give ``"NGUYENVANAN"``:
    public senders write HoVaTen both with its spaces (a PHP caller, ``strtoupper(trim(..))``)
    and without (PASETO ``ToUpperCaseNonWhiteSpaceNonAccentVietnamese``, the C# caller of
    ``CallApi037``), and the platform answers both. (The simulator's own rule: it models the
    platform independently of the connector's mapping.)
    """
    decomposed = unicodedata.normalize("NFD", full_name.replace("Đ", "D").replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return "".join(ch for ch in stripped if "A" <= ch <= "Z")


def upper_unaccented(full_name: str) -> str:
    """``"Nguyễn Văn An"`` -> ``"NGUYEN VAN AN"``: upper case, no diacritics, one space
    between words (what a sender that keeps the spaces writes in HoVaTen)."""
    decomposed = unicodedata.normalize("NFD", full_name.replace("Đ", "D").replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    words = ("".join(ch for ch in word if "A" <= ch <= "Z") for word in stripped.split())
    return " ".join(word for word in words if word)


class _Weighted:
    """Draws from fixed weights with one bisect (``random.choices`` re-adds them every call)."""

    __slots__ = ("_cumulative", "_total", "_values")

    def __init__(self, shares: tuple[tuple[str, float], ...]) -> None:
        self._values = tuple(value for value, _ in shares)
        self._cumulative = tuple(accumulate(weight for _, weight in shares))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random) -> str:
        return self._values[bisect(self._cumulative, rng.random() * self._total)]


_FAMILY = _Weighted(_FAMILY_NAMES)
_ETHNIC = _Weighted(_ETHNIC_MINORITIES)
_RELIGION = _Weighted(_RELIGIONS)
_BLOOD_GROUP = _Weighted(_BLOOD)
_PROVINCE = _Weighted(_PROVINCE_SHARES)


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiaChi:
    """An address (``DiaChi``): codes of province, district and commune, and the detail."""

    ma_tinh_thanh: str | None
    ma_quan_huyen: str | None
    ma_phuong_xa: str | None
    chi_tiet: str | None


@dataclass(frozen=True, slots=True)
class NguoiThan:
    """A relative (``Cha``/``Me``/``VoChong``): the name, and the numbers when on record."""

    ho_va_ten: str
    so_dinh_danh: str | None = None
    so_cmnd: str | None = None


@dataclass(frozen=True, slots=True)
class ChuHo:
    """The head of the citizen's household and the citizen's relation to them."""

    ho_va_ten: str
    so_dinh_danh: str | None
    quan_he: str | None


@dataclass(frozen=True, slots=True)
class Citizen:
    """One record, field for field the WSDL's ``CongDan`` (snake_case, a real date)."""

    so_dinh_danh: str
    so_cmnd: str | None
    ho: str
    chu_dem: str | None
    ten: str
    ngay_sinh: date
    gioi_tinh: str  # "1" nam, "2" nữ
    dan_toc: str | None
    ton_giao: str | None
    tinh_trang_hon_nhan: str | None
    nhom_mau: str | None
    que_quan: DiaChi | None
    thuong_tru: DiaChi | None
    noi_o_hien_tai: DiaChi | None
    cha: NguoiThan | None
    me: NguoiThan | None
    vo_chong: NguoiThan | None
    chu_ho: ChuHo | None
    so_so_ho_khau: str | None

    @property
    def ho_va_ten(self) -> str:
        """The full name as written: ``"Nguyễn Văn An"``."""
        return " ".join(part for part in (self.ho, self.chu_dem, self.ten) if part)

    @property
    def ten_chuan_hoa(self) -> str:
        """The name without diacritics or spaces: ``"NGUYENVANAN"`` (as PASETO and the C#
        caller of ``CallApi037`` send it)."""
        return normalise_name(self.ho_va_ten)

    @property
    def ten_in_hoa(self) -> str:
        """The name without diacritics, spaces kept: ``"NGUYEN VAN AN"``."""
        return upper_unaccented(self.ho_va_ten)

    @property
    def nam_sinh(self) -> int:
        return self.ngay_sinh.year

    def as_relative(self) -> NguoiThan:
        return NguoiThan(self.ho_va_ten, self.so_dinh_danh, self.so_cmnd)


# --- administrative geography (synthetic, fixed) --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Commune:
    code: str
    name: str
    urban: bool


@dataclass(frozen=True, slots=True)
class _District:
    code: str
    name: str
    communes: tuple[_Commune, ...]


def _province_label(code: str) -> str:
    name = PROVINCES[code]
    return f"Thành phố {name}" if code in _CITIES else f"Tỉnh {name}"


@cache
def _geography() -> dict[str, tuple[_District, ...]]:
    """Province code -> its districts. Independent of any population's seed."""
    draw = random.Random("dancu-geography")  # noqa: S311 - synthetic place names
    district_no = 0
    commune_no = 1
    result: dict[str, tuple[_District, ...]] = {}
    for code in _PROVINCE_CODES:
        districts = []
        names = draw.sample(_PLACE_NAMES, 6 + int(code) % 5)
        for index, name in enumerate(names):
            district_no += 1
            city = code in _CITIES
            urban = index < 4 if city else index == 0
            kind = ("Quận" if city else "Thành phố") if urban else "Huyện"
            communes = []
            for commune_name in draw.sample(_PLACE_NAMES, 8 + index % 5):
                communes.append(
                    _Commune(
                        f"{commune_no:05d}",
                        f"{'Phường' if urban else 'Xã'} {commune_name}",
                        urban,
                    )
                )
                commune_no += 3  # commune codes step like the national list's
            districts.append(_District(f"{district_no:03d}", f"{kind} {name}", tuple(communes)))
        result[code] = tuple(districts)
    return result


# --- generation -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """A person while the population is drawn; frozen into a :class:`Citizen` at the end."""

    so_dinh_danh: str
    so_cmnd: str | None
    ho: str
    chu_dem: str | None
    ten: str
    ngay_sinh: date
    male: bool
    dan_toc: str
    ton_giao: str
    nhom_mau: str
    que_quan: DiaChi
    hon_nhan: str = "1"
    thuong_tru: DiaChi | None = None
    cha: NguoiThan | None = None
    me: NguoiThan | None = None
    vo_chong: _Draft | None = None
    head: _Draft | None = None
    quan_he: str | None = None
    so_so_ho_khau: str | None = None
    household_province: str = ""
    children: list[_Draft] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.ho, self.chu_dem, self.ten) if part)

    def relative(self) -> NguoiThan:
        return NguoiThan(self.full_name, self.so_dinh_danh, self.so_cmnd)


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: list[_Draft] = []
        self.ids: set[str] = set()
        self.cmnds: set[str] = set()
        self.books: set[str] = set()

    # -- draws --

    def province(self) -> str:
        return _PROVINCE.draw(self.rng)

    def nearby(self, home: str, stay: float) -> str:
        return home if self.rng.random() < stay else self.province()

    def id_number(self, province: str, male: bool, year: int) -> str:
        # Điều 7 Nghị định 137/2015: century/sex digit, then the year's last two digits
        digit = (year // 100 - 19) * 2 + (0 if male else 1)
        while True:
            value = f"{province}{digit}{year % 100:02d}{self.rng.randrange(1_000_000):06d}"
            if value not in self.ids:
                self.ids.add(value)
                return value

    def old_card_number(self) -> str:
        while True:
            value = f"{self.rng.randrange(10_000_000, 400_000_000):09d}"
            if value not in self.cmnds:
                self.cmnds.add(value)
                return value

    def birth_date(self, year: int) -> date:
        days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(days))

    def given(self, male: bool, year: int) -> tuple[str | None, str]:
        modern = year >= 1985
        if male:
            middles = _MIDDLE_MALE_MODERN if modern else _MIDDLE_MALE
            given = self.rng.choice(_GIVEN_MALE)
        else:
            middles = _MIDDLE_FEMALE_MODERN if modern else _MIDDLE_FEMALE
            given = self.rng.choice(_GIVEN_FEMALE)
        roll = self.rng.random()
        if roll < 0.03:
            return None, given  # no middle name: the WSDL's ChuDem is optional
        middle = self.rng.choice(middles)
        if roll > 0.9:  # two middle names, e.g. "Thị Thu"
            second = self.rng.choice(middles)
            if second != middle:
                middle = f"{middle} {second}"
        return middle, given

    def family_name(self) -> str:
        return _FAMILY.draw(self.rng)

    def ethnicity(self) -> str:
        if self.rng.random() < 0.86:
            return "01"  # Kinh
        return _ETHNIC.draw(self.rng)

    def religion(self) -> str:
        return _RELIGION.draw(self.rng)

    def blood_group(self) -> str:
        return _BLOOD_GROUP.draw(self.rng)

    def hometown(self, province: str) -> DiaChi:
        district = self.rng.choice(_geography()[province])
        commune = self.rng.choice(district.communes)
        detail = f"{commune.name}, {district.name}, {_province_label(province)}"
        return DiaChi(province[1:], district.code, commune.code, detail)

    def address(self, province: str) -> DiaChi:
        district = self.rng.choice(_geography()[province])
        commune = self.rng.choice(district.communes)
        if commune.urban:
            number = self.rng.randrange(1, 300)
            lane = self.rng.randrange(1, 80)
            street = self.rng.choice(_STREETS)
            # about half the houses of a city stand in a lane (ngõ) off the street
            place = (
                f"Số {number}, ngõ {lane}, đường {street}"
                if lane < 40
                else f"Số {number}, đường {street}"
            )
        else:
            hamlet = self.rng.choice(_HAMLETS) if self.rng.random() < 0.5 else None
            place = f"Thôn {hamlet or self.rng.randrange(1, 13)}"
        detail = f"{place}, {commune.name}, {district.name}, {_province_label(province)}"
        return DiaChi(province[1:], district.code, commune.code, detail)

    def book_number(self, province: str) -> str:
        while True:
            value = f"{province}{self.rng.randrange(1_000_000):06d}"
            if value not in self.books:
                self.books.add(value)
                return value

    # -- people --

    def person(
        self,
        *,
        male: bool,
        year: int,
        province: str,
        ho: str | None = None,
        ethnicity: str | None = None,
        religion: str | None = None,
        hometown: DiaChi | None = None,
    ) -> _Draft:
        middle, given = self.given(male, year)
        card = self.old_card_number() if year <= 2000 and self.rng.random() < 0.35 else None
        draft = _Draft(
            so_dinh_danh=self.id_number(province, male, year),
            so_cmnd=card,
            ho=ho or self.family_name(),
            chu_dem=middle,
            ten=given,
            ngay_sinh=self.birth_date(year),
            male=male,
            dan_toc=ethnicity or self.ethnicity(),
            ton_giao=religion or self.religion(),
            nhom_mau=self.blood_group(),
            que_quan=hometown or self.hometown(province),
        )
        self.people.append(draft)
        return draft

    def unrecorded_parents(self, person: _Draft) -> None:
        """Parents who are not in the population: named on the record, without numbers."""
        year = person.ngay_sinh.year - 25
        if self.rng.random() < 0.8:
            middle, given = self.given(True, year)
            person.cha = NguoiThan(" ".join(p for p in (person.ho, middle, given) if p))
        if self.rng.random() < 0.8:
            middle, given = self.given(False, year)
            parts = (self.family_name(), middle, given)
            person.me = NguoiThan(" ".join(p for p in parts if p))

    def settle(self, members: list[tuple[_Draft, str]], province: str) -> None:
        """Register ``members`` (person, relation to the head) as one household in
        ``province``; the first member is the head."""
        book = self.book_number(province)
        home = self.address(province)
        head = members[0][0]
        for person, relation in members:
            person.head = head
            person.quan_he = relation
            person.so_so_ho_khau = book
            person.thuong_tru = home
            person.household_province = province

    # -- households --

    def household(self, budget: int) -> int:
        """One new household of at most ``budget`` new people; returns how many it made."""
        if budget < 2 or self.rng.random() < 0.18:
            self.single()
            return 1
        return self.couple(budget)

    def single(self) -> None:
        province = self.province()
        roll = self.rng.random()
        if roll < 0.5:
            year, status = self.rng.randint(1990, 2006), "1"  # chưa kết hôn
        elif roll < 0.8:
            year, status = self.rng.randint(1930, 1965), "4"  # góa
        else:
            year, status = self.rng.randint(1960, 1995), "3"  # ly hôn
        person = self.person(
            male=self.rng.random() < 0.5, year=year, province=self.nearby(province, 0.8)
        )
        person.hon_nhan = status
        self.unrecorded_parents(person)
        self.settle([(person, "Chủ hộ")], province)

    def couple(self, budget: int, founder: _Draft | None = None) -> int:
        """A married couple and their children. ``founder`` is an adult child of another
        household who marries and moves out (already counted)."""
        made = 0
        if founder is None:
            province = self.province()
            husband_year = min(1999, int(self.rng.triangular(1930, 2000, 1972)))
            husband = self.person(male=True, year=husband_year, province=self.nearby(province, 0.8))
            self.unrecorded_parents(husband)
            wife_year = max(1930, min(2000, husband_year + self.rng.randint(-2, 7)))
            wife = self.person(male=False, year=wife_year, province=self.nearby(province, 0.7))
            self.unrecorded_parents(wife)
            made = 2
        else:
            province = self.nearby(founder.household_province, 0.7)
            year = founder.ngay_sinh.year
            if founder.male:
                husband = founder
                partner_year = max(1930, min(2002, year + self.rng.randint(-1, 6)))
                wife = self.person(
                    male=False, year=partner_year, province=self.nearby(province, 0.7)
                )
                self.unrecorded_parents(wife)
            else:
                wife = founder
                partner_year = max(1930, year - self.rng.randint(0, 6))
                husband = self.person(
                    male=True, year=partner_year, province=self.nearby(province, 0.8)
                )
                self.unrecorded_parents(husband)
            made = 1
        husband.vo_chong, wife.vo_chong = wife, husband
        husband.hon_nhan = wife.hon_nhan = "2"  # đã kết hôn
        if self.rng.random() < 0.1:
            members = [(wife, "Chủ hộ"), (husband, "Chồng")]
        else:
            members = [(husband, "Chủ hộ"), (wife, "Vợ")]

        wife_year = wife.ngay_sinh.year
        first, last = max(1930, wife_year + 19), min(2024, wife_year + 40)
        wanted = self.rng.choices((0, 1, 2, 3, 4), (10, 25, 40, 17, 8))[0]
        count = min(wanted, budget - made) if first <= last else 0
        years = sorted(self.rng.randint(first, last) for _ in range(count))
        children = []
        for year in years:
            child = self.person(
                male=self.rng.random() < 0.51,
                year=year,
                province=self.nearby(province, 0.95),
                ho=husband.ho,
                ethnicity=husband.dan_toc,
                religion=husband.ton_giao,
                hometown=husband.que_quan,  # quê quán follows the father
            )
            child.cha, child.me = husband.relative(), wife.relative()
            children.append(child)
            members.append((child, "Con"))
        made += count
        self.settle(members, province)

        for child in children:
            if child.ngay_sinh.year <= 2000 and made < budget and self.rng.random() < 0.65:
                made += self.couple(budget - made, founder=child)
        return made

    # -- freezing --

    def freeze(self, person: _Draft) -> Citizen:
        roll = self.rng.random()
        if roll < 0.85:
            current = person.thuong_tru
        elif roll < 0.95:
            current = self.address(self.province())  # lives elsewhere: studies, works
        else:
            current = None
        head = person.head
        spouse = person.vo_chong
        return Citizen(
            so_dinh_danh=person.so_dinh_danh,
            so_cmnd=person.so_cmnd,
            ho=person.ho,
            chu_dem=person.chu_dem,
            ten=person.ten,
            ngay_sinh=person.ngay_sinh,
            gioi_tinh="1" if person.male else "2",
            dan_toc=person.dan_toc,
            ton_giao=person.ton_giao,
            tinh_trang_hon_nhan=person.hon_nhan,
            nhom_mau=person.nhom_mau,
            que_quan=person.que_quan,
            thuong_tru=person.thuong_tru,
            noi_o_hien_tai=current,
            cha=person.cha,
            me=person.me,
            vo_chong=spouse.relative() if spouse is not None else None,
            chu_ho=None
            if head is None
            else ChuHo(head.full_name, head.so_dinh_danh, person.quan_he),
            so_so_ho_khau=person.so_so_ho_khau,
        )


def _generate(seed: int, size: int) -> tuple[Citizen, ...]:
    generator = _Generator(random.Random(seed))  # noqa: S311 - synthetic data, not security
    while len(generator.people) < size:
        generator.household(size - len(generator.people))
    return tuple(generator.freeze(person) for person in generator.people)


class Population:
    """``size`` synthetic citizens drawn from ``seed``; immutable once built."""

    def __init__(self, seed: int = 2024, size: int = 5000) -> None:
        if size < 1:
            raise ValueError("a population has at least one citizen")
        self.seed = seed
        self.size = size
        self._citizens = _generate(seed, size)
        self._by_number = {citizen.so_dinh_danh: citizen for citizen in self._citizens}
        self._by_old_card = {c.so_cmnd: c for c in self._citizens if c.so_cmnd is not None}

    @property
    def citizens(self) -> Sequence[Citizen]:
        """Every citizen, in the order drawn (households together)."""
        return self._citizens

    def get(self, so_dinh_danh: str) -> Citizen | None:
        """The citizen with this ID number, or None."""
        return self._by_number.get(so_dinh_danh)

    def by_old_card(self, so_cmnd: str) -> Citizen | None:
        """The citizen who holds this old identity-card number (``SoCMND``), or None."""
        return self._by_old_card.get(so_cmnd)

    def sample(self, n: int, rng: random.Random | None = None) -> list[Citizen]:
        """``n`` distinct citizens; reproducible when ``rng`` is a seeded generator."""
        return (rng or random.Random(self.seed)).sample(self._citizens, n)  # noqa: S311

    def __len__(self) -> int:
        return len(self._citizens)

    def __iter__(self) -> Iterator[Citizen]:
        return iter(self._citizens)

    def __contains__(self, so_dinh_danh: object) -> bool:
        return so_dinh_danh in self._by_number
