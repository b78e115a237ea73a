"""edXML packages (QCVN 102:2016/BTTTT) written and read with lxml.

The tree, as the VXP-SDK sample ``JDK 1.8/SDKVXP_Example/resources/edoc_new.edxml``
(``PVN-Organization/API-Gateway-iOffice``) and Bkav-edoc's ``edoc_new.edxml`` and
``status_processing_05.edxml`` (``QuangChuIT/edoc-integrator``) show it::

    edXML (default namespace NS)
      edXML:edXMLEnvelope (prefix edXML bound to NS)
        edXML:edXMLHeader
          edXML:MessageHeader ...        (a document, or a status with ResponseFor/StatusCode)
          edXML:TraceHeaderList {TraceHeader*, Bussiness}
          ds:Signature                   (XML-DSig, when the package is signed)
        edXML:edXMLBody/edXML:edXMLManifest version="1.0"/edXML:Reference*
      AttachmentEncoded/Attachment*      (outside the envelope; base64 content)

Writing is strict (:mod:`schemas.qlvb` models validated first, dates ``yyyy/MM/dd``); reading
takes outside bytes: bounded, refused when not plain UTF-8 or declaring a DTD, parsed with the
hardened parser (:func:`gateway.core.http.safe_xml.untrusted_parser`), read by namespace
(whatever prefixes the sender chose), then validated (:class:`EdxmlError` naming the element).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from lxml import etree
from pydantic import ValidationError

from gateway.core.http.safe_xml import plain_utf8_problem, untrusted_parser
from gateway.core.validation import field_errors
from schemas import qlvb as wire

__all__ = [
    "DS",
    "EdxmlError",
    "build_edoc",
    "build_status",
    "parse_edoc",
    "parse_status",
    "read_tree",
]

NS = wire.NS
DS = "http://www.w3.org/2000/09/xmldsig#"
_E = f"{{{NS}}}"
_NSMAP: Any = {None: NS}  # lxml takes None for the default namespace


class EdxmlError(ValueError):
    """A package that is not a valid edXML package; ``loc`` names the element."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message


# --- writing ------------------------------------------------------------------------------------


def _text(parent: etree._Element, name: str, value: Any) -> etree._Element:
    node = etree.SubElement(parent, _E + name)
    if isinstance(value, datetime):
        node.text = wire.write_timestamp(value)
    elif isinstance(value, date):
        node.text = wire.write_date(value)
    else:
        node.text = "" if value is None else str(value)
    return node


def _block(parent: etree._Element, name: str, fields: dict[str, Any]) -> etree._Element:
    node = etree.SubElement(parent, _E + name)
    for key, value in fields.items():
        _text(node, key, value)
    return node


def _envelope() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(_E + "edXML", nsmap=_NSMAP)
    envelope = etree.SubElement(root, _E + "edXMLEnvelope", nsmap={"edXML": NS})
    header = etree.SubElement(envelope, _E + "edXMLHeader")
    return root, envelope, header


def _serialise(root: etree._Element) -> bytes:
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def _trace(header: etree._Element, traces: list[wire.TraceHeader]) -> etree._Element:
    node = etree.SubElement(header, _E + "TraceHeaderList")
    for trace in traces:
        _block(node, "TraceHeader", {"OrganId": trace.OrganId, "Timestamp": trace.Timestamp})
    return node


def build_edoc(package: wire.EdocPackage) -> bytes:
    """The package as edXML bytes (UTF-8, no signature: :mod:`connectors.qlvb.signing` adds
    it). ``package`` is a validated model, so what is written is what the standard allows."""
    root, envelope, header = _envelope()
    h = package.MessageHeader
    message = etree.SubElement(header, _E + "MessageHeader")
    _block(message, "From", h.From.model_dump())
    for to in h.To:
        _block(message, "To", to.model_dump())
    _text(message, "DocumentId", h.DocumentId)
    _block(message, "Code", h.Code.model_dump())
    _block(message, "PromulgationInfo", h.PromulgationInfo.model_dump())
    _block(message, "DocumentType", h.DocumentType.model_dump())
    _text(message, "Subject", h.Subject)
    _text(message, "Content", h.Content)
    _block(message, "SignerInfo", h.SignerInfo.model_dump())
    if h.DueDate is not None:
        _text(message, "DueDate", h.DueDate)
    if h.ToPlaces:
        places = etree.SubElement(message, _E + "ToPlaces")
        for place in h.ToPlaces:
            _text(places, "Place", place)
    traces = _trace(header, package.TraceHeaderList)
    b = package.Bussiness
    business = etree.SubElement(traces, _E + "Bussiness")
    _text(business, "DocumentId", b.DocumentId)
    _text(business, "BussinessDocType", b.BussinessDocType)
    _text(business, "BussinessDocReason", b.BussinessDocReason)
    _text(business, "Paper", b.Paper)
    _block(business, "StaffInfo", b.StaffInfo.model_dump())
    body = etree.SubElement(envelope, _E + "edXMLBody")
    manifest = etree.SubElement(body, _E + "edXMLManifest", version="1.0")
    for reference in package.References:
        _block(manifest, "Reference", reference.model_dump())
    encoded = etree.SubElement(root, _E + "AttachmentEncoded")
    for attachment in package.Attachments:
        _block(encoded, "Attachment", attachment.model_dump())
    return _serialise(root)


