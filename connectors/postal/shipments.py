"""Postal shipments, the gateway's side: requests, the status machine, webhooks and polling.

* :func:`open_shipment`: the shipment of a dossier's flow, stored ``requested`` before its
  creation is accepted into the outbox (one per order number, i.e. per dossier and flow). The
  same request again (same content) finds it; another content is :class:`ShipmentConflict`.
  The route then accepts the ``create_order`` delivery and :func:`attach_exchange` records its
  exchange id. Should the process die between the two, the next identical request accepts it
  again: the platform answers the order it already made for the same number and content, so
  two deliveries still make one order.
* :func:`apply_report`: a status the platform reported (a verified webhook, or a poll). In one
  transaction: the report kept once (``dedupe_key``), the shipment moved when the status
  machine says so (:func:`~connectors.postal.status.moves`: out-of-order reports never
  regress it), and each move announced to the case system as the event ``postal.<status>``
  (:func:`gateway.core.events.publish`), with a ``callback`` exchange-log entry for webhooks.
* the poller of shipments gone quiet is :mod:`connectors.postal.poller`.

The core reaches the connector only through the callables it is given (it never imports
``connectors``). Amounts are integer VND.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.postal.status import (
    CONNECTOR,
    FINAL,
    STATUSES,
    WEBHOOKS,
    ShipmentConflict,
    ShipmentFinal,
    ShipmentUnknown,
    dedupe_key,
    moves,
    request_digest,
)
from connectors.postal.tables import Shipment, ShipmentEvent
from gateway.core import events
from gateway.core.errors import FieldError
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

__all__ = [
    "ANSWER_OK",
    "FINAL",
    "STATUSES",
    "Applied",
    "Opened",
    "Report",
    "ShipmentConflict",
    "ShipmentFinal",
    "ShipmentUnknown",
    "apply_report",
    "attach_exchange",
    "get",
    "of_dossier",
    "open_shipment",
    "request_digest",
]

log = structlog.get_logger("gateway.shipments")

#: what the webhook endpoint answers when it took a webhook (applied, kept, or a duplicate)
ANSWER_OK: dict[str, str] = {"Status": "100", "Message": "OK"}
Source = Literal["webhook", "poll", "api"]


class Report(Protocol):
    """A status the platform reported, canonical (``connectors.postal.ShipmentEvent``)."""

    @property
    def order_number(self) -> str: ...
    @property
    def item_code(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def platform_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def _iso(at: datetime | None) -> str | None:
    return events.iso(at) if at is not None else None


def _view(shipment: Shipment, history: Sequence[ShipmentEvent] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "shipment_id": shipment.shipment_id,
        "ma_ho_so": shipment.ma_ho_so,
        "flow": shipment.flow,
        "order_number": shipment.order_number,
        "ma_dvc": shipment.agency,
        "status": shipment.status,
        "final": shipment.status in FINAL,
        "tien_thu_ho": shipment.cod_amount,
        "receiver": shipment.receiver,
        "platform_order_id": shipment.platform_order_id,
        "exchange_id": shipment.exchange_id,
        "cancel_exchange_id": shipment.cancel_exchange_id,
        "last_event_at": _iso(shipment.last_event_at),
        "last_polled_at": _iso(shipment.last_polled_at),
        "delivered_at": _iso(shipment.delivered_at),
        "created_at": _iso(shipment.created_at),
        "updated_at": _iso(shipment.updated_at),
    }
    if history is not None:
        view["history"] = [
            {
                "status": e.status,
                "platform_code": e.platform_code,
                "message": e.message,
                "at": _iso(e.event_at),
                "source": e.source,
                "applied": e.applied,
                "recorded_at": _iso(e.recorded_at),
            }
            for e in history
        ]
    return view


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    shipment: dict[str, Any]
    #: the create delivery already accepted for it (None: the caller must accept one)
    exchange_id: str | None
    created: bool  # False: the same request was made before


async def open_shipment(
    gw: Gateway,
    *,
    ma_ho_so: str,
    flow: str,
    order_number: str,
    agency: str,
    cod_amount: int,
    receiver: str,
    payload: Mapping[str, Any],
) -> Opened:
    """The shipment of this dossier and flow, stored ``requested`` when there is none yet."""
    digest = request_digest(payload)
    now = utcnow()
    values: dict[str, Any] = {
        "shipment_id": str(uuid.uuid4()),
        "ma_ho_so": ma_ho_so,
        "flow": flow,
        "order_number": order_number,
        "agency": agency,
        "status": "requested",
        "cod_amount": cod_amount,
        "receiver": receiver[:255],
        "request_digest": digest,
        "platform_order_id": None,
        "exchange_id": None,
        "cancel_exchange_id": None,
        "last_event_at": None,
        "last_polled_at": None,
        "delivered_at": None,
        "created_at": now,
        "updated_at": now,
    }
    stmt: Any = (pg_insert if gw.db.is_postgresql else sqlite_insert)(Shipment).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["order_number"])
    async with gw.db.transaction() as session:
        result = await session.execute(stmt)
        inserted = bool(result.rowcount)  # type: ignore[attr-defined]
        row = await session.scalar(select(Shipment).where(Shipment.order_number == order_number))
        assert row is not None
        if row.request_digest != digest:
            raise ShipmentConflict(
                f"the dossier {ma_ho_so} already has a {flow} shipment with other content "
                f"(shipment {row.shipment_id}); cancel it or ask for the same",
                errors=[FieldError("flow", "a shipment of this flow exists with other content")],
            )
        if inserted:
            session.add(
                ShipmentEvent(
                    shipment_id=row.id,
                    status="requested",
                    platform_code=None,
                    message="accepted by the gateway",
                    event_at=now,
                    source="api",
                    dedupe_key=f"{order_number}|requested",
                    applied=True,
                    recorded_at=now,
                )
            )
        return Opened(_view(row), row.exchange_id, created=inserted)


async def attach_exchange(
    gw: Gateway,
    shipment_id: str,
    exchange_id: str,
    *,
    kind: Literal["create", "cancel"] = "create",
    also: Callable[[AsyncSession, str], Awaitable[None]] | None = None,
) -> str:
    """Record the delivery accepted for a shipment (the first one wins); returns the exchange
    id the shipment now holds. ``also(session, held)`` runs in the same transaction (the
    route stores its idempotent answer there)."""
    column = Shipment.exchange_id if kind == "create" else Shipment.cancel_exchange_id
    async with gw.db.transaction() as session:
        await session.execute(
            update(Shipment)
            .where(Shipment.shipment_id == shipment_id, column.is_(None))
            .values({column: exchange_id, Shipment.updated_at: utcnow()})
            .execution_options(synchronize_session=False)
        )
        held = str(
            await session.scalar(select(column).where(Shipment.shipment_id == shipment_id))
            or exchange_id
        )
        if also is not None:
            await also(session, held)
        return held


async def get(gw: Gateway, shipment_id: str) -> dict[str, Any]:
    """The shipment with its status history, in the order the reports arrived (each with
    the platform's own time of the status)."""
    async with gw.db.reading() as session:
        shipment = await session.scalar(select(Shipment).where(Shipment.shipment_id == shipment_id))
        if shipment is None:
            raise ShipmentUnknown(f"no shipment {shipment_id}")
        history = (
            await session.scalars(
                select(ShipmentEvent)
                .where(ShipmentEvent.shipment_id == shipment.id)
                .order_by(ShipmentEvent.id)
            )
        ).all()
        return _view(shipment, history)


async def of_dossier(gw: Gateway, ma_ho_so: str) -> list[dict[str, Any]]:
    """The shipments of a dossier (at most one per flow), oldest first, without history."""
    async with gw.db.reading() as session:
        rows = (
            await session.scalars(
                select(Shipment).where(Shipment.ma_ho_so == ma_ho_so).order_by(Shipment.id)
            )
        ).all()
        return [_view(row) for row in rows]


async def cancellable(gw: Gateway, shipment_id: str) -> dict[str, Any]:
    """The shipment, when a cancellation may be asked for (else 404 or 409)."""
    view = await get(gw, shipment_id)
    if view["final"]:
        raise ShipmentFinal(f"the shipment is {view['status']}; it cannot be cancelled")
    return view


# --- status reports ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    shipment_id: str
    status: str
    outcome: Literal["applied", "recorded", "duplicate"]
    exchange_id: str | None = None


async def apply_report(
    gw: Gateway, report: Report, *, source: Source, raw: bytes | None = None
) -> Applied:
    """Apply one status report (see the module docstring). An unknown order raises
    :class:`ShipmentUnknown` and changes nothing."""
    async with gw.db.transaction() as session:
        applied = await _apply(gw, session, report, source=source, raw=raw)
    if applied.outcome == "applied":
        gw.wakeup.set()  # the event's deliveries are queued
    if source == "webhook":
        WEBHOOKS.labels(applied.outcome).inc()
    return applied


async def _apply(
    gw: Gateway, session: AsyncSession, report: Report, *, source: Source, raw: bytes | None
) -> Applied:
    shipment = await session.scalar(
        select(Shipment).where(Shipment.order_number == report.order_number).with_for_update()
    )
    if shipment is None:
        raise ShipmentUnknown(
            "no shipment has this OrderNumber",
            errors=[FieldError("OrderNumber", "no shipment has this order number")],
        )
    key = dedupe_key(report.order_number, report.platform_code, report.at)
    seen = await session.scalar(select(ShipmentEvent.id).where(ShipmentEvent.dedupe_key == key))
    if seen is not None:
        return _accepted(gw, session, shipment, report, raw, "duplicate")
    new = report.status
    moved = new is not None and moves(shipment.status, shipment.last_event_at, new, report.at)
    now = utcnow()
    session.add(
        ShipmentEvent(
            shipment_id=shipment.id,
            status=new,
            platform_code=report.platform_code[:8],
            message=report.message[:255],
            event_at=report.at,
            source=source,
            dedupe_key=key,
            applied=moved,
            recorded_at=now,
        )
    )
    if report.item_code and shipment.platform_order_id is None:
        shipment.platform_order_id = report.item_code[:64]
    if not moved or new is None:
        shipment.updated_at = now
        return _accepted(gw, session, shipment, report, raw, "recorded")
    previous = shipment.status
    shipment.status = new
    shipment.last_event_at = report.at
    shipment.updated_at = now
    if new == "delivered":
        shipment.delivered_at = report.at
    await events.publish(
        session,
        gw.cipher,
        type=f"postal.{new}",
        source=CONNECTOR,
        subject=shipment.ma_ho_so,
        occurred_at=report.at,
        payload={
            "shipment_id": shipment.shipment_id,
            "ma_ho_so": shipment.ma_ho_so,
            "flow": shipment.flow,
            "order_number": shipment.order_number,
            "platform_order_id": shipment.platform_order_id,
            "status": new,
            "previous_status": previous,
            "tien_thu_ho": shipment.cod_amount,
            "at": events.iso(report.at),
            "source": source,
        },
    )
    log.info(
        "shipment_status",
        shipment_id=shipment.shipment_id,
        order_number=shipment.order_number,
        status=new,
        previous=previous,
        source=source,
    )
    return _accepted(gw, session, shipment, report, raw, "applied")


def _accepted(
    gw: Gateway,
    session: AsyncSession,
    shipment: Shipment,
    report: Report,
    raw: bytes | None,
    outcome: Literal["applied", "recorded", "duplicate"],
) -> Applied:
    exchange_id = None
    if raw is not None:
        crossing = Crossing(
            kind="callback",
            connector=CONNECTOR,
            operation="webhook",
            outcome=outcome,
            ma_ho_so=shipment.ma_ho_so[:64],
            status_code=200,
            request=raw,
            response=json.dumps(ANSWER_OK).encode(),
            detail=f"status {report.platform_code} of {shipment.order_number}: {outcome}",
        )
        session.add(gw.log.build(crossing))
        exchange_id = crossing.entry_id
    return Applied(shipment.shipment_id, shipment.status, outcome, exchange_id)
