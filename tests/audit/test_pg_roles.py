"""The application's PostgreSQL role (issue 17): ``deploy/postgresql/roles.sql`` applied as a
database administrator would (on the empty database, ``lgsp db upgrade`` as the owner role,
again on the tables), the gateway runs as the application role: it accepts and delivers
through its API, seals, anchors and verifies; and that role can neither change nor delete what
is sealed, nor switch off the triggers that protect it.

Both refusals are PostgreSQL's SQLSTATE 42501 (the triggers raise ``insufficient_privilege``
too), so the messages tell a grant's refusal from a trigger's. Roles are cluster-wide: each test
makes its own pair, named for it, and drops them. Skipped without PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.registry import load_specs
from gateway.core.runtime import ANCHOR_TRANSPORT, Gateway
from gateway.core.settings import AuditSettings
from gateway.core.store import migrate
from gateway.core.store.state import MemoryStateStore
from tests.audit import build_log, count_entries, sandbox_tsa_root
from tests.conftest import PG_HOST, PG_UP, fresh_pg_database, make_settings, serving

pytestmark = pytest.mark.skipif(
    not PG_UP, reason=f"PostgreSQL not reachable on {PG_HOST}:5432 (roles need a real server)"
)

ROLES = Path(__file__).parents[2] / "deploy" / "postgresql" / "roles.sql"

#: what the application role may do on each table that is not an ordinary one
#: (``UPDATE`` of the sealer's columns only: gateway.core.log.audit.seal_pending)
NARROWED = {
    "exchange_entries": {"SELECT", "INSERT"},
    "checkpoints": {"SELECT", "INSERT"},
    "checkpoint_anchors": {"SELECT", "INSERT"},
    "alembic_version": {"SELECT"},
}
ORDINARY = {"SELECT", "INSERT", "UPDATE", "DELETE"}
PRIVILEGES = (*sorted(ORDINARY), "TRUNCATE", "REFERENCES", "TRIGGER")
SEALING = {"seq", "prev_hash", "entry_hash"}

GRANT = "permission denied for table {}"
TRIGGER = "never changed or deleted"
OWNER = "must be owner of"


@dataclass
class Roles:
    database: str
    owner: str
    app: str

    def url(self, role: str) -> str:
        return f"postgresql+asyncpg://{role}@{PG_HOST}:5432/{self.database}"


async def as_superuser(database: str, sql: str) -> None:
    connection = await asyncpg.connect(host=PG_HOST, user="postgres", database=database)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def roles() -> AsyncIterator[Roles]:
    """A fresh database set up the way the script's header says, with this test's roles."""
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"lgsp_owner_{suffix}", f"lgsp_app_{suffix}"
    script = ROLES.read_text().replace("lgsp_owner", owner).replace("lgsp_app", app)
    try:
        with fresh_pg_database("lgsp_roles") as url:
            made = Roles(url.rsplit("/", 1)[1], owner, app)
            await as_superuser(made.database, script)  # 1. the roles, on an empty database
            engine = create_async_engine(made.url(owner))
            try:
                await migrate.upgrade(engine)  # 2. `lgsp db upgrade`, as the owner
            finally:
                await engine.dispose()
            await as_superuser(made.database, script)  # 3. the tables' grants
            yield made
    finally:  # the database (and the grants in it) is gone: the roles can go
        await as_superuser("postgres", f'DROP ROLE IF EXISTS "{app}", "{owner}"')


async def tsa_certs(sandbox_app: Any, tmp_path: Path) -> Path:
    """The sandbox authority's trust anchor, fetched as an operator would."""
    return await sandbox_tsa_root(sandbox_app, tmp_path)


@pytest.fixture
async def as_app(roles: Roles, sandbox_app: Any, tmp_path: Path) -> AsyncIterator[Gateway]:
    """The gateway connected as the application role, with ``LGSP_AUTO_MIGRATE=false`` as the
    script says (a pending migration would be refused to it), its platforms and its timestamp
    authority the sandbox's."""
    transport = httpx.ASGITransport(app=sandbox_app)
    gw = Gateway(
        make_settings(
            roles.url(roles.app),
            auto_migrate=False,
            audit=AuditSettings(
                tsa_url="http://sandbox/esign/tsa", tsa_certs=await tsa_certs(sandbox_app, tmp_path)
            ),
        ),
        sandbox_base="http://sandbox",
        transports={**{slug: transport for slug in load_specs()}, ANCHOR_TRANSPORT: transport},
        state=MemoryStateStore(),
    )
    try:
        await gw.start()
        yield gw
    finally:
        await gw.aclose()


async def refusal(gw: Gateway, statement: str) -> str:
    """Send ``statement`` as the application role; the database's refusal (42501), as text."""
    with pytest.raises(DBAPIError) as refused:
        async with gw.db.transaction() as session:
            await session.execute(text(statement))
    assert getattr(refused.value.orig, "sqlstate", None) == "42501", refused.value
    return str(refused.value.orig)


