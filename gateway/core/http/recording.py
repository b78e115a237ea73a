"""Outbound HTTP for connectors: every attempt toward a platform becomes an exchange-log entry.

Connectors get an ``httpx.AsyncClient`` whose transport is :class:`RecordingTransport`. It
records each request with its answer (or the transport error) through a sink, together with
the context the caller set with :func:`attempt_context` (parent exchange, operation, dossier,
client, officer). Recording happens below the connector, so no connector can forget it.

Two request extensions let a connector shape what is recorded and read:

* ``lgsp_redact``: byte strings (credentials carried in the body, e.g. a SOAP header) replaced
  by ``***`` in the recorded request, so that no secret is kept even encrypted;
* ``lgsp_scrub_answer``: a function applied to the answer before it is recorded (the
  connector blanks credentials the platform hands out, e.g. OAuth tokens); the caller still
  gets the answer whole;
* ``lgsp_max_response_bytes``: a bound on the answer, enforced while reading it (the
  Content-Length is checked first, then the bytes as they arrive): past it the read stops and
  :class:`ResponseTooLarge` is raised, and what was read is recorded.

The bound holds for the answer as the connector reads it, not only as it travels: an answer in
``Content-Encoding: gzip`` or ``deflate`` is decompressed here, chunk by chunk, each step of
zlib limited in what it may produce, so a small compressed answer that would inflate to
gigabytes is stopped at the bound with the memory of one chunk (the connector then gets the
decoded answer, with no ``Content-Encoding``). Other encodings are refused
(:class:`UnsupportedEncoding`); the client asks for ``gzip, deflate`` only. Reading the whole
answer is also bounded in time (``answer_deadline``; per-read timeouts alone let an answer
that trickles in one byte at a time run forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from gateway.core.http.transports import TransportName, network_transport
from gateway.core.log.exchange_log import Crossing
from gateway.core.store.db import utcnow

log = structlog.get_logger("gateway.http")

MAX_RECORDED_BODY = 8 * 1024 * 1024
#: the bound on an answer when the connector sets none
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_REDACTED = b"***"


class ResponseTooLarge(httpx.TransportError):
    """The platform's answer is larger than the connector accepts; it was not read in full."""


class UnsupportedEncoding(httpx.DecodingError):
    """The answer is compressed in an encoding the gateway did not ask for."""


class AnswerDeadlineExceeded(httpx.ReadTimeout):
    """The answer was still arriving when its time ran out."""


#: what the connectors' clients accept (decoded here, under the answer's bound)
ACCEPT_ENCODING = "gzip, deflate"
#: the most one step of decompression may produce before its output is counted
_INFLATE_STEP = 64 * 1024


