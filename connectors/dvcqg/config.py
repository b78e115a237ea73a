"""Configuration of the DVCQG connector (section ``LGSP_CONNECTORS__DVCQG__*``).

The defaults point at the sandbox simulator so the embedded default runs with no
configuration; the password default is a documented placeholder that the gateway settings
refuse outside development (see :data:`PLACEHOLDER_SECRETS`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.dvcqg.profiles import DEFAULT_PROFILE, ProfileName
from gateway.core.connector import ConnectorConfig
from schemas.dvcqg import AGENCY_CODE_PATTERN

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-secret", "sandbox-portal-push-secret-0123456789"})


class DvcqgConfig(ConnectorConfig):
    """How to reach the DVCQG adapter (directly, or through the provincial LGSP)."""

    model_config = ConfigDict(extra="forbid")

    profile: ProfileName = Field(
        DEFAULT_PROFILE,
        description="wire profile of the dossier packet: opencps (exactly OpenCPS rc-3.0's 26 "
        "fields) or paseto (OpenCPS's fields plus the newer ones PASETO sends); see "
        "connectors.dvcqg.profiles",
    )
    base_url: str = Field(
        "http://127.0.0.1:9000/dvcqg",
        description="adapter root (OpenCPS adapter_url); the endpoints below are joined to it",
        examples=["https://lgsp.example.gov.vn/dvcqg"],
    )
    auth_endpoint: str = Field(
        "/auth", description="path of the auth call, after base_url (OpenCPS auth_endpoint)"
    )
    integration_endpoint: str = Field(
        "/api",
        description="path of the integration endpoint: dossiers, steps, TraCuuHoSo, LayThuTuc "
        "(OpenCPS integration_endpoint)",
    )
    share_endpoint: str = Field(
        "/share",
        description="path of the share endpoint: LayDanhSachTTHC and the code lists "
        "LayDanhMucCoQuan, LayDanhMucLinhVuc (OpenCPS share_endpoint)",
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
    dstcode: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="the unit's code sent in the dstcode header of every call, auth included "
        "(OpenCPS dstcode); unset: madonvi",
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
    catalogue_refresh_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="a catalogue refresh (LayDanhSachTTHC, in the background) that takes longer "
        "is abandoned as failed",
    )
    unknown_procedure: Literal["retry", "refuse"] = Field(
        "retry",
        description="a MaTTHC not in the cached catalogue while it is being refreshed or the "
        'portal is down: "retry" answers 503 with Retry-After (it may be a procedure published '
        'since), "refuse" answers 422',
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

    @field_validator("auth_endpoint", "integration_endpoint", "share_endpoint")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value) or "//" in value:
            raise ValueError("an endpoint is a path starting with / (joined to base_url)")
        return value

    @property
    def unit_code(self) -> str:
        """What goes in the ``dstcode`` header."""
        return self.dstcode or self.madonvi
