"""``lgsp officers ...`` and ``lgsp report dancu`` as an operator runs them (a real SQLite file,
configuration by environment), and nothing personal or secret in any output or log line."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connectors.dancu import officers
from gateway.cli import main
from gateway.core.runtime import Gateway
from gateway.core.store import migrate
from gateway.core.store.db import utcnow
from tests.cli.conftest import upgraded
from tests.cli.test_cli import in_thread, rows
from tests.conftest import make_settings
from tests.officer_factories import (
    UNIT_B,
    backdate,
    daily_lookups,
    id_number,
    insert,
    local_noon,
    lookup,
    password,
    register_officer,
)

pytestmark = pytest.mark.usefixtures("restore_logging")

ACTOR = f"cli:{getpass.getuser()}"
OUTPUTS: list[str] = []  # every output of the test, checked for secrets at its end


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "lgsp.db"


@pytest.fixture
def env(db_file: Path) -> dict[str, str]:
    env = {
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
        "LGSP_LOG_LEVEL": "INFO",
    }
    return upgraded(env)


@pytest.fixture(autouse=True)
def nothing_secret_in_any_output() -> Any:
    OUTPUTS.clear()
    yield
    text = "\n".join(OUTPUTS)
    for n in range(1, 10):
        assert id_number(n) not in text
        assert password(n) not in text
    assert "Typed-in-pass-77" not in text


def lgsp(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    result = in_thread(CliRunner().invoke, main, list(args), env=env, input=input)
    OUTPUTS.append(result.output)
    return result


def with_gateway(env: dict[str, str], work: Callable[[Gateway], Awaitable[Any]]) -> Any:
    """Run ``work`` against the command's database (migrated), as the gateway would."""

    async def run() -> Any:
        gw = Gateway(make_settings(env["LGSP_DATABASE_URL"]))
        try:
            await migrate.upgrade(gw.db.engine)
            return await work(gw)
        finally:
            await gw.aclose()

    return in_thread(asyncio.run, run())


def register_args(n: int, **overrides: str) -> list[str]:
    options = {
        "--login": f"canbo.{n:03d}",
        "--code": f"CB{n:04d}",
        "--name": "Nguyễn Văn An",
        "--id-number": id_number(n),
        "--unit": "UBND xã Tân Lập",
        "--purpose": "Xác minh nhân thân người nộp hồ sơ",
        "--platform-user": f"user{n:03d}",
        **overrides,
    }
    return ["officers", "register", *[x for pair in options.items() for x in pair]]


def test_register_reads_the_password_from_the_environment(
    env: dict[str, str], db_file: Path
) -> None:
    result = lgsp({**env, "LGSP_OFFICER_PLATFORM_PASSWORD": password(1)}, *register_args(1))
    assert result.exit_code == 0, result.output
    assert "officer canbo.001 registered (001******001, UBND xã Tân Lập)" in result.stdout
    assert "officer_registered" in result.stderr  # logged, masked
    ((masked, sealed, credential),) = rows(
        db_file, "SELECT so_dinh_danh_masked, so_dinh_danh_sealed, credential_sealed FROM officers"
    )
    assert masked == "001******001"
    assert id_number(1).encode() not in sealed
    assert password(1).encode() not in credential
    (event,) = rows(db_file, "SELECT kind, actor FROM officer_events")
    assert event == ("registered", ACTOR)


def test_register_prompts_for_the_password_hidden(env: dict[str, str], db_file: Path) -> None:
    typed = "Typed-in-pass-77"
    result = lgsp(env, *register_args(1), input=f"{typed}\n{typed}\n")
    assert result.exit_code == 0, result.output
    assert "platform password" in result.output
    officer = with_gateway(
        env,
        lambda gw: officers.authorize(gw.db, gw.cipher, tai_khoan="canbo.001"),
    )
    assert officer.platform_password.get_secret_value() == typed


def test_the_password_is_never_an_argument(env: dict[str, str], db_file: Path) -> None:
    result = lgsp(env, *register_args(1), "--platform-password", password(1))
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert rows(db_file, "SELECT * FROM officers") == []  # refused before anything ran


