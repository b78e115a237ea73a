"""Wire answers of each profile -> the canonical :class:`~connectors.dkdn.models.DoanhNghiep`.

Sources (``docs/research/issue-23-sources.md`` section 2, ``tests/golden/dkdn/SOURCES.md``):

* ``ngsp``: OpenCPS rc-3.0 ``ApplicantManagementImpl.java`` / ``ConstantUtils.java`` — no
  ``Data.MainInformation`` is "not found"; ``ENTERPRISE_STATUS_ID == "ACT"`` is active
  (``opencps-store`` ``register/app.js``), anything else is no longer operating.
* ``lgsp-entcert``: PASETO ``GetTraCuuThongTinDoanhNghiepQuery*.cs`` — an empty ``GetEntCert``
  is "not found"; the first ``TinhTrangPhapLy`` is the current status (our reading: the
  public caller shows one), ``LaNganhChinh`` 1 is the main line.
* ``lgsp-hcm``: the HCM LGSP envelope — no ``ResultObject`` is "not found".

The status table (:data:`connectors.dkdn.config.DEFAULT_STATUS_CODES`) is ours and
configurable; a code it does not list reads as ``unknown`` (never active).
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.dkdn.models import (
    DiaChiTruSo,
    DoanhNghiep,
    LoaiHinh,
    NganhNghe,
    NguoiDaiDien,
    TinhTrang,
    TrangThai,
)
from schemas import dkdn as wire
from schemas.dkdn import parse_wire_date

__all__ = ["from_entcert", "from_hcm", "from_ngsp", "status_of"]

_TRUE = frozenset({"1", "true", "True", "TRUE", "x", "X", "Y", "y"})


def status_of(code: str | None, name: str | None, table: Mapping[str, TrangThai]) -> TinhTrang:
    """Our status for the platform's status id (the table is ours, configurable)."""
    key = (code or "").strip().upper()
    trang_thai: TrangThai = table.get(key, "unknown") if key else "unknown"
    return TinhTrang(
        trang_thai=trang_thai,
        con_hoat_dong=trang_thai == "active",
        ma=code or None,
        ten=name or None,
    )


def from_ngsp(answer: wire.NgspAnswer, table: Mapping[str, TrangThai]) -> DoanhNghiep | None:
    """``Data`` -> the enterprise; ``None`` when there is no ``MainInformation``."""
    data = answer.Data
    if data is None or data.MainInformation is None:
        return None
    main = data.MainInformation
    return _main(main, table).model_copy(
        update={
            "tru_so_chinh": _ngsp_address(data.HOAdress),
            "nguoi_dai_dien": [
                NguoiDaiDien(ho_ten=r.FULL_NAME, chuc_danh=r.POSITION_NAME)
                for r in data.Representatives
                if r.FULL_NAME
            ],
            "nganh_nghe": [
                NganhNghe(ma=a.CODE, ten=a.NAME, chinh=(a.IS_MAIN or "") in _TRUE)
                for a in data.BusinessActivities
                if a.CODE
            ],
        }
    )


def from_hcm(answer: wire.HcmAnswer, table: Mapping[str, TrangThai]) -> DoanhNghiep | None:
    """``ResultObject`` -> the enterprise; ``None`` when there is none."""
    record = answer.ResultObject
    if record is None or not (record.ENTERPRISE_GDT_CODE or record.NAME):
        return None
    return _main(record, table).model_copy(
        update={"tru_so_chinh": DiaChiTruSo(dia_chi_day_du=record.HO_ADDRESS_FULLTEXT)}
    )


def _main(main: wire.NgspMain, table: Mapping[str, TrangThai]) -> DoanhNghiep:
    if not main.ENTERPRISE_GDT_CODE:
        raise ValueError("ENTERPRISE_GDT_CODE: missing")
    if not main.NAME:
        raise ValueError("NAME: missing")
    return DoanhNghiep(
        ma_so_doanh_nghiep=main.ENTERPRISE_GDT_CODE,
        ma_noi_bo=main.ENTERPRISE_ID,
        ten=main.NAME,
        ten_nuoc_ngoai=main.NAME_F or None,
        ten_viet_tat=main.SHORT_NAME or None,
        loai_hinh=LoaiHinh(ma=main.ENTERPRISE_TYPE_ID, ten=main.ENTERPRISE_TYPE_NAME),
        tinh_trang=status_of(main.ENTERPRISE_STATUS_ID, main.ENTERPRISE_STATUS_NAME, table),
        ngay_thanh_lap=parse_wire_date(main.FOUNDING_DATE),
        ngay_thay_doi_gan_nhat=parse_wire_date(main.LAST_AMEND_DATE),
        so_lan_thay_doi=main.NUMBER_CHANGES,
        von_dieu_le=main.CAPITAL_AMOUNT,
    )


