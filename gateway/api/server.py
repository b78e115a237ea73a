"""How the API is served: uvicorn, with the request head bounded.

uvicorn's httptools protocol puts no limit on a request's head: a 32 MB header is read into
memory before any application code runs, unauthenticated. :class:`BoundedHeadProtocol` counts
the bytes of each request head as they arrive (up to the blank line that ends it) and answers
``431 Request Header Fields Too Large`` (RFC 6585 §5) and closes the connection once they pass
:data:`MAX_HEAD_BYTES`, so no more than that is ever held (httptools is a pinned dependency;
should uvicorn's h11 protocol ever be chosen instead, its own bound is set to the same size).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.core.metrics import REFUSALS

log = structlog.get_logger("gateway.server")

#: request line and headers together; browsers and HTTP clients send a few kilobytes at most
MAX_HEAD_BYTES = 64 * 1024


def server_options() -> dict[str, Any]:
    """The uvicorn options every server of the gateway runs with."""
    return {"http": BoundedHeadProtocol, "h11_max_incomplete_event_size": MAX_HEAD_BYTES}


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing request heads over ``max_head_bytes``."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._tail = b""
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the connection is closing: nothing more is read
        if self._awaiting_head:
            # count the head up to the blank line that ends it (the body is not head)
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            counted = len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._head_bytes += counted
            if self._head_bytes > self.max_head_bytes:
                self._refuse_head()
                return
            self._tail = window[-3:] if end < 0 else b""
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._tail = b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True

    def _refuse_head(self) -> None:
        REFUSALS.labels("header-too-large").inc()
        log.warning("request_head_too_large", received=self._head_bytes, client=self.client)
        body = json.dumps(
            {
                "type": "urn:lgsp:problem:header-too-large",
                "title": "Request header fields too large",
                "status": 431,
                "detail": f"the request line and headers exceed {self.max_head_bytes} bytes",
            }
        ).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/problem+json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self._refused = True
        self.transport.close()


def uvicorn_config(app: Any, *, host: str, port: int) -> uvicorn.Config:
    """The config of an in-process server (``lgsp serve``, ``sandbox``, ``worker``)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        **server_options(),
    )
