"""Operations: liveness, readiness, metrics, connector health, dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from gateway.api.answers import (
    AvailabilityReport,
    ConnectorsHealth,
    DeadLetter,
    DeadLetters,
    Liveness,
    Readiness,
    answer,
)
from gateway.core.availability import availability, availability_csv
from gateway.core.clients import Principal
from gateway.core.delivery import outbox
from gateway.core.delivery.resilience import CircuitState
from gateway.core.errors import NotFound
from gateway.core.health import connector_health, off_connectors
from gateway.core.local_time import local_day
from gateway.core.log.anchoring import anchoring_status
from gateway.core.metrics import (
    ANCHOR_LAG,
    CIRCUIT_OPEN,
    CIRCUIT_STATE,
    IN_MAINTENANCE,
    OLDEST_PENDING,
    OUTBOX_DEPTH,
    REGISTRY,
    UNANCHORED_CHECKPOINTS,
)
from gateway.core.store.db import utcnow
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.responses import csv_attachment

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz", operation_id="ops-healthz", response_model=None, responses={200: answer(Liveness)}
)
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz",
    operation_id="ops-readyz",
    response_model=None,
    responses={200: answer(Readiness), 503: answer(Readiness, "not ready")},
)
async def readyz(gw: GatewayDep, response: Response) -> dict[str, Any]:
    db_ok = await gw.db.ping()
    state_ok = await gw.state.ping()
    if not (db_ok and state_ok):
        response.status_code = 503
    return {
        "status": "ready" if db_ok and state_ok else "not-ready",
        "database": db_ok,
        "state_store": state_ok,
    }


#: what a breaker state reads as in ``lgsp_circuit_state``
_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


@router.get("/metrics", operation_id="ops-metrics", include_in_schema=False)
async def metrics(gw: GatewayDep) -> Response:
    """Prometheus text. The gauges read from the database are exact at each scrape (a
    connector with nothing queued reads 0, not its last value); with the state store down the
    breakers read -1 (unknown), never a 500."""
    depth = await outbox.depth(gw.db)
    oldest = await outbox.oldest_pending(gw.db)
    now = utcnow()
    for slug in gw.connectors:
        counts = depth.get(slug, {})
        for status in outbox.HOLDING:
            OUTBOX_DEPTH.labels(slug, status).set(counts.get(status, 0))
        since = oldest.get(slug)
        OLDEST_PENDING.labels(slug).set((now - since).total_seconds() if since else 0)
    for slug, breaker in gw.breakers.items():
        try:
            state = await breaker.state()
        except Exception:  # the state store (Redis) down: unknown, and /metrics still answers
            CIRCUIT_STATE.labels(slug).set(-1)
            continue
        CIRCUIT_STATE.labels(slug).set(_STATE_VALUE[state])
        CIRCUIT_OPEN.labels(slug).set(0 if state is CircuitState.CLOSED else 1)
    in_maintenance = await gw.maintenance.in_maintenance()
    for slug in gw.specs:
        IN_MAINTENANCE.labels(slug).set(1 if slug in in_maintenance else 0)
    if gw.anchorer is not None:
        anchoring = await anchoring_status(gw.db)
        UNANCHORED_CHECKPOINTS.set(anchoring.unanchored_checkpoints)
        ANCHOR_LAG.set(anchoring.lag_seconds(utcnow()))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/connectors",
    operation_id="ops-connectors",
    response_model=None,
    responses={200: answer(ConnectorsHealth)},
)
async def connectors(
    gw: GatewayDep, _client: Annotated[Principal, Depends(require_scope("ops:read"))]
) -> dict[str, Any]:
    """Each connector's health, and the exchange log's anchoring: how far the RFC 3161
    timestamps reach and how long the newest checkpoints have waited for one."""
    anchoring: dict[str, Any] = {"configured": gw.anchorer is not None}
    if gw.anchorer is not None:
        anchoring["authority"] = gw.anchorer.authority
        anchoring.update((await anchoring_status(gw.db)).as_dict(utcnow()))
    return {
        "connectors": await connector_health(gw),
        "off": off_connectors(gw),
        "audit": {"anchoring": anchoring},
    }


class SkipRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="why this item is given up")


class ReplayRequest(BaseModel):
    reason: str | None = Field(
        None, min_length=3, max_length=500, description="why it is tried again (recorded)"
    )


def _view(v: outbox.OutboxView) -> dict[str, Any]:
    return {
        "id": v.id,
        "exchange_id": v.exchange_id,
        "connector": v.connector,
        "operation": v.operation,
        "ma_ho_so": v.ma_ho_so,
        "status": v.status,
        "attempts": v.attempts,
        "last_error": v.last_error,
        "created_at": v.created_at.isoformat(),
        "updated_at": v.updated_at.isoformat(),
    }


@router.get(
    "/v1/dlq",
    operation_id="ops-dlq-list",
    response_model=None,
    responses={200: answer(DeadLetters)},
)
async def dlq_list(
    gw: GatewayDep,
    _client: Annotated[Principal, Depends(require_scope("ops:read"))],
    connector: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items = await outbox.list_dead(gw.db, connector=connector, limit=limit)
    return {"items": [_view(i) for i in items]}


@router.post(
    "/v1/dlq/{ref}/replay",
    operation_id="ops-dlq-replay",
    response_model=None,
    responses={200: answer(DeadLetter, "queued again")},
)
async def dlq_replay(
    ref: str,
    gw: GatewayDep,
    client: Annotated[Principal, Depends(require_scope("ops:dlq"))],
    body: ReplayRequest | None = None,
) -> dict[str, Any]:
    """Queue a dead letter again (recorded in the exchange log with the client)."""
    reason = body.reason if body is not None else None
    view = await outbox.replay(gw.db, ref, log=gw.log, actor=client.name, reason=reason)
    gw.wakeup.set()
    return _view(view)


@router.post(
    "/v1/dlq/{ref}/skip",
    operation_id="ops-dlq-skip",
    response_model=None,
    responses={200: answer(DeadLetter, "given up")},
)
async def dlq_skip(
    ref: str,
    body: SkipRequest,
    gw: GatewayDep,
    client: Annotated[Principal, Depends(require_scope("ops:dlq"))],
) -> dict[str, Any]:
    """Give a dead letter up (recorded in the exchange log with the client and the reason)."""
    view = await outbox.skip(gw.db, ref, reason=body.reason, log=gw.log, actor=client.name)
    gw.wakeup.set()
    return _view(view)


@router.get(
    "/v1/reports/availability",
    operation_id="ops-availability",
    response_model=None,
    responses={
        200: {
            "model": AvailabilityReport,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON, or CSV with format=csv",
        },
        404: {"description": "no connector of that name"},
    },
)
async def availability_report(
    gw: GatewayDep,
    _client: Annotated[Principal, Depends(require_scope("ops:read"))],
    month: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
            description="YYYY-MM, local time (Asia/Ho_Chi_Minh); the current month when absent",
        ),
    ] = None,
    connector: Annotated[str | None, Query(max_length=32)] = None,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """Availability evidence for the 24/7 connection (seed 003, Điều 4.2): per platform, the
    share of the month it answered, its outages (start, end, cause) and its maintenance
    windows apart, from the exchange log."""
    month = month or local_day(utcnow()).strftime("%Y-%m")
    if connector is not None and connector not in gw.specs:
        raise NotFound(f"no connector {connector!r}")
    reports = await availability(
        gw.db, month=month, connectors=[connector] if connector else list(gw.specs)
    )
    if fmt == "csv":
        return csv_attachment(availability_csv(reports), f"availability-{month}.csv")
    return {"month": month, "connectors": [r.as_dict() for r in reports]}
