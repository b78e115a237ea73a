"""The CLI's tests: a database file of their own and the environment that points at it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "lgsp.db"


@pytest.fixture
def bare_env(db_file: Path) -> dict[str, str]:
    """The environment of a database with no schema yet."""
    return {
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
    }


@pytest.fixture
def env(bare_env: dict[str, str]) -> dict[str, str]:
    """The environment of a database migrated by ``lgsp db upgrade`` (only that command, and
    ``serve`` on SQLite, migrates)."""
    return upgraded(bare_env)


def upgraded(env: dict[str, str]) -> dict[str, str]:
    """``lgsp db upgrade`` in ``env`` (in a thread of its own: the command calls
    ``asyncio.run``, which must not replace the event loop pytest-asyncio left current)."""
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(CliRunner().invoke, main, ["db", "upgrade"], env=env).result()
    assert result.exit_code == 0, result.output
    return env
