"""The demo's postal part (``connectors.postal.demo.PostalShipments``) against the gateway and
the simulators in process: every check it makes must hold (the demo itself wires it in)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from connectors.postal.demo import PostalShipments
from connectors.postal.sandbox import get_pusher
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.postal.support import postal_app


async def test_the_postal_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    get_pusher(postal_app(sandbox_app)).transport = httpx.ASGITransport(app=app)
    headers = await bearer(gateway, "postal:ship", "postal:read", "events:read")
    results: list[tuple[bool, str]] = []

    def check(ok: bool, what: str) -> bool:
        results.append((ok, what))
        return ok

    stop = asyncio.Event()

    async def workers() -> None:  # the server's delivery workers, stopped between rounds
        while not stop.is_set():
            if not await app.state.delivery.run_once():
                await asyncio.sleep(0.01)

    running = asyncio.create_task(workers())
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=headers
            ) as api,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
            ) as sim,
        ):
            dossiers = [{"ma_ho_so": f"000.00.01.H22-240105-000{i}"} for i in (1, 2)]
            await PostalShipments(api, sim, check).run(dossiers, lambda _line: None)
    finally:
        # not cancelled: a task cut off inside a Redis command leaves it pending
        stop.set()
        await running
    failed = [what for ok, what in results if not ok]
    assert failed == []
    assert len(results) == 8
