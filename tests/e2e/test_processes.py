"""`lgsp serve --processes 2`: several server processes on one port and one database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import (
    create_client_key,
    free_port,
    gateway_env,
    running,
    sandbox,
)
from tests.factories import dossier

pytestmark = pytest.mark.slow


def test_two_processes_share_the_work(tmp_path: Path) -> None:
    sandbox_port, port = free_port(), free_port()
    env = gateway_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/multi.db", sandbox_port=sandbox_port
    )
    key = create_client_key(env, "multi", ["dvcqg:sync", "ops:read"])
    with (
        sandbox(env, tmp_path, sandbox_port) as sim,
        running(
            "multi", ["serve", "--port", str(port), "--processes", "2"], env, tmp_path, "/healthz"
        ) as server,
    ):
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as api:
            for n in range(1, 41):
                r = api.post("/v1/dvcqg/dossiers", json=dossier(n))
                assert r.status_code == 202, r.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                health = api.get("/v1/connectors").json()["connectors"][0]
                if sum(health["outbox"].values()) == 0:
                    break
                time.sleep(0.2)
            held = httpx.get(f"{sim.base_url}/dvcqg/_sandbox/dossiers", timeout=10).json()
            assert len(held) == 40
            assert all(record["history"] == [2] for record in held.values())
            children = subprocess.run(
                ["pgrep", "-P", str(server.popen.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            assert len(children) >= 2, children  # the processes really are several
        assert server.terminate() == 0, server.stderr_tail()
        # and they all go with the parent (they may take a moment to notice it went)
        deadline = time.monotonic() + 15
        lingering = children
        while lingering and time.monotonic() < deadline:
            lingering = [p for p in children if Path(f"/proc/{p}").exists() and not _zombie(p)]
            time.sleep(0.1)
        assert not lingering, lingering


def test_the_server_processes_end_with_a_killed_supervisor(tmp_path: Path) -> None:
    # SIGKILL gives the supervisor no chance to stop them: they must notice on their own
    port = free_port()
    env = gateway_env(database_url=f"sqlite+aiosqlite:///{tmp_path}/multi.db", sandbox_port=1)
    with running(
        "multi",
        ["serve", "--port", str(port), "--processes", "2", "--no-workers"],
        env,
        tmp_path,
        "/healthz",
    ) as server:
        children = subprocess.run(
            ["pgrep", "-P", str(server.popen.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2, children
        server.kill()
        deadline = time.monotonic() + 60  # a bound, not a race: they go at once on SIGTERM
        lingering = children
        while lingering and time.monotonic() < deadline:
            lingering = [p for p in children if Path(f"/proc/{p}").exists() and not _zombie(p)]
            time.sleep(0.1)
        assert not lingering, lingering


def _zombie(pid: str) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
