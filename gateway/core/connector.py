"""The connector contract.

A connector adapts one national platform. It supplies the platform specifics (wire mapping,
auth, codes); the core owns the loop around it (outbox, retries, backoff, circuit breaker,
exchange log). A connector implements :class:`Connector` and publishes a :class:`ConnectorSpec`
named ``SPEC`` in its package; :mod:`gateway.core.registry` lists the packages explicitly.

Operations that change state on a platform are delivered through the outbox: the core calls
``deliver(operation, payload)`` with the payload that was accepted, possibly more than once
(at-least-once). A delivery returns :class:`Delivered` or raises one of
:class:`~gateway.core.errors.UpstreamError`'s subclasses, which tell the core what to do next:
``TransientUpstreamError`` -> retry with backoff, anything else -> dead-letter with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field

from gateway.core.errors import (
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
    UpstreamError,
)


class Resolution(StrEnum):
    """What a platform's answer code means for the caller (airbyte-cdk style error table)."""

    SUCCESS = "success"
    RETRY = "retry"  # transient: try again later
    REJECT = "reject"  # permanent: do not retry, dead-letter
    REAUTH = "reauth"  # refresh the session/token, then retry once
    EXISTS = "exists"  # the record is already there: resend as an update


class Actor(StrEnum):
    """Who must act when a code is not a success."""

    NONE = "none"
    CALLER = "caller"  # the case system sent something wrong
    CONFIGURATION = "configuration"  # our credentials, agency code, IP allow-list
    SYSTEM = "system"  # the platform is broken
    TRANSIENT = "transient"  # wait and retry


@dataclass(frozen=True, slots=True)
class ErrorRule:
    resolution: Resolution
    actor: Actor
    description: str


def raise_for_rule(rule: ErrorRule, *, code: str, message: str) -> None:
    """Raise the core error matching ``rule``; return silently for success/exists."""
    detail = f"{rule.description} (code {code}): {message}" if message else rule.description
    match rule.resolution:
        case Resolution.SUCCESS | Resolution.EXISTS:
            return
        case Resolution.RETRY:
            raise TransientUpstreamError(detail, code=code)
        case Resolution.REAUTH:
            raise UpstreamAuthError(detail, code=code)
        case Resolution.REJECT:
            raise PermanentUpstreamError(detail, code=code)


@dataclass(frozen=True, slots=True)
class CodeTable:
    """A platform's answer codes: the rule of each (:class:`ErrorRule`), and the problem types
    of the codes a caller must be able to tell apart. Codes are matched without surrounding
    blanks; an unknown code is a refusal blamed on the platform (never retried: retrying what
    we do not understand could repeat a write, and someone must look at it anyway)."""

    rules: Mapping[str, ErrorRule]
    specific: Mapping[str, type[UpstreamError]] = field(default_factory=dict)

    def resolve(self, code: str) -> ErrorRule:
        rule = self.rules.get(code.strip())
        if rule is not None:
            return rule
        return ErrorRule(
            Resolution.REJECT,
            Actor.SYSTEM,
            f"the platform answered with unknown code {code[:16]!r}",
        )

    def specific_error(self, code: str) -> type[UpstreamError] | None:
        """The problem type of ``code``, when the caller must be able to tell it apart."""
        return self.specific.get(code.strip())


#: how a connector reaches its platform: straight to it, or through the provincial integration
#: platform (LGSP, an API gateway in front of the national platforms with its own access token)
TransportName = Literal["direct", "lgsp"]


