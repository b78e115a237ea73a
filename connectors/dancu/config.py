"""Configuration of the population-database connector (section ``LGSP_CONNECTORS__DANCU__*``).

The defaults point at the sandbox simulator so the embedded default runs with no configuration.
There is no secret here: the platform authenticates each officer with their own credential
(``AuthHash``), kept encrypted in the officer registry (seed 004, Điều 8), never in settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field, field_validator

from gateway.core.connector import ConnectorConfig

#: the WSDL shipped with the gateway (the default profile of the platform)
BUNDLED_WSDL = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"


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

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("endpoint_url must start with http:// or https://")
        return value.rstrip("/")
