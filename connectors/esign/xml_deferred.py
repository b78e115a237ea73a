"""XAdES enveloped signatures of XML documents (BES, and T with a signature timestamp), built by
signxml, valued later.

signxml signs with a key object it calls synchronously, in the middle of building the
signature; a remote service is asynchronous (and may wait for its holder's approval). So signxml
is given a stand-in key (:class:`_DeferredKey`) that records the digest of the canonical
``SignedInfo`` it is asked to sign and returns a placeholder value: :func:`prepare_xml` returns
the finished signature with that placeholder and the digest; :func:`finish_xml` writes the
service's value in. ``SignatureValue`` is outside ``SignedInfo``, so nothing signed changes:
the result is exactly the signature signxml would have made with the key in hand.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from signxml.algorithms import SignatureMethod
from signxml.xades.xades import XAdESSigner

from connectors.esign.signer import SigningCredential
from connectors.esign.verify_xml import (
    C14N,
    DS,
    XADES,
    parse_xml,
    signature_value_c14n,
)
from gateway.core.errors import InvalidUpstreamAnswer, TransientUpstreamError
from gateway.core.http.safe_xml import untrusted_parser

__all__ = ["finish_xml", "prepare_xml", "timestamp_xml"]


class _DeferredKey:
    """Quacks like the private key signxml expects (``sign``, ``public_key``, ``key_size``)."""

    def __init__(self, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> None:
        self._public_key = public_key
        self.key_size = public_key.key_size
        self.digest: bytes | None = None

    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        return self._public_key

    def sign(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        algorithm = kwargs.get("algorithm")
        if algorithm is None and "signature_algorithm" in kwargs:
            algorithm = kwargs["signature_algorithm"].algorithm
        if not isinstance(algorithm, hashes.SHA256):
            raise TypeError("signxml asked for a signature other than SHA-256")
        self.digest = hashlib.sha256(data).digest()
        if isinstance(self._public_key, ec.EllipticCurvePublicKey):
            return encode_dss_signature(1, 1)
        return bytes((self.key_size + 7) // 8)


def _public_key(credential: SigningCredential) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    key = credential.certificate.public_key()
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise InvalidUpstreamAnswer("the credential's key is neither RSA nor EC")
    return key


def prepare_xml(document: bytes, credential: SigningCredential) -> tuple[bytes, bytes]:
    """(the XML with its signature but a placeholder value, the SHA-256 digest to sign)."""
    root = parse_xml(document)
    public_key = _public_key(credential)
    method = (
        SignatureMethod.ECDSA_SHA256
        if isinstance(public_key, ec.EllipticCurvePublicKey)
        else SignatureMethod.RSA_SHA256
    )
    key = _DeferredKey(public_key)
    signer = XAdESSigner(signature_algorithm=method, digest_algorithm="sha256")
    signed = signer.sign(root, key=cast(Any, key), cert=list(credential.chain))
    if key.digest is None:
        raise RuntimeError("signxml finished without asking for a signature")
    out: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return out, key.digest


async def timestamp_xml(signed: bytes, timestamper: TimeStamper) -> bytes:
    """XAdES-T: a signature timestamp over the SignatureValue, as an unsigned property (so
    nothing signed changes)."""
    root = etree.fromstring(signed, parser=untrusted_parser())
    signature = root.find(f".//{{{DS}}}Signature")
    qualifying = root.find(f".//{{{XADES}}}QualifyingProperties")
    if signature is None or qualifying is None:
        raise RuntimeError("the XML carries no XAdES signature to timestamp")
    digest = hashlib.sha256(signature_value_c14n(signature)).digest()
    try:
        token = await timestamper.async_timestamp(digest, "sha256")
    except TimestampRequestError as exc:
        raise TransientUpstreamError(f"the timestamp authority failed: {exc}") from None
    unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
    properties = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    stamp = etree.SubElement(properties, f"{{{XADES}}}SignatureTimeStamp")
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    encapsulated = etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token.dump()).decode("ascii")
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def finish_xml(prepared: bytes, credential: SigningCredential, signature: bytes) -> bytes:
    """The prepared XML with the service's signature value in place."""
    public_key = _public_key(credential)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        # XML-DSig wants r || s, fixed width (RFC 4050 §3.3), not the DER the service gives
        r, s = decode_dss_signature(signature)
        width = (public_key.key_size + 7) // 8
        signature = r.to_bytes(width, "big") + s.to_bytes(width, "big")
    root = etree.fromstring(prepared, parser=untrusted_parser())
    node = root.find(f".//{{{DS}}}SignatureValue")
    if node is None:
        raise RuntimeError("the prepared XML has no SignatureValue")
    node.text = base64.b64encode(signature).decode("ascii")
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out
