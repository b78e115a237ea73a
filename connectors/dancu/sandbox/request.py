"""The simulator's own model of a look-up request, and its hardened reader.

The platform's request is modelled here from what public senders put on the wire, not from
the gateway's WSDL or wire models (the simulator must be able to disagree with the connector):

* OpenCPS (``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``,
  ``modules/backend-dossiermgt/backend-dossiermgt-service/src/main/java/org/opencps/
  dossiermgt/action/impl/QLCDIntegrationActionImpl.java`` L114-162 ``createRequestSoap``):
  prefix ``qldc``, ``<soapenv:Header/>`` empty, one ``<qldc:KEY>`` per key of the JSON the
  caller sent, in the order Liferay's ``JSONObject`` iterates them (no order is promised), the
  ``type`` key included (so ``<qldc:type>TraCuuThongTinCongDan</qldc:type>`` sits among the
  fields), and ``NgayThangNamSinh`` always holding ``NgayThangNam``.
* A C# caller (class ``CallApi037``, namespace ``Module.Common.C06``): prefix ``dan``,
  empty header, ``MaYeuCau, MaDVC, MaTichHop, MaCanBo, MaDonVi, TaiKhoan, SoDienThoai,
  SoDinhDanh, HoVaTen, NgayThangNamSinh{Nam | NgayThangNam}``, pretty-printed (whitespace
  between elements).
* A PHP caller (``traCuuThongTinCongDanC06``): ``SoCMND`` instead of ``SoDinhDanh`` when the
  number has 9 digits, ``HoVaTen`` upper case with its spaces, a stray ``">`` of text inside
  the Envelope (a typo in its template), ``xmlns:dan`` declared again on the operation.
* zeep building from the gateway's WSDL (prefixes ``soap-env``/``ns0``, AuthHash in the
  header when that profile is used).

So: elements are matched by namespace and local name, never by prefix; text between
elements is ignored; elements the platform does not know are ignored (OpenCPS's ``type``);
the order of the fields is free; a known field given twice, a missing required field or a
value out of its form makes the request *invalid* (the platform answers code 001 naming the
element, never its value: values are personal data). What is not one SOAP 1.1 envelope with
one known operation in its body is :class:`SoapFault` (HTTP 500).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

__all__ = [
    "LOOKUP",
    "OPERATIONS",
    "REQUEST_NAMESPACE",
    "SOAP_NAMESPACE",
    "SoapFault",
    "YeuCau",
    "parse_request",
]

SOAP_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
REQUEST_NAMESPACE = "http://dancuquocgia.bca"
LOOKUP = "TraCuuThongTinCongDan"
VERIFY = "XacThucThongTinCongDan"
OPERATIONS = (LOOKUP, VERIFY)
_OPERATIONS = {f"{{{REQUEST_NAMESPACE}}}{name}": name for name in OPERATIONS}

_ENVELOPE = f"{{{SOAP_NAMESPACE}}}Envelope"
_HEADER = f"{{{SOAP_NAMESPACE}}}Header"
_BODY = f"{{{SOAP_NAMESPACE}}}Body"
_AUTH_HASH = f"{{{REQUEST_NAMESPACE}}}AuthHash"

# entities stay unexpanded, nothing is fetched, no DTD is read, libxml2's size limits hold
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    collect_ids=False,
    remove_comments=True,
    remove_pis=True,
)

_SHORT = re.compile(r"^\S.{0,63}$", re.DOTALL)  # 1-64 characters, not starting blank
_DIGITS_12 = re.compile(r"^[0-9]{12}$")
_OLD_CARD = re.compile(r"^[0-9]{9}$|^[0-9]{12}$")
# upper case without diacritics; words separated by spaces (or written together)
_NAME = re.compile(r"^[A-Z]+( +[A-Z]+)*$")
_PHONE = re.compile(r"^\+?[0-9]{1,20}$")

#: the fields the platform knows, with their rule (None: free text of 1-64 characters)
_SCALARS = (
    "MaYeuCau",
    "MaDVC",
    "MaTichHop",
    "MaCanBo",
    "MaDonVi",
    "TaiKhoan",
    "SoDienThoai",
    "SoDinhDanh",
    "SoCMND",
    "HoVaTen",
)
_REQUIRED = ("MaYeuCau", "MaDVC", "MaTichHop", "MaCanBo", "HoVaTen")
MESSAGE_INVALID = "Yêu cầu không hợp lệ"


class SoapFault(Exception):
    """The request cannot be read as a SOAP call: answered with HTTP 500 and a soap:Fault."""

    def __init__(self, message: str, *, code: str = "Client") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class YeuCau:
    """One request as received. Fields are the elements' text ("" or None when absent);
    ``invalid`` is None when the request follows the platform's rules, otherwise a description
    naming the offending element (never its value)."""

    operation: str
    ma_yeu_cau: str
    ma_dvc: str
    ma_tich_hop: str
    ma_can_bo: str
    ma_don_vi: str | None
    tai_khoan: str | None
    so_dien_thoai: str | None
    so_dinh_danh: str | None
    so_cmnd: str | None
    ho_va_ten: str
    ngay_thang_nam: str | None
    nam: str | None
    auth_hash: str | None
    invalid: str | None

    @property
    def id_number(self) -> str:
        """The number asked about (SoDinhDanh, else SoCMND), for the request log."""
        return self.so_dinh_danh or self.so_cmnd or ""


def _elements(parent: etree._Element) -> list[etree._Element]:
    # comments and processing instructions are not elements (their tag is not a string)
    return [child for child in parent if isinstance(child.tag, str)]


def _text(element: etree._Element) -> str:
    return "".join(part for part in element.itertext() if isinstance(part, str)).strip()


def _envelope_parts(raw: bytes) -> tuple[etree._Element | None, etree._Element]:
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise SoapFault("DTDs and entity declarations are not accepted")
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        raise SoapFault("the request is not well-formed XML") from None
    if root.getroottree().docinfo.internalDTD is not None:  # any DOCTYPE, e.g. in UTF-16
        raise SoapFault("DTDs and entity declarations are not accepted")
    if root.tag != _ENVELOPE:
        raise SoapFault("the request is not a SOAP 1.1 envelope")
    header: etree._Element | None = None
    body: etree._Element | None = None
    for child in _elements(root):
        if child.tag == _HEADER and header is None and body is None:
            header = child
        elif child.tag == _BODY and body is None:
            body = child
        else:
            raise SoapFault("the envelope holds an unexpected element")
    if body is None:
        raise SoapFault("the envelope has no Body")
    return header, body


def _birth(element: etree._Element) -> tuple[str | None, str | None, str | None]:
    """(NgayThangNam, Nam, the invalid element's name or None)."""
    full_date = year = None
    for child in _elements(element):
        qname = etree.QName(child)
        if qname.namespace != REQUEST_NAMESPACE:
            continue
        if qname.localname == "NgayThangNam":
            if full_date is not None:
                return None, None, "NgayThangNam"
            full_date = _text(child)
        elif qname.localname == "Nam":
            if year is not None:
                return None, None, "Nam"
            year = _text(child)
    if (full_date is None) == (year is None):
        return None, None, "NgayThangNamSinh"
    if full_date is not None:
        if not re.fullmatch(r"[0-9]{8}", full_date):
            return None, None, "NgayThangNam"
        try:
            datetime.strptime(full_date, "%Y%m%d")
        except ValueError:
            return None, None, "NgayThangNam"
    if year is not None and not re.fullmatch(r"[0-9]{4}", year):
        return None, None, "Nam"
    return full_date, year, None


def _invalid_field(fields: dict[str, str]) -> str | None:
    """The first field breaking its rule, by name; None when all hold."""
    for name in _REQUIRED:
        if name not in fields:
            return name
    for name in ("MaYeuCau", "MaDVC", "MaTichHop", "MaCanBo", "TaiKhoan"):
        if name in fields and not _SHORT.match(fields[name]):
            return name
    if "MaDonVi" in fields and not 1 <= len(fields["MaDonVi"]) <= 35:
        return "MaDonVi"
    if "SoDienThoai" in fields and not _PHONE.match(fields["SoDienThoai"]):
        return "SoDienThoai"
    if "SoDinhDanh" not in fields and "SoCMND" not in fields:
        return "SoDinhDanh"
    if "SoDinhDanh" in fields and not _DIGITS_12.match(fields["SoDinhDanh"]):
        return "SoDinhDanh"
    if "SoCMND" in fields and not _OLD_CARD.match(fields["SoCMND"]):
        return "SoCMND"
    name = fields["HoVaTen"]
    if len(name) > 100 or not _NAME.match(name):
        return "HoVaTen"
    return None


def parse_request(raw: bytes, soap_action: str | None) -> YeuCau:
    """Read one SOAP call; raises :class:`SoapFault` when it is not one (see the module)."""
    header, body = _envelope_parts(raw)
    payload = _elements(body)
    if len(payload) != 1:
        raise SoapFault("the Body must hold exactly one operation element")
    call = payload[0]
    operation = _OPERATIONS.get(call.tag)
    if operation is None:
        raise SoapFault("unknown operation")
    if soap_action:
        # the C# caller sends SOAPAction "" (empty, quoted); OpenCPS and the PHP caller none
        action = soap_action.strip().strip('"')
        if action and action.rpartition("/")[2] != operation:
            raise SoapFault("the SOAPAction header names another operation than the Body")

    auth_hash = None
    if header is not None:
        for entry in _elements(header):
            if entry.tag == _AUTH_HASH:
                auth_hash = _text(entry)
                break

    fields: dict[str, str] = {}
    invalid: str | None = None
    birth: etree._Element | None = None
    for element in _elements(call):
        qname = etree.QName(element)
        if qname.namespace != REQUEST_NAMESPACE:
            continue  # not the platform's
        name = qname.localname
        if name == "NgayThangNamSinh":
            if birth is not None:
                invalid = invalid or name
            birth = element
        elif name in _SCALARS:
            if name in fields or _elements(element):
                invalid = invalid or name
            fields[name] = _text(element)
        # anything else (OpenCPS's <qldc:type>) the platform does not read
    full_date = year = None
    if birth is None:
        invalid = invalid or "NgayThangNamSinh"
    else:
        full_date, year, bad_birth = _birth(birth)
        invalid = invalid or bad_birth
    invalid = invalid or _invalid_field(fields)

    return YeuCau(
        operation=operation,
        ma_yeu_cau=fields.get("MaYeuCau", ""),
        ma_dvc=fields.get("MaDVC", ""),
        ma_tich_hop=fields.get("MaTichHop", ""),
        ma_can_bo=fields.get("MaCanBo", ""),
        ma_don_vi=fields.get("MaDonVi"),
        tai_khoan=fields.get("TaiKhoan"),
        so_dien_thoai=fields.get("SoDienThoai"),
        so_dinh_danh=fields.get("SoDinhDanh"),
        so_cmnd=fields.get("SoCMND"),
        ho_va_ten=fields.get("HoVaTen", ""),
        ngay_thang_nam=full_date,
        nam=year,
        auth_hash=auth_hash,
        invalid=None if invalid is None else f"{MESSAGE_INVALID}: {invalid}",
    )
