"""The network transports under the recording client, over a real loopback socket: both give
the connector the same answers, bounds and errors (the recorded outcome names the error)."""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.core.http.recording import ResponseTooLarge, build_client
from gateway.core.http.transports import TRANSPORTS, AiohttpTransport, TransportName
from gateway.core.log.exchange_log import Crossing
from gateway.core.settings import Settings

BOMB = gzip.compress(b"\0" * (4 * 1024 * 1024))


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(
        body=b"echo:" + body,
        headers={"X-Seen-Agent": request.headers.get("User-Agent", "")},
        content_type="text/xml",
    )


async def _gzipped(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(b"<ok/>" * 100), headers={"Content-Encoding": "gzip"})


async def _bomb(request: web.Request) -> web.StreamResponse:
    # no Content-Length: only the decoded size can tell
    response = web.StreamResponse(headers={"Content-Encoding": "gzip"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(BOMB)
    await response.write_eof()
    return response


async def _cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "1000"})
    await response.prepare(request)
    await response.write(b"half")
    assert request.transport is not None
    request.transport.close()
    return response


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post("/echo", _echo)
    app.router.add_get("/gzip", _gzipped)
    app.router.add_get("/bomb", _bomb)
    app.router.add_get("/cut", _cut)
    async with TestServer(app) as srv:
        yield srv


def _client(
    network: TransportName, limit: int = 1024 * 1024
) -> tuple[httpx.AsyncClient, list[Crossing]]:
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    http = build_client(connector="test", sink=sink, network=network, max_response_bytes=limit)
    return http, recorded


def test_the_default_transport_is_aiohttp_and_httpx_remains_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().http_transport == "aiohttp"
    monkeypatch.setenv("LGSP_HTTP_TRANSPORT", "httpx")
    assert Settings().http_transport == "httpx"
    http, _ = _client("aiohttp")
    recording = http._transport
    assert isinstance(getattr(recording, "_inner", None), AiohttpTransport)


@pytest.mark.parametrize("network", TRANSPORTS)
async def test_an_exchange_is_answered_and_recorded(
    network: TransportName, server: TestServer
) -> None:
    http, recorded = _client(network)
    async with http:
        for n in range(3):  # the connection is reused
            answer = await http.post(str(server.make_url("/echo")), content=f"<q>{n}</q>")
            assert answer.status_code == 200
            assert answer.content == f"echo:<q>{n}</q>".encode()
            assert answer.headers["x-seen-agent"] == "lgsp-gateway/0.1"
    assert [c.outcome for c in recorded] == ["answered"] * 3
    assert recorded[0].request == b"<q>0</q>"
    assert recorded[0].response == b"echo:<q>0</q>"


@pytest.mark.parametrize("network", TRANSPORTS)
async def test_a_compressed_answer_is_decoded_once(
    network: TransportName, server: TestServer
) -> None:
    http, _ = _client(network)
    async with http:
        answer = await http.get(str(server.make_url("/gzip")))
    assert answer.content == b"<ok/>" * 100
    assert "content-encoding" not in answer.headers


@pytest.mark.parametrize("network", TRANSPORTS)
async def test_a_compressed_answer_past_the_bound_is_refused(
    network: TransportName, server: TestServer
) -> None:
    http, recorded = _client(network, limit=64 * 1024)
    async with http:
        with pytest.raises(ResponseTooLarge):
            await http.get(str(server.make_url("/bomb")))
    (attempt,) = recorded
    assert attempt.outcome == "error:ResponseTooLarge"
    assert attempt.response is not None
    assert len(attempt.response) == 64 * 1024


@pytest.mark.parametrize("network", TRANSPORTS)
async def test_an_answer_cut_off_is_a_protocol_error(
    network: TransportName, server: TestServer
) -> None:
    http, recorded = _client(network)
    async with http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(str(server.make_url("/cut")))
    assert [c.outcome for c in recorded] == ["error:RemoteProtocolError"]


@pytest.mark.parametrize("network", TRANSPORTS)
async def test_a_refused_connection_is_a_connect_error(network: TransportName) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http, recorded = _client(network)
    async with http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")
    assert [c.outcome for c in recorded] == ["error:ConnectError"]
