"""Maintenance windows: the national platforms' (announced by them) and the gateway's own.

A **platform's window** (``scope`` = its slug) holds the connector's deliveries: the workers do
not take its items (no attempt, nothing counted, the circuit breaker untouched) until the window
ends, then the queue drains in per-dossier order as always; a synchronous look-up during it is
answered 503 with ``Retry-After`` at the window's end (problem type ``platform-maintenance``),
without calling the platform. The case systems get ``connector.maintenance.started`` and
``connector.maintenance.ended`` events.

The **gateway's own window** (``scope`` ``gateway``, kind ``maintenance`` or ``upgrade``) is a
notice: the regulations ask the province to announce a maintenance 2 working days ahead and an
upgrade 5 working days ahead (seed 003, Điều 9.3 and 10.4; seed 004, Điều 29.6). Scheduling one
with less notice is refused unless it is marked urgent, with its reason recorded. Notices are
published as events (``gateway.maintenance.scheduled``, ``.started``, ``.ended``) and at the
public ``GET /v1/status``.

Windows come from the API (``/v1/maintenance``, scope ``ops:admin``), the CLI (``lgsp
maintenance``) and the configuration (``LGSP_MAINTENANCE__WINDOWS``, stored at start-up); each
scheduling and cancellation is a decision in the exchange log's chain, with the actor and the
reason. Every process keeps the windows in memory (:class:`MaintenanceBoard`), read again from
the database every ``refresh_seconds`` and at once after a change made in the process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.crypto import BodyCipher
from gateway.core.errors import FieldError, InvalidInput, NotFound, UpstreamError
from gateway.core.events import publish
from gateway.core.log.exchange_log import ExchangeLog
from gateway.core.settings import ConfiguredWindow
from gateway.core.store.db import Database, MaintenanceWindow, utcnow
from gateway.core.workdays import VN, WorkCalendar

if TYPE_CHECKING:
    from gateway.core.runtime import Gateway

__all__ = [
    "GATEWAY",
    "NOTICE_WORKING_DAYS",
    "MaintenanceBoard",
    "MaintenanceGate",
    "PlatformInMaintenance",
    "Proposal",
    "Window",
    "announce_due",
    "cancel",
    "cancel_window",
    "earliest_start",
    "schedule",
    "schedule_window",
]

log = structlog.get_logger(__name__)

#: the scope of the gateway's own windows
GATEWAY = "gateway"
#: the notice the regulations ask for, in working days, by kind
NOTICE_WORKING_DAYS = {"maintenance": 2, "upgrade": 5}
#: how far ahead a window may be scheduled, and how long it may last
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=14)


class PlatformInMaintenance(UpstreamError):
    """The platform is in an announced maintenance window: not called until it ends."""

    status = 503
    type_slug = "platform-maintenance"
    title = "The platform is in a maintenance window"


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    scope: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    urgent: bool
    source: str
    created_by: str
    cancelled: bool

    @classmethod
    def of(cls, row: MaintenanceWindow) -> Window:
        return cls(
            id=row.id,
            scope=row.scope,
            kind=row.kind,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            reason=row.reason,
            urgent=row.urgent,
            source=row.source,
            created_by=row.created_by,
            cancelled=row.cancelled_at is not None,
        )

    def covers(self, at: datetime) -> bool:
        return not self.cancelled and self.starts_at <= at < self.ends_at

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "scope": self.scope,
            "kind": self.kind,
            "from": self.starts_at.astimezone(VN).isoformat(),
            "to": self.ends_at.astimezone(VN).isoformat(),
            "reason": self.reason,
            "urgent": self.urgent,
            "source": self.source,
            "created_by": self.created_by,
            "cancelled": self.cancelled,
        }


def earliest_start(calendar: WorkCalendar, now: datetime, kind: str) -> datetime:
    """The earliest start of a gateway window of ``kind`` announced at ``now``: after the end
    of the ``NOTICE_WORKING_DAYS[kind]``-th working day following the announcement (announced
    on a Monday, a maintenance may start on Thursday at 00:00, Việt Nam time)."""
    last_day = calendar.due_date(now, NOTICE_WORKING_DAYS[kind])
    return calendar.end_of(last_day) + timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A window as asked for (API, CLI), before it is checked and recorded."""

    scope: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    urgent: bool = False


