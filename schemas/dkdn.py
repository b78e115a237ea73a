"""Wire packets of the National Business Registration Database (Cơ sở dữ liệu quốc gia về đăng
ký doanh nghiệp), with the platform's own field names, as public one-stop systems read them.

No official API description is public (``docs/research/issue-23-sources.md`` section 2).
Public sources (cited field for field in ``tests/golden/dkdn/SOURCES.md``):

* ``ngsp`` — OpenCPS ``VietOpenCPS/opencps-v2`` branch ``release-candidate-3.0``,
  ``modules/backend-api-rest/.../api/controller/impl/ApplicantManagementImpl.java``
  (``CTDN_NGSP_URL``: ``GET {NGSP}/apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=``, bearer token;
  the answer's ``Data.MainInformation`` / ``Representatives`` read as object *or* list) and
  ``.../api/constants/ConstantUtils.java`` (``Data``, ``MainInformation``, ``NAME``,
  ``Representatives``, ``FULL_NAME``). Names ``NAME_F``, ``SHORT_NAME``,
  ``ENTERPRISE_GDT_CODE``, ``IMP_BUSINESS_CODE``, ``ENTERPRISE_TYPE_NAME``,
  ``ENTERPRISE_STATUS_ID``/``_NAME``, ``FOUNDING_DATE``, ``LAST_AMEND_DATE``,
  ``NUMBER_CHANGES``, ``HOAdress.AddressFullText`` from the same branch;
  ``CAPITAL_AMOUNT``, ``CityName``/``DistrictName``/``WardName`` from one front end (low).
* ``lgsp-entcert`` — PASETO ``HuanVu201/DichVuCong_KhoaLuan_PASETO``
  ``.../TraCuuThongTinDoanhNghiepApp/Queries/GetTraCuuThongTinDoanhNghiepQuery.cs`` and
  ``...QueryHandler.cs``: ``{GetEntCert: [EntCert]}``.
* ``lgsp-hcm`` — Ho Chi Minh City's LGSP envelope ``{StatusCode, Status, ThrowException,
  Description, ResultObject}`` (one public script, research note 2.3).

**This project's own profile** (no public source): the fields of a ``BusinessActivities`` item
(``CODE``, ``NAME``, ``IS_MAIN``), of a ``Representatives`` item beyond ``FULL_NAME``
(``POSITION_NAME``), the status ids other than ``ACT``, and the token answer's lifetime
(OAuth 2 ``expires_in``).

Contracts: what the gateway sends (the enterprise code) is strict (:data:`MSDN_PATTERN`);
what the platform sends is read tolerantly — unknown fields ignored, numbers as strings or
numbers, one object where a list is expected, ``null`` for absent — but every string is bounded
and a field of the wrong kind is refused, naming it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "MSDN_PATTERN",
    "Address",
    "BusinessLine",
    "EntCert",
    "EntCertAnswer",
    "HcmAnswer",
    "HcmEnterprise",
    "HeadOffice",
    "LegalRepresentative",
    "LegalStatus",
    "NgspActivity",
    "NgspAddress",
    "NgspAnswer",
    "NgspData",
    "NgspMain",
    "NgspRepresentative",
    "NgspTokenAnswer",
    "Person",
    "parse_wire_date",
]

#: an enterprise code (= its tax code, MST): 10 digits; a branch or dependent unit 10 digits,
#: a dash and 3 digits (research note 2.4: HCM LGSP inputs ``MST-NNN``)
MSDN_PATTERN = r"^[0-9]{10}(-[0-9]{3})?$"

_READ = ConfigDict(extra="ignore", populate_by_name=True)


def _text(value: Any) -> Any:
    """Text as senders write it: a number where text was expected becomes its digits,
    ``null`` stays ``None``; surrounding blanks trimmed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _as_list(value: Any) -> Any:
    """One object where a list is expected is a list of one (OpenCPS reads ``Representatives``
    both ways: ``ApplicantManagementImpl`` ``instanceof JSONObject`` / ``JSONArray``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


def _loose_number(value: Any) -> Any:
    """An amount as ``1000000000``, ``1000000000.0``, ``"1000000000"`` or ``"1.000.000.000"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(".", "").replace(",", "").replace(" ", "")
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) <= 20:
            return int(text)
    return value


