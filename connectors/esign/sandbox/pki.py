"""The simulator's test PKI: its CAs, signers and TSA (never for production trust).

One :class:`SandboxPKI` per base URL (the URLs of its CRLs and OCSP responder are written into the
certificates), built once per process and cached (:func:`sandbox_pki`): RSA key generation is the
only slow step. Layout::

    root CA  "LGSP Sandbox Root CA"           (CRL: {base}/pki/root.crl)
    ├── intermediate "LGSP Sandbox Signing CA" (CRL: {base}/pki/signing-ca.crl,
    │   │                                        OCSP: {base}/pki/ocsp)
    │   ├── signer "valid"          valid for ten years around now
    │   ├── signer "revoked"        revoked (keyCompromise) an hour before the PKI was built
    │   ├── signer "expired"        validity ended a day ago
    │   └── signer "not_yet_valid"  validity starts in a year
    └── TSA "LGSP Sandbox TSA"      extended key usage timeStamping (critical), RFC 3161

Serial numbers and names are fixed (tests assert on them); keys and validity windows depend on
the moment the PKI is built. The CA answers OCSP itself (RFC 6960 §2.6 allows the issuer to sign
its own responses), so no delegated responder certificate is needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

__all__ = [
    "SANDBOX_BASE",
    "SIGNER_NAMES",
    "Issued",
    "SandboxPKI",
    "SignerName",
    "sandbox_pki",
    "sign_prehashed",
]

#: where ``lgsp sandbox`` mounts the eSign simulator by default
SANDBOX_BASE = "http://127.0.0.1:9000/esign"

SignerName = Literal["valid", "revoked", "expired", "not_yet_valid"]
SIGNER_NAMES: tuple[SignerName, ...] = ("valid", "revoked", "expired", "not_yet_valid")

_SERIALS: dict[str, int] = {
    "root": 0x1001,
    "intermediate": 0x2001,
    "tsa": 0x3001,
    "valid": 0x4001,
    "revoked": 0x4002,
    "expired": 0x4003,
    "not_yet_valid": 0x4004,
}
_SIGNER_NAMES_VI: dict[str, str] = {
    "valid": "NGUYEN VAN HOP LE",
    "revoked": "TRAN THI THU HOI",
    "expired": "LE VAN HET HAN",
    "not_yet_valid": "PHAM THI CHUA DEN",
}


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate with its private key (the simulator's signing services hold these)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_der(self) -> bytes:
        """PKCS#8 DER, unencrypted (test keys only)."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class SandboxPKI:
    """Root, intermediate, TSA and four signers; CRLs and OCSP answers made on demand."""

    base_url: str
    built_at: datetime
    root: Issued
    intermediate: Issued
    tsa: Issued
    signers: dict[str, Issued] = field(default_factory=dict)
    #: serial -> revocation time, per issuing CA ("root" | "intermediate")
    revoked: dict[str, dict[int, datetime]] = field(default_factory=dict)

    @property
    def root_crl_url(self) -> str:
        return f"{self.base_url}/pki/root.crl"

    @property
    def signing_crl_url(self) -> str:
        return f"{self.base_url}/pki/signing-ca.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/pki/ocsp"

    def signer(self, name: str) -> Issued:
        return self.signers[name]

    def chain(self, name: str) -> list[x509.Certificate]:
        """The signer's certificate followed by its intermediate (the root is the anchor)."""
        return [self.signers[name].certificate, self.intermediate.certificate]

    def crl(self, issuer: Literal["root", "intermediate"], *, now: datetime | None = None) -> bytes:
        """A fresh DER CRL of ``issuer`` listing what it revoked."""
        ca = self.root if issuer == "root" else self.intermediate
        moment = now or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(moment - timedelta(minutes=5))
            .next_update(moment + timedelta(days=1))
            .add_extension(x509.CRLNumber(int(moment.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                critical=False,
            )
        )
        for serial, when in sorted(self.revoked.get(issuer, {}).items()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
        crl = builder.sign(ca.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    def ocsp_answer(self, request_der: bytes, *, now: datetime | None = None) -> bytes:
        """The DER OCSP response to ``request_der`` for a certificate the intermediate issued.

        A malformed request is ``malformedRequest``; a certificate of another issuer is
        ``unauthorized`` (RFC 6960 §2.3). The request's nonce is echoed.
        """
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        ca = self.intermediate
        subject = next(
            (
                i.certificate
                for i in self.signers.values()
                if i.certificate.serial_number == request.serial_number
            ),
            None,
        )
        if subject is None or request.issuer_key_hash != _issuer_key_hash(
            subject, ca.certificate, request.hash_algorithm
        ):
            return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        moment = now or datetime.now(UTC)
        revoked_at = self.revoked.get("intermediate", {}).get(request.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=subject,
            issuer=ca.certificate,
            algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
            this_update=moment - timedelta(minutes=1),
            next_update=moment + timedelta(hours=1),
            revocation_time=revoked_at,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.certificate)
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
        except x509.ExtensionNotFound:
            pass
        else:
            builder = builder.add_extension(nonce, critical=False)
        response = builder.sign(ca.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)


def _ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def _issuer_key_hash(
    subject: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> bytes:
    # RFC 6960 §4.1.1 (the hash of the issuer's public key bits), computed by cryptography
    probe = ocsp.OCSPRequestBuilder().add_certificate(subject, issuer, algorithm).build()
    return probe.issuer_key_hash


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "LGSP Sandbox"),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue(
    *,
    subject: x509.Name,
    serial: int,
    key: rsa.RSAPrivateKey,
    issuer: Issued | None,
    not_before: datetime,
    not_after: datetime,
    ca: bool,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    eku: x509.ObjectIdentifier | None = None,
) -> Issued:
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and eku is None,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def _build(base_url: str) -> SandboxPKI:
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago, far_ahead = now - timedelta(days=3650), now + timedelta(days=3650)
    root_key = _key()
    root = _issue(
        subject=_name("LGSP Sandbox Root CA"),
        serial=_SERIALS["root"],
        key=root_key,
        issuer=None,
        not_before=long_ago,
        not_after=far_ahead + timedelta(days=365),
        ca=True,
    )
    pki_crl_root = f"{base_url}/pki/root.crl"
    intermediate = _issue(
        subject=_name("LGSP Sandbox Signing CA"),
        serial=_SERIALS["intermediate"],
        key=_key(),
        issuer=root,
        not_before=long_ago,
        not_after=far_ahead,
        ca=True,
        crl_url=pki_crl_root,
    )
    tsa = _issue(
        subject=_name("LGSP Sandbox TSA"),
        serial=_SERIALS["tsa"],
        key=_key(),
        issuer=root,
        not_before=long_ago,
        not_after=far_ahead,
        ca=False,
        crl_url=pki_crl_root,
        eku=ExtendedKeyUsageOID.TIME_STAMPING,
    )
    windows = {
        "valid": (long_ago, far_ahead),
        "revoked": (long_ago, far_ahead),
        "expired": (now - timedelta(days=400), now - timedelta(days=1)),
        "not_yet_valid": (now + timedelta(days=365), now + timedelta(days=730)),
    }
    signers = {
        name: _issue(
            subject=_name(_SIGNER_NAMES_VI[name], unit="UBND tinh Sandbox"),
            serial=_SERIALS[name],
            key=_key(),
            issuer=intermediate,
            not_before=start,
            not_after=end,
            ca=False,
            crl_url=f"{base_url}/pki/signing-ca.crl",
            ocsp_url=f"{base_url}/pki/ocsp",
        )
        for name, (start, end) in windows.items()
    }
    revoked = {"root": {}, "intermediate": {_SERIALS["revoked"]: now - timedelta(hours=1)}}
    return SandboxPKI(
        base_url=base_url,
        built_at=now,
        root=root,
        intermediate=intermediate,
        tsa=tsa,
        signers=signers,
        revoked=revoked,
    )


def sandbox_pki(base_url: str = SANDBOX_BASE) -> SandboxPKI:
    """The process's test PKI for ``base_url`` (built on first use, then cached)."""
    return _cached(base_url.rstrip("/"))


@functools.lru_cache(maxsize=8)
def _cached(base_url: str) -> SandboxPKI:
    # one positional key per URL: lru_cache tells f() and f(default) apart
    return _build(base_url)


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def sign_prehashed(key: rsa.RSAPrivateKey, digest: bytes, algorithm: str) -> bytes:
    """What a signing service does with a digest: RSA PKCS#1 v1.5 over its DigestInfo."""
    hash_type = _HASHES[algorithm]
    if len(digest) != hash_type().digest_size:
        raise ValueError(f"a {algorithm} digest has {hash_type().digest_size} bytes")
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hash_type()))
