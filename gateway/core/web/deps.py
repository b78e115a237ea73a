"""Dependencies the routes use by name: the runtime, the authenticated client, scopes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.core.clients import ClientAuthenticator, Principal
from gateway.core.errors import Forbidden, RateLimited
from gateway.core.runtime import Gateway


class MovingWindow:
    """The in-process moving window: at most ``limit`` hits in any ``seconds``, per key.

    The same rule as ``limits``' moving window on its memory storage, without what that storage
    costs on every hit: a task scheduled per hit to expire old entries, which hops to a thread
    (``asyncio.to_thread``), and an insertion at the head of a list as long as the limit. Here
    each key keeps a deque of its hit times, oldest first, trimmed as it is read; an idle key is
    dropped. ``clock`` is monotonic seconds (a test may pass its own)."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        cutoff = now - self.seconds
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def hit(self, key: str) -> bool:
        """Count a hit for ``key``; False (not counted) when the window is full."""
        now = self._clock()
        hits = self._window(key, now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # many idle keys: forget those with nothing in the window
            for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.seconds]:
                del self._hits[idle]
        return True

    def retry_after(self, key: str) -> float:
        """Seconds until the oldest hit in ``key``'s window leaves it (a hit fits again)."""
        now = self._clock()
        hits = self._window(key, now)
        return hits[0] + self.seconds - now if hits else 0.0


class ClientRateLimiter:
    """Per-client moving-window limit: in process, or in Redis (``limits``) shared by every
    process."""

    def __init__(self, rate: str, redis_url: str | None) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter: MovingWindowRateLimiter | None = None
        self.memory: MovingWindow | None = None
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            storage = RedisStorage(uri, implementation="redispy", key_prefix="lgsp-limits")
            self.limiter = MovingWindowRateLimiter(storage)
        else:
            self.memory = MovingWindow(self.item.amount, self.item.get_expiry())

    async def check(self, client: str) -> None:
        if self.memory is not None:
            if self.memory.hit(client):
                return
            wait = max(1.0, self.memory.retry_after(client))
            raise RateLimited(f"client {client} exceeded {self.item}", retry_after=wait)
        assert self.limiter is not None
        if not await self.limiter.hit(self.item, client):
            stats = await self.limiter.get_window_stats(self.item, client)
            wait = max(1.0, stats.reset_time - time.time())
            raise RateLimited(f"client {client} exceeded {self.item}", retry_after=wait)


def gateway_of(request: Request) -> Gateway:
    """The runtime, read in the route itself: the same for every request, so the hot routes
    (accepting work) need not have FastAPI solve a dependency for it each time."""
    gw: Gateway = request.app.state.gateway
    return gw


async def get_gateway(request: Request) -> Gateway:
    # async, though it awaits nothing: FastAPI runs a plain ``def`` dependency in its thread
    # pool, a thread hop on every request for one attribute read
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def current_client(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    authenticator: ClientAuthenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(
        key.strip() if scheme.lower() == "bearer" else None
    )
    request.state.principal = principal
    limiter: ClientRateLimiter = request.app.state.rate_limiter
    await limiter.check(principal.name)
    return principal


CurrentClient = Annotated[Principal, Depends(current_client)]


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await current_client(request)
        if not principal.has(scope):
            raise Forbidden(f"client {principal.name} lacks the scope {scope}")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    # read by the OpenAPI document (gateway.api.docs): the scope each operation needs
    dependency.lgsp_scope = scope  # type: ignore[attr-defined]
    return dependency


def scoped(scope: str) -> object:
    """``client: Annotated[Principal, scoped("ops:read")]``."""
    return Depends(require_scope(scope))
