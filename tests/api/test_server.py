"""The server's protocol bounds each request head (gateway.api.server, issue 15)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from gateway.api.server import MAX_HEAD_BYTES, BoundedHeadProtocol, server_options


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = json.dumps({"path": scope["path"], "body": len(body)}).encode()
    length = str(len(answer)).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
    )
    await send({"type": "http.response.body", "body": answer})


def _protocol() -> tuple[BoundedHeadProtocol, FakeTransport]:
    config = uvicorn.Config(_app, log_config=None, lifespan="off", **server_options())
    config.load()
    protocol = BoundedHeadProtocol(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_huge_header_is_refused_with_431_before_it_is_all_read() -> None:
    protocol, transport = _protocol()
    protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    chunk = b"a" * 16384
    fed = 0
    while not transport.closed and fed < 32 * 1024 * 1024:
        protocol.data_received(chunk)
        fed += len(chunk)
    assert transport.closed
    assert fed <= MAX_HEAD_BYTES + len(chunk)  # stopped at the bound, not after 32 MB
    head, _, body = bytes(transport.written).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/problem+json" in head
    assert json.loads(body)["status"] == 431
    protocol.data_received(b"more")  # ignored once refused
    protocol.connection_lost(None)


async def test_an_ordinary_request_with_a_large_body_is_served() -> None:
    protocol, transport = _protocol()
    body = b"x" * (MAX_HEAD_BYTES * 4)
    head = f"POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    # the head and a large part of the body in one read: only the head counts
    protocol.data_received(head + body[: MAX_HEAD_BYTES * 2])
    protocol.data_received(body[MAX_HEAD_BYTES * 2 :])
    await _settle()
    assert not transport.closed
    assert bytes(transport.written).startswith(b"HTTP/1.1 200 ")
    assert json.loads(bytes(transport.written).partition(b"\r\n\r\n")[2]) == {
        "path": "/v1/x",
        "body": len(body),
    }
    # the next request on the same connection has a fresh allowance
    transport.written.clear()
    protocol.data_received(
        b"GET /second HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 60000 + b"\r\n\r\n"
    )
    await _settle()
    assert bytes(transport.written).startswith(b"HTTP/1.1 200 ")
    protocol.connection_lost(None)


async def test_a_head_split_across_reads_is_counted_whole() -> None:
    protocol, transport = _protocol()
    line = b"X-Pad: " + b"p" * 1000 + b"\r\n"
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for _ in range(MAX_HEAD_BYTES // len(line) + 2):
        if transport.closed:
            break
        protocol.data_received(line)
    assert transport.closed
    assert bytes(transport.written).startswith(b"HTTP/1.1 431 ")


async def test_an_http2_upgrade_offer_is_ignored_as_rfc_7540_lets_a_server() -> None:
    """Java's HttpClient offers h2c on every http:// request (``Connection: Upgrade,
    HTTP2-Settings``, ``Upgrade: h2c``) and sends the body after the head; answered in
    HTTP/1.1, the body read, as if the offer had not been made (it was "400 Invalid HTTP
    request" before)."""
    protocol, transport = _protocol()
    body = b'{"ma_ho_so": "x"}'
    head = (
        b"POST /v1/dvcqg/dossiers HTTP/1.1\r\n"
        b"Connection: Upgrade, HTTP2-Settings\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Host: 127.0.0.1:8000\r\n"
        b"HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\n"
        b"Upgrade: h2c\r\n"
        b"User-Agent: Java-http-client/17.0.15\r\n"
        b"Content-Type: application/json\r\n\r\n"
    )
    protocol.data_received(head[:40])  # the head in pieces, then the body
    protocol.data_received(head[40:])
    protocol.data_received(body)
    await _settle()
    answer = bytes(transport.written)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
        "path": "/v1/dvcqg/dossiers",
        "body": len(body),
    }
    protocol.connection_lost(None)
