"""The FastAPI application, assembled from the registry: the core's routers (health, operations,
exchanges, audit, events) and each connector's, problem+json errors, and (by default)
the delivery workers running inside the server process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway.api import console, docs
from gateway.api.middleware import GatewayMiddleware
from gateway.api.routes import audit, events, exchanges, maintenance, ops
from gateway.core.clients import ClientAuthenticator
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.web import errors
from gateway.core.web.deps import ClientRateLimiter


def _operation_id(route: APIRoute) -> str:
    """One naming style (kebab case): ``<tag>-<route name>``, e.g. ``dvcqg-sync-dossier``."""
    return f"{route.tags[0] if route.tags else 'default'}-{route.name}".replace("_", "-")


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
        # a request allocates thousands of short-lived objects: with the default threshold
        # (700) the youngest generation is collected several times per request, and the older
        # ones (scanned whole) far more often than anything long-lived is made
        gc.set_threshold(10_000, 20, 20)
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="LGSP Gateway",
        version="0.1.0",
        description=(
            "One API between a province's one-stop case system and the national platforms. "
            "Errors are application/problem+json (RFC 9457). Every request may carry an "
            "`X-Request-Id` (letters, digits, `.` `_` `-`, up to 64): it is logged with the "
            "request and given back in the answer's `X-Request-Id` (one is made up when absent "
            "or malformed). Work accepted with 202 takes an optional `Idempotency-Key`."
        ),
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # served with the gateway's own assets (gateway.api.docs): no CDN
        docs_url=None,
        redoc_url=None,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        contact={"name": "LGSP Gateway platform team"},
        servers=[{"url": "/", "description": "this gateway"}],
    )
    docs.install_openapi(app)
    docs.mount(app)
    app.state.gateway = gateway
    app.state.authenticator = ClientAuthenticator(gateway.db)
    app.state.rate_limiter = ClientRateLimiter(
        gateway.settings.rate_limit, gateway.settings.redis_url
    )
    errors.install(app)
    app.add_middleware(GatewayMiddleware, max_body_bytes=gateway.settings.max_body_bytes)
    for router in (ops.router, maintenance.router, exchanges.router, audit.router, events.router):
        app.include_router(router)
    console.mount(app)
    # each registered connector's own routes (connectors/<slug>/routes*.py)
    for spec in gateway.specs.values():
        for router in spec.routers() if spec.routers is not None else ():
            app.include_router(router)
    return app
