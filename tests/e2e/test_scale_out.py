"""Scale-out on one machine, as a province runs it (issue 19): two API processes and two worker
processes on one PostgreSQL and one Redis, a worker killed by SIGKILL and an API process
restarted while the case system sends a burst.

The case system sends every dossier's stages in order (each only after the previous one was
answered 202), spread over both APIs as a load balancer would, with an ``Idempotency-Key`` per
packet; while an API process is away its share goes to the other. Halfway through, one worker
dies by SIGKILL (its leases run out and the other worker takes its items over; a new worker
replaces it) and one API process is restarted (taken out of the rotation, stopped by SIGTERM,
started again on the same port). Then: every accepted packet reached the portal once in effect,
in the order accepted per dossier; every process's metrics add up (the APIs' 202s to what the
case system was answered, the workers' deliveries to what was delivered, the database gauges
at 0 from every API); the exchange log verifies; and every line every process wrote is one JSON
object.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_UP, fresh_pg_database, own_redis_db
from tests.e2e import procs
from tests.e2e.test_crash import CODE, STAGES, wait_drained
from tests.factories import dossier, ma_ho_so

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DOSSIERS = 60
CONCURRENCY = 12
#: the portal is a little slow, so that deliveries are in flight when the worker dies
PORTAL = {"latency_ms": 15, "seed": 7}
#: the worker dies once the portal has applied this share of the packets, and the API process
#: is restarted once this one has
KILL_AT, RESTART_AT = 0.2, 0.35
SCOPES = ("dvcqg:sync", "dvcqg:read", "ops:read")


@pytest.fixture
def scale_pg_url() -> Iterator[str]:
    if not REDIS_UP:
        pytest.skip("Redis not reachable: the processes share breakers and limits through it")
    with fresh_pg_database("lgsp_scale") as url:
        yield url


@pytest.fixture
def scale_redis_url() -> Iterator[str]:
    """A Redis database of its own: its processes use the gateway's default key prefix."""
    with own_redis_db("scale-out") as url:
        yield url


@dataclass
class Api:
    """One API process behind the case system's load balancer, and what it answered."""

    name: str
    proc: procs.Process
    #: answered 202, counted by the case system, per incarnation of the process
    answered: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    in_rotation: bool = True
    incarnation: int = 1

    @property
    def label(self) -> str:
        return f"{self.name}#{self.incarnation}"


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        sample, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def stopped(proc: procs.Process) -> bool:
    """SIGTERM, and a clean stop: exit 0, or uvicorn's re-raised SIGTERM after its graceful
    shutdown; no error line on the way."""
    rc = proc.terminate()
    assert rc in (0, -15), f"{proc.name} exited with {rc}:\n{proc.stderr_tail()}"
    tail = proc.stderr_tail(200)
    assert '"level": "error"' not in tail, tail
    return True


def scrape(proc: procs.Process) -> str:
    return httpx.get(f"{proc.base_url}/metrics", timeout=10).text


async def send_burst(apis: list[Api], key: str) -> dict[int, list[str]]:
    """Every dossier's stages in order; each packet to the API its dossier hashes to, or the
    other one while that one is out of rotation or does not answer; an answer lost is sent
    again with the same Idempotency-Key (accepted once)."""
    accepted: dict[int, list[str]] = {n: [] for n in range(1, DOSSIERS + 1)}
    slots = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {key}"}

    async def post(client: httpx.AsyncClient, n: int, stage: str) -> None:
        preferred = apis[n % len(apis)]
        for attempt in range(200):
            candidates = [preferred, *(a for a in apis if a is not preferred)]
            api = next((a for a in candidates if a.in_rotation), None)
            if api is None:
                await asyncio.sleep(0.05)
                continue
            label = api.label
            api.in_flight += 1
            try:
                r = await client.post(
                    f"{api.proc.base_url}/v1/dvcqg/dossiers",
                    json=dossier(n, trang_thai=stage),
                    headers={**headers, "Idempotency-Key": f"{ma_ho_so(n)}:{stage}"},
                )
            except httpx.TransportError:
                await asyncio.sleep(0.05 * min(attempt + 1, 10))
                continue
            finally:
                api.in_flight -= 1
            assert r.status_code == 202, f"{ma_ho_so(n)} {stage}: {r.status_code} {r.text}"
            api.answered[label] += 1
            return
        raise AssertionError(f"{ma_ho_so(n)} {stage}: no API accepted it")

    async def one(client: httpx.AsyncClient, n: int) -> None:
        for stage in STAGES:
            async with slots:
                await post(client, n, stage)
            accepted[n].append(stage)

    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30.0, pool=None)) as client,
        asyncio.TaskGroup() as group,
    ):
        for n in accepted:
            group.create_task(one(client, n))
    return accepted


async def applied(sim: httpx.AsyncClient) -> int:
    return int((await sim.get("/dvcqg/_sandbox/stats")).json()["applied"])


async def wait_applied(sim: httpx.AsyncClient, at_least: int, *, deadline: float) -> None:
    while await applied(sim) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"the portal applied fewer than {at_least} packets in time")
        await asyncio.sleep(0.05)  # a request to the simulator per poll: 20 a second suffice


