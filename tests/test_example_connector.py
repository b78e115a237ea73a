"""Adding a platform is one folder and one registry line (issue 16): the example connector of
``tests/example_connector/`` (a fake platform, registered only here) gets its route and scope,
its outbox deliveries, its simulator, its ``lgsp`` commands and its demo part, with no other
file touched."""

from __future__ import annotations

import ast
import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import connectors
from gateway.cli import build_cli
from gateway.cli import main as lgsp
from gateway.core.clients import known_scopes
from gateway.core.connector import ConnectorSpec
from gateway.core.delivery.workers import DeliveryService
from gateway.core.demo import DemoContext
from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from gateway.demo import demo_parts
from gateway.sandbox import create_sandbox_app
from tests.conftest import bearer, make_settings, serving
from tests.example_connector.demo import NoteTaking

NOTE = {"subject": "s-1", "text": "xin chào"}


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, ConnectorSpec]:
    """The registry with the example's one line added."""
    monkeypatch.setattr(connectors, "REGISTRY", (*connectors.REGISTRY, "tests.example_connector"))
    return load_specs()


@pytest.fixture
async def running(
    registered: dict[str, ConnectorSpec], tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Any]]:
    sandbox = create_sandbox_app(registered)
    gw = Gateway(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"),
        sandbox_base="http://sandbox",
        transports={slug: httpx.ASGITransport(app=sandbox) for slug in registered},
        state=MemoryStateStore(),
    )
    await gw.start()
    try:
        yield gw, sandbox
    finally:
        await gw.aclose()


def _sim(sandbox: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox")


async def test_the_example_gets_its_route_scope_deliveries_and_simulator(
    running: tuple[Gateway, Any],
) -> None:
    gw, sandbox = running
    assert "example:write" in known_scopes()
    assert (await gw.connector("example").check()).ok
    async with serving(gw) as api, _sim(sandbox) as sim:
        document = (await api.get("/openapi.json")).json()
        assert "/v1/example/notes" in document["paths"]
        refused = await api.post(
            "/v1/example/notes", json=NOTE, headers=await bearer(gw, "ops:read")
        )
        assert refused.status_code == 403
        accepted = await api.post(
            "/v1/example/notes", json=NOTE, headers=await bearer(gw, "example:write")
        )
        assert accepted.status_code == 202, accepted.text
        service = DeliveryService(gw)
        while await service.run_once():
            pass
        assert (await sim.get("/example/_sandbox/notes")).json() == {"notes": [NOTE]}
        exchange = await api.get(
            f"/v1/exchanges/{accepted.json()['exchange_id']}",
            headers=await bearer(gw, "exchanges:read"),
        )
        assert exchange.json()["state"] == "delivered"


async def test_the_example_plays_its_demo_part(
    registered: dict[str, ConnectorSpec], running: tuple[Gateway, Any]
) -> None:
    parts = demo_parts(registered)
    assert parts[-1] is NoteTaking  # order 95: after every part of the platforms
    gw, sandbox = running
    failures: list[str] = []

    def check(ok: bool, what: str) -> bool:
        if not ok:
            failures.append(what)
        return ok

    service = DeliveryService(gw)

    async def worker() -> None:  # delivers while the part waits, as `lgsp demo`'s workers do
        while True:
            if not await service.run_once():
                await asyncio.sleep(0.01)

    delivering = asyncio.create_task(worker())
    try:
        async with serving(gw) as api, _sim(sandbox) as sim:
            api.headers.update(await bearer(gw, *NoteTaking.scopes))
            ctx = DemoContext(
                api=api, sim=sim, check=check, say=lambda _line: None, size=1, rng=random.Random(1)
            )
            await NoteTaking(api, sim, check).play(ctx)
    finally:
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
    assert failures == []


def test_the_example_gets_its_commands(registered: dict[str, ConnectorSpec]) -> None:
    cli = build_cli(registered)
    runner = CliRunner()
    listing = runner.invoke(cli, ["--help"])
    assert "example" in listing.output
    report = runner.invoke(cli, ["report", "example"])
    assert report.exit_code == 0, report.output
    assert report.output == "no notes report yet\n"
    # the registered tree itself is untouched by the example
    assert "example" not in lgsp.commands
    assert "example" not in lgsp.commands["report"].commands  # type: ignore[attr-defined]


def test_the_example_is_built_on_the_core_alone() -> None:
    """Like a connector of ``connectors/``, it imports the core, ``schemas`` and itself only."""
    folder = Path(__file__).parent / "example_connector"
    outside = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                root = name.split(".")[0]
                if root in {"gateway", "connectors", "tests"} and not (
                    name.startswith(("gateway.core", "tests.example_connector"))
                ):
                    outside.add(f"{path.name}: {name}")
    assert outside == set()
