"""``application/problem+json`` (RFC 9457) for every error, and refusals in the exchange log.

No stack trace or secret ever reaches a client: unexpected errors become a bare 500 naming only
the request id. Refused writes (bad input, bad credentials, missing scope) are recorded as
``refusal`` entries, with the request body encrypted like any other.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.core.errors import FieldError, GatewayError, RateLimited, UpstreamError
from gateway.core.log.exchange_log import Crossing, is_officer_login
from gateway.core.logging import mask_text
from gateway.core.metrics import REFUSALS
from gateway.core.validation import field_path

log = structlog.get_logger("gateway.api")

PROBLEM = "application/problem+json"
RECORDED_STATUSES = {400, 401, 403, 409, 413, 422}


def problem(
    status: int,
    *,
    type_slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    request: Request | None = None,
    exchange_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:lgsp:problem:{type_slug}",
        "title": title,
        "status": status,
        "detail": mask_text(detail),
    }
    if errors:
        body["errors"] = [{"loc": e["loc"], "msg": mask_text(e["msg"])} for e in errors]
    if exchange_id:
        body["exchange_id"] = exchange_id
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
        # for the access line the middleware writes (one per request, refusals named)
        request.state.problem = body
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def record_refusal(request: Request, status: int, reason: str, detail: str) -> str | None:
    """Write a refusal entry; returns its id (or None when the gateway is not up)."""
    gw = getattr(request.app.state, "gateway", None)
    if gw is None:
        return None
    REFUSALS.labels(reason).inc()
    principal = getattr(request.state, "principal", None)
    crossing = Crossing(
        kind="refusal",
        operation=f"{request.method} {_route_path(request)}",
        outcome=reason,
        connector=_connector_of(request),
        client=principal.name if principal is not None else None,
        # who the case system says is asking (officer-bound calls): refusals are reviewed per
        # officer too (seed 004, Điều 8); only a well-formed login, never a cut one
        officer_id=_officer_login(request.headers.get("x-officer-id")),
        status_code=status,
        request=getattr(request.state, "raw_body", None) or None,
        detail=detail,
    )
    try:
        await gw.record(crossing)
    except Exception:
        log.exception("refusal_not_recorded")
        return None
    return crossing.entry_id


def _officer_login(header: str | None) -> str | None:
    login = (header or "").strip(" \t")
    return login if is_officer_login(login) else None


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def _connector_of(request: Request) -> str | None:
    parts = request.url.path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] in ("v1", "callbacks"):
        gw = request.app.state.gateway
        return parts[1] if parts[1] in gw.connectors else None
    return None


def _should_record(request: Request, status: int) -> bool:
    return status in RECORDED_STATUSES and (request.method != "GET" or status in (401, 403))


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    errors = [e.as_dict() for e in exc.errors]
    exchange_id = exc.exchange_id
    if exchange_id is None and _should_record(request, exc.status):
        summary = exc.detail + ("; " + "; ".join(f"{e['loc']}: {e['msg']}" for e in errors))
        exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    elif isinstance(exc, UpstreamError) and exc.status == 503 and exc.retry_after is not None:
        # the platform (or a cache of it) is not ready: when to ask again
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    elif exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return problem(
        exc.status,
        type_slug=exc.type_slug,
        title=exc.title,
        detail=exc.detail,
        errors=errors,
        request=request,
        exchange_id=exchange_id,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[FieldError] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:] if loc[0] == "body" else loc
        errors.append(FieldError(field_path(loc), str(err.get("msg", "invalid"))))
    summary = "; ".join(f"{e.loc}: {e.msg}" for e in errors)
    exchange_id = await record_refusal(request, 422, "invalid-input", summary)
    return problem(
        422,
        type_slug="invalid-input",
        title="Invalid input",
        detail=f"the request failed validation: {errors[0].loc}: {errors[0].msg}"
        if errors
        else "the request failed validation",
        errors=[e.as_dict() for e in errors],
        request=request,
        exchange_id=exchange_id,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem(
        exc.status_code,
        type_slug=slug,
        title=str(exc.detail) if isinstance(exc.detail, str) else "HTTP error",
        detail=str(exc.detail),
        request=request,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem(
        500,
        type_slug="internal-error",
        title="Internal error",
        detail="the gateway failed to handle this request; quote the request id to operators",
        request=request,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
