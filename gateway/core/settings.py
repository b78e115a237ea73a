"""Gateway settings: environment variables prefixed ``LGSP_`` (nested with ``__``).

``LGSP_CONNECTORS__<SLUG>__BASE_URL=https://...`` sets ``connectors["<slug>"]["base_url"]``; each
connector validates its own section with its config model (see :mod:`gateway.core.registry`).
Secrets are :class:`~pydantic.SecretStr`. The development placeholders below let the embedded
default run with no configuration; any other environment refuses them at start-up.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.core.delivery.resilience import DEFAULT_RETRY_HORIZON_SECONDS
from gateway.core.errors import ConfigurationError
from gateway.core.http.lgsp import LgspSettings

# Well-known development keys. Anyone can read them here, so they are refused in production.
DEV_DATA_KEY = base64.b64encode(hashlib.sha256(b"lgsp-dev-data-key").digest()).decode()
DEV_SIGNING_KEY = base64.b64encode(hashlib.sha256(b"lgsp-dev-signing-key").digest()).decode()
DEV_WEBHOOK_SECRET = "lgsp-dev-webhook-secret"  # noqa: S105 - a documented placeholder
PLACEHOLDER_SECRETS = frozenset({DEV_DATA_KEY, DEV_SIGNING_KEY, DEV_WEBHOOK_SECRET})

DEFAULT_DB = Path("lgsp.db")


class DeliverySettings(BaseModel):
    """The outbox workers and their retry / circuit-breaker policy."""

    model_config = ConfigDict(extra="forbid")

    workers: int = Field(2, ge=0, le=64, description="delivery tasks per process (0: none)")
    batch_size: int = Field(20, ge=1, le=1000)
    poll_interval_seconds: float = Field(0.2, gt=0)
    lease_seconds: float = Field(60.0, gt=0, description="a claim older than this is re-taken")
    retry_horizon_seconds: float = Field(
        DEFAULT_RETRY_HORIZON_SECONDS,
        gt=0,
        description="a transient failure is retried until the item is this old, then "
        "dead-lettered (per connector: LGSP_CONNECTORS__<SLUG>__RETRY_HORIZON_SECONDS)",
    )
    max_attempts: int | None = Field(
        None, ge=1, description="an optional ceiling on attempts besides the horizon"
    )
    backoff_base_seconds: float = Field(0.5, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_reset_seconds: float = Field(10.0, gt=0)
    seal_interval_seconds: float = Field(0.5, gt=0)
    stop_grace_seconds: float = Field(
        20.0,
        ge=0,
        le=600,
        description="on SIGTERM, how long deliveries in progress may finish before they are "
        "given back untried (keep it below Kubernetes' terminationGracePeriodSeconds)",
    )


class GovernanceSettings(BaseModel):
    """Review of population-database look-ups per officer (seed 004, Điều 8): idle accounts
    are locked, sudden spikes raise alerts."""

    model_config = ConfigDict(extra="forbid")

    idle_days: int = Field(
        365,
        ge=1,
        description="an active officer with no look-up for this many days is idle "
        "(listed, locked by the workers daily and by `lgsp officers idle --apply`)",
    )
    idle_lock_interval_seconds: float = Field(
        86400.0,
        ge=0,
        description="how often the workers lock the idle officers (seed 004, Điều 8); 0: "
        "only by hand",
    )
    spike_daily_ceiling: int = Field(
        200, ge=1, description="look-ups by one officer in one local day that always alert"
    )
    spike_median_multiple: float = Field(
        5.0,
        gt=1.0,
        description="a day above this multiple of the officer's trailing daily median alerts",
    )
    spike_trailing_days: int = Field(
        28,
        ge=7,
        le=366,
        description="days of history (before the day, since registration) the median is over",
    )
    spike_min_daily: int = Field(
        20,
        ge=1,
        description="the median rule applies only from this many look-ups in the day",
    )
    spike_auto_lock: bool = Field(
        False, description="lock the officer when a spike alert is raised"
    )


class CalendarSettings(BaseModel):
    """Working days, for answer deadlines (feedback: 10 working days, seed 003 Điều 15).

    Saturdays and Sundays and the fixed-date public holidays of the Labour Code (Art. 112:
    1 January, 30 April, 1 May, 2 September) are never working days. The holidays that move
    each year (Tết, the Hùng Kings Commemoration, the day next to 2 September, days swapped by
    the Prime Minister's decision) are configuration: ``holidays``; Saturdays worked in
    exchange are ``working_days``.
    """

    model_config = ConfigDict(extra="forbid")

    holidays: list[date] = Field(
        default_factory=list,
        description="days off besides weekends and 1/1, 30/4, 1/5, 2/9 (Tết, Giỗ Tổ, ...)",
        examples=[["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"]],
    )
    working_days: list[date] = Field(
        default_factory=list, description="weekend days worked in exchange for a holiday"
    )
    feedback_answer_working_days: int = Field(
        10, ge=1, le=60, description="working days to answer feedback (phản ánh, kiến nghị)"
    )


class PacketSigningSettings(BaseModel):
    """Detached signatures over JSON packets (RFC 8785 canonical form), made and checked by the
    signing connector (:class:`~gateway.core.connector.PacketSigner`): ``sign_outbound``
    connectors' JSON requests carry one in ``header``; ``verify_inbound`` connectors' inbound
    packets must carry a valid one, else they are refused (401) and logged. Off by default."""

    model_config = ConfigDict(extra="forbid")

    sign_outbound: list[str] = Field(
        default_factory=list, description="connector slugs whose JSON requests are signed"
    )
    verify_inbound: list[str] = Field(
        default_factory=list,
        description="connector slugs whose inbound packets (pushes) must be signed",
    )
    header: str = Field(
        "X-Packet-Signature",
        pattern=r"^[A-Za-z][A-Za-z0-9-]{1,63}$",
        description="the HTTP header carrying the signature",
    )


class AuditSettings(BaseModel):
    """The exchange log's evidence outside the database."""

    model_config = ConfigDict(extra="forbid")

    witness_dir: Path | None = Field(
        None,
        description="a directory (ideally on other storage, or synchronised away) where every "
        "signed checkpoint is appended to heads.jsonl: a copy of the chain's heads the "
        "operator's database cannot rewrite; `lgsp audit verify --since DIR` checks against it",
    )
    tsa_url: str | None = Field(
        None,
        description="an RFC 3161 timestamp authority (HTTP POST application/timestamp-query): "
        "the newest signed checkpoint is timestamped there every anchor interval, which "
        "anchors the exchange log outside the operator's reach; requires tsa_certs",
    )
    tsa_certs: Path | None = Field(
        None,
        description="PEM file of the trusted timestamp authority's certificate, or of the CA "
        "certificate that issued it: an answer not signed under it is not kept, and "
        "`lgsp audit verify` checks the anchors with it",
    )
    anchor_interval_seconds: float = Field(
        60.0, gt=0, le=86400, description="how often the newest checkpoint is timestamped"
    )
    tsa_timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_anchor_delay_seconds: float = Field(
        3600.0,
        gt=0,
        description="`lgsp audit verify` calls the chain intact only if every checkpoint "
        "was timestamped within this delay (and the newest are not waiting longer)",
    )

    @model_validator(mode="after")
    def _tsa_needs_trust(self) -> AuditSettings:
        if self.tsa_url is not None and self.tsa_certs is None:
            raise ValueError(
                "LGSP_AUDIT__TSA_URL needs LGSP_AUDIT__TSA_CERTS: the authority's answers are "
                "checked before they are kept"
            )
        return self


class ConfiguredWindow(BaseModel):
    """A platform's window known in advance, from the configuration."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    connector: str = Field(min_length=1, max_length=32)
    starts_at: datetime = Field(alias="from")
    ends_at: datetime = Field(alias="to")
    reason: str = Field(min_length=3, max_length=500)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time zone (e.g. +07:00)")
        return value


class MaintenanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[ConfiguredWindow] = Field(
        default_factory=list,
        description="platforms' announced maintenance windows: "
        '[{"connector": "<slug>", "from": "...+07:00", "to": "...", "reason": "..."}]',
    )
    refresh_seconds: float = Field(
        5.0, gt=0, le=300, description="how often each process reads the windows again"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LGSP_",
        env_nested_delimiter="__",
        env_file=None,
        extra="forbid",
    )

    environment: Literal["development", "test", "production"] = "development"
    connectors_off: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="connector slugs left out until the platform is connected (a JSON list or "
        "comma-separated: `slug1,slug2`): their section is not validated nor their placeholders "
        "refused, their routes are not mounted, their jobs do not run and their outbox items "
        "stay queued (delivered once the connector is on again); `/v1/connectors` and "
        "`lgsp connectors list` show them as `off`. The demo and the sandbox ignore it",
    )
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB}"
    redis_url: str | None = None
    auto_migrate: bool | None = Field(
        None,
        description="migrate the schema when `serve` or `worker` starts; unset: only on SQLite "
        "(the embedded database); on PostgreSQL `lgsp db upgrade` does (the Helm chart's hook "
        "Job), and the processes refuse to start on a schema that is behind",
    )

    data_key: SecretStr = SecretStr(DEV_DATA_KEY)
    data_key_id: str = "dev-1"
    signing_key: SecretStr = SecretStr(DEV_SIGNING_KEY)
    signing_key_id: str = "dev-ed25519-1"

    max_body_bytes: int = Field(1_048_576, ge=1024)
    rate_limit: str = Field("300/second", description="per client, `limits` notation")
    http_transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="what carries the connectors' calls under httpx's API: aiohttp's pool and "
        "parser (`httpx-aiohttp`, the cheaper) or httpx's own (httpcore, which speaks HTTP/2)",
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="`lgsp worker` serves its own /metrics (deliveries, sealing, process) on "
        "this port; the API's /metrics adds the figures read from the database",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    packet_signing: PacketSigningSettings = Field(default_factory=PacketSigningSettings)
    lgsp: LgspSettings = Field(default_factory=LgspSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("connectors", mode="before")
    @classmethod
    def _lower_slugs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
        return value

    @field_validator("connectors_off", mode="before")
    @classmethod
    def _off_slugs(cls, value: Any) -> Any:
        """A JSON list (``["slug1","slug2"]``) or comma-separated (``slug1,slug2``); lower-cased."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            return sorted({str(v).strip().lower() for v in value if str(v).strip()})
        return value

    def production_problems(self) -> list[str]:
        """In production, the keys still at their development placeholders, one line each
        (the gateway refuses to start with any: see ``registry.configuration_problems``)."""
        if self.environment != "production":
            return []
        return [
            f"LGSP_{name.upper()} is the development placeholder; set a real key in production"
            for name in ("data_key", "signing_key")
            if getattr(self, name).get_secret_value() in PLACEHOLDER_SECRETS
        ]

    def data_key_bytes(self) -> bytes:
        return _decode_key(self.data_key, "LGSP_DATA_KEY")

    def signing_key_bytes(self) -> bytes:
        return _decode_key(self.signing_key, "LGSP_SIGNING_KEY")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def migrates_at_start(self) -> bool:
        """Whether ``serve`` (and ``worker``) migrate when they start: ``LGSP_AUTO_MIGRATE``, or
        by default only the embedded SQLite database."""
        return self.auto_migrate if self.auto_migrate is not None else self.is_sqlite

    def secret_values(self) -> list[str]:
        """Every secret the settings hold, so the log redactor can mask them."""
        found = [self.data_key.get_secret_value(), self.signing_key.get_secret_value()]
        found += self.lgsp.secret_values()
        for section in self.connectors.values():
            for value in section.values():
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
        return [s for s in found if s]


def _decode_key(secret: SecretStr, env_name: str) -> bytes:
    try:
        raw = base64.b64decode(secret.get_secret_value(), validate=True)
    except ValueError as exc:
        raise ConfigurationError(f"{env_name} must be base64 of 32 random bytes") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"{env_name} must be base64 of 32 random bytes")
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