def build_status(package: wire.StatusPackage) -> bytes:
    """A status package (VXP-SDK ``status_*.edxml``): header only, no body."""
    root, _envelope_node, header = _envelope()
    h = package.MessageHeader
    message = etree.SubElement(header, _E + "MessageHeader")
    _block(message, "From", h.From.model_dump())
    _block(message, "ResponseFor", h.ResponseFor.model_dump())
    _block(message, "StaffInfo", h.StaffInfo.model_dump())
    _text(message, "StatusCode", h.StatusCode)
    _text(message, "Description", h.Description)
    _text(message, "Timestamp", h.Timestamp)
    if package.TraceHeaderList:
        _trace(header, package.TraceHeaderList)
    return _serialise(root)


# --- reading ------------------------------------------------------------------------------------


def read_tree(data: bytes, *, max_bytes: int) -> etree._Element:
    """The root of an outside package: bounded, plain UTF-8 without DTD, hardened parser,
    root ``edXML`` in the standard's namespace; :class:`EdxmlError` otherwise."""
    if len(data) > max_bytes:
        raise EdxmlError("edXML", f"the package is larger than {max_bytes} bytes")
    problem = plain_utf8_problem(data)
    if problem is not None:
        raise EdxmlError("edXML", f"refused unread: {problem}")
    try:
        root = etree.fromstring(data, parser=untrusted_parser())
    except etree.XMLSyntaxError as exc:
        raise EdxmlError("edXML", f"not well-formed XML (line {exc.lineno})") from None
    if root.tag != _E + "edXML":
        raise EdxmlError("edXML", f"the root is not edXML in namespace {NS}")
    return root


def _child(node: etree._Element, name: str) -> etree._Element | None:
    found: etree._Element | None = node.find(_E + name)
    return found


def _need(node: etree._Element, path: str, name: str) -> etree._Element:
    found = _child(node, name)
    if found is None:
        raise EdxmlError(f"{path}/{name}", "missing")
    return found


def _fields(node: etree._Element | None) -> dict[str, Any]:
    """The simple children of ``node`` as a mapping (text stripped; repeats keep the first)."""
    out: dict[str, Any] = {}
    if node is None:
        return out
    for child in node:
        if not isinstance(child.tag, str) or not child.tag.startswith(_E) or len(child):
            continue
        out.setdefault(child.tag[len(_E) :], (child.text or "").strip())
    return out


