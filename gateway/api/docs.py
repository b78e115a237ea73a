"""The API's documentation as a product (issue 21): Swagger UI and ReDoc served with their
assets by the gateway itself (a provincial network may have no internet), and an OpenAPI
document that declares how to authenticate and what errors look like.

- ``/docs`` (Swagger UI 5.35.0) and ``/redoc`` (ReDoc 2.5.4), assets vendored in
  ``docs_assets/`` (Apache-2.0, MIT; see ``docs_assets/THIRD-PARTY.txt``), no web font, no
  online validator badge.
- A ``bearer`` security scheme; each operation that needs a key lists the scope it needs
  (OpenAPI 3.1 lets a non-OAuth scheme name roles), so "Authorize" works in Swagger UI.
- One ``Problem`` schema (RFC 9457 and this gateway's extensions), declared as
  ``application/problem+json`` for the errors every operation can answer: 401 and 403 where a
  key is needed, 422 where there is input (instead of FastAPI's ``HTTPValidationError``, which
  the gateway never sends), 413 where there is a body, 429 for a client over its rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = Path(__file__).resolve().parent / "docs_assets"
PROBLEM_MEDIA = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457), with the gateway's extensions: the field errors, the "
    "request id to quote to operators, and the exchange-log entry that recorded the refusal.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "description": "urn:lgsp:problem:<slug>, e.g. urn:lgsp:problem:invalid-input",
            "examples": ["urn:lgsp:problem:invalid-input"],
        },
        "title": {"type": "string", "examples": ["Invalid input"]},
        "status": {"type": "integer", "examples": [422]},
        "detail": {
            "type": "string",
            "examples": ["the request failed validation: ngay_tiep_nhan: invalid date"],
        },
        "instance": {"type": "string", "description": "the request's path"},
        "errors": {
            "type": "array",
            "description": "one per field at fault",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {
                        "type": "string",
                        "description": "the field's path, dotted (e.g. steps.0.trang_thai)",
                    },
                    "msg": {"type": "string"},
                },
            },
        },
        "request_id": {"type": "string", "description": "X-Request-Id of the request"},
        "exchange_id": {
            "type": "string",
            "description": "the exchange-log entry that recorded this refusal or failure",
        },
    },
    "additionalProperties": True,
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any string of yours (a UUID): a repeat with the same key and body is "
    "answered as the first time and accepted once; with another body, 409",
    "schema": {"type": "string", "maxLength": 255},
}

#: every answer names its request (the one the caller sent, or one made up)
REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "the request's id (the X-Request-Id sent, or one the gateway made): quote "
    "it to operators",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}

EVENT_SCHEMA: dict[str, Any] = {
    "title": "Event",
    "description": "An event to the case system, as webhook body and pull-inbox entry alike.",
    "type": "object",
    "required": ["id", "type", "source", "subject", "occurred_at", "data"],
    "properties": {
        "id": {"type": "string", "description": "the event id, also `webhook-id`"},
        "type": {
            "type": "string",
            "description": "<connector>.<what>.<state>, e.g. a payment's new status, a "
            "shipment's, a signature made or failed, a dossier received from the portal, a "
            "maintenance window starting or ending",
        },
        "source": {"type": "string", "description": "the connector that raised it"},
        "subject": {"type": "string", "description": "what it is about (an id of it)"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "data": {"type": "object", "additionalProperties": True},
    },
}


def _event_webhook() -> dict[str, Any]:
    signed = [
        ("webhook-id", "the event id (deduplicate on it)"),
        ("webhook-timestamp", "seconds since the epoch when it was signed"),
        (
            "webhook-signature",
            "`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` under the subscription's "
            "`whsec_` secret (Standard Webhooks); several, space-separated, while a secret "
            "is rotated",
        ),
    ]
    return {
        "post": {
            "operationId": "events-webhook",
            "summary": "An event, POSTed to each subscribed endpoint (Standard Webhooks)",
            "parameters": [
                {
                    "name": n,
                    "in": "header",
                    "required": True,
                    "description": d,
                    "schema": {"type": "string"},
                }
                for n, d in signed
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
            },
            "responses": {
                "2XX": {"description": "received: not sent again"},
                "429": {"description": "slow down: sent again later (Retry-After honoured)"},
                "4XX": {"description": "refused: the delivery is given up (dead letter)"},
                "5XX": {"description": "failed: sent again with back-off"},
            },
        }
    }


_ERRORS = {
    401: "No key, or a key unknown or revoked",
    403: "The key lacks the scope this operation needs",
    404: "No such resource (the problem's detail names it)",
    409: "In conflict with what the gateway holds: it exists already, it is final, or the "
    "Idempotency-Key was used before with another body",
    413: "The body is larger than the gateway accepts",
    422: "The input is invalid: the fields at fault are named",
    429: "The client is over its rate; Retry-After says when to try again",
}


#: the documentation pages load nothing from elsewhere, even what the vendored code would
#: (ReDoc's footer asks a CDN for its logo, and hides it when refused): the browser is told so
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def mount(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` with the gateway's own assets (plain routes, outside the
    OpenAPI document)."""
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} {app.version}"

    async def swagger(request: Request) -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                swagger_css_url="/docs/assets/swagger-ui.css",
                swagger_favicon_url="/docs/assets/favicon-32x32.png",
                swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
            )
        )

    async def redoc(request: Request) -> HTMLResponse:
        return _offline(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                redoc_js_url="/docs/assets/redoc.standalone.js",
                redoc_favicon_url="/docs/assets/favicon-32x32.png",
                with_google_fonts=False,
            )
        )

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI >= 0.160: an included router
            yield from api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from api_routes(route.routes)


