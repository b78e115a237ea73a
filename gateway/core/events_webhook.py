"""Webhooks to the case system: signing, verifying, and the deliverer the outbox calls.

Each delivery is one ``POST`` of the event as canonical JSON::

    {"data": {...}, "id": "<event id>", "occurred_at": "2026-03-01T08:00:00Z",
     "source": "<slug>", "subject": "H21.99-260301-0001", "type": "<slug>.settled"}

signed the Standard Webhooks way (https://www.standardwebhooks.com/) with the subscription's
secret: a ``whsec_`` secret's HMAC key is the base64-decoded part after ``whsec_``, so the
official ``standardwebhooks`` libraries verify with the secret as printed; a legacy secret's key
is its UTF-8 bytes (see :func:`gateway.core.events.signing_key`)::

    webhook-id: <event id>            the same on every attempt: the de-duplication key
    webhook-timestamp: <unix seconds> of this attempt
    webhook-signature: v1,<base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))>

After a rotation the signature header carries, space-separated, the new secret's signature
then the previous one's, until the grace period ends. A receiver recomputes the signature over
the raw body, compares it in constant time, refuses timestamps too far from its clock
(replays), and ignores an id it has already processed (:func:`verify_webhook` does the first
three). Answers: 2xx delivered; 429 and 5xx (and no answer at all) retried with backoff,
``Retry-After`` honoured; any other status dead-letters the delivery (replayable with
``lgsp dlq replay``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from sqlalchemy import func, select

from gateway.core.connector import Actor, CheckResult, Delivered, ErrorRule, Resolution
from gateway.core.crypto import BodyCipher
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError
from gateway.core.events import (
    CONNECTOR,
    OPERATION,
    canonical_json,
    event_dict,
    open_secret,
    signing_key,
    signing_keys,
)
from gateway.core.http.recording import retry_after_seconds
from gateway.core.logging import register_secrets
from gateway.core.store.db import Database, Event, EventSubscription

#: a receiver's answer is not needed beyond its status: read at most this much of it
MAX_ANSWER_BYTES = 64 * 1024


#: a secret as a string (``whsec_...`` decoded, any other its UTF-8 bytes) or an HMAC key
Secret = str | bytes


def _key(secret: Secret) -> bytes:
    return secret if isinstance(secret, bytes) else signing_key(secret)


def signature(secret: Secret, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    secret: Secret | Sequence[Secret], msg_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The three headers; several secrets (a rotation) give several space-separated
    signatures, in the order given."""
    keys = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not keys:
        raise ValueError("no secret to sign with")
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(k, msg_id, timestamp, body) for k in keys),
    }


def verify_webhook(
    secret: Secret,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> None:
    """Check a webhook as a receiver must; raises ValueError saying what is wrong.

    ``secret`` is a ``whsec_`` secret, a legacy one (its UTF-8 bytes are the key) or the key
    itself. ``headers`` may be any mapping (names are matched case-insensitively). The
    signature header may carry several space-separated ``v1,<sig>`` values (secret rotation);
    one matching is enough."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "")
    if not msg_id:
        raise ValueError("missing webhook-id header")
    if not stamp:
        raise ValueError("missing webhook-timestamp header")
    if not given:
        raise ValueError("missing webhook-signature header")
    if not (stamp.isascii() and stamp.isdigit()):
        raise ValueError("webhook-timestamp is not a unix time in seconds")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_seconds:
        raise ValueError(
            f"webhook-timestamp is more than {tolerance_seconds} s from now "
            "(a replay, or clock skew)"
        )
    expected = signature(secret, msg_id, stamp, body).encode()
    for candidate in given.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise ValueError("no webhook-signature matches (wrong secret, or the body was altered)")


class EventDeliverer:
    """The connector behind outbox items ``("events", "deliver_event")``: one signed POST of
    one event to one subscription's endpoint."""

    slug: ClassVar[str] = CONNECTOR
    operations: ClassVar[frozenset[str]] = frozenset({OPERATION})
    error_table: ClassVar[Mapping[str, ErrorRule]] = {
        "2xx": ErrorRule(Resolution.SUCCESS, Actor.NONE, "the receiver accepted the event"),
        "429": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "the receiver asked us to slow down"),
        "5xx": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the receiver failed"),
        "4xx": ErrorRule(Resolution.REJECT, Actor.CALLER, "the receiver refused the event"),
        "gone": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the subscription was deleted or deactivated",
        ),
    }

    def __init__(
        self,
        db: Database,
        cipher: BodyCipher,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._http = http
        self._clock = clock  # unix seconds: the timestamp signed, and rotation grace periods

    async def check(self) -> CheckResult:
        started = time.perf_counter()
        try:
            async with self._db.reading() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(EventSubscription)
                    .where(EventSubscription.active.is_(True))
                )
        except Exception as exc:  # any driver error means "not reachable"
            return CheckResult(False, f"database unreachable: {type(exc).__name__}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(True, f"{int(count or 0)} active subscription(s)", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        if operation != OPERATION:
            raise PermanentUpstreamError(f"events: unknown operation {operation!r}")
        name = str(payload.get("subscription", ""))
        event_id = str(payload.get("event_id", ""))
        async with self._db.reading() as session:
            sub = await session.scalar(
                select(EventSubscription).where(EventSubscription.name == name)
            )
            event = await session.scalar(select(Event).where(Event.event_id == event_id))
        if sub is None or not sub.active:
            raise PermanentUpstreamError(
                f"subscription gone: {name} ({self.error_table['gone'].description})", code="gone"
            )
        if event is None:
            raise PermanentUpstreamError(f"event {event_id} not found", code="gone")
        now = self._clock()
        register_secrets([open_secret(self._cipher, sub)])  # masked should it reach a log line
        keys = signing_keys(self._cipher, sub, now=datetime.fromtimestamp(now, UTC))
        body = canonical_json(event_dict(self._cipher, event))
        headers = {
            "content-type": "application/json",
            **sign_headers(keys, event.event_id, body, now=now),
        }
        try:
            response = await self._http.post(
                sub.endpoint,
                content=body,
                headers=headers,
                extensions={"lgsp_max_response_bytes": MAX_ANSWER_BYTES},
            )
        except httpx.HTTPError as exc:
            raise TransientUpstreamError(
                f"{name}: no answer from the endpoint ({type(exc).__name__})"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return Delivered(f"{name} accepted event {event_id} (HTTP {status})")
        code = str(status)
        if status == 429 or status >= 500:
            rule = self.error_table["429" if status == 429 else "5xx"]
            raise TransientUpstreamError(
                f"{name}: {rule.description} (HTTP {status})",
                code=code,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        rule = self.error_table["4xx"]
        raise PermanentUpstreamError(f"{name}: {rule.description} (HTTP {status})", code=code)

    async def aclose(self) -> None:
        return None
