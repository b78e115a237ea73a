"""eSign packets: the verification report, the northbound requests, and the wire packets of the
two remote signing services (a Cloud Signature Consortium style API, and a hash-signing service
with asynchronous approval in the manner of VNPT SmartCA).

Contracts:

* One :class:`SignatureReport` per signature found; a document's :class:`VerificationReport`
  is ``valid`` only when it holds at least one signature and every one of them is ``valid``.
* ``revocation`` is ``unknown`` whenever neither CRL nor OCSP could be had: an unknown status
  never yields ``valid`` (the verdict is then ``indeterminate``).
* Binary values travel as standard base64 (documents, certificates, signatures); the hash
  service takes the digest as lower-case hex, as SmartCA does.
* What the gateway sends forbids unknown fields; what a service answers ignores fields it does
  not know, and bounds every list and string it keeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CscAuthorizeAnswer",
    "CscAuthorizeRequest",
    "CscCertInfo",
    "CscCredentialInfo",
    "CscCredentialsList",
    "CscError",
    "CscInfoRequest",
    "CscKeyInfo",
    "CscListRequest",
    "CscLoginAnswer",
    "CscSignHashAnswer",
    "CscSignHashRequest",
    "DocumentFormat",
    "HashCertificateAnswer",
    "HashCertificateRequest",
    "HashSignAnswer",
    "HashSignRequest",
    "HashTransaction",
    "RevocationStatus",
    "SignAccepted",
    "SignRequest",
    "SignResult",
    "SignatureFormat",
    "SignatureReport",
    "TimestampReport",
    "TransactionState",
    "Verdict",
    "VerificationReport",
    "VerifyRequest",
]

#: ``jws``: a detached JWS over a packet's canonical JSON (connectors.esign.packets)
SignatureFormat = Literal["pades", "xades", "cms", "jws"]
#: what the caller may say a document is; ``auto`` detects it from the bytes
DocumentFormat = Literal["auto", "pdf", "xml", "cms"]
RevocationStatus = Literal["good", "revoked", "unknown"]
Verdict = Literal["valid", "invalid", "indeterminate"]
CertificateValidity = Literal["valid", "expired", "not_yet_valid", "unknown"]
TransactionState = Literal["pending", "approved", "denied", "expired"]

Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
_B64_CERT = Annotated[str, Field(min_length=1, max_length=64 * 1024)]


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Received(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- the verification report -------------------------------------------------------------------


class TimestampReport(BaseModel):
    """An RFC 3161 signature timestamp, when the signature carries one."""

    present: bool
    valid: bool | None = Field(None, description="None when absent")
    time: datetime | None = Field(None, description="genTime of the token")
    authority: str | None = Field(None, description="subject of the TSA certificate")


class SignatureReport(BaseModel):
    """What was checked about one signature, and the verdict."""

    format: SignatureFormat
    name: str | None = Field(None, description="the PDF field, or the XML Signature Id")
    signer_subject: str | None = None
    signer_serial: str | None = Field(None, description="serial number, upper-case hex")
    signing_time: datetime | None = Field(
        None, description="the time the signer claims (signingTime / xades:SigningTime)"
    )
    integrity_ok: bool = Field(description="the content and signed attributes are unaltered")
    covers_whole_document: bool | None = Field(
        None, description="PDF: the signature covers the file as it is (no later changes)"
    )
    chain_ok: bool = Field(description="a path to a configured trust anchor validated")
    trust_anchor: str | None = Field(None, description="subject of the anchor reached")
    certificate_validity: CertificateValidity = "unknown"
    revocation: RevocationStatus = "unknown"
    revocation_time: datetime | None = None
    timestamp: TimestampReport = Field(default_factory=lambda: TimestampReport(present=False))
    validated_at: datetime = Field(
        description="the moment the chain was validated at: the timestamp's time when a valid "
        "timestamp proves the signature existed then, else the time of verification"
    )
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)


class VerificationReport(BaseModel):
    """Every signature of one document."""

    format: SignatureFormat | None
    document_sha256: str
    signatures: list[SignatureReport]
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)


# --- northbound ----------------------------------------------------------------------------------


class VerifyRequest(_Sent):
    """``POST /v1/esign/verify``."""

    document: Base64 = Field(
        min_length=4, description="the signed document (PDF, XML) or the signed file of a CMS"
    )
    format: DocumentFormat = Field("auto", description="what the document is; auto detects")
    signature: Base64 | None = Field(
        None, min_length=4, description="detached CMS (DER or PEM) over ``document``"
    )


class SignRequest(_Sent):
    """``POST /v1/esign/sign``."""

    document: Base64 = Field(min_length=4, description="the document to sign")
    format: Literal["auto", "pades", "xades", "cms"] = Field(
        "auto", description="auto: PAdES for PDF, XAdES for XML, detached CMS otherwise"
    )
    file_name: str | None = Field(None, max_length=255)
    ma_ho_so: str | None = Field(None, max_length=64, description="dossier the document is of")
    reason: str | None = Field(None, max_length=200, description="PDF /Reason")
    location: str | None = Field(None, max_length=200, description="PDF /Location")
    timestamp: bool = Field(True, description="add an RFC 3161 timestamp when a TSA is set")


class SignResult(BaseModel):
    """A signature the service gave: the signed document, or the detached CMS."""

    id: str
    status: Literal["signed"] = "signed"
    format: SignatureFormat
    signed_document: str | None = Field(None, description="base64; PAdES and XAdES")
    signature: str | None = Field(None, description="base64 DER; detached CMS")
    signer_subject: str
    signer_serial: str
    timestamped: bool
    signed_at: datetime


class SignAccepted(BaseModel):
    """202: the service asks its holder to approve; the result comes later."""

    id: str
    status: Literal["pending", "signed", "failed"]
    exchange_id: str | None = None
    detail: str | None = None


# --- CSC-style service (wire) --------------------------------------------------------------------


class CscLoginAnswer(_Received):
    access_token: str = Field(min_length=1, max_length=4096)
    expires_in: int = Field(3600, ge=1)


class CscError(_Received):
    error: str = Field(max_length=200)
    error_description: str = Field("", max_length=1000)


class CscListRequest(_Sent):
    maxResults: int = Field(20, ge=1, le=100)


class CscCredentialsList(_Received):
    credentialIDs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(max_length=100)


class CscInfoRequest(_Sent):
    credentialID: str = Field(min_length=1, max_length=200)
    certificates: Literal["none", "single", "chain"] = "chain"
    certInfo: bool = True


class CscKeyInfo(_Received):
    status: Literal["enabled", "disabled"]
    algo: list[str] = Field(max_length=20)
    len: int = Field(ge=0)


class CscCertInfo(_Received):
    status: str = Field(max_length=50)
    certificates: list[_B64_CERT] = Field(min_length=1, max_length=10)
    subjectDN: str | None = Field(None, max_length=1000)
    serialNumber: str | None = Field(None, max_length=100)


class CscCredentialInfo(_Received):
    key: CscKeyInfo
    cert: CscCertInfo
    authMode: Literal["implicit", "explicit", "oauth2code"] = "explicit"
    multisign: int = Field(1, ge=1)


class CscAuthorizeRequest(_Sent):
    credentialID: str = Field(min_length=1, max_length=200)
    numSignatures: int = Field(1, ge=1, le=100)
    hash: list[Base64] = Field(min_length=1, max_length=100)
    PIN: str | None = Field(None, max_length=100)


class CscAuthorizeAnswer(_Received):
    SAD: str = Field(min_length=1, max_length=4096)
    expiresIn: int = Field(300, ge=1)


class CscSignHashRequest(_Sent):
    credentialID: str = Field(min_length=1, max_length=200)
    SAD: str = Field(min_length=1, max_length=4096)
    hash: list[Base64] = Field(min_length=1, max_length=100)
    hashAlgo: str = Field(pattern=r"^[0-9.]+$")
    signAlgo: str = Field(pattern=r"^[0-9.]+$")


class CscSignHashAnswer(_Received):
    signatures: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=100
    )


# --- hash-signing service with approval (wire) ------------------------------------------------


class HashCertificateRequest(_Sent):
    user_id: str = Field(min_length=1, max_length=200)
    credential_id: str = Field(min_length=1, max_length=200)


class HashCertificateAnswer(_Received):
    status: int
    message: str = Field("", max_length=1000)
    credential_id: str | None = Field(None, max_length=200)
    certificates: list[_B64_CERT] = Field(default_factory=list, max_length=10)


class HashSignRequest(_Sent):
    user_id: str = Field(min_length=1, max_length=200)
    credential_id: str = Field(min_length=1, max_length=200)
    sign_type: Literal["hash"] = "hash"
    hash: str = Field(pattern=r"^[0-9a-f]{40,128}$", description="lower-case hex digest")
    hash_algorithm: Literal["sha256", "sha384", "sha512"]
    description: str = Field("", max_length=500)
    callback_url: str | None = Field(None, max_length=2000)
    transaction_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="the caller's id of the transaction: the same id again is the same "
        "request (answered alike, the holder asked once), as NEAC's sign_file takes it",
    )


class HashSignAnswer(_Received):
    status: int
    message: str = Field("", max_length=1000)
    transaction_id: str | None = Field(None, min_length=1, max_length=200)


class HashTransaction(_Received):
    status: int
    message: str = Field("", max_length=1000)
    transaction_id: str = Field(min_length=1, max_length=200)
    state: TransactionState
    signature: str | None = Field(None, max_length=4096, description="base64, when approved")
