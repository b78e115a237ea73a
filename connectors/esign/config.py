"""Configuration of the eSign connector (section ``LGSP_CONNECTORS__ESIGN__*``).

``SERVICE`` chooses the kind of signing service: ``csc`` signs at once (this project's CSC
profile), ``hash`` asks the certificate holder to approve each signature on their phone, in
the wire profile ``HASH_PROFILE`` (``smartca``: VNPT SmartCA's public ``sp769`` API; see
:mod:`connectors.esign.profiles`, which cites the sources).

The defaults point at the sandbox simulator (``{base_url}/csc/v1/...``,
``{base_url}/sca/sp769/v1/...``, ``{base_url}/tsa``) and trust the sandbox's test root
(``trust_anchors = ["sandbox"]``), so the
embedded default signs and verifies with no configuration. In production set ``TRUST_ANCHORS`` to
the national root CA certificates (PEM files or inline PEM). The placeholder secrets
(:data:`PLACEHOLDER_SECRETS`) and the ``sandbox`` anchor are refused in production by the
registry (``SPEC.production_refusals``); ``lgsp connectors check esign`` names the anchors in
use.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.esign.profiles import DEFAULT_HASH_PROFILE, SMARTCA_PATHS, HashProfile
from gateway.core.connector import ConnectorConfig

__all__ = ["PLACEHOLDER_SECRETS", "SANDBOX_ANCHOR", "SANDBOX_BASE", "EsignConfig"]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset(
    {"sandbox-esign-password", "sandbox-esign-pin", "sandbox-esign-sp-password"}
)
#: the trust anchor that stands for the sandbox's test root CA
SANDBOX_ANCHOR = "sandbox"
#: where ``lgsp sandbox`` serves the eSign simulator by default (its test certificates name it)
SANDBOX_BASE = "http://127.0.0.1:9000/esign"


class EsignConfig(ConnectorConfig):
    """Which remote signing service to use, and what to trust when verifying."""

    model_config = ConfigDict(extra="forbid")

    service: Literal["csc", "hash"] = Field(
        "csc",
        description='"csc": a Cloud Signature Consortium style service that signs at once '
        '(this project\'s CSC profile); "hash": a hash-signing service whose holder approves '
        "each signature on their phone, spoken in HASH_PROFILE",
    )
    hash_profile: HashProfile = Field(
        DEFAULT_HASH_PROFILE,
        description='wire profile of the hash service: "smartca" (VNPT SmartCA, sp769 API: '
        "get_certificate, signatures/sign, signatures/sign/{id}/status)",
    )
    base_url: str = Field(
        SANDBOX_BASE,
        description="service root: {base_url}/csc/v1/... (csc); {base_url} + the SMARTCA_*_PATH "
        "settings (smartca; VNPT: https://gwsca.vnpt.vn, UAT https://rmgateway.vnptit.vn)",
    )
    username: str = Field(
        "lgsp-sandbox", min_length=1, max_length=200, description="csc: login (HTTP Basic)"
    )
    password: SecretStr = Field(
        SecretStr("sandbox-esign-password"), description="csc: login password (never logged)"
    )
    pin: SecretStr = Field(
        SecretStr("sandbox-esign-pin"),
        description="csc: credentials/authorize PIN of the credential (never logged)",
    )
    sp_id: str = Field(
        "lgsp-sandbox-sp",
        min_length=1,
        max_length=200,
        description="smartca: the service provider's id (client id VNPT issued)",
    )
    sp_password: SecretStr = Field(
        SecretStr("sandbox-esign-sp-password"),
        description="smartca: the service provider's password (client secret; sent in the "
        "body, never logged nor recorded)",
    )
    user_id: str = Field(
        "lgsp-sandbox",
        min_length=1,
        max_length=200,
        description="smartca: the certificate holder (their CCCD/CMND/passport number or tax code)",
    )
    serial_number: str | None = Field(
        None,
        max_length=100,
        description="smartca: serial number (hex) of the holder's certificate to sign with; "
        "unset: the holder's only certificate",
    )
    smartca_certificate_path: str = Field(
        SMARTCA_PATHS.certificate,
        max_length=300,
        description="smartca: path of get_certificate under base_url",
    )
    smartca_sign_path: str = Field(
        SMARTCA_PATHS.sign, max_length=300, description="smartca: path of signatures/sign"
    )
    smartca_status_path: str = Field(
        SMARTCA_PATHS.status,
        max_length=300,
        description="smartca: path of a transaction's status; must contain {transaction_id}",
    )
    credential_id: str = Field(
        "valid",
        min_length=1,
        max_length=200,
        description="csc: the signing credential (key and certificate) held by the service",
    )
    trust_anchors: list[str] = Field(
        default_factory=lambda: [SANDBOX_ANCHOR],
        max_length=50,
        description="trusted root certificates: file paths of PEM files, inline PEM, or "
        '"sandbox" for the simulator\'s test root (development only)',
    )
    tsa_url: str | None = Field(
        "http://127.0.0.1:9000/esign/tsa",
        description="RFC 3161 timestamp authority; unset: PAdES B-B and CMS without timestamp",
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="per-request timeout")
    revocation_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="timeout of each CRL or OCSP fetch"
    )
    revocation_mirrors: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="URL prefix -> replacement for CRL and OCSP URLs named in certificates, "
        "for networks that reach a CA's responders only through a local mirror or proxy",
    )
    max_revocation_fetches: int = Field(
        20, ge=1, le=200, description="CRL/OCSP/issuer fetches allowed per verification"
    )
    max_revocation_bytes: int = Field(
        4 * 1024 * 1024,
        ge=4096,
        le=64 * 1024 * 1024,
        description="a CRL or OCSP answer larger than this is refused unread",
    )
    max_answer_bytes: int = Field(
        1024 * 1024, ge=4096, le=16 * 1024 * 1024, description="bound on the services' answers"
    )
    max_document_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        le=200 * 1024 * 1024,
        description="documents larger than this are refused (sign and verify)",
    )
    read_retry_attempts: int = Field(
        3, ge=1, le=10, description="attempts per call when a service fails transiently"
    )
    approval_wait_seconds: float = Field(
        20.0,
        ge=0,
        le=600,
        description="hash service: how long a synchronous signing waits for the holder's "
        "approval before answering that it is pending",
    )
    approval_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="hash service: interval between status polls"
    )
    approval_check_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="hash service, asynchronous signing: how often the workers ask about the "
        "signatures awaiting approval",
    )
    approval_timeout_seconds: float = Field(
        900.0,
        gt=0,
        le=7 * 86_400,
        description="hash service, asynchronous signing: a signature still unapproved this "
        "long after it was requested is given up (failed, event esign.failed)",
    )

    @field_validator("revocation_mirrors")
    @classmethod
    def _http_mirrors(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix, target in value.items():
            if not all(u.startswith(("http://", "https://")) for u in (prefix, target)):
                raise ValueError("mirror prefixes and targets must be http(s) URLs")
        return value

    @field_validator("smartca_certificate_path", "smartca_sign_path", "smartca_status_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("smartca_status_path")
    @classmethod
    def _status_path(cls, value: str) -> str:
        if "{transaction_id}" not in value:
            raise ValueError("must contain {transaction_id}")
        return value

    @field_validator("base_url", "tsa_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
