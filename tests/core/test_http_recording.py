"""The recording transport: answers bounded while read, credentials kept out of the record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.core.exchange_log import Crossing
from gateway.core.http import ResponseTooLarge, build_client


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += 1024
            yield b"x" * 1024


async def _client(
    handler: httpx.MockTransport, limit: int
) -> tuple[httpx.AsyncClient, list[Crossing]]:
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    return build_client(
        connector="test", sink=sink, transport=handler, max_response_bytes=limit
    ), recorded


@pytest.mark.parametrize("shape", ["read", "declared", "streamed"])
async def test_an_answer_over_the_bound_is_cut_off_and_recorded(shape: str) -> None:
    stream = _Chunks(64 * 1024)

    def answer(request: httpx.Request) -> httpx.Response:
        if shape == "read":  # a transport that hands back an answer already read
            return httpx.Response(200, content=b"y" * 20_000)
        if shape == "declared":
            return httpx.Response(200, headers={"content-length": "999999"}, stream=stream)
        return httpx.Response(200, stream=stream)

    http, recorded = await _client(httpx.MockTransport(answer), limit=8192)
    async with http:
        with pytest.raises(ResponseTooLarge):
            await http.get("http://platform/x")
    (attempt,) = recorded
    assert attempt.outcome == "error:ResponseTooLarge"
    assert attempt.status_code == 200
    assert attempt.response is not None
    assert len(attempt.response) <= 8192
    if shape == "streamed":
        assert stream.sent <= 8192 + 1024  # reading stopped at the bound, not at the end


async def test_an_answer_within_the_bound_passes_whole() -> None:
    http, recorded = await _client(
        httpx.MockTransport(lambda r: httpx.Response(200, content=b"z" * 4000)), limit=8192
    )
    async with http:
        r = await http.get("http://platform/x")
    assert r.content == b"z" * 4000
    assert recorded[0].response == b"z" * 4000
    assert recorded[0].outcome == "answered"


async def test_redacted_bytes_never_reach_the_record() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, content=b"ok")

    http, recorded = await _client(httpx.MockTransport(answer), limit=8192)
    async with http:
        await http.post(
            "http://platform/x",
            content=b"<AuthHash>c2VjcmV0</AuthHash><Data>1</Data>",
            extensions={"lgsp_redact": (b"c2VjcmV0",)},
        )
    assert seen == [b"<AuthHash>c2VjcmV0</AuthHash><Data>1</Data>"]  # the platform gets it
    assert recorded[0].request == b"<AuthHash>***</AuthHash><Data>1</Data>"
