"""The demo's postal part (``connectors.postal.demo.PostalShipments``) against the gateway and
the simulators in process: every check it makes must hold (the demo itself wires it in)."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.postal.demo import PostalShipments
from connectors.postal.sandbox import get_pusher
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.postal.support import postal_app
from tests.demo_parts import demo_run


async def test_the_postal_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    get_pusher(postal_app(sandbox_app)).transport = httpx.ASGITransport(app=app)
    headers = await bearer(gateway, "postal:ship", "postal:read", "events:read")
    async with demo_run(app, sandbox_app, headers) as run:
        dossiers = [{"ma_ho_so": f"000.00.01.H22-240105-000{i}"} for i in (1, 2)]
        await PostalShipments(run.api, run.sim, run.check).run(dossiers, lambda _line: None)
    assert run.failed == []
    assert len(run.results) == 8
