"""``lgsp reconcile payments`` as an operator runs it: a real SQLite file whose payments were
created, paid, failed and cancelled against the payment simulator through the API (as in
``tests/connectors/payment/test_routes.py``), configuration by environment. The statement the
command compares is the simulator's own, fetched by the test and injected through
:data:`connectors.payment.cli.FETCH` (the command runs in a thread of its own, with its own
gateway, which cannot reach the in-process simulator); the fetch through the connector is
covered end to end by ``tests/core/test_reconciliation.py`` through the API route."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from connectors.payment import PaymentConnector, reconciliation
from connectors.payment import cli as cli_reconcile
from gateway.cli import main
from gateway.core.errors import TransientUpstreamError
from gateway.core.runtime import Gateway
from schemas.payment import Statement
from tests.cli.conftest import upgraded
from tests.cli.test_cli import in_thread
from tests.connectors.payment.test_reconciliation import day_of_payments, plant, today
from tests.connectors.payment.test_routes import headers, platform, sim

__all__ = ["day_of_payments", "headers", "platform", "sim"]  # fixtures used here

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def backend() -> str:
    """SQLite in a file only: the command opens the same file."""
    return "sqlite"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lgsp.db",
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
        "LGSP_LOG_LEVEL": "WARNING",
    }
    return upgraded(env)


def lgsp(env: dict[str, str], *args: str) -> Result:
    return in_thread(CliRunner().invoke, main, list(args), env=env)


async def fetched(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Statement:
    """The simulator's statement of today, which the command will be given."""
    connector = gateway.connector("payment")
    assert isinstance(connector, PaymentConnector)
    statement = await connector.client.statement(today())
    asked: list[date] = []

    async def fetch(_gw: Any, day: date) -> Statement:
        asked.append(day)
        return statement

    monkeypatch.setattr(cli_reconcile, "FETCH", fetch)
    return statement


async def test_a_clean_day_exits_0(
    gateway: Gateway,
    day_of_payments: list[dict[str, Any]],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fetched(gateway, monkeypatch)
    result = lgsp(env, "reconcile", "payments", "--date", today().isoformat())
    assert result.exit_code == 0, result.output
    assert "everything matches" in result.output
    assert "5 transaction(s), 150000 VND" in result.output
    as_json = lgsp(env, "reconcile", "payments", "--date", today().isoformat(), "--json")
    assert as_json.exit_code == 0, as_json.output
    answer = json.loads(as_json.stdout)
    assert answer["ok"] is True
    assert answer["findings"] == []
    assert answer["totals"]["theirs"]["amount"] == 150000


async def test_differences_exit_1_with_csv(
    gateway: Gateway,
    platform: httpx.AsyncClient,
    day_of_payments: list[dict[str, Any]],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    refs = [p["ref"] for p in day_of_payments]
    await plant(platform, omit=[refs[1]], amount_delta={refs[0]: -1}, extra=1)
    await fetched(gateway, monkeypatch)
    day = today().isoformat()

    out = tmp_path / "recon.csv"
    result = lgsp(env, "reconcile", "payments", "--date", day, "--csv", str(out))
    assert result.exit_code == 1, result.output
    assert "3 difference(s)" in result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == list(reconciliation.CSV_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["missing_at_platform", "missing_here", "amount_differs"]
    assert rows[1][1] == refs[1]
    assert rows[3][1:2] == [refs[0]]
    assert (rows[3][4], rows[3][5]) == ("10000", "9999")

    result = lgsp(env, "reconcile", "payments", "--date", day, "--csv", "-")
    assert result.exit_code == 1
    assert result.stdout.startswith(",".join(reconciliation.CSV_COLUMNS) + "\n")
    assert result.stdout == out.read_text(encoding="utf-8")

    result = lgsp(env, "reconcile", "payments", "--date", day, "--json")
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert (answer["date"], answer["ok"]) == (day, False)
    assert [f["kind"] for f in answer["findings"]] == [
        "missing_at_platform",
        "missing_here",
        "amount_differs",
    ]
    assert answer["findings"][0]["ma_tham_chieu"] == refs[1]
    assert answer["totals"]["ours"]["count"] == 5
    clash = lgsp(env, "reconcile", "payments", "--date", day, "--json", "--csv", "-")
    assert clash.exit_code == 2


def test_usage_and_platform_errors_exit_2(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["--date", "2024-13-01"], ["--date", "yesterday"], []):
        result = lgsp(env, "reconcile", "payments", *args)
        assert result.exit_code == 2, result.output

    async def down(_gw: Any, _day: date) -> Statement:
        raise TransientUpstreamError("the payment platform did not answer")

    monkeypatch.setattr(cli_reconcile, "FETCH", down)
    result = lgsp(env, "reconcile", "payments", "--date", "2024-01-05")
    assert result.exit_code == 2, result.output
    assert "the payment platform did not answer" in result.output