def _flag(value: Any) -> Any:
    """A yes/no as senders write it: ``1``/``0``, ``"1"``, ``true``/``false``, ``"x"``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return _text(value)


Flag = Annotated[Annotated[str, Field(max_length=8)] | None, BeforeValidator(_flag)]
Text = Annotated[Annotated[str, Field(max_length=1000)] | None, BeforeValidator(_text)]
Short = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(_text)]
LooseInt = Annotated[Annotated[int, Field(ge=0, le=10**18)] | None, BeforeValidator(_loose_number)]

_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d", "%d/%m/%Y")


def parse_wire_date(value: str | None) -> date | None:
    """A date as the platforms write it: ``yyyy-MM-dd'T'HH:mm:ss`` (OpenCPS
    ``_TIMESTAMP_LGSP``), with fractions or an offset, a bare ``yyyy-MM-dd`` or
    ``dd/MM/yyyy``. ``None`` for blank; :class:`ValueError` for anything else."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text[:40]!r}")


def _checked_date(value: Any) -> Any:
    if isinstance(value, str):
        parse_wire_date(value)  # raises ValueError: the field is named by pydantic
    return value


WireDate = Annotated[
    Annotated[str, Field(max_length=40)] | None,
    BeforeValidator(_checked_date),
    BeforeValidator(_text),
]


# --- ngsp: OpenCPS ApplicantManagementImpl / ConstantUtils -------------------------------------


class NgspTokenAnswer(BaseModel):
    """The NGSP token endpoint's answer (OAuth 2 client credentials)."""

    model_config = _READ

    access_token: str = Field(min_length=1, max_length=4096)
    token_type: str | None = Field(None, max_length=32)
    expires_in: LooseInt = None


class NgspMain(BaseModel):
    model_config = _READ

    NAME: Text = None
    NAME_F: Text = None
    SHORT_NAME: Text = None
    ENTERPRISE_GDT_CODE: Short = None
    ENTERPRISE_ID: Short = None
    IMP_BUSINESS_CODE: Short = None
    ENTERPRISE_TYPE_ID: Short = None
    ENTERPRISE_TYPE_NAME: Text = None
    ENTERPRISE_STATUS_ID: Short = None
    ENTERPRISE_STATUS_NAME: Text = None
    FOUNDING_DATE: WireDate = None
    LAST_AMEND_DATE: WireDate = None
    NUMBER_CHANGES: LooseInt = None
    #: registered capital in VND (one front end only: low confidence; our profile)
    CAPITAL_AMOUNT: LooseInt = None


class NgspAddress(BaseModel):
    model_config = _READ

    AddressFullText: Text = None
    CityName: Text = None
    DistrictName: Text = None
    WardName: Text = None
    CityId: Short = None
    DistrictId: Short = None
    WardId: Short = None


class NgspRepresentative(BaseModel):
    model_config = _READ

    FULL_NAME: Text = None
    POSITION_NAME: Text = None


class NgspActivity(BaseModel):
    """A line of business (our profile: OpenCPS passes ``BusinessActivities`` through unread)."""

    model_config = _READ

    CODE: Short = None
    NAME: Text = None
    IS_MAIN: Flag = None


class NgspData(BaseModel):
    model_config = _READ

    MainInformation: Annotated[NgspMain | None, BeforeValidator(lambda v: v or None)] = None
    HOAdress: NgspAddress | None = None
    Representatives: Annotated[
        list[NgspRepresentative], BeforeValidator(_as_list), Field(max_length=50)
    ] = []
    BusinessActivities: Annotated[
        list[NgspActivity], BeforeValidator(_as_list), Field(max_length=1000)
    ] = []