async def test_the_gateway_runs_as_the_application_role(as_app: Gateway) -> None:
    gw = as_app
    async with serving(gw) as api:  # an API client made, dossiers accepted and delivered
        built = await build_log(gw, api, dossiers=2)
    assert built.sent
    service = DeliveryService(gw)  # the API's own sealer may have been first: no matter
    await service.seal_once()
    await service.anchor_once(force=True)
    assert await count_entries(gw, sealed=False) == 0
    assert gw.anchorer is not None
    report = await verify_database(
        gw.db, gw.public_key, authenticator=gw.cipher.entries, tsa=gw.anchorer.trust
    )
    assert report.ok, report.problem
    anchoring = report.extra["anchoring"]
    assert anchoring["anchors"] >= 1
    assert anchoring["last_anchored_seq"] == report.head_seq


async def test_the_application_role_holds_only_its_grants(roles: Roles) -> None:
    """Every table of the schema, the core's and the connectors': the ordinary grants, or
    the narrowed ones; never TRUNCATE, REFERENCES, TRIGGER; nothing owned."""
    connection = await asyncpg.connect(host=PG_HOST, user="postgres", database=roles.database)
    try:
        owners = dict(
            await connection.fetch(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"
            )
        )
        tables = sorted(owners)
        held = {
            table: {
                privilege
                for privilege in PRIVILEGES
                if await connection.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)", roles.app, table, privilege
                )
            }
            for table in tables
        }
        updatable = {
            row["attname"]
            for row in await connection.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'exchange_entries'::regclass "
                "AND attnum > 0 AND NOT attisdropped "
                "AND has_column_privilege($1, attrelid, attnum, 'UPDATE')",
                roles.app,
            )
        }
    finally:
        await connection.close()
    assert set(owners.values()) == {roles.owner}
    assert {"outbox", "api_clients", "payments", "portal_dossiers"} <= set(tables)
    assert held == {table: NARROWED.get(table, ORDINARY) for table in tables}
    assert updatable == SEALING


async def test_the_application_role_cannot_rewrite_the_log(as_app: Gateway) -> None:
    gw = as_app
    for i in range(3):
        await gw.record(Crossing(kind="attempt", operation="op", outcome="ok", detail=f"{i}"))
    assert await DeliveryService(gw).seal_once() >= 3
    await gw.record(Crossing(kind="attempt", operation="op", outcome="ok", detail="unsealed"))
    await DeliveryService(gw).anchor_once(force=True)
    before = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
    assert before.ok, before.problem

    entries, checkpoints = GRANT.format("exchange_entries"), GRANT.format("checkpoints")
    anchors = GRANT.format("checkpoint_anchors")
    refused = {
        # the grants: an entry's content, sealed or not, is out of reach; nothing is deleted
        "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = 2": entries,
        "UPDATE exchange_entries SET detail = 'x' WHERE seq IS NULL": entries,
        "DELETE FROM exchange_entries WHERE seq = 2": entries,
        "DELETE FROM exchange_entries WHERE seq IS NULL": entries,
        "UPDATE checkpoints SET signature = 'x'": checkpoints,
        "DELETE FROM checkpoints": checkpoints,
        "UPDATE checkpoint_anchors SET authority = 'x'": anchors,
        "DELETE FROM checkpoint_anchors": anchors,
        "TRUNCATE exchange_entries": entries,
        "TRUNCATE checkpoints": checkpoints,
        "TRUNCATE checkpoint_anchors": anchors,
        "TRUNCATE outbox": GRANT.format("outbox"),
        "UPDATE alembic_version SET version_num = '0001'": GRANT.format("alembic_version"),
        # the triggers: the sealer's own columns, on a row that is sealed
        "UPDATE exchange_entries SET seq = 99 WHERE seq = 2": TRIGGER,
        "UPDATE exchange_entries SET seq = NULL, entry_hash = NULL WHERE seq = 3": TRIGGER,
        # and the triggers stay: only the owner (or a superuser) could remove them
        "ALTER TABLE exchange_entries DISABLE TRIGGER ALL": f"{OWNER} table exchange_entries",
        "ALTER TABLE checkpoints DISABLE TRIGGER lgsp_checkpoint_change": (
            f"{OWNER} table checkpoints"
        ),
        "DROP TRIGGER lgsp_sealed_entry_change ON exchange_entries": (
            f"{OWNER} relation exchange_entries"
        ),
        "ALTER TABLE exchange_entries OWNER TO CURRENT_USER": f"{OWNER} table exchange_entries",
        "SET session_replication_role = replica": (
            'permission denied to set parameter "session_replication_role"'
        ),
        # nor replaced: the app creates nothing in the schema (the trigger function is there)
        "CREATE OR REPLACE FUNCTION lgsp_refuse_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NULL; END $$": "permission denied for schema public",
    }
    for statement, message in refused.items():
        assert message in await refusal(gw, statement), statement

    after = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
    assert after.ok, after.problem
    assert (after.entries, after.head_seq) == (before.entries, before.head_seq)
    # and the sealer, which needs no more than these grants, still seals what came later
    assert await DeliveryService(gw).seal_once() == 1
