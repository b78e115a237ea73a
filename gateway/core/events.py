"""Events to the case system: one mechanism every connector reuses (DESIGN.md, "Core ideas").

A connector that has something to tell the case system (a fee settled, a result
delivered, a dossier submitted on the national portal) calls :func:`publish` inside its own
transaction, so the event exists exactly when its state change does. Each event is:

* stored in ``events`` (payload sealed with the data key); its row id is the cursor of the
  **pull inbox** (``GET /v1/events?after=``), for case systems that cannot receive webhooks;
* queued in the outbox once per active **subscription** whose types match, and delivered by
  :class:`~gateway.core.events_webhook.EventDeliverer` as a signed webhook (Standard Webhooks
  style; the event id is the receiver's de-duplication key) with the same retries, backoff,
  dead-lettering and replay as any delivery.

Subscriptions keep their HMAC secret sealed, bound to their name; the secret is shown once
when the gateway generates it and never again. A generated secret is a Standard Webhooks one,
``whsec_`` + base64 of 32 random bytes (the HMAC key is the decoded part), so the official
``standardwebhooks`` libraries verify our signatures with the secret as printed. Subscriptions
made before that keep their *legacy* secret (its UTF-8 bytes are the key) until an operator
rotates it (:func:`rotate_secret`): the new secret signs at once and, for a grace period, the
previous key signs too (``webhook-signature`` carries both), so a receiver can switch without
refusing a delivery.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.crypto import BodyCipher
from gateway.core.delivery import outbox
from gateway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from gateway.core.log.exchange_log import Crossing, ExchangeLog
from gateway.core.store.db import Database, Event, EventCursor, EventSubscription, utcnow

if TYPE_CHECKING:
    from gateway.core.runtime import Gateway

#: the connector slug and operation of webhook deliveries in the outbox
CONNECTOR = "events"
OPERATION = "deliver_event"
#: the bound on a pull inbox page
MAX_PAGE = 1000
#: serialises event inserts on PostgreSQL so that ids commit in order (see :func:`publish`)
_PG_LOCK = 7413004

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,127}$")
MIN_SECRET_LENGTH = 24

#: a subscription's secret format: Standard Webhooks (``whsec_`` + base64 of the HMAC key) ...
STANDARD = "standard"
#: ... or any string whose UTF-8 bytes are the key (subscriptions from before issue 21)
LEGACY = "legacy"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: random bytes of a generated key (the spec asks for 24-64)
SECRET_BYTES = 32
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
#: how long the previous secret keeps signing after a rotation, by default and at most
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def secret_aad(name: str) -> bytes:
    return f"event-subscription:{name}:secret".encode()


def previous_key_aad(name: str) -> bytes:
    return f"event-subscription:{name}:previous-key".encode()


def payload_aad(event_id: str) -> bytes:
    return f"event:{event_id}:payload".encode()


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- secrets ----------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of :data:`SECRET_BYTES` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_format(secret: str) -> str:
    """:data:`STANDARD` for a ``whsec_`` secret, else :data:`LEGACY`."""
    return STANDARD if secret.startswith(SECRET_PREFIX) else LEGACY


def signing_key(secret: str, format: str | None = None) -> bytes:
    """The HMAC key of ``secret``: the base64-decoded part after ``whsec_`` (:data:`STANDARD`),
    or the secret's UTF-8 bytes (:data:`LEGACY`). ``format`` defaults to what the secret looks
    like; a subscription passes the format it was stored with. Raises ValueError for a
    standard secret that is not ``whsec_`` + base64 (the message never contains it)."""
    if (format or secret_format(secret)) == LEGACY:
        return secret.encode()
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after whsec_ is not base64") from None
    if not key:
        raise ValueError("the secret's key is empty")
    return key


def _standard_secret_problem(secret: str) -> str | None:
    try:
        key = signing_key(secret, STANDARD)
    except ValueError as exc:
        return str(exc)
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        return f"whsec_ + base64 of {MIN_KEY_BYTES}-{MAX_KEY_BYTES} bytes"
    return None


# --- publishing -------------------------------------------------------------------------------


def _matches(subscription: EventSubscription, type_: str) -> bool:
    return not subscription.event_types or type_ in subscription.event_types


async def publish(
    session: AsyncSession,
    cipher: BodyCipher,
    *,
    type: str,
    source: str,
    payload: Mapping[str, Any],
    subject: str | None = None,
    occurred_at: datetime | None = None,
) -> str:
    """Record an event and queue one webhook delivery per matching active subscription, in
    the caller's transaction (atomic with the caller's own change); returns the event id.

    The caller wakes the delivery workers after its commit (``gw.wakeup.set()``), or uses
    :func:`publish_now`. On PostgreSQL the insert takes a transaction-scoped advisory lock,
    so events commit in id order and the pull inbox, read by id, never skips one that
    committed late."""
    if not _TYPE.fullmatch(type):
        raise InvalidInput(
            f"invalid event type {type!r}",
            errors=[FieldError("type", "lower-case letters, digits, . _ : - (1-128 chars)")],
        )
    if not source or len(source) > 32:
        raise InvalidInput("invalid event source", errors=[FieldError("source", "1-32 chars")])
    if subject is not None and len(subject) > 255:
        raise InvalidInput("invalid event subject", errors=[FieldError("subject", "<= 255")])
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at must be timezone-aware")
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    now = utcnow()
    event_id = str(uuid.uuid4())
    session.add(
        Event(
            event_id=event_id,
            type=type,
            source=source,
            subject=subject,
            occurred_at=occurred_at or now,
            payload_sealed=cipher.encrypt(canonical_json(dict(payload)), payload_aad(event_id)),
            created_at=now,
        )
    )
    subscriptions = (
        await session.scalars(
            select(EventSubscription)
            .where(EventSubscription.active.is_(True))
            .order_by(EventSubscription.id)
        )
    ).all()
    log = ExchangeLog(cipher)
    for sub in subscriptions:
        if not _matches(sub, type):
            continue
        exchange_id = str(uuid.uuid4())
        # the delivery is an exchange like any other: its entry opens the trail that its
        # attempts hang under, and /v1/exchanges/{id} follows it
        session.add(
            log.build(
                Crossing(
                    kind="event",
                    entry_id=exchange_id,
                    connector=CONNECTOR,
                    operation=f"{OPERATION}:{type}",
                    outcome="queued",
                    client=sub.name,
                    ma_ho_so=subject if subject and len(subject) <= 64 else None,
                    request=canonical_json({"event_id": event_id, "subscription": sub.name}),
                    detail=f"event {event_id} for subscription {sub.name}",
                )
            )
        )
        session.add(
            outbox.build(
                cipher,
                exchange_id=exchange_id,
                connector=CONNECTOR,
                operation=OPERATION,
                ordering_key=f"events:{sub.name}",
                payload={"subscription": sub.name, "event_id": event_id},
            )
        )
    return event_id


async def publish_now(
    gw: Gateway,
    *,
    type: str,
    source: str,
    payload: Mapping[str, Any],
    subject: str | None = None,
    occurred_at: datetime | None = None,
) -> str:
    """:func:`publish` in a transaction of its own (durable on return); wakes the workers."""

    async def work(session: AsyncSession) -> str:
        return await publish(
            session,
            gw.cipher,
            type=type,
            source=source,
            payload=payload,
            subject=subject,
            occurred_at=occurred_at,
        )

    event_id = await gw.db.grouped(work)
    gw.wakeup.set()
    return event_id


# --- subscriptions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    name: str
    endpoint: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    updated_at: datetime
    #: :data:`STANDARD` or :data:`LEGACY` (never the secret itself)
    secret_format: str
    #: until when the previous secret also signs (after a rotation), else None
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, row: EventSubscription) -> SubscriptionView:
        return cls(
            row.name,
            row.endpoint,
            tuple(row.event_types),
            row.active,
            row.created_at,
            row.updated_at,
            row.secret_format,
            row.previous_key_expires_at if row.previous_key_sealed is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        until = self.previous_secret_expires_at
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "event_types": list(self.event_types),
            "active": self.active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "secret_format": self.secret_format,
            "previous_secret_expires_at": iso(until) if until is not None else None,
        }


def _check_subscription(
    name: str, endpoint: str, event_types: Sequence[str], secret: str | None
) -> None:
    errors: list[FieldError] = []
    if not _NAME.fullmatch(name):
        errors.append(FieldError("name", "lower-case letters, digits, . _ - (2-64 chars)"))
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(endpoint) > 2048:
        errors.append(FieldError("endpoint", "an absolute http(s) URL (<= 2048 chars)"))
    errors.extend(
        FieldError(f"event_types[{i}]", "lower-case letters, digits, . _ : - (1-128 chars)")
        for i, t in enumerate(event_types)
        if not _TYPE.fullmatch(t)
    )
    if secret is not None and not (MIN_SECRET_LENGTH <= len(secret) <= 256):
        errors.append(FieldError("secret", f"{MIN_SECRET_LENGTH}-256 characters"))
    elif secret is not None and secret_format(secret) == STANDARD:
        problem = _standard_secret_problem(secret)
        if problem is not None:
            errors.append(FieldError("secret", problem))
    if errors:
        raise InvalidInput("invalid subscription", errors=errors)


async def subscribe(
    db: Database,
    cipher: BodyCipher,
    *,
    name: str,
    endpoint: str,
    event_types: Sequence[str] = (),
    secret: str | None = None,
) -> tuple[SubscriptionView, str | None]:
    """Create a subscription (or bring back a deactivated one of that name, with the new
    endpoint, types and secret). Returns it and the secret when the gateway generated it
    (a ``whsec_`` one, to be shown once); ``None`` when the caller gave its own (a ``whsec_``
    secret is used the Standard Webhooks way, any other string as a legacy one)."""
    _check_subscription(name, endpoint, event_types, secret)
    generated = new_secret() if secret is None else None
    value = generated or secret or ""
    types = sorted(set(event_types))
    now = utcnow()
    async with db.transaction() as session:
        row = await session.scalar(select(EventSubscription).where(EventSubscription.name == name))
        if row is not None and row.active:
            raise Conflict(f"a subscription named {name!r} exists")
        if row is None:
            row = EventSubscription(name=name, created_at=now)
            session.add(row)
        row.endpoint = endpoint
        row.event_types = types
        row.secret_sealed = cipher.encrypt(value.encode(), secret_aad(name))
        row.secret_format = secret_format(value)
        row.previous_key_sealed = None
        row.previous_key_expires_at = None
        row.active = True
        row.updated_at = now
        await session.flush()
        view = SubscriptionView.of(row)
    return view, generated


async def list_subscriptions(
    db: Database, *, include_inactive: bool = False
) -> list[SubscriptionView]:
    async with db.reading() as session:
        stmt = select(EventSubscription).order_by(EventSubscription.name)
        if not include_inactive:
            stmt = stmt.where(EventSubscription.active.is_(True))
        return [SubscriptionView.of(r) for r in (await session.scalars(stmt)).all()]


async def unsubscribe(db: Database, name: str) -> SubscriptionView:
    """Deactivate a subscription: no new deliveries are queued for it, and those still in the
    outbox are dead-lettered as "subscription gone" when their turn comes."""
    async with db.transaction() as session:
        row = await session.scalar(select(EventSubscription).where(EventSubscription.name == name))
        if row is None or not row.active:
            raise NotFound(f"no active subscription {name!r}")
        row.active = False
        row.updated_at = utcnow()
        return SubscriptionView.of(row)


def open_secret(cipher: BodyCipher, row: EventSubscription) -> str:
    return cipher.decrypt(row.secret_sealed, secret_aad(row.name)).decode()


def signing_keys(
    cipher: BodyCipher, row: EventSubscription, *, now: datetime | None = None
) -> list[bytes]:
    """The HMAC keys a delivery to ``row`` is signed with: its secret's, then the previous
    secret's while its grace period lasts."""
    keys = [signing_key(open_secret(cipher, row), row.secret_format)]
    until = row.previous_key_expires_at
    if row.previous_key_sealed is not None and until is not None and (now or utcnow()) < until:
        keys.append(cipher.decrypt(row.previous_key_sealed, previous_key_aad(row.name)))
    return keys


