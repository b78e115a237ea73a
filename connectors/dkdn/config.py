"""Configuration of the business-registration connector (section ``LGSP_CONNECTORS__DKDN__*``).

The defaults point at the sandbox simulator so the embedded default runs with no configuration.
The wire profile is ``profile`` (read in :mod:`connectors.dkdn.client` and
:mod:`connectors.dkdn.mapping`, sources in ``docs/research/issue-23-sources.md`` section 2):

``ngsp`` (default)
    ``GET {base_url}/apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=`` on the national LGSP (NGSP)
    with ``Authorization: Bearer`` from NGSP's client-credentials token endpoint (consumer
    key/secret as HTTP Basic, ``grant_type=client_credentials``), as OpenCPS rc-3.0
    ``ApplicantManagementImpl`` calls it.
``lgsp-entcert``
    ``GET {base_url}/apiDKKD/DoanhNghiep/chiTietDoanhNghiep?msdn=`` on a provincial LGSP
    (Thanh Hoá, as PASETO calls it), answer ``{GetEntCert: [...]}``.
``lgsp-hcm``
    ``GET {base_url}/TraCuuThongTinDoanhNghiep?MaSoDoanhNghiep=`` on Ho Chi Minh City's LGSP,
    answer ``{StatusCode, Status, ResultObject}``.

Through the core's LGSP transport (``transport = "lgsp"``) the gateway sends no token of its
own: the transport adds the LGSP's. ``status_codes`` is this project's own table (only ``ACT``
is public).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.dkdn.models import TrangThai
from gateway.core.connector import ConnectorConfig

__all__ = ["DEFAULT_STATUS_CODES", "PLACEHOLDER_SECRET", "DkdnConfig", "Profile"]

#: the sandbox's consumer secret; refused in production
PLACEHOLDER_SECRET = "sandbox-dkdn-secret"  # noqa: S105 - a documented placeholder

Profile = Literal["ngsp", "lgsp-entcert", "lgsp-hcm"]

#: our profile of the status ids: ``ACT`` is public (OpenCPS ``opencps-store`` register
#: ``app.js``: ``ENTERPRISE_STATUS_ID == "ACT"``); the rest are this project's own codes
DEFAULT_STATUS_CODES: dict[str, TrangThai] = {
    "ACT": "active",
    "SUS": "suspended",  # tạm ngừng kinh doanh
    "DIP": "dissolving",  # đang làm thủ tục giải thể
    "DIS": "dissolved",  # đã giải thể
    "REV": "revoked",  # bị thu hồi giấy chứng nhận đăng ký doanh nghiệp
    "BKR": "bankrupt",  # phá sản
}


class DkdnConfig(ConnectorConfig):
    """How to reach the National Business Registration Database (through NGSP or an LGSP)."""

    model_config = ConfigDict(extra="forbid")

    profile: Profile = Field(
        "ngsp",
        description="wire profile: ngsp (national LGSP, Data.MainInformation), lgsp-entcert "
        "(provincial LGSP, GetEntCert[]), lgsp-hcm (HCM LGSP, ResultObject envelope)",
    )
    base_url: str = Field(
        "http://127.0.0.1:9000/dkdn",
        description="base address the profile's path is appended to (NGSP or the LGSP)",
        examples=["https://api.ngsp.gov.vn"],
    )
    path: str | None = Field(
        None,
        description="the look-up path when the platform publishes another than the profile's",
        examples=["/apiCSDLDKDN/1.0/chiTietDoanhNghiep"],
    )
    token_url: str | None = Field(
        None,
        description="ngsp: the token endpoint (unset: {base_url}/token)",
        examples=["https://api.ngsp.gov.vn/token"],
    )
    consumer_key: str = Field(
        "sandbox-dkdn",
        min_length=1,
        max_length=256,
        description="ngsp: the consumer key issued by NGSP (client id)",
    )
    consumer_secret: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET),
        description="ngsp: the consumer secret issued by NGSP (client secret)",
    )
    access_key: SecretStr = Field(
        SecretStr(""),
        description="lgsp-hcm: the Authorization value issued by the HCM LGSP (base64 of its "
        "access-key JSON), sent as is; empty: none",
    )
    status_codes: dict[str, TrangThai] = Field(
        default_factory=lambda: dict(DEFAULT_STATUS_CODES),
        description="the platform's status ids -> our status (active, suspended, dissolving, "
        "dissolved, revoked, bankrupt); an id not listed reads as unknown",
    )
    token_renewal_margin_seconds: float = Field(
        60.0, ge=0, le=3600, description="ngsp: renew the token this long before it expires"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="per-request timeout")
    read_retry_attempts: int = Field(
        3, ge=1, le=5, description="attempts per look-up when the platform fails transiently"
    )
    max_answer_bytes: int = Field(
        1_048_576,
        ge=4096,
        le=16 * 1024 * 1024,
        description="answers larger than this are refused (an enterprise is a few KiB)",
    )

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("/") or any(c.isspace() for c in value) or "?" in value:
            raise ValueError("must be an absolute path without a query")
        return value
