"""``lgsp report emc`` as an operator runs it: a real SQLite file holding known dossiers,
payments and ratings (those of ``test_report.py``), configuration by environment: the table,
``--json`` (the route's answer), ``--csv``, and ``--submit`` queuing the month once per call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from connectors.emc import report as monthly
from gateway.cli import main
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem
from tests.cli.conftest import upgraded
from tests.cli.test_cli import in_thread
from tests.connectors.emc.test_report import seed

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def backend() -> str:
    """SQLite in a file only: the command opens the same file."""
    return "sqlite"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return upgraded(
        {
            "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lgsp.db",
            "LGSP_ENVIRONMENT": "test",
            "LGSP_LOG_JSON": "false",
            "LGSP_LOG_LEVEL": "WARNING",
            "LGSP_CONNECTORS__EMC__MA_DON_VI": "000.00.00.H56",
        }
    )


def lgsp(env: dict[str, str], *args: str) -> Result:
    return in_thread(CliRunner().invoke, main, list(args), env=env)


async def test_the_report_as_table_json_and_csv(
    gateway: Gateway, env: dict[str, str], tmp_path: Path
) -> None:
    await seed(gateway)
    local = await monthly.compute(gateway, month="2024-01", ma_don_vi="000.00.00.H56")

    table = lgsp(env, "report", "emc", "--month", "2024-01")
    assert table.exit_code == 0, table.output
    assert "EMC monthly report 2024-01, agency 000.00.00.H56" in table.output
    assert "1.000001" in table.output
    assert "50,000" in table.output

    as_json = lgsp(env, "report", "emc", "--month", "2024-01", "--json")
    assert as_json.exit_code == 0, as_json.output
    printed = json.loads(as_json.output)
    assert printed["rows"] == local.model_dump(mode="json")["rows"]
    assert printed["totals"]["tiep_nhan"] == 4

    out = tmp_path / "emc.csv"
    written = lgsp(env, "report", "emc", "--month", "2024-01", "--csv", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == monthly.csv_text(local)

    bad = lgsp(env, "report", "emc", "--month", "2024-13")
    assert bad.exit_code == 2
    assert "month" in bad.output


async def test_submit_queues_the_month(gateway: Gateway, env: dict[str, str]) -> None:
    await seed(gateway)
    off = lgsp(env, "report", "emc", "--month", "2024-01", "--submit")
    assert off.exit_code == 2  # no site_id, no aggregate_url: EMC is off
    on = {
        **env,
        "LGSP_CONNECTORS__EMC__SITE_ID": "3800",
        "LGSP_CONNECTORS__EMC__AGGREGATE_URL": "http://127.0.0.1:9/aggregate",
    }
    result = lgsp(on, "report", "emc", "--month", "2024-01", "--submit")
    assert result.exit_code == 0, result.output
    assert "submission queued: exchange" in result.output
    async with gateway.db.reading() as session:
        keys = (
            await session.scalars(
                select(OutboxItem.ordering_key).where(
                    OutboxItem.operation == "submit_monthly_report"
                )
            )
        ).all()
    assert keys == ["emc:report:000.00.00.H56:2024-01"]
