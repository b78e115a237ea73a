"""The network transport under every connector's recording client.

Two are offered, with the same httpx API above them:

* ``aiohttp`` (the default): :class:`AiohttpTransport`, the ``httpx-aiohttp`` transport
  (aiohttp's connection pool and HTTP parser under httpx's request and response objects). On
  this project's machine it costs a third of httpx's own transport per exchange: httpcore's
  pool checks every pooled connection on each request;
* ``httpx``: httpx's own transport (httpcore), for a province that prefers it (or needs
  HTTP/2, which aiohttp does not speak). ``LGSP_HTTP_TRANSPORT=httpx``.

The aiohttp transport here differs from the package's in one respect: its errors. The
package's table turns a server that closed the connection into ``ConnectTimeout`` and lets
some of aiohttp's errors (a malformed status line) through unmapped. The exchange log records
the error's class as the attempt's outcome and connectors catch ``httpx.TransportError``, so
this transport maps every aiohttp error to the httpx error httpcore raises for the same event.
Answers are passed up undecoded (``auto_decompress`` off): the recording transport decodes
them under its size bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import aiohttp
import httpx
import httpx_aiohttp

__all__ = ["TRANSPORTS", "AiohttpTransport", "TransportName", "network_transport"]

TransportName = Literal["aiohttp", "httpx"]
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "httpx")

#: most specific first: the first class the error is an instance of decides
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (TimeoutError, httpx.PoolTimeout),
    (aiohttp.ClientError, httpx.TransportError),
)


@contextlib.contextmanager
def _mapped_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except (aiohttp.ClientError, TimeoutError) as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__, request=request) from exc
        raise  # pragma: no cover - aiohttp.ClientError is the last row


class _Stream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # back to the pool when the answer was read whole, closed otherwise
        self._response.release()


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """``httpx-aiohttp``'s transport (its TLS context, pool limits and proxy settings), each
    aiohttp error mapped to its httpx counterpart."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
        proxy = self.proxy
        with _mapped_errors(request):
            response = await self.client.request(
                method=request.method,
                url=str(request.url),
                headers=request.headers,
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None,
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Stream(response, request),
            request=request,
            extensions=extensions,
        )


def network_transport(name: TransportName, *, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The transport ``name`` talking to the network, no retries (the connectors and the
    delivery loop decide what is retried), TLS verified against the system's trust store."""
    if name == "aiohttp":
        return AiohttpTransport(limits=limits)
    if name == "httpx":
        return httpx.AsyncHTTPTransport(retries=0, limits=limits)
    raise ValueError(f"unknown HTTP transport {name!r}; one of {', '.join(TRANSPORTS)}")
