"""Configuration of the eSign connector (section ``LGSP_CONNECTORS__ESIGN__*``).

The defaults point at the sandbox simulator (``{base_url}/csc/v1/...``, ``{base_url}/hash/v1/...``,
``{base_url}/tsa``) and trust the sandbox's test root (``trust_anchors = ["sandbox"]``), so the
embedded default signs and verifies with no configuration. In production set ``TRUST_ANCHORS`` to
the national root CA certificates (PEM files or inline PEM). The placeholder secrets
(:data:`PLACEHOLDER_SECRETS`) and the ``sandbox`` anchor are refused in production by the
registry (``SPEC.production_refusals``); ``lgsp connectors check esign`` names the anchors in
use.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from gateway.core.connector import ConnectorConfig

__all__ = ["PLACEHOLDER_SECRETS", "SANDBOX_ANCHOR", "EsignConfig"]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset(
    {"sandbox-esign-password", "sandbox-esign-pin", "sandbox-esign-api-key"}
)
#: the trust anchor that stands for the sandbox's test root CA
SANDBOX_ANCHOR = "sandbox"


class EsignConfig(ConnectorConfig):
    """Which remote signing service to use, and what to trust when verifying."""

    model_config = ConfigDict(extra="forbid")

    service: Literal["csc", "hash"] = Field(
        "csc",
        description='"csc": a Cloud Signature Consortium style service (MySign); "hash": a '
        "hash-signing service whose holder approves each signature (SmartCA)",
    )
    base_url: str = Field(
        "http://127.0.0.1:9000/esign",
        description="service root: {base_url}/csc/v1/... or {base_url}/hash/v1/...",
    )
    username: str = Field(
        "lgsp-sandbox", min_length=1, max_length=200, description="CSC login (HTTP Basic)"
    )
    password: SecretStr = Field(
        SecretStr("sandbox-esign-password"), description="CSC login password (never logged)"
    )
    pin: SecretStr = Field(
        SecretStr("sandbox-esign-pin"),
        description="CSC credentials/authorize PIN of the credential (never logged)",
    )
    api_key: SecretStr = Field(
        SecretStr("sandbox-esign-api-key"),
        description="hash service: the gateway's API key, sent as a bearer token (never logged)",
    )
    user_id: str = Field(
        "lgsp-sandbox", min_length=1, max_length=200, description="hash service: the holder"
    )
    credential_id: str = Field(
        "valid",
        min_length=1,
        max_length=200,
        description="the signing credential (key and certificate) held by the service",
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

    @field_validator("base_url", "tsa_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