#: ``LGSP_`` variables that are not settings: read by one command, or passed between processes
OTHER_VARIABLES = frozenset({"LGSP_SERVE_RUN_WORKERS", "LGSP_OFFICER_PLATFORM_PASSWORD"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``LGSP_`` variable that names no setting (a typo runs on a default
    otherwise): ``LGSP_DATABSE_URL: no such setting (did you mean LGSP_DATABASE_URL?)``.
    The connectors' sections (``LGSP_CONNECTORS__<SLUG>__...``) are the connectors' to check;
    ``LGSP_TEST_*`` belongs to the test suite."""
    problems = []
    for name in sorted(environ):
        if not name.startswith("LGSP_") or name in OTHER_VARIABLES:
            continue
        if name.startswith("LGSP_TEST_"):
            continue
        why = _unknown(Settings, name[len("LGSP_") :].lower().split("__"), "LGSP_")
        if why is not None:
            problems.append(f"{name}: {why}")
    return problems


def _unknown(model: type[BaseModel], path: list[str], prefix: str) -> str | None:
    head, rest = path[0], path[1:]
    fields = model.model_fields
    if head not in fields:
        close = difflib.get_close_matches(head, list(fields), n=1, cutoff=0.75)
        hint = f" (did you mean {prefix}{close[0].upper()}?)" if close else ""
        return f"no such setting{hint}"
    if not rest:
        return None
    annotation = fields[head].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _unknown(annotation, rest, f"{prefix}{head.upper()}__")
    if head == "connectors":
        return None  # each connector's section is checked against its configuration
    return f"{prefix}{head.upper()} has no parts"