class _Inflater:
    """One ``Content-Encoding`` layer (gzip or deflate), decompressed in bounded steps."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        # deflate is zlib-wrapped by RFC 9110 §8.4.1.2, raw from some servers: try both
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._steps(data)
        except zlib.error as exc:
            if self._encoding == "deflate" and not self._started:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                try:
                    yield from self._steps(data)
                except zlib.error as again:
                    raise httpx.DecodingError(f"malformed deflate answer: {again}") from again
                return
            raise httpx.DecodingError(f"malformed {self._encoding} answer: {exc}") from exc

    def _steps(self, data: bytes) -> Iterator[bytes]:
        while data and not self._zlib.eof:
            out = self._zlib.decompress(data, _INFLATE_STEP)
            self._started = True
            data = self._zlib.unconsumed_tail
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        # whatever zlib still holds comes out in bounded steps too
        while not self._zlib.eof:
            out = self._zlib.decompress(b"", _INFLATE_STEP)
            if not out:
                break
            yield out


class _BoundedDecoder:
    """The answer's ``Content-Encoding`` layers undone in order, under ``limit`` bytes."""

    def __init__(self, content_encoding: str, limit: int, out: bytearray) -> None:
        layers = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
        layers = [e for e in layers if e != "identity"]
        for layer in layers:
            if layer not in ("gzip", "x-gzip", "deflate"):
                raise UnsupportedEncoding(f"answer in Content-Encoding {layer[:32]!r}")
        # the last encoding applied is the first to undo
        self._inflaters = [_Inflater(e) for e in reversed(layers)]
        self._limit = limit
        self._out = out

    def feed(self, chunk: bytes) -> None:
        self._through(0, [chunk])

    def finish(self) -> None:
        for i, inflater in enumerate(self._inflaters):
            self._through(i + 1, inflater.flush())

    def _through(self, start: int, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            if start < len(self._inflaters):
                self._through(start + 1, self._inflaters[start].feed(piece))
                continue
            self._out += piece
            if len(self._out) > self._limit:
                del self._out[self._limit :]
                raise ResponseTooLarge(f"answer exceeds {self._limit} bytes once decompressed")


@dataclass(frozen=True, slots=True)
class AttemptContext:
    operation: str
    parent_id: str | None = None
    ma_ho_so: str | None = None
    client: str | None = None
    officer_id: str | None = None
    purpose: str | None = None
    #: the other exchanges travelling in the same call (a batch), linked to its attempts
    related: tuple[str, ...] = ()
    #: when set, attempts are appended here instead of written at once: the caller writes
    #: them together with its own entry, in one commit (synchronous look-ups)
    collect: list[Crossing] | None = None


_current: ContextVar[AttemptContext | None] = ContextVar("lgsp_attempt", default=None)


@contextlib.contextmanager
def attempt_context(ctx: AttemptContext) -> Iterator[AttemptContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current_attempt() -> AttemptContext | None:
    return _current.get()


AttemptSink = Callable[[Crossing], Awaitable[None]]
LatencyObserver = Callable[[str, float, bool], None]


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        connector: str,
        sink: AttemptSink,
        observe: LatencyObserver | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        answer_deadline: float = 60.0,
    ) -> None:
        self._inner = inner
        self._connector = connector
        self._sink = sink
        self._observe = observe
        self._max_response_bytes = max_response_bytes
        self._answer_deadline = answer_deadline

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ctx = current_attempt() or AttemptContext(operation="unscoped")
        # the wire operation (e.g. the service a portal packet names) refines the northbound one
        wire_op = request.extensions.get("lgsp_operation")
        if isinstance(wire_op, str):
            ctx = replace(ctx, operation=f"{ctx.operation}:{wire_op}")
        started = utcnow()
        t0 = time.perf_counter()
        body = _redacted(request)
        limit = request.extensions.get("lgsp_max_response_bytes", self._max_response_bytes)
        response: httpx.Response | None = None
        read = bytearray()
        try:
            response = await self._inner.handle_async_request(request)
            content = await _read_bounded(response, int(limit), read, self._answer_deadline)
        except httpx.HTTPError as exc:
            # an answer cut off at the bound still had a status and the bytes read so far
            cut_off = isinstance(exc, ResponseTooLarge) and response is not None
            status = response.status_code if cut_off and response is not None else None
            partial = bytes(read) if status is not None else None
            outcome = type(exc).__name__
            await self._record(ctx, started, request, body, status, partial, outcome, error=True)
            if self._observe:
                self._observe(self._connector, time.perf_counter() - t0, False)
            raise
        except asyncio.CancelledError:
            # the caller gave up (its own deadline): the attempt still happened
            await self._record(ctx, started, request, body, None, None, "Cancelled", error=True)
            raise
        if self._observe:
            self._observe(self._connector, time.perf_counter() - t0, response.status_code < 500)
        outcome = "answered" if response.status_code < 400 else f"http-{response.status_code}"
        await self._record(ctx, started, request, body, response.status_code, content, outcome)
        # the connector reads the answer as decoded here: no Content-Encoding left to undo
        headers = response.headers.copy()
        if "content-encoding" in headers:
            del headers["content-encoding"]
            headers["content-length"] = str(len(content))
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            content=content,
            extensions=response.extensions,
            request=request,
        )

    async def _record(
        self,
        ctx: AttemptContext,
        started: datetime,
        request: httpx.Request,
        body: bytes,
        status: int | None,
        content: bytes | None,
        outcome: str,
        *,
        error: bool = False,
    ) -> None:
        scrub = request.extensions.get("lgsp_scrub_answer")
        if content is not None and callable(scrub):
            content = scrub(content)
        crossing = Crossing(
            kind="attempt",
            connector=self._connector,
            operation=ctx.operation,
            outcome=f"error:{outcome}" if error else outcome,
            parent_id=ctx.parent_id,
            client=ctx.client,
            officer_id=ctx.officer_id,
            purpose=ctx.purpose,
            ma_ho_so=ctx.ma_ho_so,
            started_at=started,
            status_code=status,
            request=body[:MAX_RECORDED_BODY],
            response=content[:MAX_RECORDED_BODY] if content is not None else None,
            detail=f"{request.method} {request.url.copy_with(query=None)}"
            + (f"; batch with {', '.join(ctx.related)}" if ctx.related else ""),
            related=ctx.related,
        )
        if ctx.collect is not None:
            ctx.collect.append(crossing)
            return
        try:
            await self._sink(crossing)
        except Exception:
            # the attempt itself happened; failing to record it must be loud but must not
            # turn a delivered packet into a retried one
            log.exception("exchange_log_write_failed", connector=self._connector)

    async def aclose(self) -> None:
        await self._inner.aclose()


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 9110
    §10.2.3), when usable; never negative."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0)


