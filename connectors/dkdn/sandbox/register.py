"""The simulator's synthetic business register: a few hundred enterprises, drawn once from a
seed (deterministic), with active, suspended, dissolving, dissolved, revoked and bankrupt ones,
and branches (``MST-NNN``) under some of them. Names, addresses and people are invented.

Status ids: ``ACT`` is the one public id (OpenCPS ``opencps-store`` ``register/app.js``); the
others are the gateway project's documented profile, written out again here (the simulator
reads nothing of the connector).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["STATUS_NAMES", "Branch", "Enterprise", "Line", "Register", "Representative"]

STATUS_NAMES = {
    "ACT": "Đang hoạt động",
    "SUS": "Tạm ngừng kinh doanh có thời hạn",
    "DIP": "Đang làm thủ tục giải thể",
    "DIS": "Đã giải thể",
    "REV": "Bị thu hồi giấy chứng nhận đăng ký doanh nghiệp",
    "BKR": "Phá sản",
}
_TYPES = [
    ("1", "Công ty trách nhiệm hữu hạn một thành viên"),
    ("2", "Công ty trách nhiệm hữu hạn hai thành viên trở lên"),
    ("3", "Công ty cổ phần"),
    ("4", "Doanh nghiệp tư nhân"),
    ("5", "Công ty hợp danh"),
]
_PREFIX = {
    "1": "CÔNG TY TNHH",
    "2": "CÔNG TY TNHH",
    "3": "CÔNG TY CỔ PHẦN",
    "4": "DOANH NGHIỆP TƯ NHÂN",
    "5": "CÔNG TY HỢP DANH",
}
_WORDS = ["THƯƠNG MẠI", "XÂY DỰNG", "DỊCH VỤ", "SẢN XUẤT", "VẬN TẢI", "CÔNG NGHỆ", "NÔNG SẢN",
          "DU LỊCH", "THỰC PHẨM", "ĐẦU TƯ"]  # fmt: skip
_MARKS = ["HỒNG HÀ", "LAM SƠN", "SÔNG MÃ", "AN PHÁT", "MINH KHANG", "BÌNH MINH", "THÀNH ĐẠT",
          "HƯNG THỊNH", "PHÚ QUÝ", "NAM VIỆT", "TRƯỜNG AN", "ĐỨC TÍN"]  # fmt: skip
_EN = {"THƯƠNG MẠI": "TRADING", "XÂY DỰNG": "CONSTRUCTION", "DỊCH VỤ": "SERVICES",
       "SẢN XUẤT": "MANUFACTURING", "VẬN TẢI": "TRANSPORT", "CÔNG NGHỆ": "TECHNOLOGY",
       "NÔNG SẢN": "AGRICULTURAL PRODUCTS", "DU LỊCH": "TOURISM", "THỰC PHẨM": "FOOD",
       "ĐẦU TƯ": "INVESTMENT"}  # fmt: skip
_PLACES = [
    ("38", "Tỉnh Thanh Hoá", "380", "Thành phố Thanh Hoá", "14755", "Phường Điện Biên"),
    ("38", "Tỉnh Thanh Hoá", "389", "Thị xã Bỉm Sơn", "14950", "Phường Ba Đình"),
    ("01", "Thành phố Hà Nội", "001", "Quận Ba Đình", "00001", "Phường Phúc Xá"),
    ("79", "Thành phố Hồ Chí Minh", "760", "Quận 1", "26734", "Phường Tân Định"),
    ("31", "Thành phố Hải Phòng", "303", "Quận Hồng Bàng", "11311", "Phường Quán Toan"),
]
_STREETS = ["Lê Lợi", "Trần Phú", "Quang Trung", "Hàm Nghi", "Nguyễn Trãi", "Bà Triệu"]
_SURNAMES = ["NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "VŨ", "ĐẶNG", "BÙI"]
_MIDDLE = ["VĂN", "THỊ", "ĐỨC", "MINH", "THU", "QUANG"]
_GIVEN = ["AN", "BÌNH", "CHI", "DŨNG", "HÀ", "HẢI", "LAN", "LONG", "MAI", "NAM", "TÂM", "TÙNG"]
_LINES = [
    ("4690", "Bán buôn tổng hợp"),
    ("4100", "Xây dựng nhà các loại"),
    ("4933", "Vận tải hàng hóa bằng đường bộ"),
    ("6201", "Lập trình máy vi tính"),
    ("1079", "Sản xuất thực phẩm khác chưa được phân vào đâu"),
    ("5510", "Dịch vụ lưu trú ngắn ngày"),
    ("4632", "Bán buôn thực phẩm"),
    ("7110", "Hoạt động kiến trúc và tư vấn kỹ thuật có liên quan"),
    ("0150", "Trồng trọt, chăn nuôi hỗn hợp"),
    ("6810", "Kinh doanh bất động sản"),
]


@dataclass(frozen=True)
class Representative:
    full_name: str
    position: str
    id_type: str
    id_number: str
    nationality: str = "Việt Nam"


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    main: bool


@dataclass(frozen=True)
class Branch:
    code: str  # MST-NNN
    name: str


@dataclass
class Enterprise:
    code: str
    internal_id: str
    name: str
    foreign_name: str
    short_name: str
    type_code: str
    type_name: str
    status: str
    founded: date
    amended: date | None
    changes: int
    place: tuple[str, str, str, str, str, str]
    street: str
    representatives: list[Representative]
    lines: list[Line]
    capital: int
    suspended_from: date | None = None
    suspended_to: date | None = None
    suspension_reason: str | None = None
    branches: list[Branch] = field(default_factory=list)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def address(self) -> str:
        _, province, _, district, _, ward = self.place
        return f"{self.street}, {ward}, {district}, {province}"


_TODAY = date(2026, 11, 30)


def _ascii(text: str) -> str:
    """Upper-case Vietnamese without diacritics (foreign and short names are written so)."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def _status(i: int) -> str:
    # a fixed spread: most active, every other kind present in any sample of a few dozen
    if i % 10 == 7:
        return "DIS"
    if i % 10 == 8:
        return "SUS"
    if i % 25 == 3:
        return "DIP"
    if i % 40 == 9:
        return "REV"
    if i % 50 == 11:
        return "BKR"
    return "ACT"


