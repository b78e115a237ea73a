"""The state of one exchange, with its attempts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import or_, select

from gateway.api.answers import Exchange, answer
from gateway.core.delivery import outbox
from gateway.core.errors import NotFound
from gateway.core.store.db import AttemptLink, ExchangeEntry
from gateway.core.web.deps import CurrentClient, GatewayDep

router = APIRouter(prefix="/v1/exchanges", tags=["exchanges"])


@router.get(
    "/{exchange_id}",
    operation_id="exchanges-get",
    response_model=None,
    responses={200: answer(Exchange)},
)
async def get_exchange(exchange_id: str, gw: GatewayDep, client: CurrentClient) -> dict[str, Any]:
    async with gw.db.reading() as session:
        root = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == exchange_id)
        )
        # a client sees its own exchanges; `exchanges:read` sees all. Same answer for
        # "not yours" and "absent", so ids cannot be probed.
        if root is None or (root.client != client.name and not client.has("exchanges:read")):
            raise NotFound(f"no exchange {exchange_id}")
        # its own attempts, and the batch calls it travelled in
        linked = select(AttemptLink.entry_id).where(AttemptLink.exchange_id == exchange_id)
        attempts = (
            await session.scalars(
                select(ExchangeEntry)
                .where(
                    or_(
                        ExchangeEntry.parent_id == exchange_id,
                        ExchangeEntry.entry_id.in_(linked),
                    )
                )
                .order_by(ExchangeEntry.id)
            )
        ).all()
    item = await outbox.find(gw.db, exchange_id)
    state = item.status if item is not None else root.outcome
    return {
        "exchange_id": root.entry_id,
        "kind": root.kind,
        "connector": root.connector,
        "operation": root.operation,
        "client": root.client,
        "ma_ho_so": root.ma_ho_so,
        "received_at": root.started_at.isoformat(),
        "state": state,
        "delivery": None
        if item is None
        else {
            "attempts": item.attempts,
            "last_error": item.last_error,
            "next_attempt_at": item.next_attempt_at.isoformat()
            if item.status in ("queued", "failed")
            else None,
            "delivered_at": item.delivered_at.isoformat() if item.delivered_at else None,
            "held_by": item.held_by,
        },
        "attempts": [
            {
                "entry_id": a.entry_id,
                "operation": a.operation,
                "started_at": a.started_at.isoformat(),
                "duration_ms": round(a.duration_ms, 2),
                "outcome": a.outcome,
                "status_code": a.status_code,
            }
            for a in attempts
        ],
    }
