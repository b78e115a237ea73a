"""``Idempotency-Key`` for writes.

Same key + same body: the first answer again. Same key + another body: 422. While the first
request with the key is still being handled: 409. The reservation is its own short transaction;
the answer is stored in the same transaction as the work it answers (see :func:`complete`), so
a crash between the two cannot leave work done and the key unanswered. A reservation whose
request died (no answer after ``stale_seconds``) is taken over by the next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.crypto import BodyCipher, sha256_hex
from gateway.core.errors import Conflict, FieldError, IdempotencyMismatch, InvalidInput
from gateway.core.store.db import Database, IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


def _aad(client: str, key: str) -> bytes:
    return f"idem:{client}:{key}".encode()


async def reserve(
    db: Database,
    cipher: BodyCipher,
    *,
    client: str,
    key: str,
    request_body: bytes,
    stale_seconds: float = 60.0,
) -> StoredAnswer | None:
    """Reserve ``key``; return the stored answer when this request was already answered."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            "invalid Idempotency-Key",
            errors=[FieldError("Idempotency-Key", "1-255 printable characters")],
        )
    digest = sha256_hex(request_body)
    now = utcnow()
    inserted = await db.insert_if_absent(
        IdempotencyRecord,
        {
            "client": client,
            "key": key,
            "request_hash": digest,
            "state": "in_flight",
            "created_at": now,
            "updated_at": now,
        },
    )
    if inserted:
        return None
    async with db.transaction() as session:
        record = await session.get(IdempotencyRecord, (client, key))
        if record is None:  # released meanwhile: the caller may simply retry
            raise Conflict("the Idempotency-Key was just released; retry")
        if record.request_hash != digest:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used with a different request body",
                errors=[FieldError("Idempotency-Key", "already used with another body")],
            )
        if record.state == "done" and record.response_body is not None:
            body = json.loads(cipher.decrypt(record.response_body, _aad(client, key)))
            return StoredAnswer(int(record.response_status or 200), body)
        if record.updated_at > now - timedelta(seconds=stale_seconds):
            raise Conflict("a request with this Idempotency-Key is still in progress")
        # the first request died without an answer: take the key over. Compare-and-set on
        # the stale updated_at, so that of several requests racing for a stale key only one
        # takes it over (on PostgreSQL they all read the stale row; the losers update nothing)
        taken = await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.client == client,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_flight",
                IdempotencyRecord.updated_at == record.updated_at,
            )
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return None


async def complete(
    session: AsyncSession,
    cipher: BodyCipher,
    *,
    client: str,
    key: str,
    status: int,
    body: dict[str, Any],
) -> None:
    """Store the answer in the caller's transaction (with the work it answers)."""
    sealed = cipher.encrypt(json.dumps(body).encode(), _aad(client, key))
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.client == client, IdempotencyRecord.key == key)
        .values(state="done", response_status=status, response_body=sealed, updated_at=utcnow())
    )


async def release(db: Database, *, client: str, key: str) -> None:
    """Drop an unanswered reservation (the request failed before doing any work)."""
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.client == client,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_flight",
            )
        )


async def lookup(db: Database, *, client: str, key: str) -> IdempotencyRecord | None:
    async with db.reading() as session:
        record: IdempotencyRecord | None = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.client == client, IdempotencyRecord.key == key
            )
        )
        return record
