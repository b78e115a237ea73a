"""The demo's business-register part (``connectors.dkdn.demo.EnterpriseChecks``) against the
gateway and the simulators in process: every check it makes must hold."""

from __future__ import annotations

import random
from typing import Any

from connectors.dkdn.demo import EnterpriseChecks
from gateway.core.demo import DemoContext
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.demo_parts import demo_run


async def test_the_business_register_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    headers = await bearer(gateway, *EnterpriseChecks.scopes)
    async with demo_run(app, sandbox_app, headers, workers=False) as run:
        ctx = DemoContext(
            api=run.api,
            sim=run.sim,
            check=run.check,
            say=lambda _line: None,
            size=2,
            rng=random.Random(1),
        )
        await EnterpriseChecks(run.api, run.sim, run.check).play(ctx)
    assert run.failed == []
    assert len(run.results) == 5
