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
