"""XML-DSig over edXML packages: ours signed by the registry's document signer, theirs verified.

Signing (``signature = "xmldsig"``): the package is handed to the
:class:`~gateway.core.connector.DocumentSigner` the registry holds (the eSign connector, never
imported here), which signs XML as an enveloped XAdES-BES signature (signxml: ``Reference
URI=""`` with the enveloped-signature transform, RSA/ECDSA-SHA256, ``KeyInfo/X509Data``, plus
a reference to the XAdES ``SignedProperties``). That is a W3C XML-DSig signature over the whole
package, which is what the VXP-SDK and Bkav samples carry (``docs/research/issue-23-sources.md``
1.6), with two differences a hub may notice: SHA-256 instead of the samples' SHA-1, and the
``Signature`` element is the root's last child, not inside ``edXMLHeader``. It cannot be moved
there afterwards: its ``SignedInfo`` is canonicalised with inclusive C14N 1.1, which takes in
the ``xmlns:edXML`` declaration in scope inside the envelope, so moving it would break it.

Verifying (status packages, and what the simulator checks): at most one ``ds:Signature``
anywhere in the package; it must cover the whole document (a reference with ``URI=""``) and
verify with signxml (SHA-1 refused, as signxml refuses it) against the certificate it
carries, which must be one of ``trusted_certificates`` when any are configured. With none
configured the check proves integrity only, and a package without a signature passes unless
``require_status_signature`` is set.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.exceptions import InvalidInput as SignxmlInvalidInput
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from connectors.qlvb.edxml import DS
from gateway.core.connector import DocumentSigner
from gateway.core.errors import PermanentUpstreamError

__all__ = ["SignatureProblem", "sign_package", "verify_package"]

_DS = f"{{{DS}}}"


class SignatureProblem(ValueError):
    """A signature that is missing where required, or does not verify."""


async def sign_package(signer: DocumentSigner, package: bytes) -> bytes:
    """``package`` with its enveloped signature, by the registry's document signer."""
    signed = await signer.sign_document(package, "application/xml")
    if signed is None:
        raise PermanentUpstreamError(
            "the document signer does not sign XML documents", code="signer-refused-xml"
        )
    return signed


def verify_package(
    data: bytes,
    root: etree._Element,
    *,
    trusted: list[str],
    required: bool,
) -> str | None:
    """The signer's subject when ``root`` (parsed from ``data``) carries a valid signature;
    ``None`` when it carries none and none is required; :class:`SignatureProblem` otherwise."""
    signatures = list(root.iter(_DS + "Signature"))
    if not signatures:
        if required:
            raise SignatureProblem("the package carries no XML-DSig signature")
        return None
    if len(signatures) > 1:
        raise SignatureProblem("the package carries more than one signature")
    signature = signatures[0]
    whole = signature.find(f"{_DS}SignedInfo/{_DS}Reference[@URI='']")
    if whole is None:
        raise SignatureProblem('the signature does not cover the whole package (URI="")')
    embedded = signature.findtext(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    if not embedded:
        raise SignatureProblem("the signature carries no X509Certificate")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode("".join(embedded.split())))
    except ValueError:
        raise SignatureProblem("the signature's X509Certificate is not a certificate") from None
    pem = cert.public_bytes(Encoding.PEM).decode("ascii")
    if trusted:
        der = cert.public_bytes(Encoding.DER)
        known = [x509.load_pem_x509_certificate(t.encode()) for t in trusted]
        if not any(k.public_bytes(Encoding.DER) == der for k in known):
            raise SignatureProblem("the signing certificate is not a trusted one")
    try:
        XMLVerifier().verify(
            data,
            x509_cert=pem,
            expect_config=SignatureConfiguration(expect_references=True),
        )
    except (SignXMLException, SignxmlInvalidInput, ValueError) as exc:
        raise SignatureProblem(f"the signature does not verify ({type(exc).__name__})") from None
    return cert.subject.rfc4514_string()[:200]
