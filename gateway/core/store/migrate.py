"""Schema migrations (Alembic), callable from the CLI, the server start-up and the tests.

Alembic (and Mako with it, ~11 MiB of a process's memory) is imported only when a migration
runs or an unknown revision is explained: a server whose schema is current never loads it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

#: the newest migration's revision: the schema this code needs (tests/core/test_migrations.py
#: holds it to Alembic's own head of gateway/migrations, so a new migration must update it)
SCHEMA_HEAD = "0018"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` (idempotent)."""
    if revision == "head" and await current_revision(engine) == SCHEMA_HEAD:
        return  # current: nothing to run, Alembic not loaded
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _upgrade(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # one migrator at a time when several replicas start together
            await conn.execute(text("SELECT pg_advisory_xact_lock(7413001)"))
        await conn.run_sync(_upgrade)


def head_revision() -> str:
    """The schema revision this gateway's code needs."""
    return SCHEMA_HEAD


def alembic_head() -> str | None:
    """The head of the migration scripts as Alembic reads them (loads Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's schema revision (None: no schema yet). Reads; never migrates (nor logs,
    as Alembic's migration context does when it is made)."""

    def read(connection: Any) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return next(iter(found), None)

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def schema_problem(engine: AsyncEngine) -> str | None:
    """Why this gateway cannot use the database's schema as it is (one line), or None."""
    current, head = await current_revision(engine), head_revision()
    if current == head:
        return None
    url = engine.url.render_as_string(hide_password=True)
    if current is None:
        return f"the database of LGSP_DATABASE_URL ({url}) has no schema yet: run `lgsp db upgrade`"
    from alembic.script import ScriptDirectory

    known = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        known.get_revision(current)
    except Exception:  # alembic raises several kinds for a revision it does not know
        return (
            f"the database of LGSP_DATABASE_URL ({url}) is at schema revision {current}, which "
            f"this gateway does not know (it needs {head}): a newer version migrated it"
        )
    return (
        f"the database of LGSP_DATABASE_URL ({url}) is at schema revision {current}, this "
        f"gateway needs {head}: run `lgsp db upgrade`"
    )
