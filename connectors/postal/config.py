"""Configuration of the postal connector (section ``LGSP_CONNECTORS__POSTAL__*``).

The defaults point at the sandbox simulator (``{base_url}/token``, ``/orders``, ...) so the
embedded default runs with no configuration. The password and the webhook secret default to
documented placeholders (:data:`PLACEHOLDER_SECRETS`) that the registry refuses in production.

A one-stop centre (bộ phận một cửa) per agency code is the receiver of a pick-up (the citizen
sends the dossier to it) and the sender of a delivery (it sends the result to the citizen).

Three choices shape the wire, each read in one place (:mod:`connectors.postal.profiles`):

* ``profile``: the order as OpenCPS sends it (``opencps``, the default) or as PASETO does
  (``paseto``: two more fields);
* ``credential``: how the gateway authenticates when it calls VNPost itself (``transport``
  ``direct``): ``vnpost_token`` (this project's token request, then the ``access_token`` header
  PASETO sends), ``ngsp_client_credentials`` (OpenCPS's NGSP SDK: HTTP Basic to the token URL
  with ``grant_type=client_credentials``, then ``Authorization: <token_type> <token>``) or
  ``static_token`` (PASETO: a token issued once, sent as ``access_token``). Through the LGSP
  (``transport="lgsp"``) none applies: the LGSP holds VNPost's credential and the core's LGSP
  transport adds its own bearer token;
* ``lgsp_routing``: through the LGSP, either the platform's paths under the LGSP's address
  (``path``) or OpenCPS's one LGSP address with the operation named by ``?service=<name>``
  (``service``, names in ``lgsp_services``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from gateway.core.connector import ConnectorConfig

__all__ = [
    "PLACEHOLDER_SECRETS",
    "SANDBOX_AGENCY",
    "Centre",
    "Credential",
    "LgspServices",
    "Paths",
    "PostalConfig",
    "Profile",
]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-postal-password", "sandbox-postal-webhook"})

SANDBOX_AGENCY = "000.00.01.H22"

Profile = Literal["opencps", "paseto"]
Credential = Literal["vnpost_token", "ngsp_client_credentials", "static_token"]
#: a path under base_url (no query: the client adds it)
UrlPath = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\s?#]+$")]
ServiceName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Centre(BaseModel):
    """A one-stop centre's postal identity (it appears on every order it sends or receives)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="the centre's name")
    address: str = Field(min_length=1, max_length=500, description="street address")
    province_id: str = Field(pattern=r"^[0-9]{1,8}$", description="province code (mã tỉnh)")
    district_id: str = Field(pattern=r"^[0-9]{1,8}$", description="district code (mã huyện)")
    phone: str = Field(pattern=r"^(0|\+84)[0-9]{9,10}$", description="the centre's phone")
    email: str = Field("", max_length=200, description="the centre's e-mail, optional")


class Paths(BaseModel):
    """Each operation's path under ``base_url`` (OpenCPS configures one URL per operation:
    apiGetToken, apiPostOrder, apiCancelOrder, apiGetOrderTracking; VnPostTerm.java L40-43)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: UrlPath = "token"  # noqa: S105 - a path, not a secret
    create_order: UrlPath = "orders"
    cancel_order: UrlPath = "orders/cancel"
    tracking: UrlPath = "tracking"
    quote: UrlPath = "quote"
    statement: UrlPath = "statement"


class LgspServices(BaseModel):
    """The LGSP's service name of each operation (``?service=<name>``). The defaults are the
    names of OpenCPS's configuration keys (``lgsp_vnpost_orderpost``, ``..._ordercancel``,
    ``..._ordertracking``, ``..._getprice``: VnPostTerm.java L69-76); a province sets what its
    LGSP publishes. ``statement`` is this project's profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    create_order: ServiceName = "orderpost"
    cancel_order: ServiceName = "ordercancel"
    tracking: ServiceName = "ordertracking"
    quote: ServiceName = "getprice"
    statement: ServiceName = "statement"


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


def _json_text(value: Any, name: str) -> Any:
    # from the environment a nested section may arrive as text: a JSON object
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"{name} must be a JSON object") from None
    return value


class PostalConfig(ConnectorConfig):
    """How to reach the postal service, who the province is there, and its one-stop centres."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:9000/postal",
        description="platform root, each operation at {base_url}/{paths.<operation>}; "
        "through the LGSP, the address the LGSP publishes for VNPost (with "
        "lgsp_routing=service used exactly as given, then ?service=<name>)",
        examples=["https://hcc.vnpost.vn/api"],
    )
    profile: Profile = Field(
        "opencps",
        description="the order's shape: opencps (the 17 fields of OpenCPS's createMOrderDatas) "
        "or paseto (also ItemCode null and FlagConfig 2, PASETO's VNPostRequest.cs)",
    )
    credential: Credential = Field(
        "vnpost_token",
        description="how to authenticate with transport=direct: vnpost_token (token request, "
        "then the access_token header), ngsp_client_credentials (HTTP Basic username:password "
        "to the token URL, then Authorization: Bearer), static_token (static_token sent as "
        "access_token); not used through the LGSP",
    )
    static_token: SecretStr = Field(
        SecretStr(""),
        description="the access token VNPost issued (credential static_token; never logged)",
    )
    paths: Paths = Field(
        default_factory=Paths,
        description="each operation's path under base_url (JSON object from the environment)",
    )
    lgsp_routing: Literal["path", "service"] = Field(
        "path",
        description="through the LGSP: path (the paths under base_url) or service "
        "(base_url?service=<lgsp_services.<operation>>, as OpenCPS calls its LGSP)",
    )
    lgsp_services: LgspServices = Field(
        default_factory=LgspServices,
        description="the LGSP's service name of each operation, for lgsp_routing=service",
    )
    customer_code: str = Field(
        "LGSP-SANDBOX",
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="the province's customer code (CustomerCode) at the postal service",
    )
    username: str = Field(
        "lgsp-sandbox",
        min_length=1,
        max_length=128,
        description="the API account's user name (ngsp_client_credentials: the consumer key)",
    )
    password: SecretStr = Field(
        SecretStr("sandbox-postal-password"),
        description="the API account's password (ngsp_client_credentials: the consumer "
        "secret; never logged)",
    )
    webhook_secret: SecretStr = Field(
        SecretStr("sandbox-postal-webhook"),
        description="HMAC-SHA256 key of the status webhooks the platform signs (never logged)",
    )
    service_name: str = Field(
        "HCC", pattern=r"^HCC$", description='the service code: "HCC" (public administration)'
    )
    tracking_page_size: int = Field(
        1000,
        ge=1,
        le=1000,
        description="documents per page of the tracking feed (pagesize; at most 1000)",
    )
    tracking_max_pages: int = Field(
        20,
        ge=1,
        le=1000,
        description="at most this many feed pages are read to track one order",
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
        # LGSP_CONNECTORS__POSTAL__CENTRES holds {agency code: {name, address, province_id, ...}}
        return _json_text(value, "CENTRES (keyed by agency code)")

    @field_validator("paths", "lgsp_services", mode="before")
    @classmethod
    def _json_sections(cls, value: Any) -> Any:
        return _json_text(value, "the section")

    @model_validator(mode="after")
    def _static_token_given(self) -> PostalConfig:
        if (
            self.transport == "direct"
            and self.credential == "static_token"
            and not self.static_token.get_secret_value()
        ):
            raise ValueError("credential static_token needs STATIC_TOKEN")
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # kept as given: with lgsp_routing=service the LGSP's address is used as it is (OpenCPS
        # appends "?service=" to it); the client joins paths without doubling a slash
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value