def _check(p: Proposal, *, scopes: Iterable[str], calendar: WorkCalendar, now: datetime) -> None:
    errors = []
    if p.scope not in {GATEWAY, *scopes}:
        errors.append(FieldError("scope", f"no connector {p.scope!r} (or 'gateway')"))
    allowed = NOTICE_WORKING_DAYS if p.scope == GATEWAY else {"maintenance": 0}
    if p.kind not in allowed:
        errors.append(FieldError("kind", f"one of {sorted(allowed)} for {p.scope!r}"))
    for name, value in (("from", p.starts_at), ("to", p.ends_at)):
        if value.tzinfo is None:
            errors.append(FieldError(name, "give the time zone (e.g. +07:00)"))
    if not 3 <= len(p.reason.strip()) <= 500:
        errors.append(FieldError("reason", "3 to 500 characters"))
    if errors:
        raise InvalidInput("the maintenance window is not valid", errors=errors)
    if p.ends_at <= p.starts_at:
        errors.append(FieldError("to", "after 'from'"))
    elif p.ends_at - p.starts_at > MAX_LENGTH:
        errors.append(FieldError("to", "a window lasts at most 14 days"))
    if p.ends_at <= now:
        errors.append(FieldError("to", "in the future"))
    if p.starts_at - now > MAX_AHEAD:
        errors.append(FieldError("from", "within a year"))
    if errors:
        raise InvalidInput("the maintenance window is not valid", errors=errors)
    if p.scope == GATEWAY and not p.urgent:
        earliest = earliest_start(calendar, now, p.kind)
        if p.starts_at < earliest:
            days = NOTICE_WORKING_DAYS[p.kind]
            raise InvalidInput(
                f"a gateway {p.kind} needs {days} working days' notice (seed 003, Điều 9.3 and "
                f"10.4): announced now, it may start at {earliest.isoformat()} at the "
                "earliest; mark it urgent, with the reason, to schedule it sooner",
                errors=[FieldError("from", f"at least {days} working days ahead")],
            )


async def _decide(
    session: AsyncSession,
    log_: ExchangeLog,
    cipher: BodyCipher,
    window: Window,
    edge: str,
    *,
    actor: str,
    reason: str,
    payload: Mapping[str, object],
) -> None:
    """A scheduling or cancellation: a decision in the chain, an event to the case systems."""
    log_.append_decision(
        session,
        kind="decision",
        operation=f"maintenance:{edge}",
        connector=None if window.scope == GATEWAY else window.scope,
        actor=actor,
        reason=reason,
        detail=_detail(window),
    )
    await publish(
        session,
        cipher,
        type=f"{_family(window.scope)}.maintenance.{edge}",
        source=_source(window.scope),
        subject=window.scope,
        payload=payload,
    )


async def schedule(
    db: Database,
    log_: ExchangeLog,
    cipher: BodyCipher,
    calendar: WorkCalendar,
    proposal: Proposal,
    *,
    actor: str,
    source: str,
    scopes: Iterable[str],
    now: datetime | None = None,
) -> Window:
    """Record a window (refused with a 422 naming the field when it is not valid or, for the
    gateway's own, announced with too little notice and not urgent), as a decision in the
    chain, and announce it to the case systems (an event)."""
    now = now or utcnow()
    _check(proposal, scopes=scopes, calendar=calendar, now=now)
    row = MaintenanceWindow(
        scope=proposal.scope,
        kind=proposal.kind,
        starts_at=proposal.starts_at,
        ends_at=proposal.ends_at,
        reason=proposal.reason.strip(),
        urgent=proposal.urgent,
        source=source,
        created_by=actor[:64],
        created_at=now,
    )
    async with db.transaction() as session:
        session.add(row)
        await session.flush()
        window = Window.of(row)
        await _decide(
            session,
            log_,
            cipher,
            window,
            "scheduled",
            actor=actor,
            reason=proposal.reason,
            payload=window.as_dict(),
        )
    return window


async def cancel(
    db: Database, log_: ExchangeLog, cipher: BodyCipher, window_id: int, *, actor: str, reason: str
) -> Window:
    if not 3 <= len(reason.strip()) <= 500:
        raise InvalidInput("a reason is needed", errors=[FieldError("reason", "3 to 500 chars")])
    async with db.transaction() as session:
        row = await session.get(MaintenanceWindow, window_id)
        if row is None:
            raise NotFound(f"no maintenance window {window_id}")
        if row.cancelled_at is None:
            row.cancelled_at = utcnow()
            window = Window.of(row)
            payload = {**window.as_dict(), "cancel_reason": reason}
            await _decide(
                session,
                log_,
                cipher,
                window,
                "cancelled",
                actor=actor,
                reason=reason,
                payload=payload,
            )
        return Window.of(row)


async def schedule_window(gw: Gateway, proposal: Proposal, *, actor: str, source: str) -> Window:
    """:func:`schedule` with the running gateway's database, log, calendar and connectors;
    this process sees the window at once."""
    calendar = WorkCalendar(gw.settings.calendar.holidays, gw.settings.calendar.working_days)
    window = await schedule(
        gw.db,
        gw.log,
        gw.cipher,
        calendar,
        proposal,
        actor=actor,
        source=source,
        scopes=gw.specs,
        now=gw.maintenance.now(),
    )
    gw.maintenance.invalidate()
    gw.wakeup.set()
    return window


async def cancel_window(gw: Gateway, window_id: int, *, actor: str, reason: str) -> Window:
    window = await cancel(gw.db, gw.log, gw.cipher, window_id, actor=actor, reason=reason)
    gw.maintenance.invalidate()
    gw.wakeup.set()  # the held items may go now
    return window


def _family(scope: str) -> str:
    return "gateway" if scope == GATEWAY else "connector"


