"""Configuration of the payment-platform connector (section ``LGSP_CONNECTORS__PAYMENT__*``).

The defaults point at the sandbox simulator (``{base_url}/init``, ``/query``, ``/statement``)
so the embedded default runs with no configuration. The secret and both keys default to
documented placeholders (:data:`PLACEHOLDER_SECRETS`) that the registry refuses in production.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.payment.checksum import ChecksumVariant
from gateway.core.connector import ConnectorConfig

__all__ = ["PLACEHOLDER_SECRETS", "Beneficiary", "PaymentConfig", "Profile"]

#: how INIT's packet is typed (:mod:`connectors.payment.profiles`)
Profile = Literal["paseto", "opencps"]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset(
    {"sandbox-payment-secret", "sandbox-payment-send", "sandbox-payment-verify"}
)

SANDBOX_AGENCY = "000.00.01.H22"


class Beneficiary(BaseModel):
    """The account an agency's fees are paid into (seed 003, Điều 17.7.b)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str = Field(
        min_length=1, max_length=64, pattern=r"^[^|\s]+$", description="account number"
    )
    bank: str = Field(
        min_length=1, max_length=64, pattern=r"^[^|\s]+$", description="the bank's code"
    )
    name: str = Field(
        min_length=1, max_length=200, pattern=r"^[^|]+$", description="the account holder"
    )


def _sandbox_beneficiaries() -> dict[str, Beneficiary]:
    return {
        SANDBOX_AGENCY: Beneficiary(
            account="0011001234567", bank="970436", name="VAN PHONG UBND TINH SANDBOX"
        )
    }


class PaymentConfig(ConnectorConfig):
    """How to reach the DVCQG online payment platform, and how to sign for it."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:9000/payment",
        description="platform root; the client posts to {base_url}/init and {base_url}/query "
        "and reads {base_url}/statement",
        examples=["https://thanhtoan.dichvucong.gov.vn/api"],
    )
    profile: Profile = Field(
        "paseto",
        description='"paseto": every value of ThongTinBienLai a JSON string, as PASETO sends it; '
        '"opencps": MaDichVu and PhiLePhi[].SoTien as JSON numbers, as OpenCPS sends them',
    )
    access_token: SecretStr | None = Field(
        None,
        description="a bearer token sent on every call when the platform is reached directly "
        "behind a gateway that wants one (PASETO's AccessToken; never logged)",
    )
    paths: dict[str, str] = Field(
        default_factory=dict,
        description="the path of an operation (init, query, statement) under base_url, when "
        'it is not its name (JSON, e.g. {"init": "api/v1/init"})',
    )

    @field_validator("paths")
    @classmethod
    def _known_paths(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - {"init", "query", "statement"}
        if unknown:
            raise ValueError(f"paths: unknown operation(s) {sorted(unknown)}")
        return {name: path.strip("/") for name, path in value.items()}

    ma_doi_tac: str = Field(
        "LGSP-SANDBOX",
        min_length=1,
        max_length=64,
        pattern=r"^[^|\s]+$",
        description="the partner code (MaDoiTac) the platform issued to the province",
    )
    checksum_variant: ChecksumVariant = Field(
        "sha256",
        description='"sha256": SHA-256 over the fields and the shared secret; "hmac2": the '
        "older HMAC-SHA256 with a send key and a verify key",
    )
    secret: SecretStr = Field(
        SecretStr("sandbox-payment-secret"),
        description='shared secret of the "sha256" variant (never logged)',
    )
    send_key: SecretStr = Field(
        SecretStr("sandbox-payment-send"),
        description='"hmac2": key of what the gateway sends (never logged)',
    )
    verify_key: SecretStr = Field(
        SecretStr("sandbox-payment-verify"),
        description='"hmac2": key of what the platform sends (never logged)',
    )
    timeout_seconds: float = Field(10.0, gt=0, description="per-request timeout")
    read_retry_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="attempts per call when the platform fails transiently (INIT is "
        "idempotent per MaThamChieu and resent byte for byte)",
    )
    max_answer_bytes: int = Field(
        1024 * 1024,
        ge=4096,
        le=64 * 1024 * 1024,
        description="answers larger than this are refused unread (statements included)",
    )
    callback_tolerance_seconds: int = Field(
        900,
        ge=0,
        le=86_400,
        description="how far a callback's ThoiGianGD may be from now before it is refused",
    )
    poll_interval_seconds: float = Field(
        60.0, gt=0, le=3600, description="how often the poller of pending payments runs a round"
    )
    poll_after_seconds: int = Field(
        600,
        ge=0,
        le=7 * 86_400,
        description="a payment still pending this long after its creation is asked about (QUERY)",
    )
    poll_every_seconds: int = Field(
        300,
        ge=1,
        le=86_400,
        description="and asked again at most this often while it stays pending",
    )
    poll_batch: int = Field(50, ge=1, le=1000, description="payments asked about per round")
    poll_give_up_seconds: int = Field(
        2 * 86_400,
        ge=60,
        description="a payment whose INIT never succeeded and that the platform does not know "
        "after this long is expired (nobody can have paid it)",
    )
    beneficiaries: dict[str, Beneficiary] = Field(
        default_factory=_sandbox_beneficiaries,
        description="beneficiary account per agency code (mã định danh cơ quan)",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # the client joins paths onto it, so a trailing slash would double up
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")