def _ngsp_address(address: wire.NgspAddress | None) -> DiaChiTruSo:
    if address is None:
        return DiaChiTruSo()
    return DiaChiTruSo(
        dia_chi_day_du=address.AddressFullText,
        ma_tinh=address.CityId,
        ten_tinh=address.CityName,
        ma_huyen=address.DistrictId,
        ten_huyen=address.DistrictName,
        ma_xa=address.WardId,
        ten_xa=address.WardName,
    )


def from_entcert(answer: wire.EntCertAnswer, table: Mapping[str, TrangThai]) -> DoanhNghiep | None:
    """The first ``EntCert`` -> the enterprise; ``None`` when the list is empty."""
    if not answer.GetEntCert:
        return None
    cert = answer.GetEntCert[0]
    if not cert.MaSoDoanhNghiep:
        raise ValueError("GetEntCert[0].MaSoDoanhNghiep: missing")
    if not cert.TenTiengViet:
        raise ValueError("GetEntCert[0].TenTiengViet: missing")
    legal = cert.TinhTrangPhapLy[0] if cert.TinhTrangPhapLy else None
    status = status_of(
        legal.MaTinhTrangPhapLy if legal else None, legal.TinhTrangPhapLy if legal else None, table
    )
    if legal is not None:
        status = status.model_copy(
            update={
                "tam_ngung_tu": parse_wire_date(legal.NgayBatDauTamNgung),
                "tam_ngung_den": parse_wire_date(legal.NgayKetThucTamNgung),
                "ly_do": legal.LyDoTamNgung or None,
            }
        )
    office = next((a for t in cert.DiaChiTruSo for a in t.DiaChi), None)
    return DoanhNghiep(
        ma_so_doanh_nghiep=cert.MaSoDoanhNghiep,
        ma_noi_bo=cert.MaNoiBo,
        ten=cert.TenTiengViet,
        ten_nuoc_ngoai=cert.TenNuocNgoai or None,
        ten_viet_tat=cert.TenVietTat or None,
        loai_hinh=LoaiHinh(ma=cert.MaLoaiHinhDN, ten=cert.LoaiHinhDN),
        tinh_trang=status,
        ngay_thanh_lap=parse_wire_date(cert.NgayDangKyLanDau),
        ngay_thay_doi_gan_nhat=parse_wire_date(cert.NgayDangKyThayDoi),
        so_lan_thay_doi=cert.SoLanDangKyThayDoi,
        tru_so_chinh=_entcert_address(office),
        nguoi_dai_dien=[
            NguoiDaiDien(
                ho_ten=p.HoVaTen,
                loai_giay_to=p.LoaiGiayToChungThuc,
                so_giay_to=p.SoGiayChungThuc,
                quoc_tich=p.QuocTich,
            )
            for d in cert.DaiDienPhapLuat
            for p in d.ThongTinCaNhan
            if p.HoVaTen
        ],
        nganh_nghe=[
            NganhNghe(ma=n.MaNganh, ten=n.TenNganh, chinh=(n.LaNganhChinh or "") in _TRUE)
            for n in cert.NganhNgheKinhDoanh
            if n.MaNganh
        ],
    )


def _entcert_address(address: wire.Address | None) -> DiaChiTruSo:
    if address is None:
        return DiaChiTruSo()
    # DiaChi is the street line (SoNha its house number when sent apart): our reading
    street = address.DiaChi or address.SoNha
    parts = (street, address.TenPhuongXa, address.TenQuanHuyen, address.TenTinhThanh)
    return DiaChiTruSo(
        dia_chi_day_du=", ".join(p for p in parts if p) or None,
        ma_tinh=address.MaTinhThanh,
        ten_tinh=address.TenTinhThanh,
        ma_huyen=address.MaQuanHuyen,
        ten_huyen=address.TenQuanHuyen,
        ma_xa=address.MaPhuongXa,
        ten_xa=address.TenPhuongXa,
    )
