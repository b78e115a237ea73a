"""The demo's document management part (``connectors.qlvb.demo.DocumentExchange``) against the
gateway and the simulators in process: every check it makes must hold."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from connectors.qlvb.demo import DocumentExchange
from connectors.qlvb.sandbox import get_pusher
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.qlvb.support import qlvb_app


async def test_the_qlvb_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    get_pusher(qlvb_app(sandbox_app)).transport = httpx.ASGITransport(app=app)
    headers = await bearer(gateway, "qlvb:send", "qlvb:read", "events:read")
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
            dossier = {"ma_ho_so": "000.00.01.H22-240105-0001"}
            await DocumentExchange(api, sim, check).run(dossier, lambda _line: None)
    finally:
        stop.set()
        await running
    failed = [what for ok, what in results if not ok]
    assert failed == []
    assert len(results) == 9
