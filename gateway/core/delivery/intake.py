"""Work coming in from the case system.

- :func:`accept_delivery`: the inbound log entry, the outbox item and the idempotent answer
  commit together, or not at all; the platform is reached later by the workers.
- :func:`call_through`: a synchronous look-up, through the circuit breaker, logged the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.delivery import outbox
from gateway.core.errors import CircuitOpen, GatewayError, TransientUpstreamError
from gateway.core.http.recording import AttemptContext, attempt_context
from gateway.core.log.exchange_log import Crossing, new_exchange_id
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.store.db import ExchangeEntry, OutboxItem, utcnow

T = TypeVar("T")
ENTRIES = cast(Table, ExchangeEntry.__table__)
OUTBOX = cast(Table, OutboxItem.__table__)


@dataclass(frozen=True, slots=True)
class Accepted:
    exchange_id: str
    status: int
    body: dict[str, Any]


async def accept_delivery(
    gw: Gateway,
    *,
    client: str,
    connector: str,
    operation: str,
    ordering_key: str,
    payload: Mapping[str, Any],
    request_body: bytes,
    ma_ho_so: str | None = None,
    idempotency_key: str | None = None,
) -> Accepted:
    """Durably accept one delivery; after this returns, the work will reach the platform."""
    exchange_id = new_exchange_id()
    body = {
        "exchange_id": exchange_id,
        "status": "queued",
        "connector": connector,
        "operation": operation,
        "links": {"self": f"/v1/exchanges/{exchange_id}"},
    }
    # plain rows, not ORM objects: the group commit writes the rows of all the requests it
    # carries in one multi-row insert per table
    entry = gw.log.build_row(
        Crossing(
            kind="inbound",
            entry_id=exchange_id,
            connector=connector,
            operation=operation,
            outcome="accepted",
            client=client,
            ma_ho_so=ma_ho_so,
            status_code=202,
            request=request_body,
        )
    )
    item = outbox.build_row(
        gw.cipher,
        exchange_id=exchange_id,
        connector=connector,
        operation=operation,
        ordering_key=ordering_key,
        payload=payload,
        ma_ho_so=ma_ho_so,
    )

    async def answer(session: AsyncSession) -> None:
        # the idempotent answer, in the transaction of the entry and the item
        assert idempotency_key is not None
        await idempotency.complete(
            session, gw.cipher, client=client, key=idempotency_key, status=202, body=body
        )

    # the entry, the item and the idempotent answer: one transaction
    await gw.db.grouped(
        answer if idempotency_key is not None else None,
        rows=((ENTRIES, entry), (OUTBOX, item)),
    )
    gw.wakeup.set()
    return Accepted(exchange_id, 202, body)


async def call_through(
    gw: Gateway,
    *,
    connector: str,
    operation: str,
    client: str,
    call: Callable[[], Awaitable[T]],
    render: Callable[[T], bytes],
    request_body: bytes = b"",
    ma_ho_so: str | None = None,
    officer_id: str | None = None,
    purpose: str | None = None,
) -> tuple[str, T]:
    """Run a synchronous look-up through the circuit breaker, logged as one inbound entry
    (its attempts hang under it). Returns the exchange id and the result.

    The attempts are written with the inbound entry, in one commit, before the answer is
    returned: a look-up is answered only once the log holds it. A crash before that commit
    loses the record of a call whose answer nobody received."""
    exchange_id = new_exchange_id()
    breaker = gw.breakers[connector]
    started = utcnow()
    outcome, status, response, detail = "answered", 200, b"", None
    attempts: list[Crossing] = []
    try:
        if not await breaker.allow():
            raise CircuitOpen(f"{connector} is failing; its circuit breaker is open, retry later")
        ctx = AttemptContext(
            operation=operation,
            parent_id=exchange_id,
            ma_ho_so=ma_ho_so,
            client=client,
            officer_id=officer_id,
            purpose=purpose,
            collect=attempts,
        )
        try:
            with attempt_context(ctx):
                result = await call()
        except TransientUpstreamError:
            await breaker.record_failure()
            raise
        await breaker.record_success()
        response = render(result)
        return exchange_id, result
    except GatewayError as exc:
        outcome, status, detail = exc.type_slug, exc.status, exc.detail
        exc.exchange_id = exchange_id  # the problem answer names the entry below
        raise
    finally:
        await gw.record(
            *attempts,
            Crossing(
                kind="inbound",
                entry_id=exchange_id,
                connector=connector,
                operation=operation,
                outcome=outcome,
                client=client,
                officer_id=officer_id,
                purpose=purpose,
                ma_ho_so=ma_ho_so,
                started_at=started,
                status_code=status,
                request=request_body,
                response=response,
                detail=detail,
            ),
        )
