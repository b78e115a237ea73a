"""The migrations and the tables agree (issue 16): after ``upgrade`` on an empty database,
Alembic's comparison with the metadata of the core and of every registered connector finds
nothing to add, drop or change, so ``alembic revision --autogenerate`` never proposes to drop
a connector's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.core.registry import load_specs
from gateway.core.store import migrate
from gateway.core.store.db import Base


async def test_the_migrated_schema_is_the_metadata(tmp_path: Path) -> None:
    specs = load_specs()
    declared = {spec.tables for spec in specs.values() if spec.tables}
    assert declared, "connectors declare the modules of their tables"
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:

            def differences(sync: Any) -> list[Any]:
                context = MigrationContext.configure(sync, opts={"compare_type": True})
                return list(compare_metadata(context, Base.metadata))

            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []


def test_the_schema_head_the_code_needs_is_alembics_head() -> None:
    # the server reads SCHEMA_HEAD to check the database without loading Alembic: a new
    # migration must move it
    assert migrate.head_revision() == migrate.SCHEMA_HEAD == migrate.alembic_head()


async def test_a_current_database_is_checked_and_upgraded_without_loading_alembic(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'current.db'}"
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    program = (
        "import asyncio, sys\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from gateway.core.store import migrate\n"
        "async def main():\n"
        f"    engine = create_async_engine({url!r})\n"
        "    assert await migrate.schema_problem(engine) is None\n"
        "    await migrate.upgrade(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
