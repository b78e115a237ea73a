"""eSign packets: the verification report, the northbound requests, and the wire packets of the
two remote signing services (a Cloud Signature Consortium style API, this project's CSC profile;
and VNPT SmartCA's hash signing with the holder's approval, its public ``sp769`` API).

Contracts:

* One :class:`SignatureReport` per signature found; a document's :class:`VerificationReport`
  is ``valid`` only when it holds at least one signature and every one of them is ``valid``.
* ``revocation`` is ``unknown`` whenever neither CRL nor OCSP could be had: an unknown status
  never yields ``valid`` (the verdict is then ``indeterminate``).
* Binary values travel as standard base64 (documents, certificates, signatures); SmartCA
  takes the digest as lower-case hex (``data_to_be_signed``).
* What the gateway sends forbids unknown fields; what a service answers ignores fields it does
  not know, reads a number sent as a string, ``null`` for an unset message, and a single
  object where a list was assumed, and bounds every list and string it keeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    "HashCertificateData",
    "HashCertificateRequest",
    "HashChainData",
    "HashSignAnswer",
    "HashSignData",
    "HashSignFile",
    "HashSignRequest",
    "HashSignature",
    "HashStatusData",
    "HashTransaction",
    "HashUserCertificate",
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


# --- hash-signing service with approval (wire): VNPT SmartCA's sp769 API ----------------------
#
# Field for field as the public record has them: VNPT's integration document "Tài liệu tích hợp
# VNPT SMARTCA" v4.1 §3.2-3.4 (published in huy1692003/BE-PCHY_2024, API_PCHY/wwwroot/fileBBTN/
# Kich_ban_tich_hop_smartca_v4.1.pdf) and the public client SmartCA769.cs of the same
# repository (API_PCHY/Services/SMART_CA/Model_SMART_CA.cs: ReqGetCert L28-35, ResGetCert and
# UserCertificate L37-66, ReqSign and SignFile L73-90, ResSign and DataSign L68-72 and L92-97,
# ResStatus, DataTransaction and Signature L8-26). The class names are this project's (the
# "hash" service); the field names are SmartCA's.


def _listed(value: Any) -> Any:
    """A single object where a list was assumed is read as a list of one."""
    return [value] if isinstance(value, dict) else value


def _text(value: Any) -> Any:
    return "" if value is None else value


class HashCertificateRequest(_Sent):
    """``POST {base}/sca/sp769/v1/credentials/get_certificate`` (§3.2; ReqGetCert)."""

    sp_id: str = Field(min_length=1, max_length=200, description="the service provider's id")
    sp_password: str = Field(min_length=1, max_length=200, description="its password")
    user_id: str = Field(
        min_length=1, max_length=200, description="the subscriber: CCCD/CMND/passport/tax code"
    )
    serial_number: str = Field(
        "", max_length=100, description="the certificate wanted; empty lists them all"
    )
    transaction_id: str = Field(min_length=1, max_length=100, description="the SP's id")


class HashChainData(_Received):
    """``chain_data``: the issuing CA and the root, base64 DER (``root_cert`` may be null,
    §4.2's sample)."""

    ca_cert: _B64_CERT | None = None
    root_cert: _B64_CERT | None = None

    _blank = field_validator("ca_cert", "root_cert", mode="before")(
        lambda v: None if v in ("", None) else v
    )


class HashUserCertificate(_Received):
    """One ``user_certificates`` item (§3.2 sample answer; UserCertificate)."""

    service_type: str | None = Field(None, max_length=100)
    service_name: str | None = Field(None, max_length=200)
    cert_id: str | None = Field(None, max_length=200)
    cert_status: str | None = Field(None, max_length=200)
    serial_number: str = Field(min_length=1, max_length=100)
    cert_subject: str | None = Field(None, max_length=2000)
    cert_valid_from: str | None = Field(None, max_length=50)
    cert_valid_to: str | None = Field(None, max_length=50)
    cert_data: _B64_CERT
    chain_data: HashChainData | None = None
    transaction_id: str | None = Field(None, max_length=200)


class HashCertificateData(_Received):
    user_certificates: list[HashUserCertificate] = Field(default_factory=list, max_length=50)

    _one = field_validator("user_certificates", mode="before")(
        lambda v: [] if v is None else _listed(v)
    )


class HashCertificateAnswer(_Received):
    """``{status_code, message, data: {user_certificates: [...]}}`` (ResGetCert)."""

    status_code: int
    message: str = Field("", max_length=1000)
    data: HashCertificateData | None = None

    _message = field_validator("message", mode="before")(_text)


class HashSignFile(_Sent):
    """One item of ``sign_files`` (§3.3; SignFile)."""

    data_to_be_signed: str = Field(
        pattern=r"^[0-9a-f]{40,128}$",
        description="the digest as lower-case hex (SmartCA769.cs L106: the hash's bytes, "
        "BitConverter hex, lower-cased)",
    )
    doc_id: str = Field(
        min_length=1, max_length=100, description="the document's id, shown to the holder"
    )
    file_type: str = Field(min_length=1, max_length=20, description="xml / json / word / pdf ...")
    sign_type: Literal["hash"] = "hash"


class HashSignRequest(_Sent):
    """``POST {base}/sca/sp769/v1/signatures/sign`` (§3.3; ReqSign, in its field order)."""

    sp_id: str = Field(min_length=1, max_length=200)
    sp_password: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    transaction_desc: str = Field("", max_length=500, description="shown to the holder")
    transaction_id: str = Field(
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="the SP's id of the transaction, unique; the gateway's signature id",
    )
    sign_files: list[HashSignFile] = Field(min_length=1, max_length=50)
    serial_number: str = Field(min_length=1, max_length=100, description="the certificate")


class HashSignData(_Received):
    transaction_id: str | None = Field(None, min_length=1, max_length=200)
    tran_code: str | None = Field(None, max_length=200)


class HashSignAnswer(_Received):
    """``{status_code, message, data: {transaction_id, tran_code}}`` (§3.3; ResSign)."""

    status_code: int
    message: str = Field("", max_length=1000)
    data: HashSignData | None = None

    _message = field_validator("message", mode="before")(_text)


class HashSignature(_Received):
    """One ``signatures`` item: the signature value of one ``doc_id``, base64 (§3.4)."""

    doc_id: str | None = Field(None, max_length=200)
    signature_value: str | None = Field(None, max_length=16 * 1024)
    timestamp_signature: Any = None


class HashStatusData(_Received):
    transaction_id: str | None = Field(None, max_length=200)
    signatures: list[HashSignature] | None = Field(None, max_length=50)

    _one = field_validator("signatures", mode="before")(_listed)


class HashTransaction(_Received):
    """``POST {base}/sca/sp769/v1/signatures/sign/{transaction_id}/status`` answers
    ``{status_code, message, data: {transaction_id, signatures}}`` (§3.4; ResStatus);
    ``signatures`` is null until the holder approved."""

    status_code: int
    message: str = Field("", max_length=1000)
    data: HashStatusData | None = None

    _message = field_validator("message", mode="before")(_text)
