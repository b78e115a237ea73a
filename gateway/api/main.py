"""The FastAPI application: one router per resource, problem+json errors, and (by default)
the delivery workers running inside the server process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway.api import errors
from gateway.api.deps import ClientRateLimiter
from gateway.api.middleware import GatewayMiddleware
from gateway.api.routes import (
    audit,
    dancu,
    dvcqg,
    dvcqg_portal,
    dvcqg_results,
    esign,
    events,
    exchanges,
    identity,
    officers,
    ops,
    payments,
    payments_portal,
    postal,
)
from gateway.core.clients import ClientAuthenticator
from gateway.core.delivery import DeliveryService
from gateway.core.runtime import Gateway


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0] if route.tags else 'default'}-{route.name}"


def create_app(gateway: Gateway, *, run_workers: bool = True, start: bool = True) -> FastAPI:
    """Build the API around ``gateway``. ``start``: migrate and start connectors on startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            await gateway.start()
        service = DeliveryService(gateway)
        app.state.delivery = service
        if run_workers:
            service.start()
        # everything built so far lives as long as the process: keep it out of the cyclic
        # collector's scans, which otherwise stall requests for tens of milliseconds
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="LGSP Gateway",
        version="0.1.0",
        description=(
            "One API between a province's one-stop case system and the national platforms. "
            "Errors are application/problem+json (RFC 9457)."
        ),
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.gateway = gateway
    app.state.authenticator = ClientAuthenticator(gateway.db)
    app.state.rate_limiter = ClientRateLimiter(
        gateway.settings.rate_limit, gateway.settings.redis_url
    )
    errors.install(app)
    app.add_middleware(GatewayMiddleware, max_body_bytes=gateway.settings.max_body_bytes)
    app.include_router(ops.router)
    app.include_router(exchanges.router)
    app.include_router(dvcqg.router)
    app.include_router(dvcqg_portal.router)
    app.include_router(dvcqg_results.router)
    app.include_router(dancu.router)
    app.include_router(identity.router)
    app.include_router(audit.router)
    app.include_router(officers.router)
    app.include_router(events.router)
    app.include_router(payments.router)
    app.include_router(payments_portal.router)
    app.include_router(postal.router)
    app.include_router(esign.router)
    return app