def _source(scope: str) -> str:
    return "gateway" if scope == GATEWAY else scope


def _detail(window: Window) -> str:
    return (
        f"{window.scope} {window.kind} #{window.id} from {window.starts_at.isoformat()} "
        f"to {window.ends_at.isoformat()}" + (" (urgent)" if window.urgent else "")
    )


async def store_configured(db: Database, windows: Sequence[ConfiguredWindow]) -> int:
    """Store the configured windows not stored yet (same scope and times): at start-up."""
    added = 0
    async with db.transaction() as session:
        for w in windows:
            exists = await session.scalar(
                select(MaintenanceWindow.id).where(
                    MaintenanceWindow.scope == w.connector,
                    MaintenanceWindow.starts_at == w.starts_at,
                    MaintenanceWindow.ends_at == w.ends_at,
                    MaintenanceWindow.source == "config",
                )
            )
            if exists is None:
                session.add(
                    MaintenanceWindow(
                        scope=w.connector,
                        kind="maintenance",
                        starts_at=w.starts_at,
                        ends_at=w.ends_at,
                        reason=w.reason,
                        urgent=False,
                        source="config",
                        created_by="config",
                        created_at=utcnow(),
                    )
                )
                added += 1
    return added


async def announce_due(db: Database, cipher: BodyCipher, *, now: datetime | None = None) -> int:
    """Tell the case systems of the windows that started or ended since last time (events
    ``<connector|gateway>.maintenance.started`` / ``.ended``); how many were announced."""
    now = now or utcnow()
    announced = 0
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(MaintenanceWindow)
                .where(
                    MaintenanceWindow.cancelled_at.is_(None),
                    MaintenanceWindow.starts_at <= now,
                    MaintenanceWindow.ended_announced_at.is_(None),
                )
                .order_by(MaintenanceWindow.starts_at)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            window = Window.of(row)
            for edge, due, mark in (
                ("started", row.started_announced_at is None, "started_announced_at"),
                ("ended", row.ends_at <= now, "ended_announced_at"),
            ):
                if not due:
                    continue
                await publish(
                    session,
                    cipher,
                    type=f"{_family(row.scope)}.maintenance.{edge}",
                    source=_source(row.scope),
                    subject=row.scope,
                    payload=window.as_dict(),
                    occurred_at=row.starts_at if edge == "started" else row.ends_at,
                )
                setattr(row, mark, now)
                announced += 1
    return announced


class MaintenanceBoard:
    """The windows, kept in memory by each process (read again every ``refresh_seconds``, and
    at once after a change made here)."""

    def __init__(
        self,
        db: Database,
        *,
        refresh_seconds: float = 5.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        #: what "now" is (tests move it instead of waiting)
        self.clock = clock
        self._windows: list[Window] = []
        self._read_at: float | None = None

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else utcnow()

    def invalidate(self) -> None:
        self._read_at = None

    async def windows(self) -> list[Window]:
        """The windows not over yet (nor cancelled), read again when stale."""
        if self._read_at is None or time.monotonic() - self._read_at > self.refresh_seconds:
            horizon = self.now() - timedelta(days=1)
            async with self.db.reading() as session:
                rows = (
                    await session.scalars(
                        select(MaintenanceWindow)
                        .where(
                            MaintenanceWindow.ends_at > horizon,
                            MaintenanceWindow.cancelled_at.is_(None),
                        )
                        .order_by(MaintenanceWindow.starts_at)
                    )
                ).all()
            self._windows = [Window.of(r) for r in rows]
            self._read_at = time.monotonic()
        return self._windows

    async def active(self, scope: str) -> Window | None:
        now = self.now()
        return next((w for w in await self.windows() if w.scope == scope and w.covers(now)), None)

    async def in_maintenance(self) -> dict[str, Window]:
        """Every scope in a window now, with its window."""
        now = self.now()
        return {w.scope: w for w in reversed(await self.windows()) if w.covers(now)}

    async def upcoming(self, scope: str | None = None) -> list[Window]:
        now = self.now()
        return [
            w
            for w in await self.windows()
            if w.starts_at > now and (scope is None or w.scope == scope)
        ]

    async def refuse_if_active(self, scope: str) -> None:
        """Raise :class:`PlatformInMaintenance` while ``scope`` is in a window."""
        window = await self.active(scope)
        if window is not None:
            raise PlatformInMaintenance(
                f"{scope} is in a maintenance window until {window.ends_at.astimezone(VN)} "
                f"({window.reason}); not called until it ends",
                retry_after=max(1.0, (window.ends_at - self.now()).total_seconds()),
            )


class MaintenanceGate(httpx.AsyncBaseTransport):
    """The outermost layer of a connector's client: nothing is sent to a platform in its
    maintenance window (a look-up gets a 503 naming the window; the workers do not even take
    the platform's items, see :class:`~gateway.core.delivery.workers.DeliveryService`)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, scope: str, check: Callable[[str], Awaitable[None]]
    ) -> None:
        self._inner = inner
        self._scope = scope
        self._check = check

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._check(self._scope)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