class NgspAnswer(BaseModel):
    """``{Data: {...}}``; no ``Data.MainInformation`` is "not found" (an answer)."""

    model_config = _READ

    Data: NgspData | None = None


# --- lgsp-entcert: PASETO GetTraCuuThongTinDoanhNghiepQuery*.cs ------------------------------


class LegalStatus(BaseModel):
    model_config = _READ

    TinhTrangPhapLy: Text = None
    MaTinhTrangPhapLy: Short = None
    NgayBatDauTamNgung: WireDate = None
    NgayKetThucTamNgung: WireDate = None
    LyDoTamNgung: Text = None


class Person(BaseModel):
    model_config = _READ

    HoVaTen: Text = None
    LoaiGiayToChungThuc: Text = None
    MaLoaiGiayToChungThuc: Short = None
    SoGiayChungThuc: Short = None
    NgayCap: WireDate = None
    NoiCap: Text = None
    QuocTich: Text = None
    MaQuocTich: Short = None


class LegalRepresentative(BaseModel):
    model_config = _READ

    ThongTinCaNhan: Annotated[list[Person], BeforeValidator(_as_list), Field(max_length=50)] = []


class Address(BaseModel):
    model_config = _READ

    QuocGia: Text = None
    MaQuocGia: Short = None
    TenTinhThanh: Text = None
    MaTinhThanh: Short = None
    TenQuanHuyen: Text = None
    MaQuanHuyen: Short = None
    TenPhuongXa: Text = None
    MaPhuongXa: Short = None
    DiaChi: Text = None
    SoNha: Text = None


class HeadOffice(BaseModel):
    model_config = _READ

    DiaChi: Annotated[list[Address], BeforeValidator(_as_list), Field(max_length=10)] = []


class BusinessLine(BaseModel):
    model_config = _READ

    MaNganh: Short = None
    TenNganh: Text = None
    #: 1 = the main line (PASETO reads it as a number; "1"/"true" accepted)
    LaNganhChinh: Flag = None


class EntCert(BaseModel):
    model_config = _READ

    MaNoiBo: Short = None
    MaSoDoanhNghiep: Short = None
    SoGCNDKKD: Short = None
    MaLoaiHinhDN: Short = None
    LoaiHinhDN: Text = None
    TenTiengViet: Text = None
    TenNuocNgoai: Text = None
    TenVietTat: Text = None
    NgayDangKyLanDau: WireDate = None
    NgayDangKyThayDoi: WireDate = None
    SoLanDangKyThayDoi: LooseInt = None
    TinhTrangPhapLy: Annotated[
        list[LegalStatus], BeforeValidator(_as_list), Field(max_length=50)
    ] = []
    DaiDienPhapLuat: Annotated[
        list[LegalRepresentative], BeforeValidator(_as_list), Field(max_length=50)
    ] = []
    DiaChiTruSo: Annotated[list[HeadOffice], BeforeValidator(_as_list), Field(max_length=10)] = []
    NganhNgheKinhDoanh: Annotated[
        list[BusinessLine], BeforeValidator(_as_list), Field(max_length=1000)
    ] = []


class EntCertAnswer(BaseModel):
    """``{GetEntCert: [EntCert]}``; a null or empty list is "not found" (an answer)."""

    model_config = _READ

    GetEntCert: Annotated[list[EntCert], BeforeValidator(_as_list), Field(max_length=10)] = []


# --- lgsp-hcm: Ho Chi Minh City's LGSP envelope ------------------------------------------------


class HcmEnterprise(NgspMain):
    """``ResultObject``: the NGSP names flattened, the head office as ``HO_ADDRESS_FULLTEXT``."""

    HO_ADDRESS_FULLTEXT: Text = None


class HcmAnswer(BaseModel):
    model_config = _READ

    StatusCode: LooseInt = None
    Status: Short = None
    ThrowException: bool | None = None
    Description: Text = None
    ResultObject: Annotated[HcmEnterprise | None, BeforeValidator(lambda v: v or None)] = None