def test_register_refuses_bad_input_naming_the_field(env: dict[str, str], db_file: Path) -> None:
    env = {**env, "LGSP_OFFICER_PLATFORM_PASSWORD": password(1)}
    result = lgsp(env, *register_args(1, **{"--id-number": "003090000001"}))
    assert result.exit_code == 2
    assert "so_dinh_danh: 003 is not a province code" in result.stderr
    assert "003090000001" not in result.output
    assert rows(db_file, "SELECT * FROM officers") == []
    assert lgsp(env, *register_args(1)).exit_code == 0
    again = lgsp(env, *register_args(2, **{"--login": "canbo.001"}))
    assert again.exit_code == 2
    assert "an officer with login 'canbo.001' exists" in again.stderr


def test_lock_unlock_list_show(env: dict[str, str]) -> None:
    env = {**env, "LGSP_OFFICER_PLATFORM_PASSWORD": password(1)}
    assert lgsp(env, *register_args(1)).exit_code == 0
    assert lgsp(env, *register_args(2, **{"--unit": UNIT_B})).exit_code == 0

    locked = lgsp(env, "officers", "lock", "canbo.001", "--reason", "chuyển công tác")
    assert locked.exit_code == 0, locked.output
    assert "officer canbo.001 locked: chuyển công tác" in locked.stdout
    assert lgsp(env, "officers", "lock", "canbo.001").exit_code == 2  # --reason is required
    twice = lgsp(env, "officers", "lock", "canbo.001", "--reason", "lần nữa")
    assert twice.exit_code == 2
    assert "already locked" in twice.stderr

    listed = lgsp(env, "officers", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["LOGIN", "CODE", "NAME", "ID", "NUMBER", "UNIT", "STATUS"]
    assert lines[1].split()[0] == "canbo.002"
    assert lines[1].split()[-1] == "active"
    assert lines[2].split()[0] == "canbo.001"
    assert lines[2].split()[-1] == "locked"
    assert "001******001" in lines[2]
    assert len({line.index("001******") for line in lines[1:]}) == 1  # aligned
    only_locked = lgsp(env, "officers", "list", "--status", "locked", "--json")
    assert [o["tai_khoan"] for o in json.loads(only_locked.stdout)] == ["canbo.001"]
    by_unit = lgsp(env, "officers", "list", "--unit", UNIT_B, "--json")
    assert [o["tai_khoan"] for o in json.loads(by_unit.stdout)] == ["canbo.002"]

    unlocked = lgsp(env, "officers", "unlock", "canbo.001", "--reason", "nhận lại nhiệm vụ")
    assert unlocked.exit_code == 0
    shown = lgsp(env, "officers", "show", "canbo.001")
    assert shown.exit_code == 0
    assert "ID number     001******001" in shown.stdout
    assert "status        active" in shown.stdout
    history = shown.stdout.split("history:")[1]
    assert f"locked by {ACTOR}: chuyển công tác" in history
    assert f"unlocked by {ACTOR}: nhận lại nhiệm vụ" in history
    as_json = json.loads(lgsp(env, "officers", "show", "canbo.001", "--json").stdout)
    assert [e["kind"] for e in as_json["history"]] == ["registered", "locked", "unlocked"]

    missing = lgsp(env, "officers", "show", "canbo.404")
    assert missing.exit_code == 2
    assert "no officer with login 'canbo.404'" in missing.stderr


def test_update_and_set_credential(env: dict[str, str]) -> None:
    env = {**env, "LGSP_OFFICER_PLATFORM_PASSWORD": password(1)}
    assert lgsp(env, *register_args(1)).exit_code == 0
    updated = lgsp(
        env, "officers", "update", "canbo.001", "--unit", UNIT_B, "--reason", "điều chuyển"
    )
    assert updated.exit_code == 0, updated.output
    assert "officer canbo.001 updated: don_vi" in updated.stdout
    changed = lgsp(
        {**env, "LGSP_OFFICER_PLATFORM_PASSWORD": password(2)},
        "officers",
        "set-credential",
        "canbo.001",
        "--platform-user",
        "user002",
    )
    assert changed.exit_code == 0, changed.output
    officer = with_gateway(
        env,
        lambda gw: officers.authorize(gw.db, gw.cipher, tai_khoan="canbo.001"),
    )
    assert officer.platform_password.get_secret_value() == password(2)


def test_idle_lists_and_locks_with_apply(env: dict[str, str], db_file: Path) -> None:
    now = utcnow()

    async def seed(gw: Gateway) -> None:
        for n in (1, 2, 3):
            await register_officer(gw, n)
            await backdate(gw, f"canbo.{n:03d}", now - timedelta(days=800))
        await insert(
            gw,
            [
                lookup(gw, "canbo.001", now - timedelta(days=400)),
                lookup(gw, "canbo.002", now - timedelta(days=20)),
            ],
        )

    with_gateway(env, seed)
    listed = lgsp(env, "officers", "idle")
    assert listed.exit_code == 0, listed.output
    logins = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert logins == ["canbo.001", "canbo.003"]
    assert "2 officers idle (lock them with --apply)" in listed.stderr
    assert rows(db_file, "SELECT DISTINCT status FROM officers") == [("active",)]
    shorter = lgsp(env, "officers", "idle", "--days", "10", "--json")
    assert [i["tai_khoan"] for i in json.loads(shorter.stdout)] == [
        "canbo.001",
        "canbo.002",
        "canbo.003",
    ]

    applied = lgsp(env, "officers", "idle", "--apply")
    assert applied.exit_code == 0, applied.output
    assert "2 officers locked" in applied.stderr
    locked = rows(db_file, "SELECT tai_khoan, status_reason FROM officers WHERE status = 'locked'")
    assert sorted(login for login, _ in locked) == ["canbo.001", "canbo.003"]
    assert all("seed 004, Điều 8" in reason for _, reason in locked)
    assert "no idle officers" in lgsp(env, "officers", "idle").stdout


def test_spikes_scan_a_day_and_alerts_list_them(env: dict[str, str]) -> None:
    day = date(2026, 3, 20)

    async def seed(gw: Gateway) -> None:
        for n in (1, 2):
            await register_officer(gw, n)
            await backdate(gw, f"canbo.{n:03d}", local_noon(date(2025, 12, 1)))
        await insert(
            gw,
            [
                *daily_lookups(gw, "canbo.001", [2] * 28 + [40], last_day=day),
                *daily_lookups(gw, "canbo.002", [10] * 28 + [12], last_day=day),
            ],
        )

    with_gateway(env, seed)
    quiet = lgsp(env, "officers", "spikes", "--date", "2026-03-19")
    assert quiet.exit_code == 0, quiet.output
    assert "no spike on 2026-03-19" in quiet.stdout
    scanned = lgsp(env, "officers", "spikes", "--date", "2026-03-20")
    assert scanned.exit_code == 0, scanned.output
    (line,) = [ln for ln in scanned.stdout.splitlines() if "canbo." in ln]
    assert line.split()[2:5] == ["canbo.001", "median", "40"]
    assert "officer_lookup_spike" in scanned.stderr
    rescanned = lgsp(env, "officers", "spikes", "--date", "2026-03-20", "--json")
    assert rescanned.exit_code == 0, rescanned.output
    (spike,) = json.loads(rescanned.stdout)
    assert (spike["officer"], spike["day"], spike["count"]) == ("canbo.001", "2026-03-20", 40)
    assert (
        json.loads(lgsp(env, "officers", "spikes", "--date", "2026-03-19", "--json").stdout) == []
    )
    assert lgsp(env, "officers", "spikes", "--date", "20-03-2026").exit_code == 2

    alerts = lgsp(env, "officers", "alerts", "--open", "--json")
    (alert,) = json.loads(alerts.stdout)
    assert (alert["officer"], alert["day"], alert["count"]) == ("canbo.001", "2026-03-20", 40)
    acked = lgsp(env, "officers", "ack", str(alert["id"]), "--note", "đã xác minh")
    assert acked.exit_code == 0, acked.output
    assert f"acknowledged by {ACTOR}" in acked.stdout
    assert "no alerts" in lgsp(env, "officers", "alerts", "--open").stdout
    assert "canbo.001" in lgsp(env, "officers", "alerts").stdout


def test_report_dancu_prints_a_table_and_writes_csv(env: dict[str, str], tmp_path: Path) -> None:
    async def seed(gw: Gateway) -> None:
        await register_officer(gw, 1)
        await register_officer(gw, 2, don_vi=UNIT_B)
        await register_officer(gw, 3, don_vi=UNIT_B)
        day = date(2026, 3, 5)
        await insert(
            gw,
            [
                *daily_lookups(gw, "canbo.001", [4, 5], last_day=day),
                *daily_lookups(gw, "canbo.002", [2], last_day=day),
                lookup(gw, "canbo.002", local_noon(date(2026, 3, 6)), outcome="not-found"),
                lookup(gw, "canbo.003", local_noon(date(2026, 3, 6)), kind="refusal"),
                *daily_lookups(gw, "canbo.001", [7], last_day=date(2026, 4, 1)),  # April
            ],
        )

    with_gateway(env, seed)
    out = tmp_path / "usage.csv"
    result = lgsp(env, "report", "dancu", "--month", "2026-03", "--csv", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Population-database look-ups, 2026-03")
    assert lines[1].split()[-4:] == ["ANSWERED", "FAILED", "REFUSED", "TOTAL"]
    assert any(line.split()[-4:] == ["9", "0", "0", "9"] for line in lines if "canbo.001" in line)
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.split()[-4:] == ["11", "1", "1", "13"]
    subtotals = [line.split()[-4:] for line in lines if "subtotal" in line]
    assert sorted(subtotals) == sorted([["2", "1", "1", "4"], ["9", "0", "0", "9"]])
    assert len({len(line) for line in lines[1:]}) == 1  # the counts right-aligned
    assert f"CSV written to {out}" in result.stderr
    parsed = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["total"] for r in parsed if r["row"] == "total"] == ["13"]

    to_stdout = lgsp(env, "report", "dancu", "--month", "2026-03", "--csv", "-")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout.startswith("row,don_vi,tai_khoan")
    assert list(csv.DictReader(io.StringIO(to_stdout.stdout))) == parsed

    as_json = lgsp(env, "report", "dancu", "--month", "2026-03", "--json")
    assert as_json.exit_code == 0, as_json.output
    answer = json.loads(as_json.stdout)
    assert answer["month"] == "2026-03"
    assert datetime.fromisoformat(answer["start"]) < datetime.fromisoformat(answer["end"])
    assert answer["totals"] == {
        "officers": 3,
        "answered": 11,
        "failed": 1,
        "refused": 1,
        "total": 13,
    }
    logins = {r["tai_khoan"]: r for u in answer["units"] for r in u["rows"]}
    assert logins["canbo.001"]["answered"] == 9
    assert sorted(u["total"] for u in answer["units"]) == [4, 9]
    clash = lgsp(env, "report", "dancu", "--month", "2026-03", "--json", "--csv", "-")
    assert clash.exit_code == 2
    assert "not both" in clash.stderr

    bad = lgsp(env, "report", "dancu", "--month", "2026-3")
    assert bad.exit_code == 2
    assert "month: YYYY-MM" in bad.stderr

    # the quarterly report (seed 004, Điều 29.8.b): March is in the first quarter, April not
    quarter = lgsp(env, "report", "dancu", "--quarter", "2026-Q1")
    assert quarter.exit_code == 0, quarter.output
    assert quarter.stdout.startswith("Population-database look-ups, 2026-Q1")
    quarterly = next(line for line in quarter.stdout.splitlines() if line.startswith("TOTAL"))
    assert quarterly.split()[-4:] == ["11", "1", "1", "13"]
    second = lgsp(env, "report", "dancu", "--quarter", "2026-Q2", "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(second.stdout)))
    assert [r["total"] for r in rows if r["row"] == "total"] == ["7"]
    assert lgsp(env, "report", "dancu", "--quarter", "2026-Q5").exit_code == 2
    both = lgsp(env, "report", "dancu", "--quarter", "2026-Q1", "--month", "2026-03")
    assert both.exit_code == 2


def test_help_lists_the_new_commands(env: dict[str, str]) -> None:
    result = lgsp(env, "officers", "--help")
    assert result.exit_code == 0
    for command in ("register", "lock", "unlock", "list", "show", "idle", "spikes", "alerts"):
        assert command in result.stdout
    assert "dancu" in lgsp(env, "report", "--help").stdout