class Register:
    """``size`` enterprises (codes ``0100000000 + ...``), a branch for every fourth one."""

    def __init__(self, size: int = 300, seed: int = 2026) -> None:
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.enterprises: dict[str, Enterprise] = {}
        self.branches: dict[str, tuple[Enterprise, Branch]] = {}
        for i in range(size):
            code = f"{2800100000 + i * 37:010d}"
            type_code, type_name = rng.choice(_TYPES)
            word, mark = rng.choice(_WORDS), rng.choice(_MARKS)
            name = f"{_PREFIX[type_code]} {word} {mark}"
            founded = date(2005, 1, 1) + timedelta(days=rng.randrange(6500))
            changes = rng.randrange(0, 8)
            people = [
                Representative(
                    full_name=" ".join(
                        (rng.choice(_SURNAMES), rng.choice(_MIDDLE), rng.choice(_GIVEN))
                    ),
                    position=position,
                    id_type="Căn cước công dân",
                    id_number=f"0{rng.randrange(10**10, 10**11)}",
                )
                for position in ("Giám đốc", "Chủ tịch Hội đồng quản trị")[: 1 + (type_code == "3")]
            ]
            picks = rng.sample(_LINES, k=rng.randrange(1, 5))
            status = _status(i)
            enterprise = Enterprise(
                code=code,
                internal_id=f"{1000000 + i}",
                name=name,
                foreign_name=f"{_ascii(mark)} {_EN[word]} COMPANY",
                short_name=f"{_ascii(mark)} CO., LTD" if type_code in "12" else "",
                type_code=type_code,
                type_name=type_name,
                status=status,
                founded=founded,
                amended=min(founded + timedelta(days=400 * changes), _TODAY) if changes else None,
                changes=changes,
                place=rng.choice(_PLACES),
                street=f"Số {rng.randrange(1, 300)} {rng.choice(_STREETS)}",
                representatives=people,
                lines=[Line(c, n, k == 0) for k, (c, n) in enumerate(picks)],
                capital=rng.randrange(1, 200) * 100_000_000,
            )
            if status == "SUS":
                enterprise.suspended_from = date(2026, 1, 1) + timedelta(days=rng.randrange(200))
                enterprise.suspended_to = enterprise.suspended_from + timedelta(days=365)
                enterprise.suspension_reason = "Khó khăn về tài chính"
            if i % 4 == 1:
                for n in range(1, 1 + rng.randrange(1, 3)):
                    branch = Branch(f"{code}-{n:03d}", f"CHI NHÁNH {n} - {name}")
                    enterprise.branches.append(branch)
                    self.branches[branch.code] = (enterprise, branch)
            self.enterprises[code] = enterprise

    def find(self, code: str) -> tuple[Enterprise, Branch | None] | None:
        if code in self.enterprises:
            return self.enterprises[code], None
        return self.branches.get(code)

    def with_status(self, status: str) -> list[Enterprise]:
        return [e for e in self.enterprises.values() if e.status == status]
