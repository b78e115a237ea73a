"""Usage governance of the population database (seed 004, Điều 8).

The province reviews query counts, locks accounts with no query for a year, and investigates
sudden spikes. Here:

- :func:`note_lookup` counts each authorised look-up on the hot path (one counter increment in
  the state store; the officer's baseline is read from the exchange log once a day and cached)
  and raises a spike alert the moment the day's count crosses a threshold;
- :func:`scan_spikes` applies the same rule to one day of the exchange log in batch (the log is
  the system of record; the hot-path counter lives in the state store);
- :func:`idle_officers` / :func:`lock_idle` find (and lock) officers idle for ``idle_days``;
- :func:`usage` (from :mod:`connectors.dancu.usage`) counts look-ups per unit and officer.

Spike rule (thresholds in :class:`~gateway.core.settings.GovernanceSettings`): a day alerts when
its count reaches ``spike_daily_ceiling``, or when it reaches ``spike_min_daily`` and exceeds
``spike_median_multiple`` times the median of the officer's daily counts over the previous
``spike_trailing_days`` days (days with no look-up count as zero; only days since registration;
with fewer than :data:`MIN_HISTORY_DAYS` days of history only the ceiling applies). One alert
is kept per kind, officer and day.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select, update

from connectors.dancu import officers
from connectors.dancu.tables import GovernanceAlert, Officer
from connectors.dancu.usage import UsageReport, lookups_filter, usage, usage_csv
from gateway.core.crypto import BodyCipher
from gateway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from gateway.core.local_time import day_start, local_day
from gateway.core.metrics import OFFICER_ALERTS, OFFICER_LOOKUPS
from gateway.core.settings import GovernanceSettings
from gateway.core.store.db import Database, ExchangeEntry, utcnow

if TYPE_CHECKING:
    from gateway.core.runtime import Gateway

__all__ = [
    "MIN_HISTORY_DAYS",
    "AlertView",
    "IdleOfficer",
    "SpikeVerdict",
    "UsageReport",
    "acknowledge_alert",
    "baseline",
    "daily_counts",
    "history_for",
    "idle_officers",
    "is_idle",
    "judge",
    "list_alerts",
    "lock_idle",
    "median",
    "note_lookup",
    "scan_spikes",
    "spike_verdict",
    "usage",
    "usage_csv",
]

log = structlog.get_logger("gateway.governance")

MIN_HISTORY_DAYS = 7
SPIKE = "spike"
_TWO_DAYS = 2 * 86_400.0
GOVERNANCE_ACTOR = "governance"


# --- detection: pure functions ----------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


@dataclass(frozen=True, slots=True)
class SpikeVerdict:
    rule: str  # ceiling | median
    count: int
    threshold: float
    median: float | None

    def describe(self, day: date, settings: GovernanceSettings) -> str:
        if self.rule == "ceiling":
            return (
                f"{self.count} look-ups on {day}: at or above the daily ceiling {self.threshold:g}"
            )
        return (
            f"{self.count} look-ups on {day}: above {settings.spike_median_multiple:g} x the "
            f"trailing median {self.median:g} ({settings.spike_trailing_days} days)"
        )


def baseline(history: Sequence[int], settings: GovernanceSettings) -> float | None:
    """The median of the trailing window of daily counts (oldest first), or None when fewer
    than :data:`MIN_HISTORY_DAYS` days are known (only the ceiling applies then)."""
    window = list(history)[-settings.spike_trailing_days :]
    return median(window) if len(window) >= MIN_HISTORY_DAYS else None


def judge(
    count: int, trailing_median: float | None, settings: GovernanceSettings
) -> SpikeVerdict | None:
    """Whether a day with ``count`` look-ups is a spike against the officer's baseline."""
    if count >= settings.spike_daily_ceiling:
        return SpikeVerdict("ceiling", count, float(settings.spike_daily_ceiling), trailing_median)
    if trailing_median is None or count < settings.spike_min_daily:
        return None
    threshold = settings.spike_median_multiple * trailing_median
    if count > threshold:
        return SpikeVerdict("median", count, threshold, trailing_median)
    return None


