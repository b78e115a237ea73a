"""The poller of postal shipments gone quiet (run by the delivery workers as the postal
connector's :class:`~gateway.core.connector.PeriodicJob`).

The shipments not final that have had no status and no poll for ``quiet_after_seconds`` are
tracked on the platform (through the circuit breaker, each look-up an exchange-log entry of the
client :data:`POLLER_CLIENT`) and what the platform says is applied as ``poll`` reports by
:func:`connectors.postal.shipments.apply_report`: a webhook lost on the way is made up for, and a
report already received through a webhook is recognised as the same one. A shipment is polled
at most once per quiet period; one whose look-up failed is tried again next round.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update

from connectors.postal.shipments import Report, apply_report
from connectors.postal.status import CONNECTOR, FINAL
from connectors.postal.tables import Shipment
from gateway.core.delivery.intake import call_through
from gateway.core.errors import CircuitOpen, UpstreamError
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

__all__ = ["POLLER_CLIENT", "Tracker", "poll_quiet"]

log = structlog.get_logger("gateway.shipments")

#: the client name on the exchange-log entries of the poller's look-ups
POLLER_CLIENT = "lgsp-poller"

Tracker = Callable[[str], Awaitable[Sequence[Report] | None]]


async def poll_quiet(
    gw: Gateway,
    *,
    track: Tracker,
    quiet_after_seconds: float,
    limit: int = 50,
    now: datetime | None = None,
) -> int:
    """Track the shipments gone quiet and apply what the platform says; returns how many were
    tracked. A failure of one look-up is logged and the round goes on (an open circuit ends
    the round: the platform is down for all of them)."""
    moment = now or utcnow()
    cutoff = moment - timedelta(seconds=quiet_after_seconds)
    async with gw.db.reading() as session:
        quiet = (
            await session.scalars(
                select(Shipment)
                .where(
                    Shipment.status.not_in(list(FINAL)),
                    Shipment.created_at <= cutoff,
                    or_(Shipment.last_event_at.is_(None), Shipment.last_event_at <= cutoff),
                    or_(Shipment.last_polled_at.is_(None), Shipment.last_polled_at <= cutoff),
                )
                .order_by(Shipment.last_polled_at.is_not(None), Shipment.last_polled_at)
                .limit(limit)
            )
        ).all()
    tracked = 0
    for shipment in quiet:
        number = shipment.order_number
        try:
            _, reports = await call_through(
                gw,
                connector=CONNECTOR,
                operation="poll_tracking",
                client=POLLER_CLIENT,
                call=functools.partial(track, number),
                render=lambda found: json.dumps(
                    None if found is None else [r.platform_code for r in found]
                ).encode(),
                ma_ho_so=shipment.ma_ho_so,
            )
        except CircuitOpen:
            log.warning("shipment_poll_circuit_open", remaining=len(quiet) - tracked)
            break
        except UpstreamError as exc:
            log.warning("shipment_poll_failed", order_number=number, error=type(exc).__name__)
            continue
        tracked += 1
        for report in sorted(reports or (), key=lambda r: r.at):
            await apply_report(gw, report, source="poll")
        async with gw.db.transaction() as session:
            await session.execute(
                update(Shipment)
                .where(Shipment.id == shipment.id)
                .values(last_polled_at=moment)
                .execution_options(synchronize_session=False)
            )
    return tracked
