"""The application's PostgreSQL role (issue 17): ``deploy/postgresql/roles.sql`` applied to a
fresh database, the gateway runs as ``lgsp_app`` (accepts, seals, verifies, anchors nothing
needs more), and that role cannot change the exchange log, nor switch off what protects it.
Skipped without PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.core.clients import create_client
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from tests.conftest import PG_HOST, fresh_pg_database, make_settings

ROLES = Path(__file__).parents[2] / "deploy" / "postgresql" / "roles.sql"


@pytest.fixture
async def as_app() -> AsyncIterator[Gateway]:
    """A database migrated by its owner, the roles applied, and a gateway as ``lgsp_app``."""
    role = f"lgsp_app_{uuid.uuid4().hex[:8]}"
    with fresh_pg_database("lgsp_roles") as owner_url:
        owner = Gateway(make_settings(owner_url), state=MemoryStateStore())
        await owner.start()  # the migrations, as the owner
        await owner.aclose()
        name = owner_url.rsplit("/", 1)[1]
        # the roles cluster-wide: a name of this run's own; the owner here is the superuser
        script = ROLES.read_text().replace("lgsp_app", role).replace("lgsp_owner", "postgres")
        admin = await asyncpg.connect(host=PG_HOST, user="postgres", database=name)
        try:
            await admin.execute(script)
        finally:
            await admin.close()
        app_url = f"postgresql+asyncpg://{role}@{PG_HOST}:5432/{name}"
        gw = Gateway(make_settings(app_url, auto_migrate=False), state=MemoryStateStore())
        try:
            await gw.start()
            yield gw
        finally:
            await gw.aclose()
            admin = await asyncpg.connect(host=PG_HOST, user="postgres", database=name)
            try:
                await admin.execute(f'DROP OWNED BY "{role}"')
                await admin.execute(f'DROP ROLE "{role}"')
            finally:
                await admin.close()


async def attempt(gw: Gateway, statement: str, **params: Any) -> str:
    """Send ``statement`` as the application's role; the database's refusal, as text."""
    with pytest.raises(DBAPIError) as refused:
        async with gw.db.transaction() as session:
            await session.execute(text(statement), params)
    return str(refused.value.orig)


async def test_the_gateway_runs_as_the_application_role(as_app: Gateway) -> None:
    gw = as_app
    for i in range(3):
        await gw.record(Crossing(kind="attempt", operation="op", outcome="ok", detail=f"{i}"))
    await create_client(gw.db, name="case-system", scopes=["dvcqg:sync"])
    assert await DeliveryService(gw).seal_once() >= 3
    report = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
    assert report.ok, report.problem

    # what protects the log, out of its reach
    assert "never changed or deleted" in await attempt(
        gw, "UPDATE exchange_entries SET seq = 99 WHERE seq = 1"
    )
    assert "permission denied" in await attempt(
        gw, "UPDATE exchange_entries SET outcome = 'x' WHERE seq = 1"
    )
    assert "permission denied" in await attempt(gw, "DELETE FROM exchange_entries WHERE seq = 1")
    assert "permission denied" in await attempt(gw, "DELETE FROM checkpoints")
    assert "permission denied" in await attempt(gw, "UPDATE checkpoints SET seq = 0")
    assert "permission denied" in await attempt(gw, "TRUNCATE exchange_entries")
    assert "permission denied" in await attempt(gw, "DELETE FROM checkpoint_anchors")
    assert "must be owner" in await attempt(gw, "ALTER TABLE exchange_entries DISABLE TRIGGER ALL")
    assert "must be owner" in await attempt(
        gw, "DROP TRIGGER lgsp_sealed_entry_change ON exchange_entries"
    )
    assert "permission denied" in await attempt(gw, "SET session_replication_role = replica")
    assert "permission denied" in await attempt(gw, "UPDATE alembic_version SET version_num = 'x'")
    # and the log is as it was
    again = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
    assert again.ok
    assert again.entries == report.entries
