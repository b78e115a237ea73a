"""``lgsp reconcile postal`` as an operator runs it: a real SQLite file whose shipments were
ordered and delivered against the postal simulator through the API (as in
``tests/core/test_postal_reconciliation.py``), configuration by environment. The statement the
command compares is the simulator's own, fetched by the test and injected through
:data:`connectors.postal.cli.FETCH` (the command runs in a thread with its own gateway, which
cannot reach the in-process simulator); the fetch through the connector is covered by the
API route's test."""

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

from connectors.postal import PostalConnector
from connectors.postal import cli as cli_postal
from connectors.postal import reconciliation as postal_reconciliation
from gateway.cli import main
from gateway.core.errors import TransientUpstreamError
from gateway.core.runtime import Gateway
from schemas.postal import Statement
from tests.cli.conftest import upgraded
from tests.cli.test_cli import in_thread
from tests.connectors.postal.support import Postal
from tests.connectors.postal.test_reconciliation import DOSSIERS, deliver_day
from tests.connectors.postal.test_routes import headers, platform, postal

__all__ = ["headers", "platform", "postal"]  # fixtures used here

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


async def inject(gateway: Gateway, day: date, monkeypatch: pytest.MonkeyPatch) -> None:
    connector = gateway.connector("postal")
    assert isinstance(connector, PostalConnector)
    statement = await connector.client.statement(day)

    async def fetch(_gw: Any, asked: date) -> Statement:
        assert asked == day
        return statement

    monkeypatch.setattr(cli_postal, "FETCH", fetch)


async def test_a_clean_day_exits_0(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    headers: dict[str, str],
    postal: Postal,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = await deliver_day(api, app, headers, postal)
    await inject(gateway, day, monkeypatch)
    result = lgsp(env, "reconcile", "postal", "--date", day.isoformat())
    assert result.exit_code == 0, result.output
    assert "everything matches" in result.output
    assert f"4 transaction(s), {sum(DOSSIERS.values())} VND" in result.output


async def test_differences_exit_1_with_csv(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    headers: dict[str, str],
    postal: Postal,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    day = await deliver_day(api, app, headers, postal)
    one, two = (f"{d}-delivery" for d in list(DOSSIERS)[:2])
    planted = {"omit": [one], "amount_delta": {two: 1_000}}
    assert (
        await postal.platform.put("/postal/_sandbox/faults", json={"statement": planted})
    ).is_success
    await inject(gateway, day, monkeypatch)
    out = tmp_path / "postal.csv"
    result = lgsp(env, "reconcile", "postal", "--date", day.isoformat(), "--csv", str(out))
    assert result.exit_code == 1, result.output
    assert "2 difference(s)" in result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == list(postal_reconciliation.CSV_HEADER)
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("missing_at_platform", one),
        ("amount_differs", two),
    ]
    result = lgsp(env, "reconcile", "postal", "--date", day.isoformat(), "--csv", "-")
    assert result.exit_code == 1
    assert result.stdout == out.read_text(encoding="utf-8")

    result = lgsp(env, "reconcile", "postal", "--date", day.isoformat(), "--json")
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert (answer["date"], answer["ok"]) == (day.isoformat(), False)
    assert answer["counts"]["missing_at_platform"] == 1
    assert answer["counts"]["amount_differs"] == 1
    found = [(f["kind"], one in f.values() or two in f.values()) for f in answer["findings"]]
    assert found == [("missing_at_platform", True), ("amount_differs", True)]
    assert set(answer["totals"]) == {"ours", "theirs"}
    clash = lgsp(env, "reconcile", "postal", "--date", day.isoformat(), "--json", "--csv", "-")
    assert clash.exit_code == 2


def test_usage_and_platform_errors_exit_2(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["--date", "2024-13-01"], []):
        assert lgsp(env, "reconcile", "postal", *args).exit_code == 2

    async def down(_gw: Any, _day: date) -> Statement:
        raise TransientUpstreamError("the postal service did not answer")

    monkeypatch.setattr(cli_postal, "FETCH", down)
    result = lgsp(env, "reconcile", "postal", "--date", "2024-01-05")
    assert result.exit_code == 2, result.output
    assert "the postal service did not answer" in result.output
