"""The population-database simulator's SOAP answers, faults and WSDL.

Requests are read by :mod:`connectors.dancu.sandbox.request` (the simulator's own model of
them). Answers are built with ``etree.SubElement`` in the order public readers meet them,
with the prefixes they expect: ``soapenv`` for the envelope and ``ns1`` for the answer
namespace ``http://www.mic.gov.vn/dancu/1.0``. A C# reader selects
``//soapenv:Envelope/soapenv:Body/ns1:CongdanCollection/ns1:CongDan`` with exactly these
namespaces; a PHP reader (``traCuuThongTinCongDanC06``) and PASETO (``Xml2Json.cs``) strip
the literal prefixes ``ns1:`` and ``soapenv:`` before reading, so other prefixes would break
them. Contracts:

* :func:`lookup_answer` / :func:`verification_answer` build ``ns1:CongdanCollection`` /
  ``ns1:KetQuaXacThuc`` envelopes; :func:`serialize` writes them (XML declaration, UTF-8);
  :func:`hostile_body` writes one as the hostile variants the security tests need.
* :class:`WsdlDocument` serves the simulator's own copy of the WSDL
  (``connectors/dancu/sandbox/wsdl/dancu.wsdl``) with the address it was fetched from.
"""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from connectors.dancu.sandbox.population import Citizen, DiaChi, NguoiThan
from connectors.dancu.sandbox.request import LOOKUP, REQUEST_NAMESPACE, SOAP_NAMESPACE, VERIFY

__all__ = [
    "ANSWER_NAMESPACE",
    "LOOKUP",
    "MALFORMED_BODIES",
    "MESSAGES",
    "REQUEST_NAMESPACE",
    "SOAP_NAMESPACE",
    "VERIFY",
    "WSDL_PATH",
    "WsdlDocument",
    "fault_body",
    "hostile_body",
    "lookup_answer",
    "serialize",
    "verification_answer",
]

ANSWER_NAMESPACE = "http://www.mic.gov.vn/dancu/1.0"
WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"

_ENVELOPE = f"{{{SOAP_NAMESPACE}}}Envelope"
_BODY = f"{{{SOAP_NAMESPACE}}}Body"
_SOAP_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/"
_NSMAP = {"soapenv": SOAP_NAMESPACE, "ns1": ANSWER_NAMESPACE}
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


# --- the WSDL -----------------------------------------------------------------


class WsdlDocument:
    """The WSDL, and a renderer that names the address the WSDL was fetched from."""

    def __init__(self, path: Path = WSDL_PATH) -> None:
        self._tree = etree.parse(str(path), _PARSER)

    def render(self, location: str) -> bytes:
        """The WSDL with ``soap:address/@location`` set to ``location``."""
        root = copy.deepcopy(self._tree.getroot())
        for address in root.iter(f"{{{_SOAP_BINDING}}}address"):
            address.set("location", location)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")


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
    # the order is the XSD's sequence (ns1:CongDan); optional fields only when present
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
    """The ``ns1:CongdanCollection`` envelope; ``message`` overrides the code's own text."""
    envelope, body = _envelope()
    answer = _head(body, "CongdanCollection", ma_yeu_cau, code, message)
    if citizen is not None:
        _citizen(answer, citizen)
    return envelope


def verification_answer(
    ma_yeu_cau: str, code: str, ton_tai: bool | None = None, *, message: str | None = None
) -> etree._Element:
    """The ``ns1:KetQuaXacThuc`` envelope; ``TonTai`` only when given."""
    envelope, body = _envelope()
    answer = _head(body, "KetQuaXacThuc", ma_yeu_cau, code, message)
    if ton_tai is not None:
        _add(answer, "TonTai", "true" if ton_tai else "false")
    return envelope


def serialize(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault_body(message: str, *, code: str = "Client") -> bytes:
    """A SOAP 1.1 Fault (``soapenv:Client`` blames the request, ``soapenv:Server`` the platform)."""
    envelope, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP_NAMESPACE}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soapenv:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return serialize(envelope)


# --- hostile answers (security tests of the client) -------------------------------------------

_MARKER = "HOSTILE-ENTITY-REFERENCE"
_XXE_DOCTYPE = b'<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _entity_bomb() -> bytes:
    lines = ["<!DOCTYPE soapenv:Envelope [", '<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        references = f"&lol{level - 1};" * 10
        lines.append(f'<!ENTITY lol{level} "{references}">')
    return "\n".join([*lines, "]>", ""]).encode()


_LAUGHS_DOCTYPE = _entity_bomb()
_PLAIN_DOCTYPE = b"<!DOCTYPE soapenv:Envelope>\n"
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
