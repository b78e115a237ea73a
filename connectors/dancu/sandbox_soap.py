"""The population-database simulator's SOAP layer: reading requests, writing answers, the WSDL.

No pydantic and no zeep here: requests are parsed with lxml straight from the raw body and
validated against the XSD of the WSDL's ``wsdl:types`` (built once), answers are built with
``etree.SubElement`` in the XSD's sequence order. Contracts:

* :func:`parse_request` refuses (:class:`SoapFault`, ``Client``) anything that is not one
  well-formed SOAP 1.1 envelope whose Body holds exactly one known operation element: a DTD
  or an entity declaration anywhere, a syntax error, a foreign root, an unknown operation, a
  ``SOAPAction`` naming another operation. The parser never resolves entities, never reads
  the network, never loads a DTD and keeps libxml2's size limits (``huge_tree`` off).
* A request that is an envelope but breaks the schema is *not* a fault: it comes back as a
  :class:`YeuCau` with ``invalid`` set (the platform answers code 001 in the operation's own
  answer element). ``invalid`` names elements only, never a value: values are personal data.
* :func:`lookup_answer` / :func:`verification_answer` build ``dc:CongdanCollection`` /
  ``dc:KetQuaXacThuc`` envelopes; :func:`serialize` writes them (XML declaration, UTF-8);
  :func:`hostile_body` writes one as the hostile variants the security tests need.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from connectors.dancu.population import Citizen, DiaChi, NguoiThan

__all__ = [
    "ANSWER_NAMESPACE",
    "LOOKUP",
    "MALFORMED_BODIES",
    "MESSAGES",
    "REQUEST_NAMESPACE",
    "SOAP_NAMESPACE",
    "VERIFY",
    "WSDL_PATH",
    "SoapFault",
    "WsdlDocument",
    "YeuCau",
    "fault_body",
    "hostile_body",
    "lookup_answer",
    "parse_request",
    "serialize",
    "verification_answer",
]

SOAP_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
REQUEST_NAMESPACE = "http://dancuquocgia.bca"
ANSWER_NAMESPACE = "http://www.mic.gov.vn/dancu/1.0"
WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"

LOOKUP = "TraCuuThongTinCongDan"
VERIFY = "XacThucThongTinCongDan"
_OPERATIONS = {f"{{{REQUEST_NAMESPACE}}}{name}": name for name in (LOOKUP, VERIFY)}

_ENVELOPE = f"{{{SOAP_NAMESPACE}}}Envelope"
_HEADER = f"{{{SOAP_NAMESPACE}}}Header"
_BODY = f"{{{SOAP_NAMESPACE}}}Body"
_AUTH_HASH = f"{{{REQUEST_NAMESPACE}}}AuthHash"
_XSD = "http://www.w3.org/2001/XMLSchema"
_SOAP_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/"
_NSMAP = {"soap": SOAP_NAMESPACE, "dc": ANSWER_NAMESPACE}
_DC = f"{{{ANSWER_NAMESPACE}}}"

#: MoTaKetQua of each result code (the project's documented profile, connectors/dancu/errors.py)
MESSAGES: dict[str, str] = {
    "000": "Thành công",
    "001": "Yêu cầu không hợp lệ",
    "002": "Xác thực cán bộ không thành công",
    "003": "Mã tích hợp không hợp lệ",
    "004": "Thủ tục hành chính chưa được cấp phép khai thác dữ liệu dân cư",
    "005": "Cán bộ không được phép khai thác dữ liệu dân cư",
    "006": "Không tìm thấy thông tin công dân phù hợp",
    "008": "Vượt quá hạn mức yêu cầu, vui lòng thử lại sau",
    "009": "Hệ thống đang bận, vui lòng thử lại sau",
}

#: bodies of the "malformed" fault, each answered with HTTP 200: a truncated envelope, a
#: proxy's HTML error page, and a well-formed envelope whose answer breaks the schema
MALFORMED_BODIES: tuple[tuple[bytes, str], ...] = (
    (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><dc:CongdanCollection xmlns:dc="http://www.mic.gov.vn/dancu/1.0">'
        b"<dc:MaYeuCau>",
        "text/xml; charset=utf-8",
    ),
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html; charset=utf-8"),
    (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><dc:KetQua xmlns:dc="http://www.mic.gov.vn/dancu/1.0">'
        b"<dc:TrangThai>OK</dc:TrangThai></dc:KetQua></soap:Body></soap:Envelope>",
        "text/xml; charset=utf-8",
    ),
)

# entities stay unexpanded, nothing is fetched, no DTD is read, libxml2's size limits hold
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    collect_ids=False,
)


class SoapFault(Exception):
    """The request cannot be read as a SOAP call: answered with HTTP 500 and a soap:Fault."""

    def __init__(self, message: str, *, code: str = "Client") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class YeuCau:
    """One request as received. Fields are the elements' text ("" when absent); ``invalid``
    is None when the operation element validates against the WSDL's schema, otherwise a
    description naming the offending element (never its value)."""

    operation: str
    ma_yeu_cau: str
    ma_dvc: str
    ma_tich_hop: str
    ma_can_bo: str
    so_dinh_danh: str
    ho_va_ten: str
    ngay_thang_nam: str | None
    nam: str | None
    auth_hash: str | None
    invalid: str | None


# --- the WSDL and its schemas -----------------------------------------------------------------


class WsdlDocument:
    """The WSDL, its two schemas compiled for validation, and a renderer that names the
    address the WSDL was fetched from."""

    def __init__(self, path: Path = WSDL_PATH) -> None:
        self._tree = etree.parse(str(path), _PARSER)
        root = self._tree.getroot()
        schemas: dict[str, etree.XMLSchema] = {}
        for schema in root.iter(f"{{{_XSD}}}schema"):
            # a standalone schema document needs the namespace declarations the WSDL's root
            # makes for it (QName attribute values such as type="dc:HoVaTen" use them)
            standalone = etree.Element(
                schema.tag,
                attrib=dict(schema.attrib),
                nsmap=dict(schema.nsmap),  # type: ignore[arg-type]  # a default ns has key None
            )
            for child in schema:
                standalone.append(copy.deepcopy(child))
            schemas[schema.get("targetNamespace", "")] = etree.XMLSchema(
                etree.ElementTree(standalone)
            )
        self.request_schema = schemas[REQUEST_NAMESPACE]
        self.answer_schema = schemas[ANSWER_NAMESPACE]

    def render(self, location: str) -> bytes:
        """The WSDL with ``soap:address/@location`` set to ``location``."""
        root = copy.deepcopy(self._tree.getroot())
        for address in root.iter(f"{{{_SOAP_BINDING}}}address"):
            address.set("location", location)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# --- requests ---------------------------------------------------------------------------------


def _elements(parent: etree._Element) -> list[etree._Element]:
    # comments and processing instructions are not elements (their tag is not a string)
    return [child for child in parent if isinstance(child.tag, str)]


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return "".join(part for part in element.itertext() if isinstance(part, str))


def _describe(schema: etree.XMLSchema) -> str:
    error = schema.error_log.last_error  # type: ignore[attr-defined]  # not in lxml-stubs
    # the path is /prefix:Name/prefix:Child; the message quotes values, so it is not echoed
    path = "/".join(step.rpartition(":")[2] for step in (error.path or "").split("/") if step)
    return f"{MESSAGES['001']}: {path[:200] or 'cấu trúc'}"


def parse_request(raw: bytes, schema: etree.XMLSchema, soap_action: str | None) -> YeuCau:
    """Read one SOAP call; raises :class:`SoapFault` when it is not one (see the module)."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise SoapFault("DTDs and entity declarations are not accepted")
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        raise SoapFault("the request is not well-formed XML") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None:  # any DOCTYPE, e.g. in a UTF-16 body
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
    payload = _elements(body)
    if len(payload) != 1:
        raise SoapFault("the Body must hold exactly one operation element")
    call = payload[0]
    operation = _OPERATIONS.get(call.tag)
    if operation is None:
        raise SoapFault("unknown operation")
    if soap_action:
        action = soap_action.strip().strip('"')
        if action and action.rpartition("/")[2] != operation:
            raise SoapFault("the SOAPAction header names another operation than the Body")

    auth_hash = None
    if header is not None:
        for entry in _elements(header):
            if entry.tag == _AUTH_HASH:
                auth_hash = _text(entry)
                break
    fields: dict[str, etree._Element] = {}
    for element in _elements(call):
        fields.setdefault(element.tag, element)
    birth = fields.get(f"{{{REQUEST_NAMESPACE}}}NgayThangNamSinh")
    full_date = year = None
    if birth is not None:
        for element in _elements(birth):
            local = etree.QName(element).localname
            if local == "NgayThangNam" and full_date is None:
                full_date = _text(element)
            elif local == "Nam" and year is None:
                year = _text(element)

    def field(name: str) -> str:
        return _text(fields.get(f"{{{REQUEST_NAMESPACE}}}{name}"))

    return YeuCau(
        operation=operation,
        ma_yeu_cau=field("MaYeuCau"),
        ma_dvc=field("MaDVC"),
        ma_tich_hop=field("MaTichHop"),
        ma_can_bo=field("MaCanBo"),
        so_dinh_danh=field("SoDinhDanh"),
        ho_va_ten=field("HoVaTen"),
        ngay_thang_nam=full_date,
        nam=year,
        auth_hash=auth_hash,
        invalid=None if schema.validate(call) else _describe(schema),
    )


