"""Connector health for operators, computed from the exchange log and the outbox.

Figures cover the most recent attempts toward each platform (``window`` of them): an attempt
fails when the transport failed or the platform answered 5xx/429.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.core.availability import attempt_failed
from gateway.core.delivery import outbox
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return round(sorted_values[index], 2)


def wire_profile(config: Any) -> dict[str, str]:
    """How a connector speaks to its platform: ``transport`` (direct or through the LGSP) and,
    for a connector with named wire profiles, its ``profile``."""
    shown = {"transport": str(getattr(config, "transport", "direct"))}
    profile = getattr(config, "profile", None)
    if profile is not None:
        shown["profile"] = str(profile)
    return shown


async def connector_health(gw: Gateway, *, window: int = 500) -> list[dict[str, Any]]:
    depth = await outbox.depth(gw.db)
    in_maintenance = await gw.maintenance.in_maintenance()
    out: list[dict[str, Any]] = []
    for slug, spec in gw.specs.items():
        async with gw.db.reading() as session:
            rows = (
                await session.execute(
                    select(
                        ExchangeEntry.finished_at,
                        ExchangeEntry.duration_ms,
                        ExchangeEntry.outcome,
                        ExchangeEntry.status_code,
                    )
                    .where(ExchangeEntry.connector == slug, ExchangeEntry.kind == "attempt")
                    .order_by(ExchangeEntry.id.desc())
                    .limit(window)
                )
            ).all()
        last_ok: datetime | None = None
        last_fail: datetime | None = None
        failures = 0
        for finished, _ms, outcome, status in rows:
            if attempt_failed(outcome, status):
                failures += 1
                last_fail = last_fail or finished
            else:
                last_ok = last_ok or finished
        latencies = sorted(r[1] for r in rows)
        breaker = gw.breakers[slug]
        counts = depth.get(slug, {})
        out.append(
            {
                "slug": slug,
                "title": spec.title,
                **wire_profile(gw.configs[slug]),
                "circuit": (await breaker.state()).value,
                "last_success_at": last_ok.isoformat() if last_ok else None,
                "last_failure_at": last_fail.isoformat() if last_fail else None,
                "attempts_considered": len(rows),
                "error_rate": round(failures / len(rows), 4) if rows else 0.0,
                "latency_ms": {
                    "p50": _percentile(latencies, 0.5),
                    "p95": _percentile(latencies, 0.95),
                    "p99": _percentile(latencies, 0.99),
                },
                "outbox": {
                    "queued": counts.get("queued", 0),
                    "failed": counts.get("failed", 0),
                    "delivering": counts.get("delivering", 0),
                },
                "dead_letters": counts.get("dead", 0),
                "maintenance": (in_maintenance[slug].as_dict() if slug in in_maintenance else None),
                "upcoming_maintenance": [w.as_dict() for w in await gw.maintenance.upcoming(slug)],
            }
        )
    return out


def off_connectors(gw: Gateway) -> list[dict[str, Any]]:
    """The registered connectors left out by ``LGSP_CONNECTORS_OFF``: shown, never hidden, so
    operators see they are deliberately off."""
    return [
        {"slug": slug, "title": spec.title, "state": "off"}
        for slug, spec in sorted(getattr(gw, "off_specs", {}).items())
    ]
