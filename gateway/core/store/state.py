"""The state store: small shared state with expiry (circuit state, nonces, caches, leases).

Two implementations with one contract: :class:`MemoryStateStore` for the embedded default (one
process) and :class:`RedisStateStore` when ``LGSP_REDIS_URL`` is set (many replicas and workers).
Values are bytes; ``ttl`` is in seconds. Every operation is atomic on its own.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

import redis.asyncio as redis_asyncio


@runtime_checkable
class StateStore(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...
    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Set only when absent; True when this call set it (a lock, a single-use nonce)."""
        ...

    async def incr(self, key: str, *, ttl: float | None = None) -> int:
        """Add one and return the new value; ``ttl`` applies when the key is created."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the key; True when it existed (so a nonce can be consumed exactly once)."""
        ...

    async def take(self, key: str) -> bytes | None:
        """Read and remove the key in one step: of racing callers, one gets the value."""
        ...

    async def ping(self) -> bool: ...
    async def aclose(self) -> None: ...


class MemoryStateStore:
    """In-process store; expiry checked on read. Safe within one event loop."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return None if ttl is None else time.monotonic() + ttl

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._data[key] = (value, self._expiry(ttl))

    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        async with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._expiry(ttl))
            return True

    async def incr(self, key: str, *, ttl: float | None = None) -> int:
        async with self._lock:
            current = self._live(key)
            if current is None:
                self._data[key] = (b"1", self._expiry(ttl))
                return 1
            value = int(current) + 1
            self._data[key] = (str(value).encode(), self._data[key][1])
            return value

    async def take(self, key: str) -> bytes | None:
        async with self._lock:
            value = self._live(key)
            self._data.pop(key, None)
            return value

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._data.pop(key, None)
        return existed

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._data.clear()


class RedisStateStore:
    """Redis-backed store, shared by every replica and worker."""

    def __init__(self, url: str, *, prefix: str = "lgsp:") -> None:
        self._redis = redis_asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    @staticmethod
    def _ms(ttl: float | None) -> int | None:
        return None if ttl is None else max(1, int(ttl * 1000))

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._k(key))
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._redis.set(self._k(key), value, px=self._ms(ttl))

    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        return bool(await self._redis.set(self._k(key), value, px=self._ms(ttl), nx=True))

    async def incr(self, key: str, *, ttl: float | None = None) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._k(key))
            if ttl is not None:
                pipe.pexpire(self._k(key), self._ms(ttl) or 1, nx=True)
            result = await pipe.execute()
        return int(result[0])

    async def take(self, key: str) -> bytes | None:
        value = await self._redis.getdel(self._k(key))  # Redis 6.2+
        return None if value is None else bytes(value)

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(self._k(key)))

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:  # any client error means "not reachable"
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_state_store(redis_url: str | None, *, prefix: str = "lgsp:") -> StateStore:
    return RedisStateStore(redis_url, prefix=prefix) if redis_url else MemoryStateStore()
