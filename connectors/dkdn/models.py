"""The canonical models the case system speaks for enterprise look-ups (snake_case Vietnamese,
as the other connectors). One answer whatever the wire profile (:mod:`connectors.dkdn.mapping`);
the shape follows ``docs/research/issue-23-sources.md`` 2.5.

"Not found" and an enterprise that no longer operates are answers (``ket_qua``,
``tinh_trang.trang_thai``), never errors: a one-stop officer must be able to tell "there is no
such enterprise" from "the register is down".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.dkdn import MSDN_PATTERN
from schemas.dvcqg import MA_HO_SO_PATTERN, MA_TTHC_PATTERN

__all__ = [
    "DiaChiTruSo",
    "DoanhNghiep",
    "KetQua",
    "LoaiHinh",
    "NganhNghe",
    "NguoiDaiDien",
    "TinhTrang",
    "TrangThai",
    "YeuCauDoanhNghiep",
]

#: our normalised legal status (the wire codes behind each are a configurable table)
TrangThai = Literal[
    "active", "suspended", "dissolving", "dissolved", "revoked", "bankrupt", "unknown"
]
KetQua = Literal["found", "not_found"]


class YeuCauDoanhNghiep(BaseModel):
    """Look up one enterprise (or branch) by its code, for a stated case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ma_so_doanh_nghiep": "0101234567",
                    "ma_tthc": "1.001776",
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                }
            ]
        },
    )

    ma_so_doanh_nghiep: Annotated[str, StringConstraints(pattern=MSDN_PATTERN)] = Field(
        description="enterprise code = tax code (MST): 10 digits, or 10 digits-3 digits for a "
        "branch or dependent unit",
        examples=["0101234567", "0101234567-001"],
    )
    # the purpose: optional in the schema so that its absence is refused as a governance
    # decision (403), not as a malformed body (422)
    ma_tthc: Annotated[str, StringConstraints(pattern=MA_TTHC_PATTERN)] | None = Field(
        None, description="procedure the look-up serves (purpose, required)"
    )
    ma_ho_so: Annotated[str, StringConstraints(pattern=MA_HO_SO_PATTERN)] | None = Field(
        None, description="dossier the look-up serves (purpose, required)"
    )

    @property
    def purpose(self) -> str | None:
        """``"<ma_tthc> <ma_ho_so>"``, or None while either is missing."""
        if not self.ma_tthc or not self.ma_ho_so:
            return None
        return f"{self.ma_tthc} {self.ma_ho_so}"


class LoaiHinh(BaseModel):
    ma: str | None = Field(None, description="type code (lgsp-entcert MaLoaiHinhDN)")
    ten: str | None = Field(
        None, description="type of enterprise, e.g. Công ty TNHH một thành viên"
    )


class TinhTrang(BaseModel):
    trang_thai: TrangThai = Field(description="our normalised legal status")
    con_hoat_dong: bool = Field(description="true only when active")
    ma: str | None = Field(None, description="the platform's status code as sent")
    ten: str | None = Field(None, description="the platform's status name as sent")
    tam_ngung_tu: date | None = None
    tam_ngung_den: date | None = None
    ly_do: str | None = None


class DiaChiTruSo(BaseModel):
    dia_chi_day_du: str | None = None
    ma_tinh: str | None = None
    ten_tinh: str | None = None
    ma_huyen: str | None = None
    ten_huyen: str | None = None
    ma_xa: str | None = None
    ten_xa: str | None = None


class NguoiDaiDien(BaseModel):
    ho_ten: str
    chuc_danh: str | None = None
    loai_giay_to: str | None = None
    so_giay_to: str | None = None
    quoc_tich: str | None = None


class NganhNghe(BaseModel):
    ma: str = Field(description="VSIC 2018 code (Quyết định 27/2018/QĐ-TTg)")
    ten: str | None = None
    chinh: bool = Field(False, description="the main line of business")


class DoanhNghiep(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ma_so_doanh_nghiep": "0101234567",
                    "ten": "CÔNG TY TNHH THƯƠNG MẠI HỒNG HÀ",
                    "ten_nuoc_ngoai": "HONG HA TRADING COMPANY LIMITED",
                    "ten_viet_tat": "HONG HA CO., LTD",
                    "loai_hinh": {"ma": None, "ten": "Công ty TNHH một thành viên"},
                    "tinh_trang": {"trang_thai": "active", "con_hoat_dong": True, "ma": "ACT"},
                    "ngay_thanh_lap": "2015-03-12",
                    "tru_so_chinh": {"dia_chi_day_du": "12 Lê Lợi, Phường Điện Biên, Thanh Hoá"},
                    "nguoi_dai_dien": [{"ho_ten": "NGUYỄN VĂN AN"}],
                    "nganh_nghe": [{"ma": "4690", "ten": "Bán buôn tổng hợp", "chinh": True}],
                    "von_dieu_le": 5000000000,
                }
            ]
        }
    )

    ma_so_doanh_nghiep: str
    ma_noi_bo: str | None = None
    ten: str
    ten_nuoc_ngoai: str | None = None
    ten_viet_tat: str | None = None
    loai_hinh: LoaiHinh = Field(default_factory=LoaiHinh)
    tinh_trang: TinhTrang
    ngay_thanh_lap: date | None = None
    ngay_thay_doi_gan_nhat: date | None = None
    so_lan_thay_doi: int | None = None
    tru_so_chinh: DiaChiTruSo = Field(default_factory=DiaChiTruSo)
    nguoi_dai_dien: list[NguoiDaiDien] = Field(default_factory=list)
    nganh_nghe: list[NganhNghe] = Field(default_factory=list)
    von_dieu_le: int | None = Field(
        None, description="registered capital in VND, when the profile carries it (our profile)"
    )
