"""The demo's document management part (``connectors.qlvb.demo.DocumentExchange``) against the
gateway and the simulators in process: every check it makes must hold."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.qlvb.demo import DocumentExchange
from connectors.qlvb.sandbox import get_pusher
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.qlvb.support import qlvb_app
from tests.demo_parts import demo_run


async def test_the_qlvb_part_of_the_demo_checks_out(
    app: Any, gateway: Gateway, sandbox_app: Any
) -> None:
    get_pusher(qlvb_app(sandbox_app)).transport = httpx.ASGITransport(app=app)
    headers = await bearer(gateway, "qlvb:send", "qlvb:read", "events:read")
    async with demo_run(app, sandbox_app, headers) as run:
        dossier = {"ma_ho_so": "000.00.01.H22-240105-0001"}
        await DocumentExchange(run.api, run.sim, run.check).run(dossier, lambda _line: None)
    assert run.failed == []
    assert len(run.results) == 9
