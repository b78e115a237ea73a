"""The DVCQG wire profiles: which fields a deployment sends, from the public record.

This is the one place that knows the profiles; the mapping builds every field it can and a
profile keeps those its senders send. Both profiles speak OpenCPS's envelope (``session``,
``madonvi``, ``service``, ``isUpdating`` "True"/"False", the ``dstcode`` header, the
``maTTHC`` / ``mahoso`` look-ups); they differ in the dossier packet only.

``opencps``
    Exactly what OpenCPS sends: ``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``,
    ``modules/backend-dossiermgt/backend-dossiermgt-service/src/main/java/org/opencps/
    dossiermgt/action/impl/DVCQGIntegrationActionImpl.java``, ``createSyncDossierBodyRequest``
    (lines 334-508): 26 fields, every scalar a string, ``""`` when unknown; documents with
    five fields (lines 486-490), results with four (lines 480-483). No ``KenhThucHien``,
    ``SoGiayToChuHoSo``, ``DinhDanhCHS``, ``GhiChu`` (commented out, line 407).

``paseto`` (the default)
    What PASETO sends: ``HuanVu201/DichVuCong_KhoaLuan_PASETO``, ``DichVuCongApi/src/Core/
    Application/Common/KetNoi/DVC/SyncLocalDataToDVCQG/ISyncLocalDataToDVCQGService.cs``,
    class ``HoSoDongBoDVC``: OpenCPS's 26 fields plus the newer ones (``KenhThucHien``,
    ``SoGiayToChuHoSo``, ``GhiChu``, ``NoiNopHoSo``, ``HoSoCoThanhPhanSoHoa``,
    ``TaiKhoanDuocXacThucVoiVNeID``, ``DuocThanhToanTrucTuyen``, ``NgayTuChoi``,
    ``DinhDanhCHS``, ``NgayNopHoSo``, ``DSKetNoiCSDL``), documents with the digitisation
    fields of ``TaiLieuNopDongBoDVC`` and results with ``MaGiayToKetQua``.

Why ``paseto`` is the default: it is a superset of OpenCPS's packet (a portal that reads
OpenCPS's reads every field of it), it is the newer of the two public senders (2024,
against the live portal), and it carries what the case system already gives the gateway
(the channel, the owner's document number and identifiers, the digitised components):
``opencps`` drops those. Choose ``opencps`` for an adapter that refuses fields OpenCPS does
not send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "SHARE_SERVICES",
    "ProfileName",
    "WireProfile",
    "updating_flag",
]

ProfileName = Literal["opencps", "paseto"]
DEFAULT_PROFILE: ProfileName = "paseto"

# createSyncDossierBodyRequest, OpenCPS rc-3.0 lines 350-503, in its order
_OPENCPS_DOSSIER = (
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "ChuHoSo",
    "LoaiDoiTuong",
    "MaDoiTuong",
    "ThongTinKhac",
    "Email",
    "Fax",
    "SoDienThoai",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "TrangThaiHoSo",
    "NgayTra",
    "ThongTinTra",
    "HinhThuc",
    "NgayKetThucXuLy",
    "DonViXuLy",
    "DanhSachLePhi",
    "DanhSachTepDinhKemKhac",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
    "TaiLieuNop",
)
# PASETO HoSoDongBoDVC: the properties OpenCPS does not send
_PASETO_NEWER = (
    "KenhThucHien",
    "SoGiayToChuHoSo",
    "GhiChu",
    "NoiNopHoSo",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "DuocThanhToanTrucTuyen",
    "NgayTuChoi",
    "DinhDanhCHS",
    "NgayNopHoSo",
    "DSKetNoiCSDL",
)
# OpenCPS rc-3.0 lines 486-490; PASETO TaiLieuNopDongBoDVC adds the last four
_OPENCPS_DOCUMENT = (
    "TenTepDinhKem",
    "MaThanhPhanHoSo",
    "TepDinhKemId",
    "DuongDanTaiTepTin",
    "IsDeleted",
)
_PASETO_DOCUMENT = ("DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG", "MaKetQuaThayThe")
# OpenCPS rc-3.0 lines 480-483; PASETO GiayToKetQua adds MaGiayToKetQua
_OPENCPS_RESULT = ("TenGiayTo", "MaThanhPhanHoSo", "GiayToId", "DuongDanTepTinKetQua")
_PASETO_RESULT = ("MaGiayToKetQua",)

SHARE_SERVICES = frozenset({"LayDanhSachTTHC", "LayDanhMucCoQuan", "LayDanhMucLinhVuc"})
"""Services OpenCPS sends to the ``share_endpoint`` (``getSharingDictCollection``, rc-3.0
lines 2000-2090, called for LayDanhSachTTHC at lines 1425 and 1463 and for the code lists
at lines 710, 799, 888, 1520, 1546). Everything else, LayThuTuc included (``getSharingData``
posts to ``integration_endpoint``, lines 1834-1907, called for LayThuTuc at lines 168, 357,
1446, 2708), goes to the ``integration_endpoint``."""


def updating_flag(updating: bool) -> str:
    """``isUpdating`` as OpenCPS sends it: the strings "True" / "False" (rc-3.0 lines
    2361-2365)."""
    return "True" if updating else "False"


@dataclass(frozen=True, slots=True)
class WireProfile:
    """The fields one profile sends, at each level of the dossier packet."""

    name: ProfileName
    source: str
    dossier_fields: tuple[str, ...]
    document_fields: tuple[str, ...]
    result_fields: tuple[str, ...]

    def dossier(self, full: Mapping[str, Any]) -> dict[str, Any]:
        """The packet this profile sends, cut from ``full`` (every field the mapping knows):
        the profile's fields in its order, and in the documents and results theirs."""
        packet = {name: full[name] for name in self.dossier_fields}
        packet["TaiLieuNop"] = [_keep(d, self.document_fields) for d in full["TaiLieuNop"]]
        packet["DanhSachGiayToKetQua"] = [
            _keep(r, self.result_fields) for r in full["DanhSachGiayToKetQua"]
        ]
        return packet


def _keep(item: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item[name] for name in fields}


PROFILES: Mapping[ProfileName, WireProfile] = MappingProxyType(
    {
        "opencps": WireProfile(
            name="opencps",
            source="VietOpenCPS/opencps-v2 release-candidate-3.0 DVCQGIntegrationActionImpl.java",
            dossier_fields=_OPENCPS_DOSSIER,
            document_fields=_OPENCPS_DOCUMENT,
            result_fields=_OPENCPS_RESULT,
        ),
        "paseto": WireProfile(
            name="paseto",
            source="HuanVu201/DichVuCong_KhoaLuan_PASETO ISyncLocalDataToDVCQGService.cs",
            dossier_fields=_OPENCPS_DOSSIER + _PASETO_NEWER,
            document_fields=_OPENCPS_DOCUMENT + _PASETO_DOCUMENT,
            result_fields=_OPENCPS_RESULT + _PASETO_RESULT,
        ),
    }
)