class ConnectorConfig(BaseModel):
    """The settings every connector has, whatever its platform (base of ``<Slug>Config``).

    ``transport`` is read by the core: with ``lgsp`` the connector's HTTP client goes through
    the LGSP transport (:mod:`gateway.core.http.lgsp`), which obtains and attaches the LGSP's access
    token to every request; the connector's own URLs are then the addresses the LGSP publishes
    for its platform.
    """

    model_config = ConfigDict(extra="forbid")

    transport: TransportName = Field(
        "direct",
        description="direct: call the platform itself; lgsp: through the provincial LGSP, "
        "with the credentials of LGSP_LGSP__*",
    )
    retry_horizon_seconds: float | None = Field(
        None,
        gt=0,
        description="retry transient failures of this connector's deliveries until the item is "
        "this old (default: LGSP_DELIVERY__RETRY_HORIZON_SECONDS, 72 h)",
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    detail: str
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Delivered:
    """A delivery the platform accepted. ``upstream_ref`` is its id there, when it gives one."""

    detail: str
    upstream_ref: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    slug: ClassVar[str]
    #: operations that ``deliver`` accepts (delivered through the outbox)
    operations: ClassVar[frozenset[str]]
    #: the platform's answer codes and what each means
    error_table: ClassVar[Mapping[str, ErrorRule]]

    async def check(self) -> CheckResult:
        """Reach the platform (authenticate, one cheap call) and say whether it answers."""
        ...

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        """Deliver one accepted outbox payload. Must be safe to repeat (at-least-once)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BatchDelivery(Protocol):
    """Optional: a connector whose platform takes several records in one call.

    The core then hands it up to ``batch_operations[operation]`` items at once, each the head
    of its own ordering key (so per-key order is kept). The answer holds one outcome per
    payload, in order: :class:`Delivered`, or the :class:`UpstreamError` of that payload alone.
    Raising instead means the whole batch failed alike (e.g. the platform is unreachable).
    """

    batch_operations: ClassVar[Mapping[str, int]]

    async def deliver_batch(
        self, operation: str, payloads: Sequence[Mapping[str, Any]]
    ) -> Sequence[Delivered | UpstreamError]: ...


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """Work a connector needs done on a schedule (chasing what went quiet on the platform).

    ``run`` does one round and returns how many items it handled. The core runs every job of
    every connector alongside the delivery workers
    (:class:`~gateway.core.delivery.workers.Delivery`), one round per ``interval_seconds``; with
    several worker processes a lease in the state store lets one process run each round. A
    round that raises is logged and the next one runs.
    """

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[int]]


@runtime_checkable
class PeriodicWork(Protocol):
    """Optional: a connector with :class:`PeriodicJob` s. ``gateway`` is the running
    :class:`~gateway.core.runtime.Gateway` (typed loosely: the runtime imports this module)."""

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]: ...


@runtime_checkable
class GatewayBound(Protocol):
    """Optional: a connector whose deliveries keep what they produced in the gateway's database
    before they are settled (a document signed from the queue, its event published), so a
    crash after the platform answered loses nothing. ``bind`` is called once the runtime
    (:class:`~gateway.core.runtime.Gateway`, typed loosely: it imports this module) holds
    every connector."""

    def bind(self, gateway: Any) -> None: ...


@runtime_checkable
class DocumentSigner(Protocol):
    """Optional: a connector that signs documents for the others (remote signing). Other connectors
    never import it; the API finds it in the registry (``gw.connectors``) when it is
    configured, and signs before accepting the work (e.g. results to the citizen's store)."""

    async def sign_document(self, content: bytes, media_type: str) -> bytes | None:
        """The document with its signature embedded (PAdES for PDF, XAdES for XML); ``None``
        for a kind of document that carries no embedded signature; or raise a
        :class:`~gateway.core.errors.GatewayError` saying why it could not be signed."""
        ...


@runtime_checkable
class PacketSigner(Protocol):
    """Optional: a connector that signs and checks JSON packets for the others (remote signing):
    a detached signature over the packet's canonical form (RFC 8785). The core finds it in the
    registry when ``LGSP_PACKET_SIGNING__*`` asks for signed packets."""

    async def sign_packet(self, packet: Any, *, purpose: str) -> str:
        """The detached signature (a compact JWS without its payload) of ``packet``."""
        ...

    async def verify_packet(self, packet: Any, token: str, *, source: str) -> None:
        """Return when ``token`` is a valid signature of ``packet``; otherwise raise a
        :class:`~gateway.core.errors.GatewayError` (401) naming the failed check."""
        ...


@dataclass(frozen=True, slots=True)
class ConsoleAlert:
    """An alert a connector shows on the ops console (e.g. an officer's look-ups spiking)."""

    #: unique within the connector (what acknowledging names)
    ref: str
    kind: str
    #: who or what it is about (e.g. the officer's login)
    subject: str
    detail: str
    raised_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_note: str | None = None


@dataclass(frozen=True, slots=True)
class ConsoleAlerts:
    """A connector's alerts on the ops console: how to list them and acknowledge one (the
    gateway is passed as ``Any``: the connector contract does not import the runtime)."""

    #: the section's heading, Vietnamese and English
    title_vi: str
    title_en: str
    #: (gateway) -> the alerts, newest first (the open ones and the recently acknowledged)
    list: Callable[[Any], Awaitable[Sequence[ConsoleAlert]]]
    #: (gateway, ref, actor, note) -> None; raises a GatewayError (NotFound, Conflict) if not
    acknowledge: Callable[[Any, str, str, str | None], Awaitable[None]]


#: builds the connector: (validated config, http client with the exchange-log recorder)
ConnectorFactory = Callable[[Any, httpx.AsyncClient], Connector]


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """What a connector package publishes as ``SPEC``."""

    slug: str
    title: str
    config_model: type[BaseModel]
    factory: ConnectorFactory
    #: the ASGI app of the platform simulator, built on demand (for ``lgsp sandbox``)
    sandbox_factory: Callable[[], Any] | None = None
    #: config overrides that point the connector at the simulator mounted at ``base``
    sandbox_config: Callable[[str], dict[str, Any]] | None = None
    #: extra start-up work (e.g. warming a cache); receives the built connector
    on_start: Callable[[Connector], Awaitable[None]] | None = None
    #: development defaults of secret fields, refused when the environment is production
    placeholder_secrets: frozenset[str] = frozenset()
    #: other development-only settings refused in production: (validated config) -> the
    #: offending field names (e.g. trusting the sandbox's test root)
    production_refusals: Callable[[Any], Sequence[str]] | None = None
    #: the platform cannot be reached through the LGSP (e.g. identity: the citizen's browser
    #: is sent to the provider itself), so ``transport = "lgsp"`` is refused
    direct_only: bool = False
    #: the API scopes the connector's routes check, each with what it allows
    #: (``<slug>:<verb>`` or a name of the connector's domain, e.g. ``officers:admin``)
    scopes: Mapping[str, str] = field(default_factory=dict)
    #: the module holding the connector's tables (on the shared ``Base``), imported with the
    #: registry so that the metadata, migrations and tests always see every table
    tables: str | None = None
    #: the connector's API routers (FastAPI ``APIRouter`` s built on :mod:`gateway.core.web`),
    #: imported when the application is built; it includes them in registry order
    routers: Callable[[], Sequence[Any]] | None = None
    #: the connector's CLI commands (click commands), each with the path of the group it goes
    #: in (``()`` for ``lgsp`` itself, ``("reconcile",)`` for ``lgsp reconcile``)
    cli_commands: Callable[[], Sequence[tuple[tuple[str, ...], Any]]] | None = None
    #: the connector's parts of ``lgsp demo`` (:class:`gateway.core.demo.DemoPart` classes)
    demo_parts: Callable[[], Sequence[Any]] | None = None
    #: alerts the connector raises for the ops console (e.g. officer governance)
    console_alerts: ConsoleAlerts | None = None
