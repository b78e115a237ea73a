"""Configuration of the postal connector (section ``LGSP_CONNECTORS__POSTAL__*``).

The defaults point at the sandbox simulator (``{base_url}/token``, ``/orders``, ...) so the
embedded default runs with no configuration. The password and the webhook secret default to
documented placeholders (:data:`PLACEHOLDER_SECRETS`) that the registry refuses in production.

A one-stop centre (bộ phận một cửa) per agency code is the receiver of a pick-up (the citizen
sends the dossier to it) and the sender of a delivery (it sends the result to the citizen).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gateway.core.connector import ConnectorConfig

__all__ = ["PLACEHOLDER_SECRETS", "SANDBOX_AGENCY", "Centre", "PostalConfig"]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-postal-password", "sandbox-postal-webhook"})

SANDBOX_AGENCY = "000.00.01.H22"


class Centre(BaseModel):
    """A one-stop centre's postal identity (it appears on every order it sends or receives)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="the centre's name")
    address: str = Field(min_length=1, max_length=500, description="street address")
    province_id: str = Field(pattern=r"^\d{1,8}$", description="province code (mã tỉnh)")
    district_id: str = Field(pattern=r"^\d{1,8}$", description="district code (mã huyện)")
    phone: str = Field(pattern=r"^(0|\+84)\d{9,10}$", description="the centre's phone")
    email: str = Field("", max_length=200, description="the centre's e-mail, optional")


def _sandbox_centres() -> dict[str, Centre]:
    return {
        SANDBOX_AGENCY: Centre(
            name="Bộ phận Một cửa UBND tỉnh (sandbox)",
            address="1 Trần Phú, phường Hùng Vương",
            province_id="25",
            district_id="227",
            phone="02103846123",
            email="motcua@example.gov.vn",
        )
    }


class PostalConfig(ConnectorConfig):
    """How to reach the postal service, who the province is there, and its one-stop centres."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:9000/postal",
        description="platform root: {base_url}/token, /orders, /orders/cancel, /quote, "
        "/tracking, /statement",
        examples=["https://hcc.vnpost.vn/api"],
    )
    customer_code: str = Field(
        "LGSP-SANDBOX",
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="the province's customer code (CustomerCode) at the postal service",
    )
    username: str = Field(
        "lgsp-sandbox", min_length=1, max_length=128, description="the API account's user name"
    )
    password: SecretStr = Field(
        SecretStr("sandbox-postal-password"),
        description="the API account's password (never logged)",
    )
    webhook_secret: SecretStr = Field(
        SecretStr("sandbox-postal-webhook"),
        description="HMAC-SHA256 key of the status webhooks the platform signs (never logged)",
    )
    service_name: str = Field(
        "HCC", pattern=r"^HCC$", description='the service code: "HCC" (public administration)'
    )
    token_renewal_margin_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="a token is renewed this long before it expires",
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="per-request timeout")
    read_retry_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="attempts of read-only calls (token, quote, tracking, statement) when the "
        "platform fails transiently; writes are retried by the outbox",
    )
    max_answer_bytes: int = Field(
        1024 * 1024,
        ge=4096,
        le=64 * 1024 * 1024,
        description="answers larger than this are refused unread (statements included)",
    )
    quiet_after_seconds: float = Field(
        3600.0,
        gt=0,
        le=30 * 86_400,
        description="a shipment not final with no status for this long is polled (tracking)",
    )
    poll_interval_seconds: float = Field(
        60.0, gt=0, le=86_400, description="how often the poller of quiet shipments runs"
    )
    poll_batch_size: int = Field(
        50, ge=1, le=1000, description="at most this many quiet shipments per poller round"
    )
    webhook_tolerance_seconds: int = Field(
        300,
        ge=1,
        le=86_400,
        description="a webhook whose signed timestamp is further than this from now is refused",
    )
    centres: dict[str, Centre] = Field(
        default_factory=_sandbox_centres,
        description="the one-stop centre per agency code (mã định danh cơ quan)",
    )

    @field_validator("centres", mode="before")
    @classmethod
    def _json_centres(cls, value: Any) -> Any:
        # from the environment the section arrives as text: LGSP_CONNECTORS__POSTAL__CENTRES
        # holds a JSON object {agency code: {name, address, province_id, ...}}
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("CENTRES must be a JSON object keyed by agency code") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # the client joins paths onto it, so a trailing slash would double up
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")
