"""The remote signer: one interface over both signing services, and its pyHanko adapter.

The key never leaves the signing service: the gateway computes the digest of what is signed
(the CMS signed attributes, or the canonical XML SignedInfo) and sends only that digest. A
:class:`RemoteSigner` answers with the raw signature value: RSA PKCS#1 v1.5 over the DigestInfo
of the digest, or a DER ECDSA signature, exactly what a local key would have produced; pyHanko
and signxml build everything around it (:mod:`connectors.esign.deferred`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from gateway.core.errors import InvalidUpstreamAnswer
from schemas.esign import SignatureFormat

__all__ = [
    "DIGESTS",
    "RemoteSigner",
    "SigningCredential",
    "check_signature",
    "digest_of",
]

#: digest algorithms the services accept (pyHanko's names)
DIGESTS = frozenset({"sha256", "sha384", "sha512"})


def digest_of(data: bytes, algorithm: str) -> bytes:
    if algorithm not in DIGESTS:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm, data).digest()


@dataclass(frozen=True, slots=True)
class SigningCredential:
    """A key held by the service: its id and certificate chain (signer first)."""

    credential_id: str
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def serial_hex(self) -> str:
        return format(self.certificate.serial_number, "X")

    def signature_size(self) -> int:
        """Bytes a signature of this key takes at most (DER ECDSA included)."""
        key = self.certificate.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            return (key.key_size + 7) // 8
        if isinstance(key, ec.EllipticCurvePublicKey):
            return 2 * ((key.key_size + 7) // 8) + 9
        raise ValueError("the credential's key is neither RSA nor EC")


@runtime_checkable
class RemoteSigner(Protocol):
    """A signing service that signs digests with a key it never lets out."""

    async def credential(self) -> SigningCredential:
        """The configured credential and its chain (cached by implementations)."""
        ...

    async def sign_digest(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        format: SignatureFormat | None = None,
    ) -> bytes:
        """The raw signature of ``digest`` (made with ``algorithm``), once the service (and,
        where it asks, the holder) agreed. ``description`` is shown to the holder; ``format``
        says what is being signed, for services that ask (SmartCA's ``file_type``)."""
        ...


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def check_signature(
    credential: SigningCredential, digest: bytes, algorithm: str, signature: bytes
) -> None:
    """Refuse a signature value that the credential's public key does not verify: a service
    that answers with a wrong signature must not produce a signed document that fails later.
    Raises :class:`InvalidUpstreamAnswer`."""
    key = credential.certificate.public_key()
    prehashed = Prehashed(_HASHES[algorithm]())
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(prehashed))
        else:
            raise InvalidUpstreamAnswer("the credential's key is neither RSA nor EC")
    except (InvalidSignature, ValueError):
        raise InvalidUpstreamAnswer(
            "the signing service answered a signature that the credential's certificate "
            "does not verify"
        ) from None


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
