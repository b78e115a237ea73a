"""The FastAPI application, assembled from the registry: the core's routers (health, operations,
exchanges, audit, events) and each connector's, problem+json errors, and (by default)
the delivery workers running inside the server process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

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


class _Handlers(ExceptionMiddleware):
    """Starlette's exception handlers, also holding the per-request exit stack FastAPI's
    routes expect in the scope (to close uploaded files), which FastAPI keeps in a middleware
    of its own."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with AsyncExitStack() as stack:
            scope["fastapi_middleware_astack"] = stack
            await super().__call__(scope, receive, send)


class GatewayApp(FastAPI):
    """FastAPI with the middleware the gateway needs and no more.

    FastAPI wraps the app's middleware in five layers, each a coroutine and most a ``send``
    wrapper on every request: ``ServerErrorMiddleware``, ``ExceptionTelemetryMiddleware`` and
    ``AppBodyLimitMiddleware`` outside, ``ExceptionMiddleware`` and ``AsyncExitStackMiddleware``
    inside. The gateway keeps the two that handle errors, in the same places (the handler of
    ``Exception``/500 outside the app's middleware, the others inside), with the exit stack
    folded into the inner one; it drops FastAPI's native OpenTelemetry (the gateway does not
    configure OpenTelemetry; its metrics and access lines come from ``GatewayMiddleware``) and
    the app-wide body limit (``max_body_size`` is not set: ``GatewayMiddleware`` bounds bodies).
    """

    def build_middleware_stack(self) -> ASGIApp:
        error_handler = None
        handlers = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        app: ASGIApp = _Handlers(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or self.max_body_size is not None:
            await super().__call__(scope, receive, send)
            return
        # Starlette's own ``__call__``, without FastAPI's per-request telemetry check
        if self.root_path:
            scope["root_path"] = self.root_path
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)


def _literal_prefixes(included: Any) -> set[str] | None:
    """The literal start (before any ``{param}``) of every path an included router can match,
    or None when one of them is not known."""
    prefixes: set[str] = set()
    for candidate in [*included.effective_candidates(), *included.effective_low_priority_routes()]:
        if hasattr(candidate, "effective_candidates"):
            inner = _literal_prefixes(candidate)
            if inner is None:
                return None
            prefixes |= inner
            continue
        path = getattr(candidate, "path_format", None)
        if not isinstance(path, str) or not path.startswith("/"):
            return None
        prefixes.add(path.partition("{")[0])
    return prefixes


def _prepare_routes(app: FastAPI) -> None:
    """Once every router is included (at startup):

    * have FastAPI build each included router's route contexts (TypeAdapters included) now, not
      in the first requests it serves (it builds them lazily);
    * give each included router a quick refusal: FastAPI tries every included router in turn
      (each matching its routes one by one, under a context it sets and restores per route)
      before the one that holds the path, which was 7-8% of an accepted packet's CPU. A path
      that starts with none of the literal starts of a router's paths cannot match any of them
      (each path's regular expression begins with that literal), so that router answers NONE
      without trying them. Routes are not added after startup.
    """
    for route in app.router.routes:
        if not hasattr(route, "effective_candidates"):
            continue
        prefixes = _literal_prefixes(route)
        if prefixes is None:
            continue
        route.matches = _refusing(route.matches, tuple(sorted(prefixes)))  # type: ignore[method-assign, assignment]


def _refusing(
    matches: Callable[[Scope], tuple[Match, Scope]], prefixes: tuple[str, ...]
) -> Callable[[Scope], tuple[Match, Scope]]:
    def quick(scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(prefixes):
            return Match.NONE, {}
        return matches(scope)

    return quick


def create_app(gateway: Gateway, *, run_workers: bool = True, start: bool = True) -> FastAPI:
    """Build the API around ``gateway``. ``start``: migrate and start connectors on startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            await gateway.start()
        _prepare_routes(app)
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

    app = GatewayApp(
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
