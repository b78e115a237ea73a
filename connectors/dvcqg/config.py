"""Configuration of the DVCQG connector (section ``LGSP_CONNECTORS__DVCQG__*``).

The defaults point at the sandbox simulator so the embedded default runs with no
configuration; the password default is a documented placeholder that the gateway settings
refuse outside development (see :data:`PLACEHOLDER_SECRETS`).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr, field_validator

from gateway.core.connector import ConnectorConfig
from schemas.dvcqg import AGENCY_CODE_PATTERN

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-secret", "sandbox-portal-push-secret-0123456789"})


class DvcqgConfig(ConnectorConfig):
    """How to reach the DVCQG adapter (directly, or through the provincial LGSP)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:9000/dvcqg",
        description="adapter root; the client posts to {base_url}/auth and {base_url}/api",
        examples=["https://lgsp.example.gov.vn/dvcqg"],
    )
    username: str = Field("lgsp-sandbox", min_length=1, description="adapter account")
    password: SecretStr = Field(
        SecretStr("sandbox-secret"), description="adapter password (never logged)"
    )
    madonvi: str = Field(
        "000.00.00.H22",
        pattern=AGENCY_CODE_PATTERN,
        description="the province's agency code (mã định danh cơ quan), sent on every call",
        examples=["000.00.00.H22"],
    )
    timeout_seconds: float = Field(10.0, gt=0, description="per-request timeout")
    step_chunk_size: int = Field(
        10, ge=1, le=10, description="processing steps per CapNhatTienDoHoSoMC call"
    )
    read_retry_attempts: int = Field(
        3, ge=1, le=10, description="attempts for read-only calls (auth and look-ups)"
    )
    catalogue_ttl_seconds: float = Field(
        3600, gt=0, description="age after which the procedure catalogue is refreshed"
    )

    push_secret: SecretStr = Field(
        SecretStr("sandbox-portal-push-secret-0123456789"),
        min_length=24,
        description="secret the portal signs its pushes to /callbacks/dvcqg/dossiers with "
        "(Standard Webhooks headers; never logged)",
    )
    push_tolerance_seconds: int = Field(
        300, ge=1, le=3600, description="how far a push's webhook-timestamp may be from now"
    )
    pull_interval_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="how often online dossiers are pulled from the portal (0: never; push only)",
    )
    pull_batch: int = Field(
        50, ge=1, le=50, description="online dossiers asked for per LayDanhSachHoSoTrucTuyen"
    )
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="documents of online dossiers larger than this are recorded, not kept",
    )
    attachment_hosts: list[str] = Field(
        default_factory=list,
        description="hosts documents may be fetched from (besides base_url's own host): "
        "nothing else is ever requested",
    )

    sign_results: bool = Field(
        True,
        description="sign result documents before they go to the citizen's data store, when "
        "a signing connector (eSign) is configured",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # the client joins paths onto it, so a trailing slash would double up
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")
