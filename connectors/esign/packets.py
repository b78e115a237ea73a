"""Detached signatures of JSON packets: JWS (RFC 7515) over the packet's RFC 8785 canonical
form, with the payload left out of the token (``header..signature``, RFC 7515 Appendix F).

Outbound: :func:`sign_packet` canonicalises the packet (``rfc8785``), builds the JWS signing
input and has a :class:`~connectors.esign.signer.RemoteSigner` sign its SHA-256 digest (RS256,
or ES256 for an EC credential); the header carries the signer's chain (``x5c``), so a
receiver needs only its trust anchors. The token travels beside the packet (e.g. a header).

Inbound: :func:`verify_packet` canonicalises the packet as received, checks the token with
joserfc (allowed algorithms only, the public key of the ``x5c`` leaf), then the certificate
like any signature (chain to the configured anchors, validity, revocation). Anything short of
a ``valid`` outcome raises :class:`~connectors.esign.errors.PacketSignatureInvalid` naming the
check, and is logged (the reason only: never the packet, which may carry personal data).
The core wires them in (``LGSP_PACKET_SIGNING__*``, :mod:`gateway.core.packet_signing`)
through :meth:`~connectors.esign.connector.EsignConnector.sign_packet` and
:meth:`~connectors.esign.connector.EsignConnector.verify_packet`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785
import structlog
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

from connectors.esign.errors import PacketSignatureInvalid
from connectors.esign.signer import RemoteSigner
from connectors.esign.verify import Verifier
from connectors.esign.verify_report import signature_report
from schemas.esign import SignatureReport, TimestampReport

__all__ = ["ALGORITHMS", "canonical", "sign_packet", "verify_packet"]

log = structlog.get_logger("connectors.esign.packets")

ALGORITHMS = ("RS256", "ES256")
#: a token's header with a three-certificate chain is a few KiB
MAX_TOKEN_CHARS = 64 * 1024


def _registry() -> JWSRegistry:
    registry = JWSRegistry(algorithms=list(ALGORITHMS))
    # joserfc's default header bound (512 bytes) is for headers without x5c
    registry.max_header_length = MAX_TOKEN_CHARS
    return registry


def canonical(packet: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of ``packet``; refuses what JSON cannot carry (NaN, big ints)."""
    try:
        return rfc8785.dumps(dict(packet))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise PacketSignatureInvalid(f"the packet has no canonical JSON form: {exc}") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


async def sign_packet(packet: Mapping[str, Any], remote: RemoteSigner, *, purpose: str) -> str:
    """The detached compact JWS over the canonical packet."""
    credential = await remote.credential()
    public_key = credential.certificate.public_key()
    alg = "ES256" if isinstance(public_key, ec.EllipticCurvePublicKey) else "RS256"
    header = {
        "alg": alg,
        "x5c": [
            base64.b64encode(c.public_bytes(Encoding.DER)).decode("ascii") for c in credential.chain
        ],
    }
    protected = _b64url(json.dumps(header, separators=(",", ":")).encode())
    signing_input = f"{protected}.{_b64url(canonical(packet))}".encode("ascii")
    signature = await remote.sign_digest(
        hashlib.sha256(signing_input).digest(), "sha256", description=purpose, format="jws"
    )
    if alg == "ES256":
        # JWS wants r || s (RFC 7518 §3.4), not the DER the service gives
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{protected}..{_b64url(signature)}"


def _refuse(reason: str, *, source: str) -> PacketSignatureInvalid:
    log.warning("esign.packet_signature_rejected", source=source, reason=reason)
    return PacketSignatureInvalid(f"the packet's signature is refused: {reason}")


async def verify_packet(
    packet: Mapping[str, Any], token: str, verifier: Verifier, *, source: str
) -> SignatureReport:
    """The report of a valid packet signature; :class:`PacketSignatureInvalid` otherwise.
    ``source`` names the platform the packet came from (for the log line)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2 or ".." not in token:
        raise _refuse("not a detached compact JWS", source=source)
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        chain = [base64.b64decode(c, validate=True) for c in header["x5c"]]
        leaf = x509.load_der_x509_certificate(chain[0])
    except (ValueError, KeyError, TypeError, IndexError):
        raise _refuse("the header carries no readable x5c chain", source=source) from None
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
        raise _refuse("the algorithm is not one of " + ", ".join(ALGORITHMS), source=source)
    key_object = leaf.public_key()
    key: RSAKey | ECKey
    if isinstance(key_object, rsa.RSAPublicKey):
        key = RSAKey.import_key(key_object)
    elif isinstance(key_object, ec.EllipticCurvePublicKey):
        key = ECKey.import_key(key_object)
    else:
        raise _refuse("the certificate's key is neither RSA nor EC", source=source)
    try:
        jws.deserialize_compact(
            token,
            key,
            algorithms=[header["alg"]],
            registry=_registry(),
            payload=canonical(packet),
        )
    except JoseError:
        raise _refuse("the signature does not match the packet", source=source) from None
    certs = [asn1_x509.Certificate.load(der) for der in chain]
    outcome = await verifier.chain_checker().check(
        certs[0], verifier.fetchers(), other_certs=certs[1:], moment=None
    )
    report = signature_report(
        format="jws",
        name="jws",
        certificate=certs[0],
        signing_time=None,
        integrity_ok=True,
        covers_whole_document=True,
        chain=outcome,
        timestamp=TimestampReport(present=False),
        validated_at=datetime.now(UTC),
        reasons=[],
    )
    if report.verdict != "valid":
        raise _refuse("; ".join(report.reasons) or report.verdict, source=source)
    return report
