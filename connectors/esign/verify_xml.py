"""XML-DSig / XAdES enveloped signatures, verified with signxml.

signxml checks the references and the SignatureValue with the certificate the signature
carries (``ds:X509Certificate``, first one = the signer); the chain, validity and revocation
are then checked like every other format (:mod:`connectors.esign.verify_chain`), because
signxml's own chain check knows neither CRL nor OCSP. A signature that does not cover the whole
document (no reference with URI ``""``) leaves the rest of the document unprotected: it is
reported as not covering the document, which makes it invalid.

A XAdES-T signature timestamp (``xades:SignatureTimeStamp``) is checked with pyHanko against
the canonical SignatureValue; when it verifies, the certificate is checked at its time.

XML is parsed with DTDs, entities and network access off.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any, cast

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from lxml import etree
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from signxml.exceptions import InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from connectors.esign.errors import UnsupportedDocument
from connectors.esign.revocation import RevocationFetchers
from connectors.esign.verify_chain import ChainChecker
from connectors.esign.verify_cms import timestamp_report
from connectors.esign.verify_report import broken_report, signature_report
from gateway.core.errors import FieldError
from gateway.core.http.safe_xml import untrusted_parser
from schemas.esign import SignatureReport, TimestampReport

__all__ = ["C14N", "DS", "XADES", "parse_xml", "signature_value_c14n", "verify_xml"]

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
_NS = {"ds": DS, "xades": XADES}
#: canonicalisation of the SignatureValue element a XAdES-T timestamp covers (ETSI EN 319 132-1
#: §5.3: the method is named in the SignatureTimeStamp; inclusive C14N 1.0 is the default)
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def signature_value_c14n(signature: etree._Element) -> bytes:
    """The canonical bytes of a ``ds:Signature``'s SignatureValue (what XAdES-T stamps)."""
    node = signature.find(f"{{{DS}}}SignatureValue")
    if node is None:
        raise ValueError("the signature has no SignatureValue")
    c14n: bytes = etree.tostring(node, method="c14n")
    return c14n


def parse_xml(data: bytes, *, field: str = "document") -> etree._Element:
    try:
        root = etree.fromstring(data, parser=untrusted_parser())
    except etree.XMLSyntaxError:
        raise UnsupportedDocument(
            "the XML cannot be parsed", errors=[FieldError(field, "not well-formed XML")]
        ) from None
    if cast(Any, root.getroottree().docinfo).doctype:
        raise UnsupportedDocument(
            "XML with a DOCTYPE is refused", errors=[FieldError(field, "DOCTYPE present")]
        )
    return root


async def verify_xml(
    data: bytes, checker: ChainChecker, fetchers: RevocationFetchers
) -> list[SignatureReport]:
    root = parse_xml(data)
    signatures = root.findall(".//ds:Signature", _NS)
    if not signatures:
        return []
    signature = signatures[0]
    reasons: list[str] = []
    if len(signatures) > 1:
        reasons.append(f"{len(signatures)} signatures: only the first one was checked")
    parsed = [_cert(e.text or "") for e in signature.findall(".//ds:X509Certificate", _NS)]
    certs = [c for c in parsed if c is not None]
    signer = certs[0] if certs else None
    xades = signature.find(".//xades:QualifyingProperties", _NS) is not None
    signing_time = _signing_time(signature)
    name = signature.get("Id")
    if signer is None:
        return [
            broken_report(
                format="xades",
                name=name,
                certificate=None,
                why="it carries no readable X.509 certificate",
                signing_time=signing_time,
                reasons=reasons,
            )
        ]
    integrity_ok = True
    try:
        certificate = x509.load_der_x509_certificate(signer.dump())
        # signxml refuses a certificate outside its validity window as if the signature were
        # broken; the window (and revocation) is verify_chain's to judge, so signxml is asked
        # about integrity alone, at a moment inside the window
        inside = certificate.not_valid_before_utc
        if xades:
            XAdESVerifier().verify(
                data,
                x509_cert=certificate,
                parser=untrusted_parser(),
                expect_config=XAdESSignatureConfiguration(
                    ignore_ambiguous_key_info=True,
                    verification_time=inside,
                    # any number: other tools add references of their own; each is verified
                    expect_references=True,
                ),
            )
        else:
            XMLVerifier().verify(
                data,
                x509_cert=certificate,
                parser=untrusted_parser(),
                expect_config=SignatureConfiguration(
                    expect_references=True, verification_time=inside
                ),
            )
    except InvalidSignature as exc:
        integrity_ok = False
        reasons.append(f"the signed content or attributes were altered: {str(exc)[:200]}")
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        integrity_ok = False
        reasons.append(f"the signature's structure is broken: {str(exc)[:200]}")
    uris = [r.get("URI") for r in signature.findall("ds:SignedInfo/ds:Reference", _NS)]
    covers = "" in uris
    if not covers:
        reasons.append('no reference covers the whole document (URI="")')
    timestamp = await _signature_timestamp(signature, checker, fetchers)
    moment = timestamp.time if timestamp.valid else None
    chain = await checker.check(signer, fetchers, other_certs=certs[1:], moment=moment)
    return [
        signature_report(
            format="xades",
            name=name,
            certificate=signer,
            signing_time=signing_time,
            integrity_ok=integrity_ok,
            covers_whole_document=covers,
            chain=chain,
            timestamp=timestamp,
            validated_at=moment or datetime.now(UTC),
            reasons=reasons,
        )
    ]


async def _signature_timestamp(
    signature: etree._Element, checker: ChainChecker, fetchers: RevocationFetchers
) -> TimestampReport:
    """XAdES-T: the SignatureTimeStamp over the canonical SignatureValue, when present."""
    encapsulated = signature.find(
        "ds:Object/xades:QualifyingProperties/xades:UnsignedProperties/"
        "xades:UnsignedSignatureProperties/xades:SignatureTimeStamp/xades:EncapsulatedTimeStamp",
        _NS,
    )
    if encapsulated is None:
        return TimestampReport(present=False)
    method = encapsulated.getparent().find("ds:CanonicalizationMethod", _NS)  # type: ignore[union-attr]
    try:
        if method is not None and method.get("Algorithm") != C14N:
            raise ValueError("unsupported canonicalisation of the timestamped SignatureValue")
        token = cms.ContentInfo.load(base64.b64decode("".join((encapsulated.text or "").split())))
        signed_data = token["content"]
        signed_data.native  # noqa: B018 - parse it all now
        stamped = signature_value_c14n(signature)
        kwargs = await validate_tst_signed_data(
            signed_data,
            checker.context(fetchers),
            lambda algorithm: hashlib.new(algorithm, stamped).digest(),
        )
    except (ValueError, KeyError, TypeError, SignatureValidationError):
        return TimestampReport(present=True, valid=False)
    return timestamp_report(TimestampSignatureStatus(**kwargs))


def _cert(text: str) -> asn1_x509.Certificate | None:
    try:
        cert = asn1_x509.Certificate.load(base64.b64decode("".join(text.split()), validate=True))
        cert.native  # noqa: B018 - parse now
    except ValueError:
        return None
    return cert


def _signing_time(signature: etree._Element) -> datetime | None:
    element = signature.find(".//xades:SigningTime", _NS)
    if element is None or not element.text:
        return None
    try:
        return datetime.fromisoformat(element.text.strip())
    except ValueError:
        return None