def guard(route: APIRoute) -> tuple[bool, str | None]:
    """Whether the route needs a key, and the scope it needs (None: any client)."""
    keyed, scope = False, None
    pending = list(route.dependant.dependencies)
    while pending:
        sub = pending.pop()
        name = getattr(sub.call, "__name__", "")
        if name == "current_client":
            keyed = True
        found = getattr(sub.call, "lgsp_scope", None)
        if isinstance(found, str):
            keyed, scope = True, found
        pending.extend(sub.dependencies)
    return keyed, scope


def _has_input(route: APIRoute) -> bool:
    d = route.dependant
    return bool(d.body_params or d.query_params or d.path_params or d.header_params)


def enrich(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security scheme, the Problem schema and the error answers to ``schema``."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A client key: `lgsp clients create NAME --scope SCOPE ...` prints it "
        "once. Each operation lists the scope it needs.",
    }
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["Event"] = EVENT_SCHEMA
    schema["webhooks"] = {"event": _event_webhook()}
    problem = {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        keyed, scope = guard(route)
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            wanted: list[int] = []
            if keyed:
                operation["security"] = [{"bearer": [scope] if scope else []}]
                wanted += [401, 429] + ([403] if scope else [])
            if _has_input(route) or "422" in responses:
                wanted.append(422)
            if route.dependant.body_params:
                wanted += [409, 413]
            if route.dependant.path_params:
                wanted.append(404)
            accepted = responses.get("202", {}).get("content", {}).get("application/json", {})
            if accepted.get("schema") == {"$ref": "#/components/schemas/Accepted"}:
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
                wanted.append(409)
            for parameter in operation.get("parameters", []):
                # a header the route checks itself (refusing with a recorded 403 rather than a
                # 422) says "(required)" in its description: required in the contract
                if str(parameter.get("description", "")).endswith("(required)"):
                    parameter["required"] = True
            for status in sorted(set(wanted)):
                if str(status) not in responses or "HTTPValidationError" in str(
                    responses[str(status)]
                ):
                    responses[str(status)] = {"description": _ERRORS[status]}
            # every error the operation declares is a Problem; every answer names its request
            for status, answer in responses.items():
                headers = answer.setdefault("headers", {})
                headers.setdefault("X-Request-Id", REQUEST_ID_HEADER)
                if status in ("429", "503"):
                    headers.setdefault("Retry-After", RETRY_AFTER_HEADER)
                if status.isdigit() and int(status) >= 400:
                    content = answer.setdefault("content", {})
                    declared = content.get("application/json", {}).get("schema", {})
                    if "$ref" in declared:
                        continue  # an answer of its own (the readiness probe's 503)
                    content.pop("application/json", None)
                    content.update(problem)
    # FastAPI's validation error schemas describe an answer the gateway never sends
    if "HTTPValidationError" not in str(schema["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` build the enriched document once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = enrich(
                app,
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    servers=app.servers,
                    license_info=app.license_info,
                    contact=app.contact,
                ),
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
