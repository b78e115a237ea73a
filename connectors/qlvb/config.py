"""Configuration of the document management connector (section ``LGSP_CONNECTORS__QLVB__*``).

The defaults point at the sandbox simulator so the embedded default runs with no
configuration; the exchange axis's ``secret`` and the status callback's ``callback_secret``
default to documented placeholders (:data:`PLACEHOLDER_SECRETS`) refused in production.

Choices that shape the wire (``docs/research/issue-23-sources.md`` section 1):

* ``profile``: ``edxml`` (QCVN 102:2016 packages through an exchange axis, the VXP SDK's
  operations: the only profile built; PASETO's JSON profile of Thanh Hoá, section 1.8, is not);
* ``signature``: ``none`` (what the Lạng Sơn hub and OpenCPS send) or ``xmldsig`` (the
  package signed by the signing connector found in the registry, as the samples carry it);
* ``document_types``: the ``DocumentType`` code table (the sources disagree: 1 "Công văn" in
  the VXP-SDK and Bkav samples, 18 in the Lạng Sơn builder);
* ``require_status_signature`` with ``trusted_certificates``: status packages must carry an
  XML-DSig signature by one of these certificates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.core.connector import ConnectorConfig
from schemas.qlvb import ORGAN_ID_PATTERN

__all__ = ["PLACEHOLDER_SECRETS", "SANDBOX_AGENCY", "Agency", "QlvbConfig"]

#: credentials anyone can read in this file; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-qlvb-secret", "sandbox-qlvb-callback"})

SANDBOX_AGENCY = "000.00.00.H22"

DEFAULT_TYPES: dict[int, str] = {
    1: "Công văn",
    2: "Quyết định",
    3: "Tờ trình",
    4: "Báo cáo",
    5: "Thông báo",
    6: "Giấy mời",
    7: "Kế hoạch",
}


class Agency(BaseModel):
    """The sender's ``From`` block (the province's one-stop centre on the exchange axis)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organ_id: str = Field(
        SANDBOX_AGENCY, pattern=ORGAN_ID_PATTERN, description="OrganId (mã định danh)"
    )
    organization_in_charge: str = Field(
        "UBND tỉnh (sandbox)", max_length=200, description="OrganizationInCharge"
    )
    organ_name: str = Field(
        "Trung tâm Phục vụ hành chính công (sandbox)",
        min_length=1,
        max_length=200,
        description="OrganName",
    )
    organ_add: str = Field("Số 1 đường sandbox", max_length=500, description="OrganAdd")
    email: str = Field("", max_length=200, description="Email")
    telephone: str = Field("", max_length=50, description="Telephone")
    fax: str = Field("", max_length=50, description="Fax")
    website: str = Field("", max_length=200, description="Website")
    department: str = Field(
        "Bộ phận Một cửa", max_length=200, description="Bussiness/StaffInfo/Department"
    )
    staff: str = Field("LGSP Gateway", max_length=200, description="Bussiness/StaffInfo/Staff")


class QlvbConfig(ConnectorConfig):
    """How the gateway reaches the province's document exchange axis."""

    model_config = ConfigDict(extra="forbid")

    profile: Literal["edxml"] = Field(
        "edxml", description="edxml: QCVN 102:2016 packages over the VXP SDK's operations"
    )
    base_url: str = Field(
        "http://127.0.0.1:9000/qlvb",
        description="the exchange axis: {base_url}/sendEdoc, /getReceivedEdocList, /getEdoc, "
        "/updateStatus (this project's HTTP profile under the SDK's operation names)",
    )
    system_id: str = Field(
        "lgsp.sandbox.01", min_length=1, max_length=100, description="the SDK's systemid"
    )
    secret: SecretStr = Field(
        SecretStr("sandbox-qlvb-secret"), description="the SDK's shared secret (placeholder)"
    )
    sender: Agency = Field(default_factory=Agency, description="the From block we write")
    signature: Literal["none", "xmldsig"] = Field(
        "none",
        description="none, or xmldsig: each package signed by the registry's document signer",
    )
    document_types: dict[int, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: dict(DEFAULT_TYPES),
        description="DocumentType.Type code -> TypeName (the sources disagree on the codes)",
    )
    callback_secret: SecretStr = Field(
        SecretStr("sandbox-qlvb-callback"),
        description="HMAC-SHA256 key of pushed status packages (X-QLVB-Signature)",
    )
    callback_tolerance_seconds: int = Field(
        300, ge=10, le=3600, description="how old a pushed status's X-QLVB-Timestamp may be"
    )
    require_status_signature: bool = Field(
        False, description="refuse status packages without a valid XML-DSig signature"
    )
    trusted_certificates: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="PEM certificates whose XML-DSig signatures on status packages are trusted",
    )
    max_attachments: int = Field(10, ge=1, le=50, description="attachments per document")
    max_attachment_bytes: int = Field(
        512 * 1024, ge=1024, le=50 * 1024 * 1024, description="decoded size of one attachment"
    )
    max_package_bytes: int = Field(
        4 * 1024 * 1024, ge=16 * 1024, description="the largest edXML package read or written"
    )
    max_answer_bytes: int = Field(
        1024 * 1024, ge=1024, description="the largest JSON answer read from the axis"
    )
    timeout_seconds: float = Field(15.0, gt=0, le=120, description="per request")
    poll_interval_seconds: float = Field(
        30.0, gt=0, description="how often status packages are pulled"
    )
    poll_batch_size: int = Field(50, ge=1, le=500, description="status packages per round")

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("callback_secret")
    @classmethod
    def _strong_enough(cls, value: SecretStr) -> SecretStr:
        # an empty or short HMAC key lets anyone sign a status package (an empty key is
        # computable by all): refused, naming the variable, never the value
        if len(value.get_secret_value()) < 16:
            raise ValueError("at least 16 characters (an HMAC key)")
        return value

    @field_validator("trusted_certificates")
    @classmethod
    def _pem(cls, value: list[str]) -> list[str]:
        for n, pem in enumerate(value):
            try:
                x509.load_pem_x509_certificate(pem.encode())
            except ValueError:
                raise ValueError(f"trusted_certificates[{n}] is not a PEM certificate") from None
        return value

    @model_validator(mode="after")
    def _trust_to_require(self) -> QlvbConfig:
        if self.require_status_signature and not self.trusted_certificates:
            raise ValueError("require_status_signature needs trusted_certificates")
        return self
