"""The crash test: SIGKILL the server mid-delivery, restart it, lose and repeat nothing.

Real processes: ``lgsp sandbox`` plays DVCQG and ``lgsp serve`` is the gateway, configured
only through ``LGSP_*`` variables. The portal is down (every call answered 503) while the case
system sends thousands of dossier updates, concurrently across dossiers but, per dossier,
each stage only after the previous one was answered 202; so the outbox fills up as it does in
a real outage. The portal comes back slow and flaky (latency, 503s, answers dropped *after* the
packet was applied), the gateway catches up, and halfway through it gets SIGKILL: no shutdown
hook, leases left behind, packets applied whose answer never arrived. It is restarted on the
same database and must finish the job: every dossier's history on the portal is exactly its
accepted stages, in order, each once in effect (at-least-once delivery plus the portal's
de-duplication, per-dossier FIFO order across the crash, nothing lost). The exchange log must
still verify.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_UP, fresh_pg_database, own_redis_db
from tests.e2e import procs
from tests.factories import LIFE, LIFE_CODES, dossier, ma_ho_so

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: the life of a dossier as sent here: LIFE without its second ``dang_xu_ly``
STAGES = ("da_tiep_nhan", "dang_xu_ly", "yeu_cau_bo_sung", "da_xu_ly", "da_tra_ket_qua")
CODE = dict(zip(LIFE, LIFE_CODES, strict=True))
SCOPES = ("dvcqg:sync", "dvcqg:read", "ops:read")
#: the portal is down: every call is refused with 503 before anything is applied
OUTAGE = {"error_rate": 1.0}
#: the portal is back, slow and flaky: a drop comes *after* the packet was applied, so the
#: gateway must resend something already applied; the seed makes the fault draws repeatable
FLAKY = {"latency_ms": 2, "drop_rate": 0.02, "error_rate": 0.02, "seed": 2024}
CONCURRENCY = 32
#: the kill comes once the portal has applied this share of the packets
KILL_AT = 0.15
DRAIN_DEADLINE_SECONDS = 240.0


@dataclass
class Report:
    backend: str
    packets: int = 0
    applied_at_kill: int = 0
    duplicates: int = 0
    faults_injected: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        timings = " ".join(f"{k}={v:.1f}s" for k, v in self.seconds.items())
        return (
            f"crash test [{self.backend}]: {self.packets} packets accepted; SIGKILL came with "
            f"{self.applied_at_kill} applied and {self.packets - self.applied_at_kill} still "
            f"to deliver; the portal de-duplicated {self.duplicates} redeliveries; "
            f"{self.faults_injected} faults injected; {timings}"
        )


async def send_stages(base_url: str, key: str, dossiers: range) -> dict[int, list[str]]:
    """Send every dossier's stages in order, concurrently across dossiers.

    Returns, per dossier, the stages answered 202 (all of them: anything else fails the test).
    """
    accepted: dict[int, list[str]] = {n: [] for n in dossiers}
    slots = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Authorization": f"Bearer {key}"}

    async def one(client: httpx.AsyncClient, n: int) -> None:
        for stage in STAGES:
            async with slots:
                r = await client.post(
                    "/v1/dvcqg/dossiers", json=dossier(n, trang_thai=stage), headers=headers
                )
            assert r.status_code == 202, f"{ma_ho_so(n)} {stage}: {r.status_code} {r.text}"
            accepted[n].append(stage)

    timeout = httpx.Timeout(30.0, pool=None)
    async with (
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client,
        asyncio.TaskGroup() as group,
    ):
        for n in dossiers:
            group.create_task(one(client, n))
    return accepted


async def kill_when_applied(
    sim: httpx.AsyncClient, server: procs.Process, at_least: int, *, deadline: float
) -> dict[str, Any]:
    """SIGKILL ``server`` as soon as the portal has applied ``at_least`` packets."""
    while True:
        stats: dict[str, Any] = (await sim.get("/dvcqg/_sandbox/stats")).json()
        if stats["applied"] >= at_least:
            server.kill()
            return stats
        if time.monotonic() > deadline or not server.alive():
            raise AssertionError(
                f"the portal applied only {stats['applied']} packets before the deadline; "
                f"server alive: {server.alive()}\n{server.stderr_tail()}"
            )
        # every poll is a request the portal's simulator answers: 20 a second place the kill
        # within a few packets of the mark, with a third of the requests of 50 a second
        await asyncio.sleep(0.05)


async def wait_drained(base_url: str, key: str, *, deadline_seconds: float) -> dict[str, Any]:
    """Poll ``GET /v1/connectors`` until the DVCQG outbox is empty; fail on dead letters."""
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + deadline_seconds
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0) as client:
        while True:
            r = await client.get("/v1/connectors")
            assert r.status_code == 200, r.text
            health = next(c for c in r.json()["connectors"] if c["slug"] == "dvcqg")
            if health["dead_letters"]:
                dead = (await client.get("/v1/dlq", params={"limit": 5})).json()
                raise AssertionError(f"dead letters after the restart: {health} {dead}")
            if sum(health["outbox"].values()) == 0:
                return health
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the outbox did not drain within {deadline_seconds:.0f} s: {health}"
                )
            await asyncio.sleep(0.25)


async def crash_scenario(
    tmp_path: Path, database_url: str, *, dossiers: int, backend: str, extra_env: dict[str, str]
) -> Report:
    report = Report(backend)
    total = dossiers * len(STAGES)
    numbers = range(1, dossiers + 1)
    sandbox_port = procs.free_port()
    env = procs.gateway_env(database_url=database_url, sandbox_port=sandbox_port, extra=extra_env)
    logs = tmp_path / "logs"
    started = time.monotonic()

    with procs.sandbox(env, logs, sandbox_port) as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30.0) as sim:
            key = procs.create_client_key(env, "crash", SCOPES)

            # --- first life: accept during an outage, catch up, die by SIGKILL halfway -------
            with procs.server(env, logs, "server-1") as first:
                report.seconds["start"] = time.monotonic() - started
                t0 = time.monotonic()
                # the catalogue was loaded at start-up; from now on the portal is down
                assert (await sim.put("/dvcqg/_sandbox/faults", json=OUTAGE)).status_code == 200
                accepted = await send_stages(first.base_url, key, numbers)
                report.packets = sum(len(stages) for stages in accepted.values())
                assert report.packets == total
                report.seconds["accept"] = time.monotonic() - t0
                t0 = time.monotonic()
                assert (await sim.put("/dvcqg/_sandbox/faults", json=FLAKY)).status_code == 200
                stats = await kill_when_applied(
                    sim, first, int(total * KILL_AT), deadline=time.monotonic() + 120
                )
                report.applied_at_kill = stats["applied"]
                report.seconds["until_kill"] = time.monotonic() - t0
                assert first.popen.returncode == -9
            assert report.applied_at_kill < total // 2, (
                f"the kill came late ({report.applied_at_kill} of {total} applied)"
            )

            # --- second life: the same database; the leases of the first run out -------------
            with procs.server(env, logs, "server-2") as second:
                t0 = time.monotonic()
                await wait_drained(second.base_url, key, deadline_seconds=DRAIN_DEADLINE_SECONDS)
                report.seconds["restart_to_drained"] = time.monotonic() - t0
                rc = second.terminate()  # graceful: the sealer seals what is left
                assert rc in (0, -15), f"server-2 exited with {rc}:\n{second.stderr_tail()}"

            held: dict[str, Any] = (await sim.get("/dvcqg/_sandbox/dossiers")).json()
            final: dict[str, Any] = (await sim.get("/dvcqg/_sandbox/stats")).json()
    report.duplicates = final["duplicates"]
    report.faults_injected = final["faults_injected"]

    # every accepted packet reached the portal, once in effect, in the order accepted
    wrong = []
    for n in numbers:
        expected = [CODE[stage] for stage in accepted[n]]
        history = held.get(ma_ho_so(n), {}).get("history")
        if history != expected:
            wrong.append(f"{ma_ho_so(n)}: portal history {history}, accepted {expected}")
    assert not wrong, f"{len(wrong)} dossiers differ, e.g.:\n" + "\n".join(wrong[:10])
    assert len(held) == dossiers, f"the portal holds {len(held)} dossiers, sent {dossiers}"
    assert final["applied"] == total, final

    verify = procs.run_lgsp(env, "audit", "verify")
    assert verify.returncode == 0, f"audit verify failed:\n{verify.stdout}\n{verify.stderr}"
    assert "chain intact" in verify.stdout
    report.seconds["total"] = time.monotonic() - started
    return report


async def test_sigkill_mid_delivery_loses_and_repeats_nothing_sqlite(tmp_path: Path) -> None:
    report = await crash_scenario(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path}/crash.db",
        dossiers=400,
        backend="sqlite",
        extra_env={},
    )
    print(report.line())


@pytest.fixture
def crash_pg_url() -> Iterator[str]:
    """A database of its own: the session one may hold other tests' undelivered items."""
    with fresh_pg_database("lgsp_crash") as url:
        yield url


async def test_sigkill_mid_delivery_loses_and_repeats_nothing_postgresql(
    tmp_path: Path, crash_pg_url: str
) -> None:
    with contextlib.ExitStack() as stack:
        # its processes use the gateway's default key prefix (``lgsp:``): a database of its own
        extra = (
            {"LGSP_REDIS_URL": stack.enter_context(own_redis_db("crash-postgresql"))}
            if REDIS_UP
            else {}
        )
        report = await crash_scenario(
            tmp_path, crash_pg_url, dossiers=200, backend="postgresql", extra_env=extra
        )
    print(report.line())