# --- answers ----------------------------------------------------------------------------------


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(_ENVELOPE, nsmap=_NSMAP)
    return envelope, etree.SubElement(envelope, _BODY)


def _add(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, _DC + name).text = text


def _head(
    parent: etree._Element, tag: str, ma_yeu_cau: str, code: str, message: str | None
) -> etree._Element:
    answer = etree.SubElement(parent, _DC + tag)
    _add(answer, "MaYeuCau", ma_yeu_cau[:64])
    _add(answer, "MaKetQua", code)
    _add(answer, "MoTaKetQua", message if message is not None else MESSAGES.get(code))
    return answer


def _address(parent: etree._Element, name: str, value: DiaChi | None) -> None:
    if value is None:
        return
    element = etree.SubElement(parent, _DC + name)
    _add(element, "MaTinhThanh", value.ma_tinh_thanh)
    _add(element, "MaQuanHuyen", value.ma_quan_huyen)
    _add(element, "MaPhuongXa", value.ma_phuong_xa)
    _add(element, "ChiTiet", value.chi_tiet)


def _relative(parent: etree._Element, name: str, value: NguoiThan | None) -> None:
    if value is None:
        return
    element = etree.SubElement(parent, _DC + name)
    _add(element, "HoVaTen", value.ho_va_ten)
    _add(element, "SoDinhDanh", value.so_dinh_danh)
    _add(element, "SoCMND", value.so_cmnd)


