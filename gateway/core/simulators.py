"""Pieces every platform simulator needs (the simulators are test doubles, not production).

Connectors may not import each other, so what two simulators share lives here: reading a
request body with a bound, and the "dropped connection" fault (the answer is announced in full,
half of it is sent, then the connection is cut, as a proxy failing mid-answer does).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["BodyTooLarge", "DroppedResponse", "SimulatedConnectionDrop", "read_body"]


class SimulatedConnectionDrop(Exception):
    """Raised by a simulator to drop a connection after part of the answer was sent.

    Under uvicorn the server closes the socket and an httpx client sees
    ``httpx.RemoteProtocolError``; under ``httpx.ASGITransport`` the exception reaches the
    client as is. ``gateway.sandbox.quiet_simulated_drops`` keeps uvicorn from logging it.
    """


class BodyTooLarge(Exception):
    """The request body passed the simulator's bound."""


class DroppedResponse(Response):
    """Announces the full answer's length, sends half of it, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        full = bytes(self.body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", (self.media_type or "application/octet-stream").encode()),
                    (b"content-length", str(len(full)).encode("ascii")),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": full[: len(full) // 2], "more_body": True}
        )
        # the server closes the socket when the app raises after the response started
        raise SimulatedConnectionDrop("simulated connection drop after the answer started")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without buffering it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
