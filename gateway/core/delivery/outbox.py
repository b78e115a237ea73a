"""The outbox: accepted work, stored in the same transaction as its exchange-log entry.

Claiming is safe under concurrency: only the head of each ``ordering_key`` (the oldest item not
yet delivered or skipped) is eligible, so items of one dossier go out strictly in order, while
different dossiers go out in parallel. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``;
SQLite serialises writers, and the claim is one ``UPDATE ... RETURNING`` statement on both.
A claim is a lease: a worker that dies leaves an item whose lease runs out and is claimed again
(at-least-once); a worker only finishes an item while it still holds the lease.

A dead item (permanent failure or retries exhausted) stays at the head of its key and holds the
later items until an operator replays it or skips it; both are recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.core.crypto import BodyCipher
from gateway.core.errors import Conflict, NotFound
from gateway.core.log.exchange_log import ExchangeLog
from gateway.core.store.batching import Row
from gateway.core.store.db import (
    OUTBOX_HOLDING,
    OUTBOX_PENDING,
    Database,
    OutboxItem,
    utcnow,
)

#: items in these states hold the items behind them
HOLDING = OUTBOX_HOLDING
#: items a claim may take (when due)
PENDING = OUTBOX_PENDING
TERMINAL = ("delivered", "skipped")


def _in(column: Any, statuses: Sequence[str]) -> Any:
    """``column IN ('a', 'b')`` with the values written in the SQL, exactly as in the partial
    indexes' predicates (``OUTBOX_PENDING_SQL``, ``OUTBOX_HOLDING_SQL``), so that both PostgreSQL
    (even with a generic plan) and SQLite can prove the index applies."""
    return column.in_([literal_column(f"'{s}'") for s in statuses])


def payload_aad(exchange_id: str) -> bytes:
    return f"{exchange_id}:payload".encode()


def encode_payload(cipher: BodyCipher, exchange_id: str, payload: Mapping[str, Any]) -> bytes:
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return cipher.encrypt(raw, payload_aad(exchange_id))


def decode_payload(cipher: BodyCipher, item: OutboxItem) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cipher.decrypt(item.payload, payload_aad(item.exchange_id)))
    return data


def build_row(
    cipher: BodyCipher,
    *,
    exchange_id: str,
    connector: str,
    operation: str,
    ordering_key: str,
    payload: Mapping[str, Any],
    ma_ho_so: str | None = None,
) -> dict[str, Any]:
    """The column values of a new queued item (its payload encrypted), for a plain insert
    into ``outbox`` in the transaction of its accepting log entry."""
    now = utcnow()
    return {
        "exchange_id": exchange_id,
        "connector": connector,
        "operation": operation,
        "ordering_key": ordering_key,
        "ma_ho_so": ma_ho_so,
        "payload": encode_payload(cipher, exchange_id, payload),
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def build(
    cipher: BodyCipher,
    *,
    exchange_id: str,
    connector: str,
    operation: str,
    ordering_key: str,
    payload: Mapping[str, Any],
    ma_ho_so: str | None = None,
) -> OutboxItem:
    """A new queued item as an ORM object (see :func:`build_row`); the caller adds it to the
    transaction of its accepting log entry."""
    return OutboxItem(
        **build_row(
            cipher,
            exchange_id=exchange_id,
            connector=connector,
            operation=operation,
            ordering_key=ordering_key,
            payload=payload,
            ma_ho_so=ma_ho_so,
        )
    )


def claim_statement(
    *,
    is_postgresql: bool,
    owner: str,
    limit: int,
    lease_seconds: float,
    now: datetime,
    skip_connectors: Sequence[str] = (),
) -> Any:
    """The claim as one ``UPDATE ... RETURNING`` (what :func:`claim` runs; bench/backlog.py
    explains it)."""
    earlier = aliased(OutboxItem)
    due = or_(
        and_(OutboxItem.status.in_(("queued", "failed")), OutboxItem.next_attempt_at <= now),
        and_(OutboxItem.status == "delivering", OutboxItem.lease_until < now),
    )
    blocked = exists(
        select(earlier.id).where(
            earlier.ordering_key == OutboxItem.ordering_key,
            earlier.id < OutboxItem.id,
            _in(earlier.status, HOLDING),
        )
    )
    # the walk is over the pending items only (ix_outbox_pending), in id order, and each
    # candidate's check over the holding items of its key only (ix_outbox_holding): the same
    # few index pages whatever the backlog or the delivered history
    candidates = (
        select(OutboxItem.id)
        .where(_in(OutboxItem.status, PENDING), due, ~blocked)
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if skip_connectors:
        candidates = candidates.where(OutboxItem.connector.not_in(list(skip_connectors)))
    if is_postgresql:
        candidates = candidates.with_for_update(skip_locked=True, of=OutboxItem)
    return (
        update(OutboxItem)
        .where(OutboxItem.id.in_(candidates.scalar_subquery()))
        .values(
            status="delivering",
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=OutboxItem.attempts + 1,
            updated_at=now,
        )
        .returning(OutboxItem)
        .execution_options(synchronize_session=False)
    )


async def claim(
    db: Database,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    skip_connectors: Sequence[str] = (),
    now: datetime | None = None,
) -> list[OutboxItem]:
    """Lease up to ``limit`` due items, each the head of its ordering key. ``now`` (default:
    the clock) decides which items are due and which leases have run out."""
    stmt = claim_statement(
        is_postgresql=db.is_postgresql,
        owner=owner,
        limit=limit,
        lease_seconds=lease_seconds,
        now=utcnow() if now is None else now,
        skip_connectors=skip_connectors,
    )
    async with db.transaction() as session:
        items = list((await session.scalars(stmt)).all())
    items.sort(key=lambda i: i.id)
    return items


async def _finish(db: Database, item: OutboxItem, owner: str, **values: Any) -> bool:
    """Update an item only while ``owner`` still holds its lease; True when it did."""
    values.setdefault("updated_at", utcnow())
    stmt = (
        update(OutboxItem)
        .where(
            OutboxItem.id == item.id,
            OutboxItem.status == "delivering",
            OutboxItem.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )

    async def settle(session: AsyncSession) -> bool:
        result = await session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return await db.grouped(settle)


async def mark_delivered(db: Database, item: OutboxItem, owner: str) -> bool:
    """Settle one delivered item; False when ``owner`` no longer holds its lease."""
    return await mark_delivered_many(db, [item], owner) == 1


async def mark_delivered_many(
    db: Database, items: Sequence[OutboxItem], owner: str, *, rows: Sequence[Row] = ()
) -> int:
    """Settle several delivered items in one statement; returns how many were still ours.
    ``rows`` (the attempts' log entries) are inserted in the same transaction."""
    if not items:
        return 0
    now = utcnow()
    stmt = (
        update(OutboxItem)
        .where(
            OutboxItem.id.in_([i.id for i in items]),
            OutboxItem.status == "delivering",
            OutboxItem.lease_owner == owner,
        )
        .values(
            status="delivered",
            delivered_at=now,
            updated_at=now,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )

    async def settle(session: AsyncSession) -> int:
        result = await session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    return await db.grouped(settle, rows=rows)


async def mark_retry(
    db: Database, item: OutboxItem, owner: str, *, at: datetime, error: str, count: bool = True
) -> bool:
    values: dict[str, Any] = {"status": "failed", "next_attempt_at": at, "last_error": error}
    if not count:  # the attempt never went out (circuit open): give it back
        values["attempts"] = OutboxItem.attempts - 1
        values["status"] = "queued" if item.attempts <= 1 else "failed"
    return await _finish(db, item, owner, **values)


async def release(db: Database, owner_prefix: str) -> int:
    """Give back every item leased by ``owner_prefix`` (a stopping process's workers) untried:
    queued again at once, the attempt not counted, instead of waiting for the lease to run
    out. Returns how many."""
    now = utcnow()
    stmt = (
        update(OutboxItem)
        .where(
            OutboxItem.status == "delivering",
            OutboxItem.lease_owner.startswith(owner_prefix, autoescape=True),
        )
        .values(
            status=case((OutboxItem.attempts <= 1, "queued"), else_="failed"),
            attempts=OutboxItem.attempts - 1,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        result = await session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_dead(db: Database, item: OutboxItem, owner: str, *, reason: str) -> bool:
    return await _finish(db, item, owner, status="dead", last_error=reason)


# --- dead-letter queue and inspection --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxView:
    id: int
    exchange_id: str
    connector: str
    operation: str
    ordering_key: str
    ma_ho_so: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    held_by: str | None = None  # exchange id of the dead item holding this one

    @classmethod
    def of(cls, item: OutboxItem, held_by: str | None = None) -> OutboxView:
        return cls(
            item.id,
            item.exchange_id,
            item.connector,
            item.operation,
            item.ordering_key,
            item.ma_ho_so,
            item.status,
            item.attempts,
            item.last_error,
            item.created_at,
            item.updated_at,
            item.next_attempt_at,
            item.delivered_at,
            held_by,
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields of a dead letter in ``GET /v1/dlq`` (times ISO-8601)."""
        return {
            "id": self.id,
            "exchange_id": self.exchange_id,
            "connector": self.connector,
            "operation": self.operation,
            "ma_ho_so": self.ma_ho_so,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


async def find(db: Database, exchange_id: str) -> OutboxView | None:
    async with db.reading() as session:
        item = await session.scalar(select(OutboxItem).where(OutboxItem.exchange_id == exchange_id))
        if item is None:
            return None
        held_by = None
        if item.status in ("queued", "failed"):
            held_by = await session.scalar(
                select(OutboxItem.exchange_id)
                .where(
                    OutboxItem.ordering_key == item.ordering_key,
                    OutboxItem.id < item.id,
                    _in(OutboxItem.status, HOLDING),
                    OutboxItem.status == "dead",
                )
                .order_by(OutboxItem.id)
                .limit(1)
            )
        return OutboxView.of(item, held_by)


async def list_dead(
    db: Database, *, connector: str | None = None, ma_ho_so: str | None = None, limit: int = 100
) -> list[OutboxView]:
    async with db.reading() as session:
        stmt = select(OutboxItem).where(OutboxItem.status == "dead").order_by(OutboxItem.id)
        if connector:
            stmt = stmt.where(OutboxItem.connector == connector)
        if ma_ho_so:
            stmt = stmt.where(OutboxItem.ma_ho_so == ma_ho_so)
        items = (await session.scalars(stmt.limit(limit))).all()
        return [OutboxView.of(i) for i in items]


async def _by_ref(session: AsyncSession, ref: str) -> OutboxItem:
    cond = OutboxItem.exchange_id == ref
    if ref.isascii() and ref.isdigit():
        cond = or_(cond, OutboxItem.id == int(ref))
    item = await session.scalar(select(OutboxItem).where(cond))
    if item is None:
        raise NotFound(f"no outbox item {ref}")
    return item


def _decision(
    log: ExchangeLog | None,
    session: AsyncSession,
    item: OutboxItem,
    operation: str,
    actor: str,
    reason: str | None,
) -> None:
    """The operator's decision on a dead letter, in the exchange log (the chain), in the same
    transaction as the decision itself."""
    if log is None:
        return
    log.append_decision(
        session,
        kind="decision",
        operation=operation,
        connector=item.connector,
        actor=actor,
        reason=reason,
        parent_id=item.exchange_id,
        ma_ho_so=item.ma_ho_so,
        detail=f"{operation} of {item.exchange_id} ({item.connector}/{item.operation}) by "
        f"{actor}; last error: {item.last_error}",
    )


async def replay(
    db: Database,
    ref: str,
    *,
    log: ExchangeLog | None = None,
    actor: str = "operator",
    reason: str | None = None,
) -> OutboxView:
    """Give a dead item a fresh set of attempts (recorded in ``log`` with the actor)."""
    async with db.transaction() as session:
        item = await _by_ref(session, ref)
        if item.status != "dead":
            raise Conflict(f"outbox item {ref} is {item.status}, not dead")
        _decision(log, session, item, "dlq:replay", actor, reason)
        item.status = "queued"
        item.attempts = 0
        item.next_attempt_at = utcnow()
        item.updated_at = utcnow()
        item.last_error = f"replayed by {actor}; previously: {item.last_error}"
        return OutboxView.of(item)


async def replay_all(
    db: Database,
    *,
    connector: str | None = None,
    log: ExchangeLog | None = None,
    actor: str = "operator",
    reason: str | None = None,
) -> int:
    """Replay every dead item (of ``connector``), each decision recorded in ``log``."""
    async with db.transaction() as session:
        query = select(OutboxItem).where(OutboxItem.status == "dead")
        if connector:
            query = query.where(OutboxItem.connector == connector)
        items = (await session.scalars(query.order_by(OutboxItem.id))).all()
        now = utcnow()
        for item in items:
            _decision(log, session, item, "dlq:replay", actor, reason)
            item.status = "queued"
            item.attempts = 0
            item.next_attempt_at = now
            item.updated_at = now
            item.last_error = f"replayed by {actor}; previously: {item.last_error}"
        return len(items)


async def skip(
    db: Database,
    ref: str,
    *,
    reason: str,
    log: ExchangeLog | None = None,
    actor: str = "operator",
) -> OutboxView:
    """Give up on a dead item so the items behind it can go (the reason and the actor are
    kept, and recorded in ``log``)."""
    async with db.transaction() as session:
        item = await _by_ref(session, ref)
        if item.status != "dead":
            raise Conflict(f"outbox item {ref} is {item.status}, not dead")
        _decision(log, session, item, "dlq:skip", actor, reason)
        item.status = "skipped"
        item.updated_at = utcnow()
        item.last_error = f"skipped by {actor}: {reason}; previously: {item.last_error}"
        return OutboxView.of(item)


async def depth(db: Database) -> dict[str, dict[str, int]]:
    """Per connector, the count of items in each status that is not terminal."""
    async with db.reading() as session:
        rows = await session.execute(
            select(OutboxItem.connector, OutboxItem.status, func.count())
            .where(OutboxItem.status.not_in(TERMINAL))
            .group_by(OutboxItem.connector, OutboxItem.status)
        )
        out: dict[str, dict[str, int]] = {}
        for connector, status, count in rows.all():
            out.setdefault(connector, {})[status] = int(count)
        return out


async def oldest_pending(db: Database) -> dict[str, datetime]:
    """Per connector, when its oldest item still waiting (queued, failed or being delivered)
    was accepted."""
    async with db.reading() as session:
        rows = await session.execute(
            select(OutboxItem.connector, func.min(OutboxItem.created_at))
            .where(OutboxItem.status.in_(("queued", "failed", "delivering")))
            .group_by(OutboxItem.connector)
        )
        return {connector: at for connector, at in rows.all() if at is not None}
