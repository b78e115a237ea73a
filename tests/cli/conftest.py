"""The CLI's tests: a database file of their own and the environment that points at it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "lgsp.db"


@pytest.fixture
def env(db_file: Path) -> dict[str, str]:
    return {
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
    }
