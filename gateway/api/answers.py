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


class OffConnector(_Answer):
    """A registered connector left out by LGSP_CONNECTORS_OFF: not built, no health figures."""

    slug: str
    title: str
    state: Literal["off"] = "off"


class ConnectorsHealth(_Answer):
    connectors: list[ConnectorHealth]
    off: list[OffConnector] = Field(
        default_factory=list,
        description="registered connectors left out (LGSP_CONNECTORS_OFF); their items wait",
    )
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


class ChainProblem(_Answer):
    kind: str = Field(
        description="missing, altered, reordered, broken-link, checkpoint, truncated, "
        "uncovered, rewritten, untrusted-key, forged, anchor, late-anchor, unanchored, "
        "selection, manifest or untraced"
    )
    seq: int | None
    entry_id: str | None
    message: str


class Verification(_Answer):
    """The exchange log's verification: intact (``ok``) or the first problem, named."""

    ok: bool
    entries: int
    unsealed: int
    checkpoints: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None
    extra: dict[str, Any] = Field(description="what else the verification found (anchoring)")


class SignedHead(_Answer):
    """The latest signed checkpoint: keep every answer, and you hold a witness copy."""

    seq: int
    head_hash: str
    key_id: str
    signature: str = Field(description="Ed25519, base64, over lgsp-checkpoint|v2|seq|hash|time")
    created_at: str


class Body(_Answer):
    entry_id: str
    which: Literal["request", "response"]
    digest: str | None = Field(description="the keyed digest of the body the entry holds")
    body_base64: str | None


class Read(_Answer):
    exchange_id: str = Field(description="the audit_access entry that recorded the read")
    at: str | None
    client: str | None
    person: str | None
    entry_id: str | None = Field(description="the entry whose body was read")
    which: str | None
    reason: str | None
    outcome: Literal["granted", "refused"]
    refused: str | None = Field(description="why it was refused")


class Reads(_Answer):
    reads: list[Read]


class Subscription(_Answer):
    name: str
    endpoint: str
    event_types: list[str] = Field(description="the types delivered (empty: every type)")
    active: bool
    created_at: str
    updated_at: str
    secret_format: Literal["standard", "legacy"] = Field(
        description="standard: whsec_ + base64 (Standard Webhooks); legacy: the secret's UTF-8 "
        "bytes, for subscriptions from before"
    )
    previous_secret_expires_at: str | None = Field(
        description="while a rotated secret still signs too"
    )


class NewSecret(Subscription):
    secret: str | None = Field(
        None,
        description="the whsec_ secret the gateway generated: shown this once, never again",
        examples=["whsec_<base64 of 32 random bytes>"],
    )


class Subscriptions(_Answer):
    items: list[Subscription]


class Inbox(_Answer):
    events: list[dict[str, Any]] = Field(
        description="the events after the cursor, oldest first (each as the Event schema of "
        "the webhooks)"
    )
    next: int = Field(description="the cursor to read after next time, and to acknowledge")


class Acknowledged(_Answer):
    cursor: int


class Outage(_Answer):
    start: str
    end: str
    duration_seconds: float
    counted_seconds: float = Field(description="the part outside maintenance windows")
    attempts: int
    cause: str
    ongoing: bool


class MaintenanceSpan(_Answer):
    from_: str = Field(alias="from")
    to: str
    reason: str


class PlatformAvailability(_Answer):
    connector: str
    month: str
    timezone: str
    start: str
    end: str
    availability: float = Field(description="the share of the month it answered (0..1)")
    period_seconds: float
    maintenance_seconds: float
    outage_seconds: float
    attempts: int
    failed_attempts: int
    outages: list[Outage]
    maintenance: list[MaintenanceSpan]


class AvailabilityReport(_Answer):
    """Availability evidence for the 24/7 connection (seed 003, Điều 4.2)."""

    month: str
    connectors: list[PlatformAvailability]