async def test_two_apis_two_workers_a_kill_and_a_restart_during_a_burst(
    tmp_path: Path, scale_pg_url: str, scale_redis_url: str
) -> None:
    total = DOSSIERS * len(STAGES)
    sandbox_port = procs.free_port()
    env = procs.gateway_env(
        database_url=scale_pg_url,
        sandbox_port=sandbox_port,
        extra={
            "LGSP_REDIS_URL": scale_redis_url,
            "LGSP_LOG_JSON": "true",
            "LGSP_LOG_LEVEL": "INFO",
            "LGSP_DELIVERY__WORKERS": "2",
        },
    )
    logs = tmp_path / "logs"
    started: list[procs.Process] = []

    def keep(proc: procs.Process) -> procs.Process:
        started.append(proc)
        return proc

    def api_process(name: str, port: int) -> procs.Process:
        args = ["serve", "--no-workers", "--port", str(port)]
        return keep(procs.start(name, args, env, logs, "/readyz"))

    try:
        with procs.sandbox(env, logs, sandbox_port) as sandbox:
            async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30.0) as sim:
                key = procs.create_client_key(env, "scale", SCOPES)
                apis = [
                    Api("api-1", api_process("api-1", procs.free_port())),
                    Api("api-2", api_process("api-2", procs.free_port())),
                ]
                worker_1 = keep(procs.start_worker("worker-1", env, logs))
                worker_2 = keep(procs.start_worker("worker-2", env, logs))
                assert (await sim.put("/dvcqg/_sandbox/faults", json=PORTAL)).status_code == 200

                burst = asyncio.create_task(send_burst(apis, key))
                deadline = time.monotonic() + 240

                # one worker dies mid-delivery: what it last reported, then SIGKILL
                await wait_applied(sim, int(total * KILL_AT), deadline=deadline)
                killed_reported = metric(
                    scrape(worker_1), "lgsp_deliveries_total", outcome="delivered"
                )
                assert worker_1.kill() == -9
                replacement = keep(procs.start_worker("worker-1b", env, logs))

                # one API process restarted: out of the rotation, its requests finished, its
                # figures read, SIGTERM, started again on the same port, back in the rotation
                await wait_applied(sim, int(total * RESTART_AT), deadline=deadline)
                leaving = apis[1]
                leaving.in_rotation = False
                while leaving.in_flight:
                    await asyncio.sleep(0.01)
                figures = scrape(leaving.proc)
                api_202 = {
                    leaving.label: metric(
                        figures,
                        "lgsp_http_requests_total",
                        method="POST",
                        route="/v1/dvcqg/dossiers",
                        status="202",
                    )
                }
                assert stopped(leaving.proc)
                leaving.proc = api_process("api-2b", leaving.proc.port)
                leaving.incarnation += 1
                leaving.in_rotation = True

                accepted = await asyncio.wait_for(burst, timeout=300)
                assert sum(len(stages) for stages in accepted.values()) == total
                await wait_drained(apis[0].proc.base_url, key, deadline_seconds=240)
                held: dict[str, Any] = (await sim.get("/dvcqg/_sandbox/dossiers")).json()
                stats: dict[str, Any] = (await sim.get("/dvcqg/_sandbox/stats")).json()

                # --- the metrics of every process add up ---------------------------------
                for api in apis:
                    figures = scrape(api.proc)
                    api_202[api.label] = metric(
                        figures,
                        "lgsp_http_requests_total",
                        method="POST",
                        route="/v1/dvcqg/dossiers",
                        status="202",
                    )
                    # the database's gauges, exact from every process and back to 0
                    for status in ("queued", "delivering", "failed", "dead"):
                        assert (
                            metric(figures, "lgsp_outbox_items", connector="dvcqg", status=status)
                            == 0
                        ), (api.label, status)
                    assert (
                        metric(figures, "lgsp_outbox_oldest_pending_seconds", connector="dvcqg")
                        == 0
                    )
                answered = Counter[str]()
                for api in apis:
                    answered.update(api.answered)
                # each API process answered 202 exactly as often as the case system was told
                assert api_202 == {label: float(count) for label, count in answered.items()}
                assert sum(api_202.values()) == total
                survivors = sum(
                    metric(scrape(w), "lgsp_deliveries_total", outcome="delivered")
                    for w in (worker_2, replacement)
                )
                # the dead worker settled at least what it last reported, and the survivors
                # the rest: no delivery counted twice, none settled by nobody
                assert killed_reported > 0, "the worker died before delivering anything"
                assert killed_reported + survivors <= total
                assert survivors > 0, "the other workers delivered nothing after the kill"
                for proc in (worker_2, replacement, *(a.proc for a in apis)):
                    assert stopped(proc)

        # --- every accepted packet once in effect, in order, per dossier -----------------------
        wrong = [
            f"{ma_ho_so(n)}: portal history {held.get(ma_ho_so(n), {}).get('history')}"
            for n, stages in accepted.items()
            if held.get(ma_ho_so(n), {}).get("history") != [CODE[s] for s in stages]
        ]
        assert not wrong, f"{len(wrong)} dossiers differ, e.g.:\n" + "\n".join(wrong[:10])
        assert stats["applied"] == total, stats

        verify = procs.run_lgsp(env, "audit", "verify")
        assert verify.returncode == 0, f"audit verify failed:\n{verify.stdout}\n{verify.stderr}"
        assert "chain intact" in verify.stdout

        # --- every line every gateway process wrote is one JSON object ------------------------
        plain = []
        for proc in started:
            for line in proc.stderr_path.read_text(encoding="utf-8").splitlines():
                try:
                    assert isinstance(json.loads(line), dict)
                except (ValueError, AssertionError):
                    plain.append(f"{proc.name}: {line[:200]}")
        assert not plain, "lines that are not one JSON object:\n" + "\n".join(plain[:10])
    finally:
        for proc in started:
            proc.close()
