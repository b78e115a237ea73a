"""``lgsp db upgrade`` verifies the exchange log's chain before and after (issue 17; seed 003,
Điều 17.9.d): an intact chain stays intact, a chain already broken stops the upgrade, and an
upgrade that breaks it exits 1 saying so."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import db as db_command
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.immutability import suspended
from gateway.core.runtime import Gateway
from gateway.core.store import migrate
from tests.cli.test_cli import in_thread, lgsp
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("restore_logging")


def sealed_log(db_file: Path, entries: int = 5) -> None:
    """A migrated database holding ``entries`` sealed entries."""

    async def build() -> None:
        gw = Gateway(make_settings(f"sqlite+aiosqlite:///{db_file}"))
        try:
            await gw.start()
            for i in range(entries):
                await gw.record(
                    Crossing(kind="attempt", operation="op", outcome="ok", detail=f"e{i}")
                )
            await DeliveryService(gw).seal_once()
        finally:
            await gw.aclose()

    in_thread(asyncio.run, build())


def tamper(db_file: Path) -> None:
    async def edit() -> None:
        gw = Gateway(make_settings(f"sqlite+aiosqlite:///{db_file}"))
        try:
            async with gw.db.transaction() as session, suspended(session):
                await session.execute(
                    text("UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = 3")
                )
        finally:
            await gw.aclose()

    in_thread(asyncio.run, edit())


def test_an_intact_chain_is_verified_before_and_after(env: dict[str, str], db_file: Path) -> None:
    sealed_log(db_file)
    result = lgsp(env, "db", "upgrade")
    assert result.exit_code == 0, result.output
    before = re.search(r"chain intact before the upgrade: (\d+) entries", result.output)
    after = re.search(r"chain intact after the upgrade: (\d+) entries", result.output)
    assert before is not None
    assert after is not None
    assert int(before.group(1)) == int(after.group(1)) >= 5


def test_a_chain_broken_before_stops_the_upgrade(env: dict[str, str], db_file: Path) -> None:
    sealed_log(db_file)
    tamper(db_file)
    result = lgsp(env, "db", "upgrade")
    assert result.exit_code == 1
    assert "CHAIN BROKEN before the upgrade [altered]" in result.output
    assert "upgrade not applied" in result.output
    forced = lgsp(env, "db", "upgrade", "--force")
    assert forced.exit_code == 1
    assert "CHAIN BROKEN after the upgrade [altered]" in forced.output
    assert "the upgrade broke" not in forced.output


def test_an_upgrade_that_breaks_the_chain_says_so(
    env: dict[str, str], db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sealed_log(db_file)
    real = migrate.upgrade

    async def breaking_upgrade(engine: AsyncEngine, revision: str = "head") -> Any:
        await real(engine, revision)
        async with engine.begin() as connection:  # a migration that rewrites a sealed entry
            for statement in ("DROP TRIGGER lgsp_sealed_entry_update",):
                await connection.execute(text(statement))
            await connection.execute(text("UPDATE exchange_entries SET detail = 'x' WHERE seq = 2"))

    monkeypatch.setattr(db_command.migrate, "upgrade", breaking_upgrade)
    result = lgsp(env, "db", "upgrade")
    assert result.exit_code == 1
    assert "chain intact before the upgrade" in result.output
    assert "CHAIN BROKEN after the upgrade [altered]" in result.output
    assert "the upgrade broke the exchange log's chain" in result.output
