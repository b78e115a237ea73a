"""The bearer-key cache: one shared look-up per key when an entry expires, revocation within
the cache's life, on a controllable clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import update

from gateway.core.clients import ClientAuthenticator, create_client
from gateway.core.errors import Unauthenticated
from gateway.core.runtime import Gateway
from gateway.core.store.db import ApiClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counting(gateway: Gateway, gate: asyncio.Event | None = None) -> list[int]:
    """Count the authenticator's reads; with ``gate``, each read waits for it first."""
    calls: list[int] = []
    reading = gateway.db.reading

    @asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        calls.append(1)
        if gate is not None:
            await gate.wait()
        async with reading() as session:
            yield session

    gateway.db.reading = counted  # type: ignore[method-assign]
    return calls


async def test_concurrent_misses_share_one_look_up(gateway: Gateway) -> None:
    _, key = await create_client(gateway.db, name="ho-so", scopes=["exchanges:read"])
    clock = Clock()
    auth = ClientAuthenticator(gateway.db, cache_seconds=10, clock=clock)
    gate = asyncio.Event()
    calls = _counting(gateway, gate)
    waiting = [asyncio.ensure_future(auth.authenticate(key)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    principals = await asyncio.gather(*waiting)
    assert {p.name for p in principals} == {"ho-so"}
    assert len(calls) == 1
    # cached: no query; expired: one query again
    clock.now += 9
    await auth.authenticate(key)
    assert len(calls) == 1
    clock.now += 2
    await asyncio.gather(*(auth.authenticate(key) for _ in range(5)))
    assert len(calls) == 2


async def test_a_revoked_key_stops_working_once_its_entry_expires(gateway: Gateway) -> None:
    _, key = await create_client(gateway.db, name="tam-thoi", scopes=["exchanges:read"])
    clock = Clock()
    auth = ClientAuthenticator(gateway.db, cache_seconds=10, clock=clock)
    await auth.authenticate(key)
    async with gateway.db.transaction() as session:
        await session.execute(
            update(ApiClient).where(ApiClient.name == "tam-thoi").values(active=False)
        )
    clock.now += 10
    for _ in range(2):  # every waiter is refused, and a refusal is not remembered
        results = await asyncio.gather(
            *(auth.authenticate(key) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, Unauthenticated) for r in results)


async def test_a_cancelled_waiter_does_not_cancel_the_shared_look_up(gateway: Gateway) -> None:
    _, key = await create_client(gateway.db, name="ho-so", scopes=["exchanges:read"])
    auth = ClientAuthenticator(gateway.db, clock=Clock())
    gate = asyncio.Event()
    calls = _counting(gateway, gate)
    first = asyncio.ensure_future(auth.authenticate(key))
    second = asyncio.ensure_future(auth.authenticate(key))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert (await second).name == "ho-so"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert len(calls) == 1
