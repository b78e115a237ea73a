"""The ``lgsp`` command as an operator runs it: real SQLite files, configuration by environment.

Each test has its own database file. Commands run through click's ``CliRunner``; the
command builds its own runtime and event loop, exactly as from a shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.core.delivery import outbox
from gateway.core.delivery.intake import accept_delivery
from gateway.core.runtime import Gateway
from gateway.core.store import migrate
from gateway.sandbox import create_sandbox_app
from tests.conftest import make_settings
from tests.factories import dossier, ma_ho_so

T = TypeVar("T")


pytestmark = pytest.mark.usefixtures("restore_logging")


def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a thread of its own: the commands call ``asyncio.run``, which on the main
    thread would replace (and orphan, unclosed) the event loop pytest-asyncio left current."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def lgsp(env: dict[str, str], *args: str) -> Result:
    return in_thread(CliRunner().invoke, main, list(args), env=env)


def rows(db_file: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        return list(conn.execute(sql, params).fetchall())


# --- db, clients, help ------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(env: dict[str, str], db_file: Path) -> None:
    for _ in range(2):
        result = lgsp(env, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "database is at the latest schema" in result.output
    tables = {r[0] for r in rows(db_file, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "exchange_entries", "checkpoints", "outbox", "api_clients"} <= tables
    assert len(rows(db_file, "SELECT version_num FROM alembic_version")) == 1


def test_clients_create_prints_the_key_once_and_stores_its_hash(
    env: dict[str, str], db_file: Path
) -> None:
    result = lgsp(env, "clients", "create", "mot-cua-tinh", "--scope", "dvcqg:sync")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("lgsp_")
    assert "\n" not in key  # stdout carries the key alone, for scripts
    assert result.output.count(key) == 1
    assert "shown once" in result.stderr

    (row,) = rows(db_file, "SELECT * FROM api_clients WHERE name = ?", "mot-cua-tinh")
    assert all(key not in str(value) for value in row)
    hashes = rows(db_file, "SELECT key_hash, scopes FROM api_clients")
    assert hashes == [(hashlib.sha256(key.encode()).hexdigest(), '["dvcqg:sync"]')]

    # a second client gets another key
    other = lgsp(env, "clients", "create", "he-thong-khac", "--scope", "audit:read")
    assert other.exit_code == 0, other.output
    assert other.stdout.strip() != key


def test_clients_create_refuses_unknown_scopes_and_duplicates(
    env: dict[str, str], db_file: Path
) -> None:
    result = lgsp(env, "clients", "create", "mot-cua", "--scope", "dvcqg:everything")
    assert result.exit_code == 2
    assert "unknown scopes: dvcqg:everything" in result.stderr
    assert "known scopes:" in result.stderr
    assert "lgsp_" not in result.output
    assert rows(db_file, "SELECT name FROM api_clients") == []

    assert lgsp(env, "clients", "create", "mot-cua", "--scope", "dvcqg:sync").exit_code == 0
    again = lgsp(env, "clients", "create", "mot-cua", "--scope", "dvcqg:read")
    assert again.exit_code == 2
    assert "a client named 'mot-cua' exists" in again.stderr
    assert "lgsp_" not in again.output
    assert rows(db_file, "SELECT scopes FROM api_clients") == [('["dvcqg:sync"]',)]

    missing = lgsp(env, "clients", "create", "khac")
    assert missing.exit_code == 2
    assert "--scope" in missing.output


def test_help_lists_every_command(env: dict[str, str]) -> None:
    result = lgsp(env, "--help")
    assert result.exit_code == 0
    listed = {
        line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()
    }
    expected = {"serve", "worker", "sandbox", "demo", "db", "clients", "connectors", "dlq"}
    assert expected | {"audit"} <= listed


# --- connectors -------------------------------------------------------------------------------


def test_connectors_list_names_dvcqg(env: dict[str, str]) -> None:
    result = lgsp(env, "connectors", "list")
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("dvcqg")]
    assert "circuit=closed" in line
    assert "transport=direct" in line
    assert "sync_dossier" in line


def test_connectors_list_shows_a_connector_going_through_the_lgsp(env: dict[str, str]) -> None:
    result = lgsp({**env, "LGSP_CONNECTORS__PAYMENT__TRANSPORT": "lgsp"}, "connectors", "list")
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("payment")]
    assert "transport=lgsp" in line


def test_connectors_check_fails_clearly_when_nothing_listens(
    env: dict[str, str], db_file: Path
) -> None:
    env = {**env, "LGSP_CONNECTORS__DVCQG__BASE_URL": "http://127.0.0.1:9"}
    result = lgsp(env, "connectors", "check", "dvcqg")
    assert result.exit_code == 1, result.output
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("dvcqg:")]
    assert line.startswith("dvcqg: FAILED")
    reason = line.split(")", 1)[1].strip()
    assert reason, "the failure gives a reason"
    assert "Error" in reason
    assert "Traceback" not in result.output
    # each try is in the exchange log, even on a database nobody upgraded yet
    attempts = rows(db_file, "SELECT kind, outcome, detail FROM exchange_entries")
    assert attempts
    assert all(kind == "attempt" for kind, _, _ in attempts)
    assert all(outcome.startswith("error:") for _, outcome, _ in attempts)
    assert all("http://127.0.0.1:9/" in detail for _, _, detail in attempts)


def test_connectors_check_unknown_slug(env: dict[str, str]) -> None:
    result = lgsp(env, "connectors", "check", "khong-co")
    assert result.exit_code == 2
    assert "no connector 'khong-co'" in result.stderr


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The simulators under a real uvicorn server on a free port, in a thread of their own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_sandbox_app(),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the sandbox server did not start"
        assert time.monotonic() < deadline, "the sandbox server did not start in time"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def test_connectors_check_passes_against_the_simulator(
    env: dict[str, str], db_file: Path, sandbox_url: str
) -> None:
    env = {**env, "LGSP_CONNECTORS__DVCQG__BASE_URL": f"{sandbox_url}/dvcqg"}
    result = lgsp(env, "connectors", "check", "dvcqg")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dvcqg: ok")
    assert "procedures in the catalogue" in result.stdout
    assert "Traceback" not in result.output
    calls = rows(db_file, "SELECT kind, status_code FROM exchange_entries")
    assert len(calls) >= 2  # authenticate, then the catalogue
    assert set(calls) == {("attempt", 200)}


# --- dead letters -----------------------------------------------------------------------------


def bury(database_url: str, *numbers: int) -> list[str]:
    """Accept one dossier per number and dead-letter its delivery; returns the exchange ids."""

    async def run() -> list[str]:
        gw = Gateway(make_settings(database_url))
        try:
            await migrate.upgrade(gw.db.engine)
            for n in numbers:
                await accept_delivery(
                    gw,
                    client="mot-cua-tinh",
                    connector="dvcqg",
                    operation="sync_dossier",
                    ordering_key=f"dvcqg:{ma_ho_so(n)}",
                    payload=dossier(n),
                    request_body=json.dumps(dossier(n)).encode(),
                    ma_ho_so=ma_ho_so(n),
                )
            items = await outbox.claim(gw.db, owner="test", limit=100, lease_seconds=60)
            assert len(items) == len(numbers)
            for item in items:
                reason = f"PermanentUpstreamError: portal refused {item.ma_ho_so} (code 98)"
                assert await outbox.mark_dead(gw.db, item, "test", reason=reason)
            return [i.exchange_id for i in items]
        finally:
            await gw.aclose()

    return in_thread(asyncio.run, run())


def statuses(db_file: Path) -> dict[str, str]:
    return dict(rows(db_file, "SELECT exchange_id, status FROM outbox"))


def test_dlq_list_replay_and_skip(env: dict[str, str], db_file: Path) -> None:
    empty = lgsp(env, "dlq", "list")
    assert empty.exit_code == 0, empty.output
    assert "no dead letters" in empty.output

    first, second, third = bury(env["LGSP_DATABASE_URL"], 1, 2, 3)
    listed = lgsp(env, "dlq", "list")
    assert listed.exit_code == 0, listed.output
    assert "no dead letters" not in listed.output
    for exchange_id in (first, second, third):
        assert exchange_id in listed.output
    assert f"reason: PermanentUpstreamError: portal refused {ma_ho_so(1)} (code 98)" in (
        listed.output
    )
    assert "dvcqg/sync_dossier" in listed.output
    assert "attempts=1" in listed.output

    # one by exchange id
    replayed = lgsp(env, "dlq", "replay", first)
    assert replayed.exit_code == 0, replayed.output
    assert f"{first} queued again" in replayed.output
    assert statuses(db_file)[first] == "queued"
    assert first not in lgsp(env, "dlq", "list").output
    # replaying what is no longer dead is refused clearly
    twice = lgsp(env, "dlq", "replay", first)
    assert twice.exit_code == 2
    assert "is queued, not dead" in twice.stderr

    # one given up, with its reason kept
    skipped = lgsp(env, "dlq", "skip", second, "--reason", "hồ sơ đã hủy theo yêu cầu")
    assert skipped.exit_code == 0, skipped.output
    assert f"{second} skipped" in skipped.output
    assert statuses(db_file)[second] == "skipped"
    (error,) = rows(db_file, "SELECT last_error FROM outbox WHERE exchange_id = ?", second)
    assert "hồ sơ đã hủy theo yêu cầu" in error[0]

    # the rest at once
    everything = lgsp(env, "dlq", "replay", "--all")
    assert everything.exit_code == 0, everything.output
    assert "1 dead letters queued again" in everything.output
    assert statuses(db_file) == {first: "queued", second: "skipped", third: "queued"}
    assert "no dead letters" in lgsp(env, "dlq", "list").output

    missing = lgsp(env, "dlq", "replay", "999999")
    assert missing.exit_code == 2
    assert "no outbox item 999999" in missing.stderr


def test_dlq_replay_needs_an_id_or_all(env: dict[str, str]) -> None:
    for args in ((), ("some-id", "--all")):
        result = lgsp(env, "dlq", "replay", *args)
        assert result.exit_code == 2
        assert "give either an ID or --all" in result.output


def test_dlq_skip_needs_a_reason(env: dict[str, str]) -> None:
    result = lgsp(env, "dlq", "skip", "1")
    assert result.exit_code == 2
    assert "--reason" in result.output


# --- audit ------------------------------------------------------------------------------------


def test_audit_seal_export_and_offline_verify(
    env: dict[str, str], db_file: Path, tmp_path: Path
) -> None:
    bury(env["LGSP_DATABASE_URL"], 1, 2, 3, 4)
    sealed = lgsp(env, "audit", "seal")
    assert sealed.exit_code == 0, sealed.output
    assert "4 entries sealed" in sealed.output
    assert lgsp(env, "audit", "seal").output.strip().endswith("0 entries sealed")

    out = tmp_path / "export"
    exported = lgsp(env, "audit", "export", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert f"4 entries exported to {out}" in exported.output
    assert len((out / "entries.jsonl").read_text(encoding="utf-8").splitlines()) == 4

    untrusted = lgsp(env, "audit", "verify", "--from-export", str(out))
    assert untrusted.exit_code == 1
    assert "untrusted-key" in untrusted.output
    # the auditor holds the province's key from elsewhere (here: the development key)
    key = (out / "public_key.txt").read_text().strip()
    offline = lgsp(env, "audit", "verify", "--from-export", str(out), "--public-key", key)
    assert offline.exit_code == 0, offline.output
    assert "chain intact: 4 entries, 1 signed checkpoints" in offline.output

    # verify --export writes the verified chain too
    again = tmp_path / "again"
    live = lgsp(env, "audit", "verify", "--export", str(again))
    assert live.exit_code == 0, live.output
    assert (again / "entries.jsonl").read_text() == (out / "entries.jsonl").read_text()

    # the offline verifier is no rubber stamp: drop the first entry of the export
    lines = (out / "entries.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "entries.jsonl").write_text("".join(lines[1:]), encoding="utf-8")
    broken = lgsp(env, "audit", "verify", "--from-export", str(out), "--json", "--public-key", key)
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert report["problem"]["kind"] == "missing"
    assert report["problem"]["seq"] == 1


def test_only_db_upgrade_migrates(bare_env: dict[str, str], db_file: Path) -> None:
    """Other commands say the schema is missing or behind, in one line, and change nothing."""
    refused = lgsp(bare_env, "clients", "create", "mot-cua", "--scope", "dvcqg:sync")
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        f"error: the database of LGSP_DATABASE_URL (sqlite+aiosqlite:///{db_file}) has no "
        "schema yet: run `lgsp db upgrade`"
    ]
    assert rows(db_file, "SELECT name FROM sqlite_master WHERE type = 'table'") == []
    # a worker (with migrations off, as on PostgreSQL by default) will not start on it either
    worker = lgsp({**bare_env, "LGSP_AUTO_MIGRATE": "false"}, "worker")
    assert worker.exit_code == 2
    assert "has no schema yet: run `lgsp db upgrade`" in worker.output
    assert "Traceback" not in worker.output

    # a schema one migration behind is named with both revisions
    head = migrate.head_revision()
    behind = lgsp(bare_env, "db", "upgrade")
    assert behind.exit_code == 0, behind.output
    assert rows(db_file, "SELECT version_num FROM alembic_version") == [(head,)]
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0013'")
        conn.commit()
    stale = lgsp(bare_env, "dlq", "list")
    assert stale.exit_code == 2
    assert f"is at schema revision 0013, this gateway needs {head}: run `lgsp db upgrade`" in (
        stale.output
    )
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
    newer = lgsp(bare_env, "dlq", "list")
    assert newer.exit_code == 2
    assert "which this gateway does not know" in newer.output


def test_who_migrates_at_start() -> None:
    """``serve`` migrates the embedded SQLite; on PostgreSQL only when told to."""
    sqlite = make_settings("sqlite+aiosqlite:///x.db", auto_migrate=None)
    postgres = make_settings("postgresql+asyncpg://u@h/db", auto_migrate=None)
    assert sqlite.migrates_at_start
    assert not postgres.migrates_at_start
    assert make_settings("postgresql+asyncpg://u@h/db", auto_migrate=True).migrates_at_start
    assert not make_settings("sqlite+aiosqlite:///x.db", auto_migrate=False).migrates_at_start


def test_audit_verify_on_an_uninitialised_database_exits_2_clearly(
    bare_env: dict[str, str],
) -> None:
    result = lgsp(bare_env, "audit", "verify")
    assert result.exit_code == 2  # not 1, which means "the chain is broken"
    assert "lgsp db upgrade" in result.output
    assert "Traceback" not in result.output


# --- LGSP_CONNECTORS_OFF ----------------------------------------------------------------------


def test_connectors_list_shows_an_off_connector_as_off(env: dict[str, str]) -> None:
    result = lgsp({**env, "LGSP_CONNECTORS_OFF": "qlvb,emc"}, "connectors", "list")
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("qlvb")]
    assert "off (LGSP_CONNECTORS_OFF)" in line
    assert "circuit=" not in line
    as_json = lgsp({**env, "LGSP_CONNECTORS_OFF": '["qlvb"]'}, "connectors", "list", "--json")
    assert as_json.exit_code == 0, as_json.output
    answer = json.loads(as_json.stdout)
    assert [c["slug"] for c in answer["off"]] == ["qlvb"]
    assert "qlvb" not in {c["slug"] for c in answer["connectors"]}


def test_connectors_check_of_an_off_connector_exits_2(env: dict[str, str]) -> None:
    result = lgsp({**env, "LGSP_CONNECTORS_OFF": "qlvb"}, "connectors", "check", "qlvb")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: the connector 'qlvb' is off (LGSP_CONNECTORS_OFF); remove it from that list "
        "once the platform is connected"
    ]
    assert "Traceback" not in result.output


def test_a_command_of_an_off_connector_fails_in_one_line(env: dict[str, str]) -> None:
    result = lgsp({**env, "LGSP_CONNECTORS_OFF": "emc"}, "report", "emc")
    assert result.exit_code == 2
    assert "error: the connector 'emc' is off" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_slug_off_stops_the_command(env: dict[str, str]) -> None:
    result = lgsp({**env, "LGSP_CONNECTORS_OFF": "nowhere"}, "connectors", "list")
    assert result.exit_code == 2
    assert "LGSP_CONNECTORS_OFF: no connector ['nowhere']" in result.stderr