def spike_verdict(
    count: int, history: Sequence[int], settings: GovernanceSettings
) -> SpikeVerdict | None:
    """:func:`judge` against the :func:`baseline` of ``history`` (daily counts, oldest first)."""
    return judge(count, baseline(history, settings), settings)


def history_for(
    counts: dict[date, int], *, day: date, registered_on: date | None, trailing_days: int
) -> list[int]:
    """Daily counts of the ``trailing_days`` days before ``day`` (zeros included), from the
    registration day on, oldest first."""
    first = day - timedelta(days=trailing_days)
    if registered_on is not None:
        first = max(first, registered_on)
    return [counts.get(first + timedelta(days=i), 0) for i in range((day - first).days)]


def is_idle(idle_since: datetime, now: datetime, idle_days: int) -> bool:
    """True when nothing happened for ``idle_days`` days (seed 004, Điều 8: a year)."""
    return now - idle_since >= timedelta(days=idle_days)


# --- reading the exchange log -----------------------------------------------------------------


async def daily_counts(
    db: Database, *, start: date, end: date, officer: str | None = None
) -> dict[str, dict[date, int]]:
    """Look-ups per officer per local day, for days in ``[start, end)``."""
    stmt = select(ExchangeEntry.officer_id, ExchangeEntry.started_at).where(
        lookups_filter(),
        ExchangeEntry.officer_id.is_not(None),
        ExchangeEntry.started_at >= day_start(start),
        ExchangeEntry.started_at < day_start(end),
    )
    if officer is not None:
        stmt = stmt.where(ExchangeEntry.officer_id == officer)
    counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    async with db.reading() as session:
        for login, at in await session.execute(stmt):
            counts[login][local_day(at)] += 1
    return {login: dict(days) for login, days in counts.items()}


async def _registered_on(db: Database, logins: Sequence[str]) -> dict[str, date]:
    async with db.reading() as session:
        rows = await session.execute(
            select(Officer.tai_khoan, Officer.registered_at).where(Officer.tai_khoan.in_(logins))
        )
        return {login: local_day(at) for login, at in rows}


# --- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    kind: str
    officer: str
    day: date
    rule: str
    count: int
    threshold: float
    median: float | None
    detail: str
    locked: bool
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_note: str | None

    @classmethod
    def of(cls, row: GovernanceAlert) -> AlertView:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "officer": self.officer,
            "day": self.day.isoformat(),
            "rule": self.rule,
            "count": self.count,
            "threshold": self.threshold,
            "median": self.median,
            "detail": self.detail,
            "locked": self.locked,
            "created_at": self.created_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_note": self.acknowledged_note,
        }


async def _raise_alert(
    db: Database,
    *,
    officer: str,
    day: date,
    verdict: SpikeVerdict,
    settings: GovernanceSettings,
    cipher: BodyCipher | None = None,
) -> bool:
    """Record the day's spike alert unless one exists; count it, log it, and lock the officer
    when configured. True when this call raised it."""
    detail = verdict.describe(day, settings)
    inserted = await db.insert_if_absent(
        GovernanceAlert,
        {
            "kind": SPIKE,
            "officer": officer,
            "day": day,
            "rule": verdict.rule,
            "count": verdict.count,
            "threshold": verdict.threshold,
            "median": verdict.median,
            "detail": detail,
            "locked": False,
            "created_at": utcnow(),
        },
    )
    if not inserted:
        return False
    OFFICER_ALERTS.labels(SPIKE).inc()
    log.warning("officer_lookup_spike", officer=officer, day=day.isoformat(), detail=detail)
    if settings.spike_auto_lock:
        try:
            await officers.lock(
                db=db,
                tai_khoan=officer,
                reason=f"automatic lock on a spike: {detail} (seed 004, Điều 8)",
                actor=f"{GOVERNANCE_ACTOR}:spike",
                cipher=cipher,
            )
        except (Conflict, NotFound):  # already locked, or not in the registry
            return True
        async with db.transaction() as session:
            await session.execute(
                update(GovernanceAlert)
                .where(
                    GovernanceAlert.kind == SPIKE,
                    GovernanceAlert.officer == officer,
                    GovernanceAlert.day == day,
                )
                .values(locked=True)
            )
    return True