def _dated(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    out = dict(fields)
    for name in names:
        if out.get(name):
            try:
                out[name] = wire.read_date(out[name])
            except ValueError as exc:
                raise EdxmlError(name, str(exc)) from None
        elif name in out:
            out[name] = None
    return out


def _stamped(fields: dict[str, Any], name: str, loc: str) -> dict[str, Any]:
    out = dict(fields)
    if out.get(name):
        try:
            out[name] = wire.read_timestamp(out[name])
        except ValueError as exc:
            raise EdxmlError(loc, str(exc)) from None
    return out


def _known(model: type[Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Only the elements the model knows (reading is tolerant of extra elements)."""
    return {k: v for k, v in fields.items() if k in model.model_fields}


def _validated(build: Callable[[], Any], loc: str) -> Any:
    try:
        return build()
    except ValidationError as exc:
        first = field_errors(exc)[0]
        raise EdxmlError(f"{loc}/{first.loc.replace('.', '/')}", first.msg) from None


def _traces(header: etree._Element) -> tuple[list[wire.TraceHeader], etree._Element | None]:
    traces = _child(header, "TraceHeaderList")
    if traces is None:
        return [], None
    out: list[wire.TraceHeader] = []
    for node in traces.findall(_E + "TraceHeader"):
        fields = _known(wire.TraceHeader, _stamped(_fields(node), "Timestamp", "TraceHeader"))
        out.append(
            _validated(
                functools.partial(wire.TraceHeader.model_validate, fields),
                "TraceHeaderList/TraceHeader",
            )
        )
    return out, traces


def _header(root: etree._Element) -> tuple[etree._Element, etree._Element, etree._Element]:
    envelope = _need(root, "edXML", "edXMLEnvelope")
    header = _need(envelope, "edXMLEnvelope", "edXMLHeader")
    message = _need(header, "edXMLHeader", "MessageHeader")
    return envelope, header, message


def parse_edoc(data: bytes, *, max_bytes: int) -> wire.EdocPackage:
    """A document package read and validated (:class:`EdxmlError` naming the element)."""
    root = read_tree(data, max_bytes=max_bytes)
    envelope, header, message = _header(root)
    h = _fields(message)
    header_fields: dict[str, Any] = {
        "From": _known(wire.Organization, _fields(_need(message, "MessageHeader", "From"))),
        "To": [_known(wire.Organization, _fields(t)) for t in message.findall(_E + "To")],
        "DocumentId": h.get("DocumentId", ""),
        "Code": _fields(_child(message, "Code")),
        "PromulgationInfo": _dated(
            _fields(_child(message, "PromulgationInfo")), "PromulgationDate"
        ),
        "DocumentType": _known(wire.DocumentKind, _fields(_child(message, "DocumentType"))),
        "Subject": h.get("Subject", ""),
        "Content": h.get("Content", ""),
        "SignerInfo": _fields(_child(message, "SignerInfo")),
    }
    if h.get("DueDate"):
        header_fields["DueDate"] = _dated(h, "DueDate")["DueDate"]
    places = _child(message, "ToPlaces")
    if places is not None:
        header_fields["ToPlaces"] = [(p.text or "").strip() for p in places.findall(_E + "Place")]
    traces, trace_node = _traces(header)
    if trace_node is None:
        raise EdxmlError("edXMLHeader/TraceHeaderList", "missing")
    business = _need(trace_node, "TraceHeaderList", "Bussiness")
    business_fields = _known(wire.BussinessInfo, _fields(business))
    business_fields["StaffInfo"] = _fields(_child(business, "StaffInfo"))
    body = _need(envelope, "edXMLEnvelope", "edXMLBody")
    manifest = _need(body, "edXMLBody", "edXMLManifest")
    references = [_fields(r) for r in manifest.findall(_E + "Reference")]
    encoded = _child(root, "AttachmentEncoded")
    attachments = (
        [] if encoded is None else [_fields(a) for a in encoded.findall(_E + "Attachment")]
    )
    return _validated(  # type: ignore[no-any-return]
        lambda: wire.EdocPackage(
            MessageHeader=wire.EdocHeader.model_validate(header_fields),
            TraceHeaderList=traces,
            Bussiness=wire.BussinessInfo.model_validate(business_fields),
            References=[wire.Reference.model_validate(r) for r in references],
            Attachments=[wire.Attachment.model_validate(a) for a in attachments],
        ),
        "edXML",
    )


def parse_status(data: bytes, *, max_bytes: int) -> wire.StatusPackage:
    """A status package read and validated (:class:`EdxmlError` naming the element)."""
    root = read_tree(data, max_bytes=max_bytes)
    _envelope_node, header, message = _header(root)
    h = _fields(message)
    fields: dict[str, Any] = {
        "From": _known(wire.Organization, _fields(_need(message, "MessageHeader", "From"))),
        "ResponseFor": _dated(
            _fields(_need(message, "MessageHeader", "ResponseFor")), "PromulgationDate"
        ),
        "StaffInfo": _known(wire.Staff, _fields(_child(message, "StaffInfo"))),
        "StatusCode": h.get("StatusCode", ""),
        "Description": h.get("Description", ""),
        "Timestamp": h.get("Timestamp") or None,
    }
    fields = _stamped(fields, "Timestamp", "MessageHeader/Timestamp")
    traces, _ = _traces(header)
    return _validated(  # type: ignore[no-any-return]
        lambda: wire.StatusPackage(
            MessageHeader=wire.StatusHeader.model_validate(fields), TraceHeaderList=traces
        ),
        "edXML/edXMLEnvelope/edXMLHeader/MessageHeader",
    )
