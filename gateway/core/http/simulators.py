"""Pieces every platform simulator needs (the simulators are test doubles, not production).

Connectors may not import each other, so what two simulators share lives here: reading a
request body with a bound, and the "dropped connection" fault (the answer is announced in full,
half of it is sent, then the connection is cut, as a proxy failing mid-answer does).
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = [
    "BodyTooLarge",
    "DroppedResponse",
    "SimulatedConnectionDrop",
    "add_control_routes",
    "read_body",
]


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
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class FaultDraws:
    """For a simulator with a seeded ``rng`` and ``stats.faults_injected``: :meth:`roll`."""

    rng: random.Random
    stats: Any

    def roll(self, rate: float) -> bool:
        """Draw a fault with probability ``rate``; counts it when it fires."""
        # no draw for a zero rate, so enabling one fault does not shift another's sequence
        if rate <= 0:
            return False
        fired = rate >= 1 or self.rng.random() < rate
        if fired:
            self.stats.faults_injected += 1
        return fired


def count(counter: dict[str, int], key: str) -> None:
    """One more ``key`` in a simulator's counter."""
    counter[key] = counter.get(key, 0) + 1


class _Stats(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class Controllable(Protocol):
    """What a simulator offers its tests and operators: counters, reset, fault switches."""

    @property
    def stats(self) -> _Stats: ...
    @property
    def faults(self) -> Any: ...
    def reset(self) -> None: ...
    def set_faults(self, config: Any) -> Any: ...


def add_control_routes(app: FastAPI, sim: Controllable, fault_model: type[BaseModel]) -> None:
    """``GET /_sandbox/stats``, ``POST /_sandbox/reset``, ``GET`` and ``PUT
    /_sandbox/faults`` (the body validated as ``fault_model``)."""

    async def stats() -> dict[str, Any]:
        return sim.stats.as_dict()

    async def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    async def get_faults() -> Any:
        return sim.faults

    async def put_faults(config: BaseModel) -> Any:
        return sim.set_faults(config)

    # FastAPI reads the body's model from the annotation: the simulator's own fault model
    put_faults.__annotations__["config"] = fault_model
    app.add_api_route("/_sandbox/stats", stats, methods=["GET"])
    app.add_api_route("/_sandbox/reset", reset, methods=["POST"])
    app.add_api_route("/_sandbox/faults", get_faults, methods=["GET"], response_model=fault_model)
    app.add_api_route("/_sandbox/faults", put_faults, methods=["PUT"], response_model=fault_model)