async def list_alerts(
    db: Database,
    *,
    open_only: bool = False,
    officer: str | None = None,
    day: date | None = None,
    limit: int = 500,
) -> list[AlertView]:
    """Alerts, newest first; ``open_only``: those nobody acknowledged yet."""
    stmt = select(GovernanceAlert).order_by(GovernanceAlert.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(GovernanceAlert.acknowledged_at.is_(None))
    if officer is not None:
        stmt = stmt.where(GovernanceAlert.officer == officer)
    if day is not None:
        stmt = stmt.where(GovernanceAlert.day == day)
    async with db.reading() as session:
        return [AlertView.of(r) for r in (await session.scalars(stmt)).all()]


async def acknowledge_alert(
    db: Database, *, alert_id: int, actor: str, note: str | None = None
) -> AlertView:
    """Mark an alert as reviewed (by whom, with an optional note); once only."""
    note = (note or "").strip() or None
    if note is not None and len(note) > 500:
        raise InvalidInput("the note is too long", errors=[FieldError("note", "500 characters")])
    async with db.transaction() as session:
        row = await session.get(GovernanceAlert, alert_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        if row.acknowledged_at is not None:
            raise Conflict(f"alert {alert_id} was acknowledged by {row.acknowledged_by}")
        row.acknowledged_at = utcnow()
        row.acknowledged_by = actor
        row.acknowledged_note = note
        return AlertView.of(row)


# --- the hot path -----------------------------------------------------------------------------


async def _cached_baseline(gw: Gateway, login: str, day: date) -> float | None:
    settings = gw.settings.governance
    key = f"governance:baseline:{login}:{day.isoformat()}"
    cached = await gw.state.get(key)
    if cached is not None:
        return None if cached == b"none" else float(cached)
    start = day - timedelta(days=settings.spike_trailing_days)
    counts = (await daily_counts(gw.db, start=start, end=day, officer=login)).get(login, {})
    registered = (await _registered_on(gw.db, [login])).get(login)
    value = baseline(
        history_for(
            counts,
            day=day,
            registered_on=registered,
            trailing_days=settings.spike_trailing_days,
        ),
        settings,
    )
    await gw.state.set(key, b"none" if value is None else repr(value).encode(), ttl=_TWO_DAYS)
    return value


async def note_lookup(gw: Gateway, officer: officers.ActiveOfficer) -> None:
    """Count one authorised look-up and raise the day's spike alert when it crosses a threshold.

    Below ``min(spike_min_daily, spike_daily_ceiling)`` look-ups in the day this is one state-store
    increment; above it, a cached baseline (the exchange log is read once per officer per day)
    and, at most once per officer and day, the alert. The look-up being counted goes on even
    when it triggers an automatic lock; the lock refuses the next ones."""
    settings = gw.settings.governance
    day = local_day(utcnow())
    OFFICER_LOOKUPS.labels(officer.don_vi).inc()
    login = officer.tai_khoan
    count = await gw.state.incr(f"governance:lookups:{login}:{day.isoformat()}", ttl=_TWO_DAYS)
    if count < min(settings.spike_min_daily, settings.spike_daily_ceiling):
        return
    verdict = judge(count, await _cached_baseline(gw, login, day), settings)
    if verdict is None:
        return
    if not await gw.state.set_if_absent(
        f"governance:alerted:{login}:{day.isoformat()}", b"1", ttl=_TWO_DAYS
    ):
        return
    await _raise_alert(
        gw.db, officer=login, day=day, verdict=verdict, settings=settings, cipher=gw.cipher
    )


# --- batch reviews ----------------------------------------------------------------------------


async def scan_spikes(
    db: Database,
    *,
    day: date,
    settings: GovernanceSettings,
    cipher: BodyCipher | None = None,
) -> list[AlertView]:
    """Apply the spike rule to every officer's look-ups of ``day`` in the exchange log, raising
    the alerts not raised yet (as :func:`note_lookup` does); returns the day's alerts."""
    today = await daily_counts(db, start=day, end=day + timedelta(days=1))
    if today:
        start = day - timedelta(days=settings.spike_trailing_days)
        before = await daily_counts(db, start=start, end=day)
        registered = await _registered_on(db, sorted(today))
        for login in sorted(today):
            history = history_for(
                before.get(login, {}),
                day=day,
                registered_on=registered.get(login),
                trailing_days=settings.spike_trailing_days,
            )
            verdict = spike_verdict(today[login].get(day, 0), history, settings)
            if verdict is not None:
                await _raise_alert(
                    db, officer=login, day=day, verdict=verdict, settings=settings, cipher=cipher
                )
    return await list_alerts(db, day=day)


@dataclass(frozen=True, slots=True)
class IdleOfficer:
    tai_khoan: str
    ma_can_bo: str
    ho_ten: str
    don_vi: str
    last_lookup_at: datetime | None
    idle_since: datetime  # the last look-up, or registration / the last unlock if later
    idle_days: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "tai_khoan": self.tai_khoan,
            "ma_can_bo": self.ma_can_bo,
            "ho_ten": self.ho_ten,
            "don_vi": self.don_vi,
            "last_lookup_at": self.last_lookup_at.isoformat() if self.last_lookup_at else None,
            "idle_since": self.idle_since.isoformat(),
            "idle_days": self.idle_days,
        }


async def idle_officers(db: Database, *, now: datetime, idle_days: int) -> list[IdleOfficer]:
    """Active officers with no look-up for ``idle_days`` days, counted from their last look-up
    in the log or, when later (or none), their registration or last unlock."""
    if idle_days < 1:
        raise InvalidInput("idle days must be positive", errors=[FieldError("days", ">= 1")])
    async with db.reading() as session:
        active = (
            await session.scalars(
                select(Officer)
                .where(Officer.status == officers.ACTIVE)
                .order_by(Officer.don_vi, Officer.tai_khoan)
            )
        ).all()
        last: dict[str, datetime] = {
            login: at
            for login, at in await session.execute(
                select(ExchangeEntry.officer_id, func.max(ExchangeEntry.started_at))
                .where(lookups_filter(), ExchangeEntry.officer_id.is_not(None))
                .group_by(ExchangeEntry.officer_id)
            )
        }
    found = []
    for o in active:
        looked = last.get(o.tai_khoan)
        since = max(looked, o.active_since) if looked is not None else o.active_since
        if is_idle(since, now, idle_days):
            found.append(
                IdleOfficer(
                    tai_khoan=o.tai_khoan,
                    ma_can_bo=o.ma_can_bo,
                    ho_ten=o.ho_ten,
                    don_vi=o.don_vi,
                    last_lookup_at=looked,
                    idle_since=since,
                    idle_days=(now - since).days,
                )
            )
    return found


async def lock_idle(
    db: Database,
    *,
    now: datetime,
    idle_days: int,
    actor: str,
    cipher: BodyCipher | None = None,
) -> list[IdleOfficer]:
    """Lock every officer :func:`idle_officers` finds; returns those locked by this call."""
    locked = []
    for idle in await idle_officers(db, now=now, idle_days=idle_days):
        last = idle.last_lookup_at.date().isoformat() if idle.last_lookup_at else "never"
        reason = (
            f"idle: no look-up for {idle.idle_days} days (last look-up: {last}); "
            "seed 004, Điều 8: accounts idle for a year are locked"
        )
        try:
            await officers.lock(
                db=db, tai_khoan=idle.tai_khoan, reason=reason, actor=actor, cipher=cipher
            )
        except Conflict:  # locked meanwhile
            continue
        locked.append(idle)
    return locked
