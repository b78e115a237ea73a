"""The core routes' answers, typed for the OpenAPI document (issue 21): what a generated client
reads. The routes keep building their answers as they did; these models describe them field
for field (Schemathesis checks every answer against them, ``tests/e2e/test_schemathesis.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    # aliases in the document as in the answers ("from")
    model_config = ConfigDict(populate_by_name=True)


class Liveness(_Answer):
    status: Literal["alive"]


class Readiness(_Answer):
    status: Literal["ready", "not-ready"]
    database: bool
    state_store: bool


class Latency(_Answer):
    p50: float | None
    p95: float | None
    p99: float | None


class OutboxCounts(_Answer):
    queued: int
    failed: int
    delivering: int


class Window(_Answer):
    """A maintenance window (times in Việt Nam's offset)."""

    id: int
    scope: str = Field(description="a connector's slug, or 'gateway'")
    kind: Literal["maintenance", "upgrade"]
    from_: str = Field(alias="from", examples=["2026-12-12T22:00:00+07:00"])
    to: str = Field(examples=["2026-12-13T04:00:00+07:00"])
    reason: str
    urgent: bool
    source: str = Field(description="where it was declared: api, cli, config or the platform")
    created_by: str | None
    cancelled: bool


class ConnectorHealth(_Answer):
    slug: str
    title: str
    transport: str = Field(description="direct, or lgsp (through the provincial platform)")
    profile: str | None = Field(None, description="the wire profile, for connectors with several")
    circuit: Literal["closed", "open", "half_open"]
    last_success_at: str | None
    last_failure_at: str | None
    attempts_considered: int = Field(description="the latest attempts the figures cover")
    error_rate: float
    latency_ms: Latency
    outbox: OutboxCounts
    dead_letters: int
    maintenance: Window | None
    upcoming_maintenance: list[Window]


class Anchoring(_Answer):
    configured: bool
    authority: str | None = None
    last_checkpoint_seq: int | None = None
    last_anchored_seq: int | None = None
    last_anchor_at: str | None = None
    unanchored_checkpoints: int | None = None
    unanchored_since: str | None = None
    lag_seconds: float | None = None


class AuditHealth(_Answer):
    anchoring: Anchoring


class ConnectorsHealth(_Answer):
    connectors: list[ConnectorHealth]
    audit: AuditHealth


class DeadLetter(_Answer):
    id: int
    exchange_id: str
    connector: str
    operation: str
    ma_ho_so: str | None
    status: Literal["queued", "failed", "delivering", "dead", "delivered", "skipped"]
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


class DeadLetters(_Answer):
    items: list[DeadLetter]


class Delivery(_Answer):
    attempts: int
    last_error: str | None
    next_attempt_at: str | None = Field(description="when it is tried next, while it waits")
    delivered_at: str | None
    held_by: str | None = Field(
        description="the exchange id of the dead letter that holds this dossier's queue"
    )


class Attempt(_Answer):
    entry_id: str
    operation: str | None
    started_at: str
    duration_ms: float
    outcome: str = Field(description="answered, http-<status>, or error:<what failed>")
    status_code: int | None


class Exchange(_Answer):
    """One exchange: what was asked, where its delivery stands, the attempts it took."""

    exchange_id: str
    kind: str = Field(description="inbound, callback, refusal, ...")
    connector: str | None
    operation: str | None
    client: str | None
    ma_ho_so: str | None
    received_at: str
    state: str = Field(
        description="for a delivery, its outbox status (queued, delivering, failed, dead, "
        "delivered, skipped); otherwise the outcome recorded"
    )
    delivery: Delivery | None
    attempts: list[Attempt]


class Windows(_Answer):
    active: list[Window]
    upcoming: list[Window]


class PlatformStatus(_Answer):
    maintenance: Window | None
    upcoming: list[Window]


class GatewayStatus(_Answer):
    current: Window | None
    upcoming: list[Window]


class Status(_Answer):
    """Public: whether the gateway and each platform are in maintenance, and what is announced."""

    status: Literal["operational", "maintenance"]
    gateway: GatewayStatus
    platforms: dict[str, PlatformStatus]


def answer(model: type[BaseModel], description: str = "OK") -> dict[str, Any]:
    """A success answer for a route's ``responses=`` (the document only: the route's answer is
    what it returns)."""
    return {"model": model, "description": description}
