"""Availability evidence for the 24/7 connection (seed 003, Điều 4.2): per platform and month,
the share of time it answered, its outages, and its maintenance windows apart.

Read from the exchange log, the system of record: every attempt toward a platform is a row
(``kind`` ``attempt``), failed when the transport failed (``error:...``) or the platform
answered 5xx or 429, as the ops view counts them (:func:`gateway.core.health.attempt_failed`).
An **outage** is a run of failed attempts with no answered one between them, from the first
failure to the first answer after it (or to the end of the period while it lasts), when it holds
two attempts or more and lasts at least ``min_outage_seconds`` (a lone failure is a blip,
counted as a failed attempt only; with little traffic the end is the next answer, so an outage
is never shorter than it was). While
the circuit breaker is open only its probes reach the platform, so the run, and the outage, go
on until a probe is answered. Its **cause** is the commonest failure of the run (``http-503``,
``error:ConnectTimeout``).

**Maintenance windows** (:mod:`gateway.core.maintenance`, not cancelled) are apart: their time
is neither available nor an outage, and outage time inside a window is not counted. Time with no
attempt at all (no traffic) counts as available: nothing showed the platform down.

``availability = (period - maintenance - outages) / (period - maintenance)``, the period being
the month (local time, Asia/Ho_Chi_Minh) up to now when the month is not over.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gateway.core.errors import FieldError, InvalidInput
from gateway.core.local_time import TZ, month_bounds
from gateway.core.store.db import Database, ExchangeEntry, MaintenanceWindow, utcnow

__all__ = ["Availability", "Outage", "attempt_failed", "availability", "availability_csv"]

#: a failing run shorter than this, or of fewer attempts, is a blip, not an outage
MIN_OUTAGE_SECONDS = 60.0
MIN_OUTAGE_ATTEMPTS = 2


def attempt_failed(outcome: str, status: int | None) -> bool:
    """An attempt that shows the platform unavailable: the transport failed, or it answered
    5xx or 429 (a 4xx refusal is an answer)."""
    return outcome.startswith("error:") or (status is not None and (status >= 500 or status == 429))


@dataclass(slots=True)
class Outage:
    start: datetime
    end: datetime
    attempts: int
    cause: str
    #: still failing at the end of the period
    ongoing: bool = False
    #: seconds of it outside maintenance windows (what the availability counts)
    counted_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.astimezone(TZ).isoformat(),
            "end": self.end.astimezone(TZ).isoformat(),
            "duration_seconds": round(self.seconds, 3),
            "counted_seconds": round(self.counted_seconds, 3),
            "attempts": self.attempts,
            "cause": self.cause,
            "ongoing": self.ongoing,
        }


@dataclass(slots=True)
class Availability:
    connector: str
    month: str
    start: datetime
    end: datetime
    attempts: int = 0
    failed_attempts: int = 0
    outages: list[Outage] = field(default_factory=list)
    maintenance: list[tuple[datetime, datetime, str]] = field(default_factory=list)

    @property
    def period_seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def maintenance_seconds(self) -> float:
        return sum((b - a).total_seconds() for a, b, _ in self.maintenance)

    @property
    def outage_seconds(self) -> float:
        return sum(o.counted_seconds for o in self.outages)

    @property
    def ratio(self) -> float:
        measured = self.period_seconds - self.maintenance_seconds
        if measured <= 0:
            return 1.0
        return max(0.0, (measured - self.outage_seconds) / measured)

    def as_dict(self) -> dict[str, object]:
        return {
            "connector": self.connector,
            "month": self.month,
            "timezone": str(TZ),
            "start": self.start.astimezone(TZ).isoformat(),
            "end": self.end.astimezone(TZ).isoformat(),
            "availability": round(self.ratio, 6),
            "period_seconds": round(self.period_seconds, 3),
            "maintenance_seconds": round(self.maintenance_seconds, 3),
            "outage_seconds": round(self.outage_seconds, 3),
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "outages": [o.as_dict() for o in self.outages],
            "maintenance": [
                {
                    "from": a.astimezone(TZ).isoformat(),
                    "to": b.astimezone(TZ).isoformat(),
                    "reason": r,
                }
                for a, b, r in self.maintenance
            ],
        }


def _overlap(a: datetime, b: datetime, windows: Iterable[tuple[datetime, datetime, str]]) -> float:
    """Seconds of ``[a, b)`` inside the (disjoint) windows."""
    return sum(max(0.0, (min(b, y) - max(a, x)).total_seconds()) for x, y, _ in windows)


Span = tuple[datetime, datetime, str]


def _merged(windows: Sequence[Span]) -> list[Span]:
    """The windows sorted, overlapping ones merged (their reasons joined)."""
    out: list[Span] = []
    for a, b, reason in sorted(windows):
        if out and a <= out[-1][1]:
            last = out[-1]
            out[-1] = (last[0], max(last[1], b), f"{last[2]}; {reason}")
        else:
            out.append((a, b, reason))
    return out


async def availability(
    db: Database,
    *,
    month: str,
    connectors: Sequence[str],
    now: datetime | None = None,
    min_outage_seconds: float = MIN_OUTAGE_SECONDS,
) -> list[Availability]:
    """Each connector's availability over ``month`` (``YYYY-MM``, local time)."""
    start, end = month_bounds(month)
    end = min(end, now or utcnow())
    if end <= start:
        raise InvalidInput(
            f"{month} has not begun", errors=[FieldError("month", "a month begun already")]
        )
    out = []
    for slug in connectors:
        report = Availability(slug, month, start, end)
        async with db.reading() as session:
            windows = (
                await session.execute(
                    select(
                        MaintenanceWindow.starts_at,
                        MaintenanceWindow.ends_at,
                        MaintenanceWindow.reason,
                    ).where(
                        MaintenanceWindow.scope == slug,
                        MaintenanceWindow.cancelled_at.is_(None),
                        MaintenanceWindow.starts_at < end,
                        MaintenanceWindow.ends_at > start,
                    )
                )
            ).all()
            report.maintenance = _merged([(max(a, start), min(b, end), r) for a, b, r in windows])
            rows = await session.stream(
                select(ExchangeEntry.started_at, ExchangeEntry.outcome, ExchangeEntry.status_code)
                .where(
                    ExchangeEntry.connector == slug,
                    ExchangeEntry.kind == "attempt",
                    ExchangeEntry.started_at >= start,
                    ExchangeEntry.started_at < end,
                )
                .order_by(ExchangeEntry.started_at, ExchangeEntry.id)
                .execution_options(yield_per=5000)
            )
            run: list[tuple[datetime, str]] = []
            async for at, outcome, status in rows:
                report.attempts += 1
                if attempt_failed(outcome, status):
                    report.failed_attempts += 1
                    run.append((at, outcome if status is None else f"http-{status}"))
                elif run:
                    _close(report, run, at, ongoing=False, minimum=min_outage_seconds)
                    run = []
            if run:
                _close(report, run, end, ongoing=True, minimum=min_outage_seconds)
        out.append(report)
    return out


