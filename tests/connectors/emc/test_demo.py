"""The demo's EMC part (``connectors.emc.demo.EmcTracking``) against the gateway and the
simulators in process, after dossiers went through their life on the portal (what the DVCQG
part at order 90 leaves): every check it makes must hold."""

from __future__ import annotations

import random
from typing import Any

import httpx

from connectors.emc.demo import EmcTracking
from gateway.core.demo import DemoContext
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.emc.support import deliver_all, sync
from tests.demo_parts import demo_run
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
    async with demo_run(app, sandbox_app, headers) as run:
        ctx = DemoContext(
            api=run.api,
            sim=run.sim,
            check=run.check,
            say=lambda _line: None,
            size=3,
            rng=random.Random(1),
            shared={"dossiers": [dossier(n) for n in (1, 2, 3)]},
        )
        await EmcTracking(run.api, run.sim, run.check).play(ctx)
    assert run.failed == []
    assert len(run.results) >= 8
