"""ASGI middleware: request ids, bounded bodies, metrics.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so the body is read once, bounded, and kept
for the refusal log, without buffering responses.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.hostile import body_problems, is_json, query_problems
from gateway.core.errors import FieldError
from gateway.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from gateway.core.web.errors import problem, record_refusal

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = structlog.get_logger("gateway.access")


def _access_line(scope: Scope, path: str, status: int, seconds: float) -> None:
    """One line per request: method, route template (never the path itself, which may hold an
    ID number), status, duration, the API client's name; refusals at WARNING with their problem
    type, detail and exchange-log entry; the request id comes from the bound context."""
    state = scope.get("state", {})
    principal = state.get("principal")
    fields: dict[str, Any] = {
        "method": scope.get("method", ""),
        "route": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": getattr(principal, "name", None),
    }
    if status < 400:
        access_log.info("request", **fields)
        return
    found = state.get("problem")
    if isinstance(found, dict):
        fields["problem"] = str(found.get("type", "")).rpartition(":")[2]
        fields["detail"] = found.get("detail")
        fields["exchange_id"] = found.get("exchange_id")
    (access_log.error if status >= 500 else access_log.warning)("refused", **fields)


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # the three headers read here, found in one pass (the last one wins, as before)
        given = declared = content_type = None
        for raw_name, value in scope["headers"]:
            name = raw_name.lower()
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"content-length":
                declared = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        # a random id in uuid4().hex's form (32 hex digits), without building a UUID
        request_id = given if given and _REQUEST_ID.match(given) else os.urandom(16).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            if (
                declared is not None
                and declared.isascii()
                and declared.isdigit()
                and int(declared) > self.max_body
            ):
                await self._too_large(scope, send_wrapper, request_id)
                return
            body = await self._read_body(receive)
            if body is None:
                await self._too_large(scope, send_wrapper, request_id)
                return
            state["raw_body"] = body
            problems = query_problems(scope.get("query_string", b""))
            if body and is_json(content_type or "", body):
                problems += body_problems(body)
            if problems:
                await self._hostile(scope, receive, send_wrapper, problems)
                return
            await self.app(scope, _replay(body, receive), send_wrapper)
        finally:
            route = scope.get("route")
            path = str(getattr(route, "path", "unmatched"))
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, path, str(status_holder["status"])).inc()
            elapsed = time.perf_counter() - started
            HTTP_LATENCY.labels(method, path).observe(elapsed)
            _access_line(scope, path, status_holder["status"], elapsed)
            structlog.contextvars.unbind_contextvars("request_id")

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        body: dict[str, Any] = {
            "type": "urn:lgsp:problem:payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"the request body is larger than {self.max_body} bytes",
            "request_id": request_id,
        }
        scope.setdefault("state", {})["problem"] = body
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
        # recorded like every refusal (without the body, which was not read)
        await record_refusal(Request(scope), 413, "payload-too-large", body["detail"])

    async def _hostile(
        self, scope: Scope, receive: Receive, send: Send, problems: list[FieldError]
    ) -> None:
        """422 naming each field, recorded like every refusal; no route runs."""
        request = Request(scope, receive)
        summary = "; ".join(f"{e.loc}: {e.msg}" for e in problems)
        exchange_id = await record_refusal(request, 422, "invalid-input", summary)
        response = problem(
            422,
            type_slug="invalid-input",
            title="Invalid input",
            detail=f"the request was refused before reading: {problems[0].loc}: {problems[0].msg}",
            errors=[e.as_dict() for e in problems],
            request=request,
            exchange_id=exchange_id,
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
