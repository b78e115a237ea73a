"""The demo's EMC part (``connectors.emc.demo.EmcTracking``) against the gateway and the
simulators in process, after dossiers went through their life on the portal (what the DVCQG
part at order 90 leaves): every check it makes must hold."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from connectors.emc.demo import EmcTracking
from gateway.core.demo import DemoContext
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.emc.support import deliver_all, sync
from tests.factories import LIFE, dossier


async def test_the_emc_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any, api: httpx.AsyncClient
) -> None:
    syncer = await bearer(gateway, "dvcqg:sync")
    for n in (1, 2, 3):
        for status in LIFE:
            extra = (
                {"ngay_ket_thuc_xu_ly": "2024-01-07T10:00:00+07:00"}
                if status
                in (
                    "da_xu_ly",
                    "da_tra_ket_qua",
                )
                else {}
            )
            await sync(api, syncer, n, status, **extra)
    await deliver_all(gateway)
    headers = await bearer(gateway, *EmcTracking.scopes)
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
            ) as client,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
            ) as sim,
        ):
            ctx = DemoContext(
                api=client,
                sim=sim,
                check=check,
                say=lambda _line: None,
                size=3,
                rng=random.Random(1),
                shared={"dossiers": [dossier(n) for n in (1, 2, 3)]},
            )
            await EmcTracking(client, sim, check).play(ctx)
    finally:
        stop.set()
        await running
    failed = [what for ok, what in results if not ok]
    assert failed == []
    assert len(results) >= 8
