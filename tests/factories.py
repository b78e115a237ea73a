"""Plain helpers that build canonical northbound payloads (no factory framework)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

VN = timezone(timedelta(hours=7))

#: the life of a dossier, as the case system reports it to the portal
LIFE = ("da_tiep_nhan", "dang_xu_ly", "yeu_cau_bo_sung", "dang_xu_ly", "da_xu_ly", "da_tra_ket_qua")
LIFE_CODES = (2, 4, 5, 4, 9, 10)


def ma_ho_so(n: int, *, agency: str = "000.00.01.H22", day: str = "240105") -> str:
    return f"{agency}-{day}-{n:04d}"


def dossier(n: int = 1, *, trang_thai: str = "da_tiep_nhan", **overrides: Any) -> dict[str, Any]:
    received = datetime(2024, 1, 5, 8, 0, tzinfo=VN) + timedelta(minutes=n)
    body: dict[str, Any] = {
        "ma_ho_so": ma_ho_so(n),
        "ma_tthc": "1.001776",
        "ten_tthc": "Đăng ký khai sinh",
        "ma_linh_vuc": "G03-HT01",
        "ten_linh_vuc": "Hộ tịch",
        "kenh_thuc_hien": "truc_tiep",
        "chu_ho_so": "Nguyễn Thị Lan",
        "so_giay_to_chu_ho_so": f"0011900{n:05d}",
        "loai_doi_tuong": "cong_dan",
        "so_dien_thoai": "0912345678",
        "trich_yeu": "Đăng ký khai sinh cho con",
        "ngay_tiep_nhan": received.isoformat(),
        "ngay_hen_tra": (received + timedelta(days=3)).isoformat(),
        "trang_thai": trang_thai,
        "don_vi_xu_ly": "UBND xã Tân Lập",
    }
    if trang_thai == "da_tra_ket_qua":
        body["ngay_tra"] = (received + timedelta(days=2)).isoformat()
    if trang_thai == "khong_tiep_nhan":
        body["ngay_tu_choi"] = (received + timedelta(hours=1)).isoformat()
    body.update(overrides)
    return body


def step(n: int = 1, *, trang_thai: str = "dang_xu_ly") -> dict[str, Any]:
    at = datetime(2024, 1, 5, 9, 0, tzinfo=VN) + timedelta(minutes=n)
    return {
        "nguoi_xu_ly": "Trần Văn Bình",
        "chuc_danh": "Công chức tư pháp - hộ tịch",
        "thoi_diem_xu_ly": at.isoformat(),
        "phong_ban_xu_ly": "Bộ phận một cửa",
        "noi_dung_xu_ly": f"Xử lý bước {n}",
        "trang_thai": trang_thai,
    }