def _close(
    report: Availability,
    run: Sequence[tuple[datetime, str]],
    at: datetime,
    *,
    ongoing: bool,
    minimum: float,
) -> None:
    """The failing ``run`` ended at ``at`` (an answer, or the end of the period): an outage
    when it lasted ``minimum`` seconds."""
    outage = Outage(
        start=run[0][0],
        end=at,
        attempts=len(run),
        cause=Counter(cause for _, cause in run).most_common(1)[0][0],
        ongoing=ongoing,
    )
    if outage.seconds < minimum or outage.attempts < MIN_OUTAGE_ATTEMPTS:
        return
    outage.counted_seconds = outage.seconds - _overlap(outage.start, outage.end, report.maintenance)
    if outage.counted_seconds > 0:  # wholly inside a maintenance window: not an outage
        report.outages.append(outage)


def availability_csv(reports: Iterable[Availability]) -> str:
    """One ``summary`` row per connector, then its ``outage`` and ``maintenance`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "connector",
            "row",
            "start",
            "end",
            "duration_seconds",
            "availability",
            "attempts",
            "failed_attempts",
            "cause_or_reason",
        ]
    )
    for r in reports:
        writer.writerow(
            [
                r.connector,
                "summary",
                r.start.astimezone(TZ).isoformat(),
                r.end.astimezone(TZ).isoformat(),
                round(r.outage_seconds, 3),
                round(r.ratio, 6),
                r.attempts,
                r.failed_attempts,
                "",
            ]
        )
        for o in r.outages:
            writer.writerow(
                [
                    r.connector,
                    "outage",
                    o.start.astimezone(TZ).isoformat(),
                    o.end.astimezone(TZ).isoformat(),
                    round(o.counted_seconds, 3),
                    "",
                    o.attempts,
                    o.attempts,
                    o.cause,
                ]
            )
        for a, b, reason in r.maintenance:
            writer.writerow(
                [
                    r.connector,
                    "maintenance",
                    a.astimezone(TZ).isoformat(),
                    b.astimezone(TZ).isoformat(),
                    round((b - a).total_seconds(), 3),
                    "",
                    "",
                    "",
                    _cell(reason),
                ]
            )
    return buffer.getvalue()


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not read as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
