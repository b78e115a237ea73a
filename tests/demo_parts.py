"""Playing one connector's part of ``lgsp demo`` in process, as its tests do: the gateway's app and
the sandbox app over ``httpx.ASGITransport``, the server's delivery workers running between rounds
(optional), and the checks the part makes collected so the test can assert every one held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class DemoRun:
    """The clients a part plays with, and the checks it made."""

    api: httpx.AsyncClient
    sim: httpx.AsyncClient
    results: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        self.results.append((ok, what))
        return ok

    @property
    def failed(self) -> list[str]:
        return [what for ok, what in self.results if not ok]


@asynccontextmanager
async def demo_run(
    app: Any, sandbox_app: Any, headers: dict[str, str], *, workers: bool = True
) -> AsyncIterator[DemoRun]:
    """A :class:`DemoRun` against ``app`` and ``sandbox_app``; with ``workers``, the delivery
    workers deliver what the part queues until the block ends."""
    stop = asyncio.Event()

    async def deliver() -> None:  # the server's delivery workers, stopped between rounds
        while not stop.is_set():
            if not await app.state.delivery.run_once():
                await asyncio.sleep(0.01)

    running = asyncio.create_task(deliver()) if workers else None
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=headers
            ) as api,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
            ) as sim,
        ):
            yield DemoRun(api, sim)
    finally:
        # not cancelled: a task cut off inside a Redis command leaves it pending
        stop.set()
        if running is not None:
            await running
