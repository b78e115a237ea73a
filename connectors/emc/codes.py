"""The code tables of EMC's ``TrackingMCDT`` event, and how the gateway's canonical values map
onto them.

Source: ``HuanVu201/DichVuCong_KhoaLuan_PASETO`` (HEAD ``7d1730c``),
``DichVuCongApi/src/Core/Application/Common/EMC/EMCRequestBody.cs`` (the enums ``StatusEnum``,
``HinhThucEnum``, ``HinhThucThanhToanEnum``, ``LevelEnum``, ``IsFromDVCQGEnum``,
``IsDVCBCEnum``) and ``DichVuCongApi/src/Infrastructure/EMC/EMCService.cs`` (``SendAction``:
which one-stop value becomes which code). Confidence **medium**: one deployed caller
(``docs/research/issue-23-sources.md`` §3.1).

* ``Status`` from the DVCQG dossier status (``TrangThaiHoSo``, national list 1-10): 1 and 2
  -> "1" received; 4 -> "2" processing; 9 and 10 -> "3" result returned; anything else "0"
  other. "4" (assigned, ``PhanCongXuLy``) is declared but no mapping produces it; the gateway
  sends it only when a case system asks for it explicitly.
* ``FormsReception`` from the channel (``KenhThucHien`` 1 in person, 2 online, 3 by post):
  1 -> "2" in person; 2 and 3 -> "1" online.
* ``FormsPayments``: "0" nothing paid, "1" paid online, "2" paid directly (cash or transfer).
* ``Level``: "0" direct, partial; "1" direct, full; "3" online, partial; "4" online, full
  process. (PASETO sends "4" for procedures of level 3 or 4 and "3" otherwise.)
* ``IsFromDVCQG``: "1" the dossier came through the national portal, else "0".
* ``IsDVCBC``: "0" result handed over in person, "1" by the public postal service, "2" other.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "FORMS_PAYMENTS",
    "FORMS_RECEPTION",
    "IS_DVCBC",
    "IS_FROM_DVCQG",
    "LEVEL",
    "LEVEL_OF_CODE",
    "STATUS_OF_TRANG_THAI",
    "FormsPayments",
    "KenhNop",
    "MucDo",
    "TraKetQua",
    "TrangThaiEmc",
    "TrangThaiHoSo",
    "emc_status",
]


class TrangThaiHoSo(StrEnum):
    """The DVCQG dossier status, by its canonical name (the gateway's northbound vocabulary;
    the national numbers 1-10 in the comments)."""

    moi_dang_ky = "moi_dang_ky"  # 1
    da_tiep_nhan = "da_tiep_nhan"  # 2
    khong_tiep_nhan = "khong_tiep_nhan"  # 3
    dang_xu_ly = "dang_xu_ly"  # 4
    yeu_cau_bo_sung = "yeu_cau_bo_sung"  # 5
    yeu_cau_nghia_vu_tai_chinh = "yeu_cau_nghia_vu_tai_chinh"  # 6
    rut_ho_so = "rut_ho_so"  # 7
    dung_xu_ly = "dung_xu_ly"  # 8
    da_xu_ly = "da_xu_ly"  # 9
    da_tra_ket_qua = "da_tra_ket_qua"  # 10


class TrangThaiEmc(StrEnum):
    """EMC's ``Status`` (``StatusEnum``)."""

    khac = "0"
    tiep_nhan = "1"
    dang_xu_ly = "2"
    tra_ket_qua = "3"
    phan_cong_xu_ly = "4"


#: ``EMCService.SendAction``: "2"/"1" -> TiepNhan, "4" -> DangXuLy, "9"/"10" -> TraKetQua
STATUS_OF_TRANG_THAI: Mapping[TrangThaiHoSo, TrangThaiEmc] = MappingProxyType(
    {
        TrangThaiHoSo.moi_dang_ky: TrangThaiEmc.tiep_nhan,
        TrangThaiHoSo.da_tiep_nhan: TrangThaiEmc.tiep_nhan,
        TrangThaiHoSo.dang_xu_ly: TrangThaiEmc.dang_xu_ly,
        TrangThaiHoSo.da_xu_ly: TrangThaiEmc.tra_ket_qua,
        TrangThaiHoSo.da_tra_ket_qua: TrangThaiEmc.tra_ket_qua,
    }
)


def emc_status(trang_thai: TrangThaiHoSo) -> TrangThaiEmc:
    """EMC's ``Status`` of a DVCQG dossier status ("0" other for the five not mapped)."""
    return STATUS_OF_TRANG_THAI.get(trang_thai, TrangThaiEmc.khac)


class KenhNop(StrEnum):
    """How the dossier was submitted (the DVCQG ``KenhThucHien`` names)."""

    truc_tiep = "truc_tiep"
    truc_tuyen = "truc_tuyen"
    buu_chinh = "buu_chinh"


#: ``HinhThucEnum``: TrucTuyen 1, TrucTiep 2 (KenhThucHien 2 and 3 count as online)
FORMS_RECEPTION: Mapping[KenhNop, str] = MappingProxyType(
    {KenhNop.truc_tiep: "2", KenhNop.truc_tuyen: "1", KenhNop.buu_chinh: "1"}
)


class FormsPayments(StrEnum):
    """How the dossier's fees were paid (``HinhThucThanhToanEnum``)."""

    khong_thanh_toan = "khong_thanh_toan"
    truc_tuyen = "truc_tuyen"
    truc_tiep = "truc_tiep"


FORMS_PAYMENTS: Mapping[FormsPayments, str] = MappingProxyType(
    {
        FormsPayments.khong_thanh_toan: "0",
        FormsPayments.truc_tuyen: "1",
        FormsPayments.truc_tiep: "2",
    }
)


class MucDo(StrEnum):
    """The level of the service (``LevelEnum``)."""

    truc_tiep_mot_phan = "truc_tiep_mot_phan"
    truc_tiep_toan_trinh = "truc_tiep_toan_trinh"
    truc_tuyen_mot_phan = "truc_tuyen_mot_phan"
    truc_tuyen_toan_trinh = "truc_tuyen_toan_trinh"


LEVEL: Mapping[MucDo, str] = MappingProxyType(
    {
        MucDo.truc_tiep_mot_phan: "0",
        MucDo.truc_tiep_toan_trinh: "1",
        MucDo.truc_tuyen_mot_phan: "3",
        MucDo.truc_tuyen_toan_trinh: "4",
    }
)
LEVEL_OF_CODE: Mapping[str, MucDo] = MappingProxyType({v: k for k, v in LEVEL.items()})

#: ``IsFromDVCQGEnum``: FromDVCQG 1, NotFromDVCQG 0
IS_FROM_DVCQG: Mapping[bool, str] = MappingProxyType({True: "1", False: "0"})


class TraKetQua(StrEnum):
    """How the result is handed over (``IsDVCBCEnum``)."""

    truc_tiep = "truc_tiep"
    buu_chinh = "buu_chinh"
    khac = "khac"


IS_DVCBC: Mapping[TraKetQua, str] = MappingProxyType(
    {TraKetQua.truc_tiep: "0", TraKetQua.buu_chinh: "1", TraKetQua.khac: "2"}
)