async def rotate_secret(
    db: Database,
    cipher: BodyCipher,
    name: str,
    *,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> tuple[SubscriptionView, str]:
    """Give an active subscription a new, generated ``whsec_`` secret (returned, to be shown
    once). For ``grace`` the previous secret keeps signing too (every delivery carries both
    signatures), so the case system can switch to the new one without refusing a delivery;
    ``grace`` 0 cuts over at once. Rotating again during a grace period ends the earlier one:
    only the secret being replaced keeps signing."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        hours = int(MAX_GRACE.total_seconds() // 3600)
        raise InvalidInput("invalid grace period", errors=[FieldError("grace", f"0-{hours} hours")])
    when = now or utcnow()
    generated = new_secret()
    async with db.transaction() as session:
        row = await session.scalar(select(EventSubscription).where(EventSubscription.name == name))
        if row is None or not row.active:
            raise NotFound(f"no active subscription {name!r}")
        if grace > timedelta(0):
            previous = signing_key(open_secret(cipher, row), row.secret_format)
            row.previous_key_sealed = cipher.encrypt(previous, previous_key_aad(name))
            row.previous_key_expires_at = when + grace
        else:
            row.previous_key_sealed = None
            row.previous_key_expires_at = None
        row.secret_sealed = cipher.encrypt(generated.encode(), secret_aad(name))
        row.secret_format = STANDARD
        row.updated_at = when
        await session.flush()
        view = SubscriptionView.of(row)
    return view, generated


# --- the pull inbox ---------------------------------------------------------------------------


def event_dict(cipher: BodyCipher, row: Event) -> dict[str, Any]:
    """The event as the case system sees it (webhook body and inbox entry alike)."""
    data = json.loads(cipher.decrypt(row.payload_sealed, payload_aad(row.event_id)))
    return {
        "id": row.event_id,
        "type": row.type,
        "source": row.source,
        "subject": row.subject,
        "occurred_at": iso(row.occurred_at),
        "data": data,
    }


@dataclass(frozen=True, slots=True)
class InboxPage:
    events: list[dict[str, Any]]
    next: int


async def acknowledged(db: Database, client: str) -> int:
    async with db.reading() as session:
        cursor = await session.scalar(
            select(EventCursor.cursor).where(EventCursor.client == client)
        )
    return int(cursor or 0)


async def read_inbox(
    db: Database,
    cipher: BodyCipher,
    *,
    client: str,
    after: int | None = None,
    limit: int = 100,
    types: Sequence[str] = (),
) -> InboxPage:
    """Events after ``after`` (by default, after the client's acknowledged cursor), oldest
    first; ``next`` is the cursor of the last one returned, else the cursor read from."""
    start = await acknowledged(db, client) if after is None else max(0, after)
    limit = max(1, min(limit, MAX_PAGE))
    async with db.reading() as session:
        stmt = select(Event).where(Event.id > start).order_by(Event.id).limit(limit)
        if types:
            stmt = stmt.where(Event.type.in_(list(types)))
        rows = (await session.scalars(stmt)).all()
    out = []
    for row in rows:
        entry = event_dict(cipher, row)
        entry["cursor"] = row.id
        out.append(entry)
    return InboxPage(out, rows[-1].id if rows else start)


async def acknowledge(db: Database, *, client: str, cursor: int) -> int:
    """Store the client's cursor (never moving it backwards); returns the stored cursor."""
    if cursor < 0:
        raise InvalidInput("invalid cursor", errors=[FieldError("cursor", ">= 0")])
    async with db.transaction() as session:
        last = await session.scalar(select(func.max(Event.id)))
        if cursor > int(last or 0):
            raise InvalidInput(
                f"cursor {cursor} is past the last event ({int(last or 0)})",
                errors=[FieldError("cursor", "a cursor returned by GET /v1/events")],
            )
        now = utcnow()
        values = {"client": client, "cursor": cursor, "updated_at": now}
        stmt: Any
        if db.is_postgresql:
            stmt = pg_insert(EventCursor).values(**values)
        else:
            stmt = sqlite_insert(EventCursor).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[EventCursor.client],
            set_={
                "cursor": func.max(stmt.excluded.cursor, EventCursor.cursor)
                if not db.is_postgresql
                else func.greatest(stmt.excluded.cursor, EventCursor.cursor),
                "updated_at": now,
            },
        )
        await session.execute(stmt)
        stored = await session.scalar(
            select(EventCursor.cursor).where(EventCursor.client == client)
        )
    return int(stored or 0)
