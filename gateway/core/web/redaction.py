"""Routes whose bodies carry a secret (a platform password, a webhook secret).

The body of a refused request goes to the exchange log, encrypted but readable by auditors;
a secret must not. :func:`redacting_route` makes an ``APIRoute`` class that replaces the named
fields with ``***`` in the copy kept for the log, before FastAPI parses the body (whose
validation errors are refusals too). A body that is not a JSON object is not kept at all: the
secret cannot be found in it to be blanked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

REDACTED = "***"


def redact_fields(request: Request, fields: tuple[str, ...]) -> None:
    raw = getattr(request.state, "raw_body", b"")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        if any(name in body for name in fields):
            for name in fields:
                if name in body:
                    body[name] = REDACTED
            request.state.raw_body = json.dumps(body, ensure_ascii=False).encode()
    elif raw:
        request.state.raw_body = b""


def redacting_route(*fields: str) -> type[APIRoute]:
    """An ``APIRoute`` class blanking ``fields`` out of the body kept for the exchange log."""

    class RedactingRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def redacted(request: Request) -> Response:
                redact_fields(request, fields)
                return await handler(request)

            return redacted

    return RedactingRoute
