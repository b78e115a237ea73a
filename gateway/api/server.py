"""How the API is served: uvicorn, with the request head bounded.

uvicorn's httptools protocol puts no limit on a request's head: a 32 MB header is read into
memory before any application code runs, unauthenticated. :class:`BoundedHeadProtocol` counts
the bytes of each request head as they arrive (up to the blank line that ends it) and answers
``431 Request Header Fields Too Large`` (RFC 6585 §5) and closes the connection once they pass
:data:`MAX_HEAD_BYTES`, so no more than that is ever held (httptools is a pinned dependency;
should uvicorn's h11 protocol ever be chosen instead, its own bound is set to the same size).

It also answers an HTTP/2 upgrade offer (``Upgrade: h2c``, which Java's ``HttpClient`` sends by
default on ``http://``) as RFC 7540 §3.2 lets a server that speaks HTTP/1.1 only: by ignoring
it. httptools stops parsing at an ``Upgrade`` header, and uvicorn then answered the request's
body "400 Invalid HTTP request"; the offer is taken out of the head before httptools sees it.
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
        self._held = b""

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the connection is closing: nothing more is read
        if self._awaiting_head and (self._held or b"\r\n\r\n" not in data):
            # a head in several pieces: held (bounded below) until it is whole, so that an
            # upgrade offer in it can be taken out before httptools sees it
            self._held += data
            if b"\r\n\r\n" not in self._held:
                self._count_head(data)
                if not self._refused and len(self._held) > self.max_head_bytes:
                    self._refuse_head()
                return
            data, self._held = self._held, b""
            self._head_bytes = 0
            self._tail = b""
        if self._awaiting_head:
            data = _without_h2c_offer(data)
            if self._count_head(data):
                return
        super().data_received(data)

    def _count_head(self, data: bytes) -> bool:
        """Count the head bytes in ``data``; True when the head was refused."""
        if self._awaiting_head:
            # count the head up to the blank line that ends it (the body is not head)
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            counted = len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._head_bytes += counted
            if self._head_bytes > self.max_head_bytes:
                self._refuse_head()
                return True
            self._tail = window[-3:] if end < 0 else b""
        return False

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


_H2C_HEADERS = (b"upgrade", b"http2-settings")


def _without_h2c_offer(data: bytes) -> bytes:
    """``data`` (a whole request head, maybe followed by body bytes) without an HTTP/2 upgrade
    offer: its ``Upgrade: h2c`` and ``HTTP2-Settings`` lines go, and those tokens leave
    ``Connection``. Any other head is returned as it came."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or b"h2c" not in data[:end].lower():
        return data
    lines = data[:end].split(b"\r\n")
    kept = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"upgrade" and value.strip().lower() == b"h2c":
            continue
        if key == b"http2-settings":
            continue
        if key == b"connection":
            tokens = [t.strip() for t in value.split(b",")]
            tokens = [t for t in tokens if t and t.lower() not in _H2C_HEADERS]
            if not tokens:
                continue
            line = name + b": " + b", ".join(tokens)
        kept.append(line)
    return b"\r\n".join(kept) + data[end:]