def _citizen(parent: etree._Element, citizen: Citizen) -> None:
    # the order is the XSD's sequence (dc:CongDan); optional fields only when present
    record = etree.SubElement(parent, _DC + "CongDan")
    _add(record, "SoDinhDanh", citizen.so_dinh_danh)
    _add(record, "SoCMND", citizen.so_cmnd)
    name = etree.SubElement(record, _DC + "HoVaTen")
    _add(name, "Ho", citizen.ho)
    _add(name, "ChuDem", citizen.chu_dem)
    _add(name, "Ten", citizen.ten)
    birth = etree.SubElement(record, _DC + "NgayThangNamSinh")
    day = citizen.ngay_sinh
    _add(birth, "Nam", f"{day.year:04d}")
    _add(birth, "NgayThangNam", f"{day.year:04d}{day.month:02d}{day.day:02d}")
    _add(record, "GioiTinh", citizen.gioi_tinh)
    _add(record, "DanToc", citizen.dan_toc)
    _add(record, "TonGiao", citizen.ton_giao)
    _add(record, "TinhTrangHonNhan", citizen.tinh_trang_hon_nhan)
    _add(record, "NhomMau", citizen.nhom_mau)
    _address(record, "QueQuan", citizen.que_quan)
    _address(record, "ThuongTru", citizen.thuong_tru)
    _address(record, "NoiOHienTai", citizen.noi_o_hien_tai)
    _relative(record, "Cha", citizen.cha)
    _relative(record, "Me", citizen.me)
    _relative(record, "VoChong", citizen.vo_chong)
    head = citizen.chu_ho
    if head is not None:
        element = etree.SubElement(record, _DC + "ChuHo")
        _add(element, "HoVaTen", head.ho_va_ten)
        _add(element, "SoDinhDanh", head.so_dinh_danh)
        _add(element, "QuanHe", head.quan_he)
    _add(record, "SoSoHoKhau", citizen.so_so_ho_khau)