def _redacted(request: httpx.Request) -> bytes:
    body = request.content if request.content else b""
    for secret in request.extensions.get("lgsp_redact", ()):
        if secret:
            body = body.replace(secret, _REDACTED)
    return body


async def _read_bounded(
    response: httpx.Response, limit: int, read: bytearray, deadline: float
) -> bytes:
    """The whole answer, decoded, or :class:`ResponseTooLarge` as soon as it passes ``limit``
    bytes, compressed or decompressed (``read`` keeps what was decoded, for the record);
    :class:`AnswerDeadlineExceeded` when it is not all there within ``deadline`` seconds."""
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        await response.aclose()
        raise ResponseTooLarge(f"answer declares {declared} bytes, more than {limit}")
    if response.is_stream_consumed:
        # a transport that hands back an answer already read (and decoded) in memory
        read += response.content[: limit + 1]
        if len(read) > limit:
            del read[limit:]
            raise ResponseTooLarge(f"answer exceeds {limit} bytes")
        return bytes(read)
    decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), limit, read)
    received = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > limit:
                    raise ResponseTooLarge(f"answer exceeds {limit} bytes")
                decoder.feed(chunk)
            decoder.finish()
    except TimeoutError:
        await response.aclose()
        raise AnswerDeadlineExceeded(
            f"answer still arriving after {deadline:g} s (received {received} bytes)"
        ) from None
    except httpx.HTTPError:
        await response.aclose()
        raise
    return bytes(read)


class _AnswerCookies(httpx.Cookies):
    """A client's cookie jar that looks at an answer only when it sets a cookie: httpx hands
    every answer to the standard library's cookie jar, which builds a ``urllib`` request and
    response for it (about a twentieth of a look-up's client-side work), and no platform sets
    one on most answers."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _AnswerCookies()


def build_client(
    *,
    connector: str,
    sink: AttemptSink,
    transport: httpx.AsyncBaseTransport | None = None,
    observe: LatencyObserver | None = None,
    timeout: float = 10.0,
    max_connections: int = 16,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    outer: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    answer_deadline: float | None = None,
    network: TransportName = "aiohttp",
) -> httpx.AsyncClient:
    """The connector's client: every attempt recorded; ``outer`` wraps the recording
    transport (e.g. packet signing, which must happen before the request is recorded).
    ``transport`` replaces the network (tests, in-process simulators); otherwise ``network``
    names the one used (:mod:`gateway.core.http.transports`)."""
    # as many connections as deliveries in flight: requests queued inside httpcore's pool
    # cost CPU on every state change of every connection
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    inner = transport or network_transport(network, limits=limits)
    recording: httpx.AsyncBaseTransport = RecordingTransport(
        inner,
        connector=connector,
        sink=sink,
        observe=observe,
        max_response_bytes=max_response_bytes,
        # a whole answer may take a few read timeouts, never without end
        answer_deadline=answer_deadline or 3 * timeout,
    )
    return _Client(
        transport=outer(recording) if outer is not None else recording,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": "lgsp-gateway/0.1", "Accept-Encoding": ACCEPT_ENCODING},
    )
