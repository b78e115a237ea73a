"""The gateway's runtime: one object holding what the API, the workers and the CLI share.

Built from :class:`~gateway.core.settings.Settings`: the database, the state store, the body
cipher and exchange log, the checkpoint signer, and every registered connector with an HTTP
client that records each attempt in the exchange log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from gateway.core.connector import Connector, ConnectorSpec, GatewayBound, PacketSigner
from gateway.core.crypto import BodyCipher, CheckpointSigner
from gateway.core.delivery.resilience import CircuitBreaker, RetryPolicy
from gateway.core.errors import ConfigurationError, NotFound, SchemaNotCurrent
from gateway.core.events_webhook import EventDeliverer
from gateway.core.http.lgsp import lgsp_outer
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing, ExchangeLog
from gateway.core.log.offline import TsaTrust
from gateway.core.logging import register_secrets
from gateway.core.maintenance import MaintenanceBoard, MaintenanceGate, store_configured
from gateway.core.metrics import observe_upstream
from gateway.core.packet_signing import PacketSigningTransport, find_signer
from gateway.core.registry import (
    build_config,
    configuration_problems,
    load_specs,
    secret_values,
)
from gateway.core.settings import Settings
from gateway.core.store.db import Database
from gateway.core.store.state import StateStore, make_state_store

if TYPE_CHECKING:  # pyHanko: loaded only when an authority timestamps the log
    from gateway.core.log.anchoring import Anchorer

log = structlog.get_logger("gateway.runtime")

#: how long a case system's webhook endpoint may take to answer
EVENTS_TIMEOUT_SECONDS = 10.0
#: the key of ``transports`` for the exchange log's timestamp authority
ANCHOR_TRANSPORT = "audit-tsa"


async def _not_an_exchange(crossing: Crossing) -> None:
    """The anchoring client's sink: its attempts are kept in the anchor rows instead."""


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        sandbox_base: str | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        state: StateStore | None = None,
        specs: Mapping[str, ConnectorSpec] | None = None,
    ) -> None:
        self.settings = settings
        registered = dict(specs) if specs is not None else load_specs()
        if problems := configuration_problems(settings, registered):
            raise ConfigurationError("the configuration cannot be used: " + "; ".join(problems))
        self.db = Database(settings.database_url)
        self.state = state or make_state_store(settings.redis_url)
        self.cipher = BodyCipher(settings.data_key_id, settings.data_key_bytes())
        self.log = ExchangeLog(self.cipher)
        self.signer = CheckpointSigner.from_seed(
            settings.signing_key_id, settings.signing_key_bytes()
        )
        d = settings.delivery
        self.retry = RetryPolicy(
            d.max_attempts, d.backoff_base_seconds, d.backoff_max_seconds, d.retry_horizon_seconds
        )
        # connectors left out (LGSP_CONNECTORS_OFF) are neither built, mounted nor scheduled;
        # their outbox items stay queued (workers claim only for connectors in ``self.specs``)
        self.off_specs = {s: spec for s, spec in registered.items() if s in settings.connectors_off}
        self.specs = {s: spec for s, spec in registered.items() if s not in self.off_specs}
        self.maintenance = MaintenanceBoard(
            self.db, refresh_seconds=settings.maintenance.refresh_seconds
        )
        self.configs: dict[str, Any] = {}
        self.connectors: dict[str, Connector] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._http: list[httpx.AsyncClient] = []
        self.wakeup = asyncio.Event()
        register_secrets(settings.secret_values())
        self.lgsp_settings = settings.lgsp
        if sandbox_base is not None:
            # the sandbox's LGSP simulator sits in front of the platform simulators
            self.lgsp_settings = settings.lgsp.model_copy(
                update={"token_url": f"{sandbox_base}/lgsp/token"}
            )
        for slug, spec in self.specs.items():
            section = dict(settings.connectors.get(slug, {}))
            through_lgsp = str(section.get("transport", "direct")).strip().lower() == "lgsp"
            if sandbox_base is not None and spec.sandbox_config is not None:
                base = f"{sandbox_base}/lgsp/{slug}" if through_lgsp else f"{sandbox_base}/{slug}"
                section = {**section, **spec.sandbox_config(base)}
            config = build_config(spec, section, environment=settings.environment)
            register_secrets(secret_values(config))
            self.configs[slug] = config
            timeout = float(getattr(config, "timeout_seconds", 10.0))
            http = build_client(
                connector=slug,
                sink=self.record,
                transport=(transports or {}).get(slug),
                observe=observe_upstream,
                timeout=timeout,
                network=settings.http_transport,
                max_connections=max(4, d.workers * d.batch_size),
                outer=self._outer(slug, spec, config),
            )
            self._http.append(http)
            self.connectors[slug] = spec.factory(config, http)
            self.breakers[slug] = CircuitBreaker(
                self.state,
                slug,
                failure_threshold=d.breaker_failure_threshold,
                reset_seconds=d.breaker_reset_seconds,
            )
        # events to the case system: a core deliverer (no ConnectorSpec), driven by the outbox
        # like any connector, with its own recording client and circuit breaker
        if EventDeliverer.slug in self.specs:
            raise ConfigurationError(f"the slug {EventDeliverer.slug!r} is the core's own")
        events_http = build_client(
            connector=EventDeliverer.slug,
            sink=self.record,
            transport=(transports or {}).get(EventDeliverer.slug),
            observe=observe_upstream,
            timeout=EVENTS_TIMEOUT_SECONDS,
            network=settings.http_transport,
            max_connections=max(4, d.workers * d.batch_size),
        )
        self._http.append(events_http)
        self.connectors[EventDeliverer.slug] = EventDeliverer(self.db, self.cipher, events_http)
        self.breakers[EventDeliverer.slug] = CircuitBreaker(
            self.state,
            EventDeliverer.slug,
            failure_threshold=d.breaker_failure_threshold,
            reset_seconds=d.breaker_reset_seconds,
        )
        self.anchorer = self._anchorer((transports or {}).get(ANCHOR_TRANSPORT))
        for connector in self.connectors.values():
            if isinstance(connector, GatewayBound):
                connector.bind(self)

    def _anchorer(self, transport: httpx.AsyncBaseTransport | None) -> Anchorer | None:
        """The exchange log's timestamping, when an authority is configured. Its client bounds
        the answers like every other; what it exchanges is kept in the anchor rows, not in the
        exchange log (see :mod:`gateway.core.log.anchoring`)."""
        audit = self.settings.audit
        if audit.tsa_url is None or audit.tsa_certs is None:
            return None
        try:
            trust = TsaTrust.load(audit.tsa_certs)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"LGSP_AUDIT__TSA_CERTS: cannot read the authority's certificates: {exc}"
            ) from None
        http = build_client(
            connector="audit",
            sink=_not_an_exchange,
            transport=transport,
            timeout=audit.tsa_timeout_seconds,
            max_connections=2,
            network=self.settings.http_transport,
        )
        self._http.append(http)
        from gateway.core.http.timestamps import HttpxTimeStamper
        from gateway.core.log.anchoring import Anchorer

        stamper = HttpxTimeStamper(
            http, audit.tsa_url, timeout=audit.tsa_timeout_seconds, operation="audit.anchor"
        )
        return Anchorer(self.db, stamper, trust, audit.tsa_url)

    def _outer(
        self, slug: str, spec: ConnectorSpec, config: Any
    ) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None:
        """What wraps the connector's recording transport: the LGSP's credentials when it goes
        through the LGSP, then packet signing (the signature covers the body as sent)."""
        layers: list[Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]] = []
        if getattr(config, "transport", "direct") == "lgsp":
            if spec.direct_only:
                raise ConfigurationError(
                    f"LGSP_CONNECTORS__{slug.upper()}__TRANSPORT: {spec.title} is reached "
                    "directly, never through the LGSP"
                )
            layers.append(lgsp_outer(self.lgsp_settings, environment=self.settings.environment))
        signing = self._packet_signing(slug)
        if signing is not None:
            layers.append(signing)
        # outermost: nothing leaves for a platform in its maintenance window
        board = self.maintenance
        layers.append(lambda inner: MaintenanceGate(inner, slug, board.refuse_if_active))

        def outer(recording: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            wrapped = recording
            for layer in layers:
                wrapped = layer(wrapped)
            return wrapped

        return outer

    def _packet_signing(
        self, slug: str
    ) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None:
        signing = self.settings.packet_signing
        if slug not in signing.sign_outbound:
            return None

        def outer(recording: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            # the signing connector is looked up per request: it may be built after this one
            return PacketSigningTransport(
                recording, connector=slug, header=signing.header, signer=self._packet_signer
            )

        return outer

    def _packet_signer(self) -> PacketSigner | None:
        signer = find_signer(self.connectors)
        if signer is not None and getattr(signer, "slug", None) in (
            self.settings.packet_signing.sign_outbound
        ):
            raise ConfigurationError(
                "LGSP_PACKET_SIGNING__SIGN_OUTBOUND: the signing connector cannot sign its own "
                "requests"
            )
        return signer

    async def start(self) -> None:
        """Migrate (when configured to: :attr:`Settings.migrates_at_start`), or refuse a schema
        that is behind, and run each connector's start-up hook."""
        from gateway.core.store import migrate  # alembic: not for the commands that never start

        if self.settings.migrates_at_start:
            await migrate.upgrade(self.db.engine)
        elif (problem := await migrate.schema_problem(self.db.engine)) is not None:
            raise SchemaNotCurrent(problem)
        if self.settings.maintenance.windows:
            await store_configured(self.db, self.settings.maintenance.windows)
        for slug, spec in self.specs.items():
            if spec.on_start is not None:
                await spec.on_start(self.connectors[slug])

    def connector(self, slug: str) -> Connector:
        try:
            return self.connectors[slug]
        except KeyError:
            if slug in self.off_specs:
                raise ConfigurationError(
                    f"the connector {slug!r} is off (LGSP_CONNECTORS_OFF); remove it from "
                    "that list once the platform is connected"
                ) from None
            raise NotFound(f"no connector {slug!r}") from None

    async def record(self, *crossings: Crossing) -> None:
        """Append exchange-log entries, in this order, in one commit (durable on return)."""
        # plain rows: one multi-row insert per table in the group commit, no ORM unit of work
        await self.db.grouped(None, rows=self.log.rows(*crossings))

    @property
    def public_key(self) -> str:
        return self.signer.public_key_b64()

    async def aclose(self) -> None:
        for connector in self.connectors.values():
            await connector.aclose()
        for http in self._http:
            await http.aclose()
        await self.state.aclose()
        await self.db.dispose()
