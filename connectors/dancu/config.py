"""Configuration of the population-database connector (section ``LGSP_CONNECTORS__DANCU__*``).

The defaults point at the sandbox simulator so the embedded default runs with no configuration.
How the gateway authenticates to the platform is the ``credential`` profile, read in one place
(:mod:`connectors.dancu.profile`, which cites the public source of each):

``authhash`` (default)
    Each officer's own credential, ``AuthHash = base64(name:pass)`` in the SOAP header, kept
    encrypted in the officer registry (seed 004, Điều 8), never in settings. No public sender
    shows it; it is this project's own profile, kept as the default because every existing
    deployment of the gateway, its demo and its officer registry rest on it.
``basic``
    The province's integration account: HTTP ``Authorization: Basic base64(user:
    sha256hex(url + user + timestamp + secret))`` with a ``timestamp`` header, the SOAP header
    empty. The user and the secret are settings here (``basic_username``, ``basic_secret``),
    because both public direct callers keep them in their application's configuration, one
    account per integration, not per officer: the officer is named in the body (``MaCanBo``,
    ``TaiKhoan``), as they do.
``lgsp``
    No platform credential at all (``<soapenv:Header/>`` empty, no Basic): the request goes
    through the province's LGSP (``transport = "lgsp"``, required), which authenticates the
    gateway with its own token and holds the platform's credential, as OpenCPS does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.core.connector import ConnectorConfig

__all__ = ["BUNDLED_WSDL", "PLACEHOLDER_SECRET", "CredentialProfile", "DancuConfig", "NameForm"]

#: the WSDL shipped with the gateway (the default profile of the platform)
BUNDLED_WSDL = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"

#: the sandbox's integration secret for the ``basic`` profile; refused in production
PLACEHOLDER_SECRET = "sandbox-dancu-secret"  # noqa: S105 - a documented placeholder

CredentialProfile = Literal["authhash", "basic", "lgsp"]
NameForm = Literal["spaced", "squeezed"]

_UNIT_CODE = r"^[^\s]{1,35}$"


class DancuConfig(ConnectorConfig):
    """How to reach the National Population Database (directly, or through the LGSP)."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str = Field(
        "http://127.0.0.1:9000/dancu/ws",
        description="SOAP endpoint the operations are posted to (overrides the WSDL's address)",
        examples=["https://lgsp.example.gov.vn/dancu/ws"],
    )
    wsdl: str = Field(
        str(BUNDLED_WSDL),
        description="the platform's WSDL: a file path or an http(s) URL, read once at start-up",
    )
    ma_tich_hop: str = Field(
        "LGSP-SANDBOX",
        min_length=1,
        max_length=64,
        description="the province's integration code (MaTichHop) issued by the platform",
    )
    credential: CredentialProfile = Field(
        "authhash",
        description="how the gateway authenticates to the platform: authhash (each officer's "
        "AuthHash in the SOAP header), basic (the province's account: HTTP Basic with "
        "SHA-256 and a timestamp), lgsp (none: through the LGSP, transport must be lgsp)",
    )
    ma_dvc: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="a fixed MaDVC issued with the integration, sent instead of the "
        "procedure code of the look-up (unset: the procedure code)",
        examples=["VPCP"],
    )
    ma_don_vi: str = Field(
        "000.00.01.H22",
        pattern=_UNIT_CODE,
        description="the unit's code sent as MaDonVi (String 35) when the officer's unit has "
        "no code of its own in unit_codes",
        examples=["000.00.01.H22"],
    )
    unit_codes: dict[str, str] = Field(
        default_factory=dict,
        description="the officer registry's units (don_vi, as registered) -> their MaDonVi",
        examples=[{"Bộ phận Một cửa UBND tỉnh": "000.00.01.H22"}],
    )
    send_tai_khoan: bool = Field(
        True, description="send the officer's gateway login as TaiKhoan (the account asking)"
    )
    so_dien_thoai: str | None = Field(
        None,
        pattern=r"^\+?[0-9]{1,20}$",
        description="a contact number sent as SoDienThoai (not sent when unset)",
    )
    ho_va_ten: NameForm = Field(
        "spaced",
        description="HoVaTen as sent: spaced (upper case, no diacritics, spaces kept) or "
        "squeezed (the same without spaces)",
    )
    basic_username: str = Field(
        "SANDBOX-037",
        min_length=1,
        max_length=128,
        description="basic profile: the province's integration account (user name)",
    )
    basic_secret: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET),
        description="basic profile: the integration account's secret key (hashed, never sent)",
    )
    basic_auth_url: str | None = Field(
        None,
        description="basic profile: the URL hashed with the user, timestamp and secret, when "
        "the platform names one other than endpoint_url",
    )
    basic_timestamp: Literal["milliseconds", "seconds"] = Field(
        "milliseconds",
        description="basic profile: the timestamp header in milliseconds or seconds since 1970",
    )
    timeout_seconds: float = Field(10.0, gt=0, description="per-request timeout")
    read_retry_attempts: int = Field(
        2, ge=1, le=5, description="attempts per look-up when the platform fails transiently"
    )
    max_answer_bytes: int = Field(
        262_144,
        ge=4096,
        le=16 * 1024 * 1024,
        description="answers larger than this are refused unread (a citizen record is ~2 KiB)",
    )

    @field_validator("endpoint_url", "basic_auth_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("unit_codes")
    @classmethod
    def _unit_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for unit, code in value.items():
            if not code or len(code) > 35 or any(ch.isspace() for ch in code):
                raise ValueError(f"the code of unit {unit!r} is not a MaDonVi (1-35 characters)")
        return {unit.strip(): code for unit, code in value.items()}

    @model_validator(mode="after")
    def _credential_fits_the_transport(self) -> DancuConfig:
        if self.credential == "lgsp" and self.transport != "lgsp":
            raise ValueError(
                "credential 'lgsp' sends no platform credential: it needs transport 'lgsp' "
                "(LGSP_CONNECTORS__DANCU__TRANSPORT=lgsp)"
            )
        if self.credential == "basic" and self.transport == "lgsp":
            raise ValueError(
                "credential 'basic' is for a direct caller: through the LGSP its Authorization "
                "header is the LGSP's; use credential 'lgsp' (or 'authhash')"
            )
        return self
