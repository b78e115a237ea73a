"""Dependencies the routes use by name: the runtime, the authenticated client, scopes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.core.clients import ClientAuthenticator, Principal
from gateway.core.errors import Forbidden, RateLimited
from gateway.core.runtime import Gateway


class ClientRateLimiter:
    """Per-client moving-window limit (``limits``), in memory or in Redis."""

    def __init__(self, rate: str, redis_url: str | None) -> None:
        self.item: RateLimitItem = parse(rate)
        storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            storage = RedisStorage(uri, implementation="redispy", key_prefix="lgsp-limits")
        else:
            storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)

    async def check(self, client: str) -> None:
        if not await self.limiter.hit(self.item, client):
            stats = await self.limiter.get_window_stats(self.item, client)
            wait = max(1.0, stats.reset_time - time.time())
            raise RateLimited(f"client {client} exceeded {self.item}", retry_after=wait)


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
