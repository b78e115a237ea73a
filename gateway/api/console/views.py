"""What the ops console shows, computed from the exchange log, the outbox, the breakers, the
maintenance windows and the audit log's anchoring: plain data for the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from gateway.core.availability import attempt_failed
from gateway.core.delivery import outbox
from gateway.core.delivery.resilience import CircuitState
from gateway.core.health import wire_profile
from gateway.core.log.anchoring import anchoring_status
from gateway.core.runtime import Gateway
from gateway.core.store.db import Checkpoint, ExchangeEntry, utcnow

#: the sparkline's buckets: 12 x 5 minutes, the last hour
BUCKETS = 12
BUCKET = timedelta(minutes=5)
#: at most this many attempts of the last hour read per connector
MAX_ROWS = 20_000
#: a queue older than this makes a connector degraded
STALE_QUEUE = timedelta(minutes=10)


@dataclass
class Window:
    attempts: int = 0
    errors: int = 0
    durations: list[float] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.attempts if self.attempts else None

    @property
    def p95_ms(self) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1)


@dataclass
class ConnectorView:
    slug: str
    title: str
    wire: dict[str, str]
    #: up, idle, degraded, open, half-open, maintenance, unknown
    state: str
    circuit: str
    last5: Window
    last60: Window
    #: attempts and errors per 5 minutes over the last hour, oldest first
    buckets: list[tuple[int, int]]
    queued: int
    failed: int
    delivering: int
    dead: int
    oldest_pending_seconds: float | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    maintenance: dict[str, Any] | None
    upcoming: list[dict[str, Any]]

    def sparkline(self, width: int = 120, height: int = 24) -> dict[str, str]:
        """SVG polyline points of the attempts and of the errors (same scale)."""
        peak = max([a for a, _ in self.buckets] + [1])
        step = width / max(1, len(self.buckets) - 1)

        def points(values: list[int]) -> str:
            return " ".join(
                f"{i * step:.1f},{height - 1 - (v / peak) * (height - 2):.1f}"
                for i, v in enumerate(values)
            )

        return {
            "attempts": points([a for a, _ in self.buckets]),
            "errors": points([e for _, e in self.buckets]),
            "peak": str(peak),
        }


async def _traffic(gw: Gateway, slug: str, now: datetime) -> tuple[Window, Window, list[Any]]:
    since = now - BUCKETS * BUCKET
    async with gw.db.reading() as session:
        rows = (
            await session.execute(
                select(
                    ExchangeEntry.finished_at,
                    ExchangeEntry.duration_ms,
                    ExchangeEntry.outcome,
                    ExchangeEntry.status_code,
                )
                .where(
                    ExchangeEntry.connector == slug,
                    ExchangeEntry.kind == "attempt",
                    ExchangeEntry.finished_at >= since,
                )
                .order_by(ExchangeEntry.id.desc())
                .limit(MAX_ROWS)
            )
        ).all()
    last5, last60 = Window(), Window()
    buckets = [[0, 0] for _ in range(BUCKETS)]
    for finished, duration, outcome, status in rows:
        failed = attempt_failed(outcome, status)
        age = now - finished
        index = BUCKETS - 1 - min(BUCKETS - 1, max(0, int(age / BUCKET)))
        buckets[index][0] += 1
        buckets[index][1] += int(failed)
        windows = (last60, last5) if age <= timedelta(minutes=5) else (last60,)
        for w in windows:
            w.attempts += 1
            w.errors += int(failed)
            w.durations.append(float(duration or 0.0))
    return last5, last60, [(a, e) for a, e in buckets]


async def _last(gw: Gateway, slug: str) -> tuple[datetime | None, datetime | None]:
    """When the platform last answered well, and last failed (from the latest attempts)."""
    async with gw.db.reading() as session:
        rows = (
            await session.execute(
                select(ExchangeEntry.finished_at, ExchangeEntry.outcome, ExchangeEntry.status_code)
                .where(ExchangeEntry.connector == slug, ExchangeEntry.kind == "attempt")
                .order_by(ExchangeEntry.id.desc())
                .limit(500)
            )
        ).all()
    ok = next((f for f, o, s in rows if not attempt_failed(o, s)), None)
    bad = next((f for f, o, s in rows if attempt_failed(o, s)), None)
    return ok, bad


def _state(
    circuit: str,
    in_maintenance: bool,
    last5: Window,
    last60: Window,
    dead: int,
    oldest: float | None,
    pending: int,
) -> str:
    if in_maintenance:
        return "maintenance"
    if circuit in ("open", "half-open", "unknown"):
        return circuit
    rate = last5.error_rate
    if (
        (rate is not None and last5.attempts >= 3 and rate >= 0.5)
        or dead
        or (oldest is not None and oldest > STALE_QUEUE.total_seconds())
    ):
        return "degraded"
    if not last60.attempts and not pending:
        return "idle"
    return "up"


async def connectors(gw: Gateway) -> list[ConnectorView]:
    now = utcnow()
    depth = await outbox.depth(gw.db)
    oldest = await outbox.oldest_pending(gw.db)
    in_maintenance = await gw.maintenance.in_maintenance()
    out: list[ConnectorView] = []
    for slug, spec in gw.specs.items():
        try:
            circuit = (await gw.breakers[slug].state()).value
        except Exception:  # the state store does not answer: the page still shows the rest
            circuit = "unknown"
        if circuit == CircuitState.HALF_OPEN.value:
            circuit = "half-open"
        last5, last60, buckets = await _traffic(gw, slug, now)
        ok, bad = await _last(gw, slug)
        counts = depth.get(slug, {})
        since = oldest.get(slug)
        age = (now - since).total_seconds() if since is not None else None
        pending = sum(counts.get(s, 0) for s in ("queued", "failed", "delivering"))
        window = in_maintenance.get(slug)
        out.append(
            ConnectorView(
                slug=slug,
                title=spec.title,
                wire=wire_profile(gw.configs[slug]),
                state=_state(
                    circuit, window is not None, last5, last60, counts.get("dead", 0), age, pending
                ),
                circuit=circuit,
                last5=last5,
                last60=last60,
                buckets=buckets,
                queued=counts.get("queued", 0),
                failed=counts.get("failed", 0),
                delivering=counts.get("delivering", 0),
                dead=counts.get("dead", 0),
                oldest_pending_seconds=age,
                last_success_at=ok,
                last_failure_at=bad,
                maintenance=window.as_dict() if window is not None else None,
                upcoming=[w.as_dict() for w in await gw.maintenance.upcoming(slug)],
            )
        )
    for slug, spec in sorted(getattr(gw, "off_specs", {}).items()):
        # left out by LGSP_CONNECTORS_OFF: listed as off, its waiting items counted
        counts = depth.get(slug, {})
        since = oldest.get(slug)
        out.append(
            ConnectorView(
                slug=slug,
                title=spec.title,
                wire={},
                state="off",
                circuit="off",
                last5=Window(),
                last60=Window(),
                buckets=[],
                queued=counts.get("queued", 0),
                failed=counts.get("failed", 0),
                delivering=counts.get("delivering", 0),
                dead=counts.get("dead", 0),
                oldest_pending_seconds=(now - since).total_seconds() if since else None,
                last_success_at=None,
                last_failure_at=None,
                maintenance=None,
                upcoming=[],
            )
        )
    return out


async def audit_status(gw: Gateway) -> dict[str, Any]:
    """The exchange log's sealing and anchoring, at a glance."""
    async with gw.db.reading() as session:
        last = (
            await session.execute(
                select(Checkpoint.seq, Checkpoint.created_at).order_by(Checkpoint.seq.desc())
            )
        ).first()
        unsealed = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.seq.is_(None))
        )
    status: dict[str, Any] = {
        "last_checkpoint_seq": last[0] if last else None,
        "last_checkpoint_at": last[1] if last else None,
        "unsealed": int(unsealed or 0),
        "anchoring": None,
    }
    if gw.anchorer is not None:
        status["anchoring"] = {
            "authority": gw.anchorer.authority,
            **(await anchoring_status(gw.db)).as_dict(utcnow()),
        }
    return status
