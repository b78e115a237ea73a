"""Case-system clients: API keys (stored hashed) with scopes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from gateway.core.crypto import key_matches, new_client_key, split_client_key
from gateway.core.errors import (
    ConfigurationError,
    Conflict,
    FieldError,
    InvalidInput,
    Unauthenticated,
)
from gateway.core.store.db import ApiClient, Database, utcnow

#: the scopes of the core's own routes; each connector declares its own (``SPEC.scopes``)
CORE_SCOPES: dict[str, str] = {
    "exchanges:read": "read the state of any exchange (own ones need no scope)",
    "ops:read": "connector health, dead letters",
    "ops:dlq": "replay or skip dead letters",
    "ops:admin": "schedule and cancel maintenance windows; act in the ops console",
    "audit:read": "verify and export the exchange log, read decrypted bodies",
    "events:admin": "manage event subscriptions (webhooks to the case system)",
    "events:read": "read and acknowledge the pull inbox of events",
}


def known_scopes() -> dict[str, str]:
    """Every scope the gateway knows, with what it allows: the core's and each registered
    connector's (:attr:`~gateway.core.connector.ConnectorSpec.scopes`)."""
    from gateway.core.registry import load_specs  # the registry imports the connectors

    scopes = dict(CORE_SCOPES)
    for spec in load_specs().values():
        for scope, allows in spec.scopes.items():
            if scope in scopes:
                raise ConfigurationError(f"the scope {scope!r} is declared twice")
            scopes[scope] = allows
    return scopes


_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client."""

    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


async def create_client(db: Database, *, name: str, scopes: list[str]) -> tuple[Principal, str]:
    """Create a client; returns it and its key (shown once, never stored in clear)."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "invalid client name",
            errors=[FieldError("name", "lower-case letters, digits, . _ - (2-64 chars)")],
        )
    known = known_scopes()
    unknown = sorted(set(scopes) - set(known))
    if unknown or not scopes:
        raise InvalidInput(
            f"unknown scopes: {', '.join(unknown)}" if unknown else "at least one scope",
            errors=[FieldError("scopes", f"known scopes: {', '.join(sorted(known))}")],
        )
    key, prefix, digest = new_client_key()
    inserted = await db.insert_if_absent(
        ApiClient,
        {
            "name": name,
            "key_prefix": prefix,
            "key_hash": digest,
            "scopes": sorted(set(scopes)),
            "active": True,
            "created_at": utcnow(),
        },
    )
    if not inserted:
        raise Conflict(f"a client named {name!r} exists")
    return Principal(name, frozenset(scopes)), key


class ClientAuthenticator:
    """Checks bearer keys; remembers good ones briefly so each request costs no query.

    A key is looked up again once its entry is ``cache_seconds`` old, so a revoked key stops
    working within that bound. The look-up is shared (single flight): when an entry expires under
    load, the requests that miss it at once wait for one query instead of each opening its own
    pool connection. ``clock`` is monotonic seconds (a test may pass its own)."""

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._ttl = cache_seconds
        self._clock = clock
        self._pending: dict[str, asyncio.Future[Principal]] = {}

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthenticated("an Authorization: Bearer <client key> header is required")
        cached = self._cache.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        prefix = split_client_key(key)
        if prefix is None:
            raise Unauthenticated("the client key is malformed")
        pending = self._pending.get(key)
        if pending is None:
            # its own task: a waiter that is cancelled (its client went away) does not cancel
            # the look-up the others wait for
            pending = asyncio.ensure_future(self._look_up(key, prefix))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(pending)

    def _settled(self, key: str, done: asyncio.Future[Principal]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have gone

    async def _look_up(self, key: str, prefix: str) -> Principal:
        # the entry's life starts before the query: a key revoked while it runs is looked up
        # again no later than ``cache_seconds`` after that
        started = self._clock()
        async with self._db.reading() as session:
            row = await session.scalar(select(ApiClient).where(ApiClient.key_prefix == prefix))
        if row is None or not row.active or not key_matches(key, row.key_hash):
            raise Unauthenticated("the client key is unknown or revoked")
        principal = Principal(row.name, frozenset(row.scopes))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (principal, started + self._ttl)
        return principal
