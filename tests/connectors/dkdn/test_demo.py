"""The demo's business-register part (``connectors.dkdn.demo.EnterpriseChecks``) against the
gateway and the simulators in process: every check it makes must hold."""

from __future__ import annotations

import random
from typing import Any

import httpx

from connectors.dkdn.demo import EnterpriseChecks
from gateway.core.demo import DemoContext
from gateway.core.runtime import Gateway
from tests.conftest import bearer


async def test_the_business_register_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    headers = await bearer(gateway, *EnterpriseChecks.scopes)
    results: list[tuple[bool, str]] = []

    def check(ok: bool, what: str) -> bool:
        results.append((ok, what))
        return ok

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=headers
        ) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
        ) as sim,
    ):
        ctx = DemoContext(
            api=api, sim=sim, check=check, say=lambda _line: None, size=2, rng=random.Random(1)
        )
        await EnterpriseChecks(api, sim, check).play(ctx)
    assert [what for ok, what in results if not ok] == []
    assert len(results) == 5
