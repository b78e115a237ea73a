"""A synthetic procedure catalogue (danh mục thủ tục hành chính) for the DVCQG simulator.

The entries look like the national catalogue (real-format codes, Vietnamese names, fields of
activity, legal bases), but they are written for tests: codes, field codes, time limits and
fees are plausible, not authoritative. Never use this module as reference data in production.

Each entry is in the nested shape ``LayThuTuc`` answers and OpenCPS reads
(``VietOpenCPS/opencps-v2``, ``release-candidate-3.0``, ``DVCQGIntegrationActionImpl.java``,
``syncServiceInfo``, lines 2713-3011): ``TRINHTUTHUCHIEN[].TRINHTU[].TENTRINHTU``,
``CACHTHUCTHUCHIEN[].THOIGIAN[]`` with ``PHILEPHI[]``, ``THANHPHANHOSO[].GIAYTO[]`` with
``MAGIAYTO``/``TENGIAYTO``/``TENMAUDON``/``URL``, and ``CANCUPHAPLY``, ``COQUANTHUCHIEN``,
``KETQUATHUCHIEN``, ``DOITUONGTHUCHIEN`` as arrays of objects.

Contract: :data:`CATALOGUE` is a tuple of :class:`Procedure`, unique by ``MATTHC``, and
contains ``1.001776`` (đăng ký khai sinh), which tests rely on.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["AGENCIES", "CATALOGUE", "CATALOGUE_BY_CODE", "FIELDS", "FieldOfActivity", "Procedure"]

_CAP_XA = "Ủy ban nhân dân cấp xã"
_CAP_HUYEN = "Ủy ban nhân dân cấp huyện"
_CAP_TINH = "Ủy ban nhân dân cấp tỉnh"
_STEPS = (
    "Bước 1: Tổ chức, cá nhân nộp hồ sơ tại Bộ phận Một cửa hoặc trực tuyến trên Cổng Dịch vụ "
    "công quốc gia.",
    "Bước 2: Cán bộ tiếp nhận kiểm tra, tiếp nhận hồ sơ và hẹn trả kết quả.",
    "Bước 3: Cơ quan có thẩm quyền giải quyết hồ sơ.",
    "Bước 4: Trả kết quả cho tổ chức, cá nhân.",
)
_CHANNELS = {1: "Nộp trực tiếp", 2: "Nộp trực tuyến", 3: "Qua dịch vụ bưu chính công ích"}


class FieldOfActivity(BaseModel):
    """``LINHVUCTHUCHIEN[]`` (and an entry of ``LayDanhMucLinhVuc``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    MALINHVUC: str
    TENLINHVUC: str


class Procedure(BaseModel):
    """A procedure as ``LayThuTuc`` answers it: the fields the simulator needs by name, the
    rest of the nested answer kept as given (``model_dump()`` is the answer)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    MATTHC: str
    TENTTHC: str
    LINHVUCTHUCHIEN: tuple[FieldOfActivity, ...]


def _time_limit(text: str, fee: str | None, code: str) -> dict[str, Any]:
    found = re.search(r"(\d+) (ngày làm việc|ngày)", text)
    amount = re.fullmatch(r"([\d.]+) đồng.*", fee or "")
    return {
        "THOIGIANGIAIQUYET": int(found.group(1)) if found else 1,
        "DONVITINH": found.group(2).capitalize() if found else "Ngày",
        "MOTA": text,
        "PHILEPHI": []
        if fee is None
        else [
            {
                "MAPHILEPHI": f"LP-{code}",
                "SOTIEN": float(amount.group(1).replace(".", "")) if amount else 0.0,
                "DONVI": "Đồng",
                "MOTA": fee,
            }
        ],
    }


def _legal(text: str) -> list[dict[str, str]]:
    bases = []
    for piece in text.split("; "):
        number = re.search(r"số (\S+)", piece)
        bases.append({"SOVANBAN": number.group(1) if number else "", "TENVANBAN": piece})
    return bases


def _entry(
    code: str,
    name: str,
    field_code: str,
    field_name: str,
    *,
    time_limit: str,
    fee: str | None,
    papers: list[tuple[str, int, bool]],
    legal: str,
    agency: str,
    result: str,
    online: bool = True,
    postal: bool = True,
) -> dict[str, Any]:
    channels = [1] + ([2] if online else []) + ([3] if postal else [])
    return {
        "MATTHC": code,
        "TENTTHC": name,
        "MACOQUANCONGBO": "000.00.00.H22",
        "LINHVUCTHUCHIEN": [{"MALINHVUC": field_code, "TENLINHVUC": field_name}],
        "TRINHTUTHUCHIEN": [{"TRUONGHOP": "", "TRINHTU": [{"TENTRINHTU": s} for s in _STEPS]}],
        "CACHTHUCTHUCHIEN": [
            {"KENH": kenh, "THOIGIAN": [_time_limit(time_limit, fee, code)]} for kenh in channels
        ],
        "THANHPHANHOSO": [
            {
                "TRUONGHOP": "",
                "GIAYTO": [
                    {
                        "MAGIAYTO": f"GT-{code}-{i}",
                        "TENGIAYTO": f"{paper} ({count} bản{'' if required else ', nếu có'})",
                        "TENMAUDON": "to-khai.docx" if paper == _TO_KHAI else "",
                        "URL": "",
                    }
                    for i, (paper, count, required) in enumerate(papers, start=1)
                ],
            }
        ],
        "CANCUPHAPLY": _legal(legal),
        "COQUANTHUCHIEN": [{"MADONVI": "", "TENDONVI": agency}],
        "KETQUATHUCHIEN": [{"MAKETQUA": f"KQ-{code}", "TENKETQUA": result}],
        "DOITUONGTHUCHIEN": [{"TENDOITUONG": "Công dân Việt Nam"}],
        "YEUCAU": "",
        "TRANGTHAI": 1,
    }


_TO_KHAI = "Tờ khai theo mẫu"
_RAW: tuple[dict[str, Any], ...] = (
    _entry(
        "1.001776",
        "Đăng ký khai sinh",
        "G03-HT01",
        "Hộ tịch",
        time_limit="Ngay trong ngày tiếp nhận hồ sơ",
        fee="Miễn lệ phí",
        papers=[(_TO_KHAI, 1, True), ("Giấy chứng sinh", 1, True)],
        legal="Luật Hộ tịch số 60/2014/QH13; Nghị định số 123/2015/NĐ-CP",
        agency=_CAP_XA,
        result="Giấy khai sinh",
    ),
    _entry(
        "1.001193",
        "Đăng ký kết hôn",
        "G03-HT01",
        "Hộ tịch",
        time_limit="Ngay trong ngày tiếp nhận hồ sơ",
        fee="Miễn lệ phí",
        papers=[(_TO_KHAI, 1, True), ("Giấy xác nhận tình trạng hôn nhân", 2, False)],
        legal="Luật Hôn nhân và gia đình số 52/2014/QH13; Luật Hộ tịch số 60/2014/QH13",
        agency=_CAP_XA,
        result="Giấy chứng nhận kết hôn",
        postal=False,
    ),
    _entry(
        "1.000656",
        "Đăng ký khai tử",
        "G03-HT01",
        "Hộ tịch",
        time_limit="Ngay trong ngày tiếp nhận hồ sơ",
        fee="Miễn lệ phí",
        papers=[(_TO_KHAI, 1, True), ("Giấy báo tử hoặc giấy tờ thay giấy báo tử", 1, True)],
        legal="Luật Hộ tịch số 60/2014/QH13; Nghị định số 123/2015/NĐ-CP",
        agency=_CAP_XA,
        result="Trích lục khai tử",
    ),
    _entry(
        "2.002189",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "G03-HT01",
        "Hộ tịch",
        time_limit="03 ngày làm việc",
        fee="15.000 đồng",
        papers=[(_TO_KHAI, 1, True)],
        legal="Luật Hộ tịch số 60/2014/QH13; Thông tư số 04/2020/TT-BTP",
        agency=_CAP_XA,
        result="Giấy xác nhận tình trạng hôn nhân",
    ),
    _entry(
        "2.000908",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "G03-CT02",
        "Chứng thực",
        time_limit="Trong ngày",
        fee="2.000 đồng/trang",
        papers=[("Bản chính giấy tờ, văn bản", 1, True), ("Bản sao cần chứng thực", 1, True)],
        legal="Nghị định số 23/2015/NĐ-CP; Thông tư số 226/2016/TT-BTC",
        agency=_CAP_XA,
        result="Bản sao được chứng thực từ bản chính",
        online=True,
        postal=False,
    ),
    _entry(
        "2.000815",
        "Chứng thực chữ ký trong các giấy tờ, văn bản",
        "G03-CT02",
        "Chứng thực",
        time_limit="Trong ngày",
        fee="10.000 đồng/trường hợp",
        papers=[("Giấy tờ, văn bản cần chứng thực chữ ký", 1, True)],
        legal="Nghị định số 23/2015/NĐ-CP",
        agency=_CAP_XA,
        result="Giấy tờ, văn bản được chứng thực chữ ký",
        online=False,
        postal=False,
    ),
    _entry(
        "1.001612",
        "Đăng ký thành lập hộ kinh doanh",
        "G09-KH04",
        "Thành lập và hoạt động của hộ kinh doanh",
        time_limit="03 ngày làm việc",
        fee="100.000 đồng",
        papers=[("Giấy đề nghị đăng ký hộ kinh doanh", 1, True)],
        legal="Luật Doanh nghiệp số 59/2020/QH14; Nghị định số 01/2021/NĐ-CP",
        agency=_CAP_HUYEN,
        result="Giấy chứng nhận đăng ký hộ kinh doanh",
    ),
    _entry(
        "2.000477",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "G12-XD03",
        "Hoạt động xây dựng",
        time_limit="15 ngày",
        fee="75.000 đồng",
        papers=[
            ("Đơn đề nghị cấp giấy phép xây dựng", 1, True),
            ("Giấy tờ chứng minh quyền sử dụng đất", 1, True),
            ("Bản vẽ thiết kế xây dựng", 2, True),
        ],
        legal="Luật Xây dựng số 50/2014/QH13; Nghị định số 15/2021/NĐ-CP",
        agency=_CAP_HUYEN,
        result="Giấy phép xây dựng",
    ),
    _entry(
        "2.000477.000.00.00.H56",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ (thủ tục địa phương)",
        "G12-XD03",
        "Hoạt động xây dựng",
        time_limit="12 ngày",
        fee="75.000 đồng",
        papers=[("Đơn đề nghị cấp giấy phép xây dựng", 1, True)],
        legal="Luật Xây dựng số 50/2014/QH13; Quyết định công bố của Chủ tịch UBND tỉnh",
        agency=_CAP_HUYEN,
        result="Giấy phép xây dựng",
    ),
    _entry(
        "1.004227",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "G13-DD01",
        "Đất đai",
        time_limit="10 ngày làm việc",
        fee="Theo quy định của Hội đồng nhân dân cấp tỉnh",
        papers=[
            ("Đơn đăng ký biến động đất đai, tài sản gắn liền với đất", 1, True),
            ("Bản gốc Giấy chứng nhận đã cấp", 1, True),
        ],
        legal="Luật Đất đai số 31/2024/QH15; Nghị định số 101/2024/NĐ-CP",
        agency="Văn phòng đăng ký đất đai",
        result="Giấy chứng nhận quyền sử dụng đất được xác nhận biến động",
    ),
    _entry(
        "1.003005",
        "Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận lần đầu",
        "G13-DD01",
        "Đất đai",
        time_limit="20 ngày làm việc",
        fee="Theo quy định của Hội đồng nhân dân cấp tỉnh",
        papers=[("Đơn đăng ký đất đai, tài sản gắn liền với đất", 1, True)],
        legal="Luật Đất đai số 31/2024/QH15",
        agency="Văn phòng đăng ký đất đai",
        result="Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
    ),
    _entry(
        "1.000894",
        "Đăng ký thường trú",
        "G01-CT05",
        "Đăng ký, quản lý cư trú",
        time_limit="07 ngày làm việc",
        fee="20.000 đồng",
        papers=[("Tờ khai thay đổi thông tin cư trú", 1, True)],
        legal="Luật Cư trú số 68/2020/QH14; Nghị định số 62/2021/NĐ-CP",
        agency="Công an cấp xã",
        result="Thông báo kết quả đăng ký thường trú",
    ),
    _entry(
        "1.005388",
        "Cấp giấy phép bán lẻ rượu",
        "G10-CT11",
        "Lưu thông hàng hóa trong nước",
        time_limit="10 ngày làm việc",
        fee="Theo quy định của Bộ Tài chính",
        papers=[("Đơn đề nghị cấp giấy phép bán lẻ rượu", 1, True)],
        legal="Nghị định số 105/2017/NĐ-CP; Nghị định số 17/2020/NĐ-CP",
        agency="Phòng Kinh tế cấp huyện",
        result="Giấy phép bán lẻ rượu",
    ),
    _entry(
        "2.000286",
        "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng",
        "G08-BT02",
        "Bảo trợ xã hội",
        time_limit="20 ngày làm việc",
        fee=None,
        papers=[("Tờ khai đề nghị trợ giúp xã hội", 1, True)],
        legal="Nghị định số 20/2021/NĐ-CP",
        agency=_CAP_HUYEN,
        result="Quyết định trợ cấp xã hội hàng tháng",
    ),
    _entry(
        "1.001622",
        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
        "G11-AT01",
        "An toàn thực phẩm",
        time_limit="20 ngày làm việc",
        fee="Theo Thông tư số 67/2021/TT-BTC",
        papers=[
            ("Đơn đề nghị cấp Giấy chứng nhận", 1, True),
            ("Giấy xác nhận đủ sức khỏe của chủ cơ sở", 1, False),
        ],
        legal="Luật An toàn thực phẩm số 55/2010/QH12; Nghị định số 15/2018/NĐ-CP",
        agency=_CAP_TINH,
        result="Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
    ),
    _entry(
        "3.000161",
        "Cấp Giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam",
        "G08-VL03",
        "Việc làm",
        time_limit="05 ngày làm việc",
        fee="Theo quy định của Hội đồng nhân dân cấp tỉnh",
        papers=[("Văn bản đề nghị cấp giấy phép lao động", 1, True)],
        legal="Bộ luật Lao động số 45/2019/QH14; Nghị định số 152/2020/NĐ-CP",
        agency="Sở Nội vụ",
        result="Giấy phép lao động",
        postal=False,
    ),
)

CATALOGUE: tuple[Procedure, ...] = tuple(Procedure.model_validate(raw) for raw in _RAW)
"""The procedures, validated once at import (a broken entry fails loudly here)."""
CATALOGUE_BY_CODE: dict[str, Procedure] = {entry.MATTHC: entry for entry in CATALOGUE}
assert len(CATALOGUE_BY_CODE) == len(CATALOGUE), "duplicate MATTHC in the catalogue"
FIELDS: tuple[FieldOfActivity, ...] = tuple(
    dict.fromkeys(f for entry in CATALOGUE for f in entry.LINHVUCTHUCHIEN)
)
"""The fields of activity of the catalogue (``LayDanhMucLinhVuc``)."""
AGENCIES: tuple[dict[str, Any], ...] = (
    {"MADONVI": "000.00.00.H22", "TENDONVI": "UBND tỉnh (sandbox)", "CAPDONVI": 1},
    {"MADONVI": "000.00.01.H22", "TENDONVI": "Sở Tư pháp (sandbox)", "CAPDONVI": 2},
    {"MADONVI": "000.00.11.H22", "TENDONVI": "UBND huyện Thanh Ba (sandbox)", "CAPDONVI": 3},
    {"MADONVI": "000.01.11.H22", "TENDONVI": "UBND xã Tân Lập (sandbox)", "CAPDONVI": 4},
)
"""Agencies of the sandbox province (``LayDanhMucCoQuan``: MADONVI, TENDONVI, CAPDONVI)."""
