"""``--json`` on the core's list, show and report commands (one JSON document on stdout, the
fields of the matching API answer, times ISO-8601), and the progress bars of the long jobs:
drawn on standard error when it is a terminal, absent otherwise."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from gateway.core.log.audit import export_chain, verify_database
from gateway.core.runtime import Gateway
from tests.cli.test_cli import bury, in_thread, lgsp
from tests.conftest import make_settings
from tests.factories import ma_ho_so

pytestmark = pytest.mark.usefixtures("restore_logging")

ROOT = Path(__file__).resolve().parents[2]


def test_connectors_list_json_has_the_fields_of_the_api(env: dict[str, str]) -> None:
    result = lgsp(env, "connectors", "list", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer) == {"connectors", "off", "audit"}
    assert answer["off"] == []  # nothing left out by LGSP_CONNECTORS_OFF
    assert answer["audit"]["anchoring"]["configured"] in (True, False)
    by_slug = {c["slug"]: c for c in answer["connectors"]}
    dvcqg = by_slug["dvcqg"]
    assert dvcqg["circuit"] == "closed"
    assert dvcqg["transport"] == "direct"
    assert "sync_dossier" in dvcqg["operations"]
    for field in ("title", "error_rate", "latency_ms", "outbox", "dead_letters", "maintenance"):
        assert field in dvcqg
    # the human output is unchanged
    assert not lgsp(env, "connectors", "list").stdout.startswith("{")


def test_connectors_check_json_says_why_and_exits_1(env: dict[str, str]) -> None:
    env = {**env, "LGSP_CONNECTORS__DVCQG__BASE_URL": "http://127.0.0.1:9"}
    result = lgsp(env, "connectors", "check", "dvcqg", "--json")
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert answer["slug"] == "dvcqg"
    assert answer["ok"] is False
    assert "Error" in answer["detail"]
    assert isinstance(answer["latency_ms"], float | int)


def test_dlq_list_json(env: dict[str, str]) -> None:
    empty = lgsp(env, "dlq", "list", "--json")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout) == {"items": []}

    first, second = bury(env["LGSP_DATABASE_URL"], 1, 2)
    result = lgsp(env, "dlq", "list", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    assert [i["exchange_id"] for i in items] == [first, second]
    item = items[0]
    assert set(item) == {
        "id",
        "exchange_id",
        "connector",
        "operation",
        "ma_ho_so",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    }
    assert (item["connector"], item["operation"], item["status"]) == (
        "dvcqg",
        "sync_dossier",
        "dead",
    )
    assert item["ma_ho_so"] == ma_ho_so(1)
    assert item["attempts"] == 1
    assert "portal refused" in item["last_error"]
    datetime.fromisoformat(item["created_at"])
    datetime.fromisoformat(item["updated_at"])


def test_audit_seal_and_export_json(env: dict[str, str], tmp_path: Path) -> None:
    bury(env["LGSP_DATABASE_URL"], 1, 2, 3)
    sealed = lgsp(env, "audit", "seal", "--json")
    assert sealed.exit_code == 0, sealed.output
    assert json.loads(sealed.stdout) == {"sealed": 3}
    out = tmp_path / "export"
    exported = lgsp(env, "audit", "export", "--out", str(out), "--json")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout) == {"entries": 3, "out": str(out)}


# --- progress ---------------------------------------------------------------------------------


def test_the_hooks_are_called_once_per_page(env: dict[str, str], tmp_path: Path) -> None:
    bury(env["LGSP_DATABASE_URL"], 1, 2, 3, 4)
    assert lgsp(env, "audit", "seal").exit_code == 0
    verified: list[tuple[int, int]] = []
    exported: list[tuple[int, int]] = []

    async def run() -> tuple[bool, int]:
        gw = Gateway(make_settings(env["LGSP_DATABASE_URL"]))
        try:
            report = await verify_database(
                gw.db, gw.public_key, on_page=lambda *a: verified.append(a)
            )
            count = await export_chain(
                gw.db, tmp_path / "out", gw.public_key, on_page=lambda *a: exported.append(a)
            )
            return report.ok, count
        finally:
            await gw.aclose()

    ok, count = in_thread(asyncio.run, run())
    assert ok
    assert count == 4
    assert verified == [(4, 4)]  # one page of entries: one call
    assert exported == [(4, 4)]


def test_no_progress_when_stderr_is_not_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    bury(env["LGSP_DATABASE_URL"], 1, 2)
    assert lgsp(env, "audit", "seal").exit_code == 0
    verified = lgsp(env, "audit", "verify", "--export", str(tmp_path / "a"))
    assert verified.exit_code == 0, verified.output
    exported = lgsp(env, "audit", "export", "--out", str(tmp_path / "b"))
    assert exported.exit_code == 0, exported.output
    for result in (verified, exported):
        assert "verifying" not in result.output
        assert "exporting" not in result.output
        assert "%" not in result.stderr


def on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run ``lgsp ARGS`` in a process of its own whose standard error is a pseudo-terminal
    (standard output a pipe, as under a script); its exit code, stdout and what the terminal
    received."""
    master, slave = pty.openpty()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    full_env = {**inherited, **env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=full_env,
        cwd=ROOT,
    )
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    stdout, _ = proc.communicate(timeout=60)
    return proc.returncode, stdout.decode(), received.decode(errors="replace")


def test_progress_bars_on_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    bury(env["LGSP_DATABASE_URL"], 1, 2, 3)
    assert lgsp(env, "audit", "seal").exit_code == 0

    code, stdout, terminal = on_a_terminal(env, "audit", "verify")
    assert code == 0, terminal
    assert "verifying" in terminal
    assert "100%" in terminal
    assert "verifying" not in stdout  # standard output stays the report's alone

    code, stdout, terminal = on_a_terminal(env, "audit", "export", "--out", str(tmp_path / "x"))
    assert code == 0, terminal
    assert "exporting" in terminal
    assert "100%" in terminal
    assert stdout.startswith("3 entries exported to")

    # --json: still one JSON document on stdout, the bar on the terminal only
    code, stdout, terminal = on_a_terminal(env, "audit", "verify", "--json")
    assert code == 0, terminal
    assert json.loads(stdout)["ok"] is True
    assert "verifying" in terminal
