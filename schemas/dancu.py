"""Packets of the National Population Database (CSDLQG về dân cư), with the platform's names.

The SOAP service's own contract is its WSDL (``connectors/dancu/wsdl/dancu.wsdl``); these models
restate it for the two checks the gateway makes on every call: the request is validated before
anything is sent (zeep checks structure, not the patterns), and the answer is read into them
(``connectors/dancu/soap_answers.py``) and validated before anything trusts it, with errors
naming the field path. Strings are bounded so
that an answer cannot smuggle megabytes through one field.

Field order is the public senders' (a C# caller, ``CallApi037``: ``MaYeuCau, MaDVC,
MaTichHop, MaCanBo, MaDonVi, TaiKhoan, SoDienThoai, SoDinhDanh, HoVaTen, NgayThangNamSinh``;
a PHP caller, ``traCuuThongTinCongDanC06``, puts ``SoCMND`` where a 9-digit number goes;
OpenCPS ``QLCDIntegrationActionImpl.java`` the same fields, without the unit, account and
phone); zeep serialises in the WSDL's sequence order whatever the order of the keyword
arguments. ``HoVaTen`` is upper case without diacritics, its spaces kept or not (String 100).

Answers are read tolerantly: public readers (PASETO ``CSDLDanCuDto.cs``, the C# caller's
``ParseSoapResponse``, the PHP caller) read only the ``CongDan`` tree; none reads
``CongdanCollection.MaYeuCau`` or ``MaKetQua``, so neither is required here. Fields no model
names are ignored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "ANSWER_NAMESPACE",
    "REQUEST_NAMESPACE",
    "BanGhiCongDan",
    "CongdanCollection",
    "DiaChi",
    "HoTen",
    "HoVaTenYeuCau",
    "KetQuaXacThuc",
    "NgaySinh",
    "NgayThangNamSinhYeuCau",
    "NguoiThan",
    "ThongTinChuHo",
    "YeuCauCongDan",
]

REQUEST_NAMESPACE = "http://dancuquocgia.bca"
ANSWER_NAMESPACE = "http://www.mic.gov.vn/dancu/1.0"

Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(max_length=128)]
Text = Annotated[str, StringConstraints(max_length=1024)]
IdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
#: HoVaTen of a request: upper case, no diacritics, words separated by one space or written
#: together (String 100)
HoVaTenYeuCau = Annotated[str, StringConstraints(pattern=r"^[A-Z]+( [A-Z]+)*$", max_length=100)]
OldIdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$|^[0-9]{12}$")]


class _Wire(BaseModel):
    # answers may grow fields we do not read; requests are ours and closed
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- request ---------------------------------------------------------------------------------


class NgayThangNamSinhYeuCau(BaseModel):
    """Birth date of a request: the full date (``yyyyMMdd``) or, when only that is known,
    the year."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    NgayThangNam: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] | None = None
    Nam: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> NgayThangNamSinhYeuCau:
        if (self.NgayThangNam is None) == (self.Nam is None):
            raise ValueError("exactly one of NgayThangNam and Nam")
        return self


class YeuCauCongDan(BaseModel):
    """TraCuuThongTinCongDan / XacThucThongTinCongDan request body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    MaYeuCau: Short = Field(description="request id, unique per call")
    MaDVC: Short = Field(description="procedure code the look-up serves (MaTTHC)")
    MaTichHop: Short = Field(description="the province's integration code")
    MaCanBo: Short = Field(description="code of the officer asking")
    MaDonVi: Annotated[str, StringConstraints(pattern=r"^\S{1,35}$")] = Field(
        description="code of the officer's unit (String 35)"
    )
    TaiKhoan: Short | None = Field(None, description="the account asking (officer's login)")
    SoDienThoai: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,20}$")] | None = None
    SoDinhDanh: IdNumber | None = Field(None, description="12-digit number")
    SoCMND: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = Field(
        None, description="9-digit number of an old identity card, instead of SoDinhDanh"
    )
    HoVaTen: HoVaTenYeuCau = Field(
        description="full name, upper case, no diacritics, spaces kept or not"
    )
    NgayThangNamSinh: NgayThangNamSinhYeuCau

    @model_validator(mode="after")
    def _one_number(self) -> YeuCauCongDan:
        if (self.SoDinhDanh is None) == (self.SoCMND is None):
            raise ValueError("exactly one of SoDinhDanh and SoCMND")
        return self


# --- answers ---------------------------------------------------------------------------------


class HoTen(_Wire):
    """HoVaTen of an answer: family name, middle name(s), given name, with diacritics."""

    Ho: Name
    ChuDem: Name | None = None
    Ten: Name


class NgaySinh(_Wire):
    """NgayThangNamSinh of an answer: the year always, the full date when known."""

    Nam: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    NgayThangNam: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] | None = None


class DiaChi(_Wire):
    MaTinhThanh: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] | None = None
    MaQuanHuyen: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] | None = None
    MaPhuongXa: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = None
    ChiTiet: Text | None = None


class NguoiThan(_Wire):
    HoVaTen: Name
    SoDinhDanh: IdNumber | None = None
    SoCMND: OldIdNumber | None = None


class ThongTinChuHo(_Wire):
    """ChuHo: the head of the household and the citizen's relation to them."""

    HoVaTen: Name
    SoDinhDanh: IdNumber | None = None
    QuanHe: Name | None = None


class BanGhiCongDan(_Wire):
    """CongDan: one citizen's record as the platform returns it."""

    SoDinhDanh: IdNumber
    SoCMND: OldIdNumber | None = None
    HoVaTen: HoTen
    NgayThangNamSinh: NgaySinh
    GioiTinh: Code
    DanToc: Code | None = None
    TonGiao: Code | None = None
    TinhTrangHonNhan: Code | None = None
    NhomMau: Code | None = None
    QueQuan: DiaChi | None = None
    ThuongTru: DiaChi | None = None
    NoiOHienTai: DiaChi | None = None
    Cha: NguoiThan | None = None
    Me: NguoiThan | None = None
    VoChong: NguoiThan | None = None
    ChuHo: ThongTinChuHo | None = None
    SoSoHoKhau: Short | None = None


class CongdanCollection(_Wire):
    """TraCuuThongTinCongDan answer. Public answers show only the ``CongDan`` tree: a
    missing ``MaKetQua`` means success when a record is there, no match when none is."""

    MaYeuCau: Short | None = None
    MaKetQua: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] | None = None
    MoTaKetQua: Text | None = None
    CongDan: list[BanGhiCongDan] = Field(default_factory=list, max_length=16)


class KetQuaXacThuc(_Wire):
    """XacThucThongTinCongDan answer."""

    MaYeuCau: Short
    MaKetQua: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    MoTaKetQua: Text | None = None
    TonTai: bool | None = None
