"""The simulator's own reading and writing of edXML (QCVN 102:2016), with lxml, independent of
the connector: what a strict receiving hub checks (the VXP-SDK samples' tree; Bkav-edoc
``Checker.java``'s rules: at least one To, no duplicate To, Subject and Content at most 500
characters, AttachmentName at most 200), and the status packages it produces (VXP-SDK
``status_*.edxml`` shape)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

__all__ = [
    "EDXML_NS",
    "Received",
    "Refused",
    "read_package",
    "status_package",
]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_N = f"{{{EDXML_NS}}}"
_ORGAN = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")
_CID = re.compile(r"^cid:[A-Za-z0-9._@-]{1,100}$")


class Refused(Exception):
    """A package the hub refuses: ``code`` (the profile's ErrorCode) and where."""

    def __init__(self, code: str, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.code = code
        self.where = where
        self.why = why


@dataclass
class Received:
    """What the hub keeps of a valid document package."""

    document_id: str
    sender: str
    recipients: list[str]
    code_text: str  # "{CodeNumber}/{CodeNotation}"
    promulgation_date: str  # yyyy/MM/dd as written
    subject: str
    attachments: list[dict[str, object]] = field(default_factory=list)
    signer: str | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _one(node: etree._Element, name: str, where: str) -> etree._Element:
    found = node.findall(_N + name)
    if len(found) != 1:
        raise Refused("INVALID_PACKAGE", f"{where}/{name}", "required once")
    return found[0]


def _text(node: etree._Element, name: str, where: str, *, limit: int, required: bool = True) -> str:
    child = node.find(_N + name)
    value = "" if child is None else (child.text or "").strip()
    if required and not value:
        raise Refused("INVALID_PACKAGE", f"{where}/{name}", "required")
    if len(value) > limit:
        raise Refused("INVALID_PACKAGE", f"{where}/{name}", f"longer than {limit} characters")
    return value


def _organ(node: etree._Element, where: str) -> str:
    organ = _text(node, "OrganId", where, limit=32)
    if not _ORGAN.match(organ):
        raise Refused("INVALID_PACKAGE", f"{where}/OrganId", "not an agency identifier")
    _text(node, "OrganName", where, limit=200)
    return organ


def parse(data: bytes, max_bytes: int) -> etree._Element:
    if len(data) > max_bytes:
        raise Refused("TOO_LARGE", "edXML", f"larger than {max_bytes} bytes")
    head = data[:2048].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise Refused("INVALID_PACKAGE", "edXML", "a DTD or entity declaration")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError:
        raise Refused("INVALID_PACKAGE", "edXML", "not well-formed") from None
    if root.tag != _N + "edXML":
        raise Refused("INVALID_PACKAGE", "edXML", f"root must be edXML in {EDXML_NS}")
    return root


def check_signature(data: bytes, root: etree._Element, trusted: list[str]) -> str | None:
    """The signer's subject, None when unsigned; :class:`Refused` when it does not verify."""
    signatures = list(root.iter(f"{{{DSIG_NS}}}Signature"))
    if not signatures:
        return None
    if len(signatures) > 1:
        raise Refused("SIGNATURE_INVALID", "Signature", "more than one")
    signature = signatures[0]
    if signature.find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}Reference[@URI='']") is None:
        raise Refused("SIGNATURE_INVALID", "Signature", "does not cover the whole package")
    text = signature.findtext(
        f"{{{DSIG_NS}}}KeyInfo/{{{DSIG_NS}}}X509Data/{{{DSIG_NS}}}X509Certificate"
    )
    if not text:
        raise Refused("SIGNATURE_INVALID", "Signature", "no X509Certificate")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError:
        raise Refused("SIGNATURE_INVALID", "Signature", "bad X509Certificate") from None
    if trusted and not any(
        x509.load_pem_x509_certificate(t.encode()).public_bytes(Encoding.DER)
        == cert.public_bytes(Encoding.DER)
        for t in trusted
    ):
        raise Refused("SIGNATURE_INVALID", "Signature", "untrusted certificate")
    try:
        XMLVerifier().verify(
            data,
            x509_cert=cert.public_bytes(Encoding.PEM).decode(),
            expect_config=SignatureConfiguration(expect_references=True),
        )
    except Exception as exc:  # signxml raises several kinds; all mean "does not verify"
        raise Refused("SIGNATURE_INVALID", "Signature", type(exc).__name__) from None
    return cert.subject.rfc4514_string()


def read_package(data: bytes, *, max_bytes: int, trusted: list[str]) -> Received:
    """A document package, checked strictly; :class:`Refused` naming the first fault."""
    root = parse(data, max_bytes)
    envelope = _one(root, "edXMLEnvelope", "edXML")
    header = _one(envelope, "edXMLHeader", "edXMLEnvelope")
    message = _one(header, "MessageHeader", "edXMLHeader")
    where = "MessageHeader"
    sender = _organ(_one(message, "From", where), f"{where}/From")
    tos = message.findall(_N + "To")
    if not tos:
        raise Refused("INVALID_PACKAGE", f"{where}/To", "at least one To")
    recipients = [_organ(t, f"{where}/To") for t in tos]
    if len(set(recipients)) != len(recipients):
        raise Refused("INVALID_PACKAGE", f"{where}/To", "duplicate OrganId")
    code = _one(message, "Code", where)
    number = _text(code, "CodeNumber", f"{where}/Code", limit=20)
    notation = _text(code, "CodeNotation", f"{where}/Code", limit=50)
    info = _one(message, "PromulgationInfo", where)
    _text(info, "Place", f"{where}/PromulgationInfo", limit=200)
    promulgated = _text(info, "PromulgationDate", f"{where}/PromulgationInfo", limit=10)
    if not _DATE.match(promulgated):
        raise Refused("INVALID_PACKAGE", f"{where}/PromulgationDate", "not yyyy/MM/dd")
    kind = _one(message, "DocumentType", where)
    if not _text(kind, "Type", f"{where}/DocumentType", limit=3).isdigit():
        raise Refused("INVALID_PACKAGE", f"{where}/DocumentType/Type", "not a number")
    _text(kind, "TypeName", f"{where}/DocumentType", limit=200)
    subject = _text(message, "Subject", where, limit=500)
    _text(message, "Content", where, limit=500, required=False)
    _text(_one(message, "SignerInfo", where), "FullName", f"{where}/SignerInfo", limit=200)
    document_id = _text(message, "DocumentId", where, limit=200)
    expected = f"{sender},{promulgated},{number}/{notation}"
    if document_id != expected:
        raise Refused("INVALID_PACKAGE", f"{where}/DocumentId", f"must be {expected}")
    traces = _one(header, "TraceHeaderList", "edXMLHeader")
    business = _one(traces, "Bussiness", "TraceHeaderList")
    if _text(business, "DocumentId", "Bussiness", limit=200) != document_id:
        raise Refused("INVALID_PACKAGE", "Bussiness/DocumentId", "differs from the header's")
    if _text(business, "BussinessDocType", "Bussiness", limit=1) not in ("0", "1", "2", "3"):
        raise Refused("INVALID_PACKAGE", "Bussiness/BussinessDocType", "not 0..3")
    manifest = _one(_one(envelope, "edXMLBody", "edXMLEnvelope"), "edXMLManifest", "edXMLBody")
    references: dict[str, str] = {}
    for ref in manifest.findall(_N + "Reference"):
        cid = _text(ref, "ContentId", "Reference", limit=110)
        if not _CID.match(cid) or cid in references:
            raise Refused("INVALID_PACKAGE", "Reference/ContentId", "invalid or repeated")
        references[cid] = _text(ref, "AttachmentName", "Reference", limit=200)
        _text(ref, "ContentType", "Reference", limit=100)
    encoded = root.find(_N + "AttachmentEncoded")
    attachments: list[dict[str, object]] = []
    for att in [] if encoded is None else encoded.findall(_N + "Attachment"):
        cid = _text(att, "ContentId", "Attachment", limit=110)
        name = _text(att, "AttachmentName", "Attachment", limit=200)
        if references.pop(cid, None) is None:
            raise Refused("INVALID_PACKAGE", "Attachment/ContentId", f"{cid} not in the manifest")
        content = _text(att, "ContentTransferEncoded", "Attachment", limit=max_bytes)
        try:
            size = len(base64.b64decode("".join(content.split()), validate=True))
        except (binascii.Error, ValueError):
            raise Refused(
                "INVALID_PACKAGE", "Attachment/ContentTransferEncoded", "not base64"
            ) from None
        attachments.append({"content_id": cid, "name": name, "bytes": size})
    if references:
        raise Refused("INVALID_PACKAGE", "Reference/ContentId", "an attachment is missing")
    signer = check_signature(data, root, trusted)
    return Received(
        document_id=document_id,
        sender=sender,
        recipients=recipients,
        code_text=f"{number}/{notation}",
        promulgation_date=promulgated,
        subject=subject,
        attachments=attachments,
        signer=signer,
    )


def _add(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, _N + name).text = text


def status_package(
    doc: Received,
    organ_id: str,
    code: str,
    description: str,
    at: datetime,
    *,
    key: rsa.RSAPrivateKey | None = None,
    cert: x509.Certificate | None = None,
) -> bytes:
    """A status package about ``doc`` from ``organ_id`` (signed when ``key`` is given)."""
    root = etree.Element(_N + "edXML", nsmap=cast(Any, {None: EDXML_NS}))
    envelope = etree.SubElement(root, _N + "edXMLEnvelope", nsmap={"edXML": EDXML_NS})
    header = etree.SubElement(envelope, _N + "edXMLHeader")
    message = etree.SubElement(header, _N + "MessageHeader")
    sender = etree.SubElement(message, _N + "From")
    _add(sender, "OrganId", organ_id)
    _add(sender, "OrganName", f"Cơ quan {organ_id} (sandbox)")
    response = etree.SubElement(message, _N + "ResponseFor")
    _add(response, "OrganId", doc.sender)
    _add(response, "Code", doc.code_text)
    _add(response, "PromulgationDate", doc.promulgation_date)
    _add(response, "DocumentId", doc.document_id)
    staff = etree.SubElement(message, _N + "StaffInfo")
    _add(staff, "Department", "Văn thư")
    _add(staff, "Staff", "Cán bộ sandbox")
    _add(message, "StatusCode", code)
    _add(message, "Description", description)
    _add(message, "Timestamp", at.strftime("%Y/%m/%d %H:%M:%S"))
    if key is not None and cert is not None:
        signer = XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm="sha256"
        )
        root = signer.sign(root, key=key, cert=cert.public_bytes(Encoding.PEM).decode())
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out