def lookup_answer(
    ma_yeu_cau: str, code: str, citizen: Citizen | None = None, *, message: str | None = None
) -> etree._Element:
    """The ``dc:CongdanCollection`` envelope; ``message`` overrides the code's own text."""
    envelope, body = _envelope()
    answer = _head(body, "CongdanCollection", ma_yeu_cau, code, message)
    if citizen is not None:
        _citizen(answer, citizen)
    return envelope


def verification_answer(
    ma_yeu_cau: str, code: str, ton_tai: bool | None = None, *, message: str | None = None
) -> etree._Element:
    """The ``dc:KetQuaXacThuc`` envelope; ``TonTai`` only when given."""
    envelope, body = _envelope()
    answer = _head(body, "KetQuaXacThuc", ma_yeu_cau, code, message)
    if ton_tai is not None:
        _add(answer, "TonTai", "true" if ton_tai else "false")
    return envelope


def serialize(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault_body(message: str, *, code: str = "Client") -> bytes:
    """A SOAP 1.1 Fault (``soap:Client`` blames the request, ``soap:Server`` the platform)."""
    envelope, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP_NAMESPACE}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return serialize(envelope)


# --- hostile answers (security tests of the client) -------------------------------------------

_MARKER = "HOSTILE-ENTITY-REFERENCE"
_XXE_DOCTYPE = b'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _entity_bomb() -> bytes:
    lines = ["<!DOCTYPE soap:Envelope [", '<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        references = f"&lol{level - 1};" * 10
        lines.append(f'<!ENTITY lol{level} "{references}">')
    return "\n".join([*lines, "]>", ""]).encode()


_LAUGHS_DOCTYPE = _entity_bomb()
_PLAIN_DOCTYPE = b"<!DOCTYPE soap:Envelope>\n"
_FILLER = "Số 1, ngõ 1, đường Lê Lợi; "


def _with_doctype(body: bytes, doctype: bytes) -> bytes:
    declaration, _, rest = body.partition(b"?>\n")
    return declaration + b"?>\n" + doctype + rest


def hostile_body(envelope: etree._Element, kind: str, *, oversize_bytes: int) -> bytes:
    """``envelope`` written as a hostile answer:

    * ``xxe``: a DOCTYPE declaring an external entity (``file:///etc/passwd``) that
      ``MoTaKetQua`` references;
    * ``billion_laughs``: nine levels of entities, 10^9 "lol" once expanded, referenced from
      ``MoTaKetQua``;
    * ``oversize``: at least ``oversize_bytes`` long: the first ``ChiTiet`` (or, without an
      address, ``MoTaKetQua``) padded;
    * ``dtd``: a plain DOCTYPE, no entities.
    """
    envelope = copy.deepcopy(envelope)
    description = next(envelope.iter(_DC + "MoTaKetQua"))
    if kind == "oversize":
        target = next(envelope.iter(_DC + "ChiTiet"), description)
        size = len(_FILLER.encode())
        target.text = (target.text or "") + _FILLER * (oversize_bytes // size + 1)
        return serialize(envelope)
    if kind == "dtd":
        return _with_doctype(serialize(envelope), _PLAIN_DOCTYPE)
    description.text = _MARKER
    body = serialize(envelope)
    if kind == "xxe":
        return _with_doctype(body, _XXE_DOCTYPE).replace(_MARKER.encode(), b"&xxe;")
    if kind == "billion_laughs":
        return _with_doctype(body, _LAUGHS_DOCTYPE).replace(_MARKER.encode(), b"&lol9;")
    raise ValueError(f"unknown hostile answer {kind!r}")
