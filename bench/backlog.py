"""Benchmark: delivery cost as the backlog grows (the outbox claim at 100 to 100,000 queued).

For each backlog size N, on a fresh PostgreSQL database: the outbox is filled with N + warm-up +
drain genuine dossier packets (made by the gateway's own ``outbox.build``, encrypted with the
data key, so they decode; copied in with COPY), then a real ``lgsp worker`` process delivers them
to the DVCQG simulator (``lgsp sandbox``, a separate process). The first ``--warmup`` deliveries
(start-up, connections, caches) are not timed; the next ``--drain`` are. Printed per N:

- delivered/s over the timed part;
- worker CPU per delivered packet (utime + stime of the worker process, from ``/proc``);
- the simulator's and PostgreSQL's CPU per packet, and the simulator's share of all CPU spent
  (worker + simulator + the database's backends of this database);
- the worker's idle CPU per second (its timers: poll, sealer, gauges), measured after the
  timed drain with the rest of the queue parked (nothing due), and the worker's CPU per
  packet with that idle cost subtracted (what a packet costs by itself; at low rates the
  timers are spread over few packets);
- what 2 cores would deliver per second, derived (not measured) from the CPU per packet of
  worker + simulator + PostgreSQL: 2 / (their sum), and 2 / (worker + PostgreSQL) with the
  simulator elsewhere;
- ``EXPLAIN (ANALYZE, BUFFERS)`` of the claim statement with N items still queued, run in a
  transaction that is rolled back: the plan's shape and its execution time.

Usage: .venv/bin/python bench/backlog.py [--sizes 100,1000,10000,100000] [--drain 2000]
       [--warmup 300] [--idle 10] [--worker-tasks 2] [--batch-size 20] [--explain-only]
Prints its figures; it is not a test and asserts nothing. ``run_curve`` and ``main(argv)`` are
what ``bench/throughput.py`` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import LGSP, free_port, process, wait_http  # noqa: E402
from connectors.dvcqg.models import HoSo  # noqa: E402
from connectors.dvcqg.routes import dossier_ordering_key  # noqa: E402
from gateway.core.crypto import BodyCipher  # noqa: E402
from gateway.core.delivery import outbox  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.core.store.db import OutboxItem, utcnow  # noqa: E402
from tests.factories import dossier  # noqa: E402

ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


async def _admin(sql: str) -> None:
    engine = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def _rows(settings: Settings, count: int) -> list[tuple[Any, ...]]:
    """``count`` queued sync_dossier items, each its own dossier, as the API makes them."""
    cipher = BodyCipher(settings.data_key_id, settings.data_key_bytes())
    template = HoSo.model_validate(dossier(1)).model_dump(mode="json")
    columns = [c.name for c in OutboxItem.__table__.columns if c.name != "id"]
    rows = []
    day = date(2020, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)  # a real yyMMdd
    for n in range(count):
        payload = dict(template)
        when = (day + timedelta(days=n // 100_000)).strftime("%y%m%d")
        ma_ho_so = f"000.00.01.H22-{when}-{n % 100_000:05d}"
        payload["ma_ho_so"] = ma_ho_so
        item = outbox.build(
            cipher,
            exchange_id=str(uuid.uuid4()),
            connector="dvcqg",
            operation="sync_dossier",
            ordering_key=dossier_ordering_key(ma_ho_so),
            payload=payload,
            ma_ho_so=ma_ho_so,
        )
        rows.append(tuple(getattr(item, c) for c in columns))
    return rows


async def fill(url: str, settings: Settings, count: int) -> None:
    """Copy ``count`` genuine queued items into the outbox (COPY, 20,000 per round)."""
    import asyncpg

    columns = [c.name for c in OutboxItem.__table__.columns if c.name != "id"]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        left = count
        while left:
            n = min(20_000, left)
            await conn.copy_records_to_table("outbox", records=_rows(settings, n), columns=columns)
            left -= n
        await conn.execute("ANALYZE outbox")
    finally:
        await conn.close()


def claim_sql(now_shift: float = 0.0) -> str:
    """The worker's claim statement as PostgreSQL runs it, values inlined (for EXPLAIN)."""
    stmt = outbox.claim_statement(
        is_postgresql=True,
        owner="bench-explain/0",
        limit=20,
        lease_seconds=60,
        now=utcnow() + timedelta(seconds=now_shift),
    )
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


async def explain(url: str) -> tuple[str, float, list[str]]:
    """(plan shape, execution ms, the plan's lines) of the claim, rolled back."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            trans = await conn.begin()
            result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + claim_sql())
            lines = [r[0] for r in result.all()]
            await trans.rollback()
    finally:
        await engine.dispose()
    ms = 0.0
    for line in lines:
        m = re.search(r"Execution Time: ([\d.]+) ms", line)
        if m:
            ms = float(m.group(1))
    nodes = []
    for line in lines:
        m = re.match(
            r"\s*(?:->\s+)?([A-Z][A-Za-z ]+?)(?: using (\w+))?(?: on \w+.*?)?\s+\(cost", line
        )
        if m:
            nodes.append(m.group(1) + (f" {m.group(2)}" if m.group(2) else ""))
    return " > ".join(nodes), ms, lines


async def _park(url: str, *, park: bool, ids: list[int] | None = None) -> list[int]:
    """Park the items still queued (``skipped``, so nothing is due: the idle measurement), or
    queue ``ids`` again."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if park:
                rows = await conn.execute(
                    text(
                        "UPDATE outbox SET status = 'skipped' "
                        "WHERE status IN ('queued', 'failed') RETURNING id"
                    )
                )
                return [int(r[0]) for r in rows]
            await conn.execute(
                text("UPDATE outbox SET status = 'queued' WHERE id = ANY(:ids)"), {"ids": ids}
            )
            return ids or []
    finally:
        await engine.dispose()


async def count_delivered(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            n = await conn.scalar(text("SELECT count(*) FROM outbox WHERE status = 'delivered'"))
    finally:
        await engine.dispose()
    return int(n or 0)


async def db_backends(url: str) -> list[int]:
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(ADMIN)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": name}
            )
            return [int(r[0]) for r in rows]
    finally:
        await engine.dispose()


PY_SPY = Path(sys.executable).with_name("py-spy")


def start_profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` without pausing it, into a raw (collapsed stacks) file."""
    return subprocess.Popen(
        [
            str(PY_SPY),
            *("record", "--pid", str(pid), "--format", "raw", "--rate", "200"),
            *("--nonblocking", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def watch(
    url: str,
    worker: int,
    sim: int,
    warmup: int,
    drain: int,
    deadline: float,
    profile: Path | None = None,
) -> dict[str, float]:
    """Wait for ``warmup`` deliveries, then time the next ``drain``: CPU and wall clock."""
    engine = create_async_engine(url, pool_size=1)
    query = text(
        "SELECT count(*) FILTER (WHERE status = 'delivered'), "
        "count(*) FILTER (WHERE status = 'dead') FROM outbox"
    )
    end = time.monotonic() + deadline
    marks: list[tuple[int, float, float, float, float]] = []
    backends: list[int] = []
    spy: subprocess.Popen[bytes] | None = None
    try:
        async with engine.connect() as conn:
            # this connection's own backend (the polling count) is not the delivery's cost
            me = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
            await conn.commit()
            targets = [warmup, warmup + drain]
            while targets and time.monotonic() < end:
                n, dead = (await conn.execute(query)).one()
                await conn.commit()
                if dead:
                    raise RuntimeError(f"{dead} items went dead: see the worker's log")
                if n >= targets[0]:
                    if not backends:
                        backends = [p for p in await db_backends(url) if p != me]
                    pg = sum(cpu_seconds(p) for p in backends)
                    marks.append(
                        (n, time.perf_counter(), cpu_seconds(worker), cpu_seconds(sim), pg)
                    )
                    targets.pop(0)
                    if profile is not None:
                        if spy is None:
                            spy = start_profile(worker, profile)
                        else:
                            stop_profile(spy)
                    continue
                await asyncio.sleep(0.02)
    finally:
        await engine.dispose()
    if len(marks) < 2:
        raise RuntimeError("the worker did not deliver the drain in time")
    (n0, t0, w0, s0, p0), (n1, t1, w1, s1, p1) = marks
    delivered = n1 - n0
    wall = t1 - t0
    worker_cpu, sim_cpu, pg_cpu = w1 - w0, s1 - s0, p1 - p0
    total = worker_cpu + sim_cpu + pg_cpu
    return {
        "delivered": delivered,
        "seconds": wall,
        "per_s": delivered / wall,
        "worker_ms": worker_cpu * 1000 / delivered,
        "sim_ms": sim_cpu * 1000 / delivered,
        "pg_ms": pg_cpu * 1000 / delivered,
        "sim_share": sim_cpu / total if total else 0.0,
        "worker_core": worker_cpu / wall,
        "worker_cpu": worker_cpu,
    }


def run_size(
    size: int,
    *,
    drain: int,
    warmup: int,
    env_extra: dict[str, str],
    workdir: Path,
    explain_only: bool = False,
    profile_dir: Path | None = None,
    idle: float = 10.0,
) -> dict[str, Any]:
    name = f"bench_delivery_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
        sandbox_port = free_port()
        env.update(
            LGSP_DATABASE_URL=url,
            LGSP_LOG_LEVEL="WARNING",
            LGSP_CONNECTORS__DVCQG__BASE_URL=f"http://127.0.0.1:{sandbox_port}/dvcqg",
            # no pulling from the portal: only the outbox's work is measured
            LGSP_CONNECTORS__DVCQG__PULL_INTERVAL_SECONDS="0",
            PYTHONPATH=str(ROOT),
            **env_extra,
        )
        subprocess.run([*LGSP, "db", "upgrade"], env=env, check=True, capture_output=True)
        settings = Settings(database_url=url)
        total = size if explain_only else size + warmup + drain
        t_fill = time.perf_counter()
        asyncio.run(fill(url, settings, total))
        result: dict[str, Any] = {"size": size, "fill_s": time.perf_counter() - t_fill}
        if not explain_only:
            with (
                process(
                    [*LGSP, "sandbox", "--port", str(sandbox_port)], env, workdir / "sb.log"
                ) as sim,
            ):
                wait_http(f"http://127.0.0.1:{sandbox_port}/", 180)
                with process([*LGSP, "worker"], env, workdir / f"worker-{size}.log") as worker:
                    profile = None if profile_dir is None else profile_dir / f"worker-{size}.txt"
                    result.update(
                        asyncio.run(watch(url, worker.pid, sim.pid, warmup, drain, 900, profile))
                    )
                    # then idle: the rest parked (skipped), the worker's timers on an outbox
                    # with nothing due, and the rest queued again for the EXPLAIN below
                    parked = asyncio.run(_park(url, park=True))
                    time.sleep(2)
                    c0, t0 = cpu_seconds(worker.pid), time.perf_counter()
                    time.sleep(idle)
                    idle_cpu = (cpu_seconds(worker.pid) - c0) / (time.perf_counter() - t0)
                    result["idle_ms_per_s"] = idle_cpu * 1000
                    busy = result["worker_cpu"] - idle_cpu * result["seconds"]
                    result["worker_busy_ms"] = busy * 1000 / result["delivered"]
                    all_ms = result["worker_ms"] + result["sim_ms"] + result["pg_ms"]
                    result["derived_2core"] = 2000 / all_ms
                    result["derived_2core_nosim"] = 2000 / (result["worker_ms"] + result["pg_ms"])
                    result["worker_pid_log"] = str(workdir / f"worker-{size}.log")
                asyncio.run(_park(url, park=False, ids=parked))
        # the claim with N items still queued (the delivered ones stay in the table, as in
        # a real outbox that is catching up)
        shape, ms, lines = asyncio.run(explain(url))
        result.update(plan=shape, claim_ms=ms, plan_lines=lines)
        return result
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_curve(
    sizes: Sequence[int] = (100, 1_000, 10_000, 100_000),
    *,
    drain: int = 2_000,
    warmup: int = 300,
    worker_tasks: int | None = None,
    batch_size: int | None = None,
    explain_only: bool = False,
    verbose: bool = False,
    profile_dir: Path | None = None,
    idle: float = 10.0,
) -> list[dict[str, Any]]:
    """One row per backlog size (see the module docstring); prints the table too."""
    env_extra: dict[str, str] = {}
    if worker_tasks is not None:
        env_extra["LGSP_DELIVERY__WORKERS"] = str(worker_tasks)
    if batch_size is not None:
        env_extra["LGSP_DELIVERY__BATCH_SIZE"] = str(batch_size)
    workdir = Path(tempfile.mkdtemp(prefix="lgsp-backlog-"))
    results = []
    try:
        for size in sizes:
            r = run_size(
                size,
                drain=drain,
                warmup=warmup,
                env_extra=env_extra,
                workdir=workdir,
                explain_only=explain_only,
                profile_dir=profile_dir,
                idle=idle,
            )
            results.append(r)
            if verbose:
                print("\n".join(r["plan_lines"]), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_curve(results, drain=drain)
    return results


def print_curve(results: Sequence[dict[str, Any]], *, drain: int) -> None:
    print(
        f"\nDelivery against the backlog (PostgreSQL, 1 `lgsp worker` process, DVCQG simulator; "
        f"{drain} timed deliveries per size; {os.cpu_count()} cores)"
    )
    print(
        f"{'queued':>9}{'delivered/s':>13}{'worker ms/pkt':>15}{'idle ms/s':>11}"
        f"{'busy ms/pkt':>13}{'sim ms/pkt':>12}{'db ms/pkt':>11}{'sim share':>11}"
        f"{'2 cores/s*':>12}{'no sim/s*':>11}{'claim ms':>10}  claim plan"
    )
    for r in results:
        if "per_s" in r:
            head = (
                f"{r['size']:>9}{r['per_s']:>13.0f}{r['worker_ms']:>15.2f}"
                f"{r['idle_ms_per_s']:>11.1f}{r['worker_busy_ms']:>13.2f}{r['sim_ms']:>12.2f}"
                f"{r['pg_ms']:>11.2f}{r['sim_share']:>10.0%} {r['derived_2core']:>12.0f}"
                f"{r['derived_2core_nosim']:>11.0f}"
            )
        else:
            head = f"{r['size']:>9}" + " " * 116
        print(f"{head}{r['claim_ms']:>10.2f}  {r['plan']}")
    print(
        "busy = worker CPU with its idle cost (idle ms/s x the drain's seconds) subtracted; "
        "* derived, not measured: 2 cores / CPU per packet of worker + simulator + PostgreSQL "
        "(no sim: worker + PostgreSQL, the simulator on another machine)"
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--drain", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds of idle worker CPU measured first"
    )
    parser.add_argument("--worker-tasks", type=int, default=None, help="LGSP_DELIVERY__WORKERS")
    parser.add_argument("--batch-size", type=int, default=None, help="LGSP_DELIVERY__BATCH_SIZE")
    parser.add_argument("--explain-only", action="store_true", help="fill and EXPLAIN only")
    parser.add_argument("--verbose", action="store_true", help="print the whole plans")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="a directory: py-spy records the worker over the timed drain (raw stacks)",
    )
    args = parser.parse_args(argv)
    return run_curve(
        [int(s) for s in args.sizes.split(",")],
        drain=args.drain,
        warmup=args.warmup,
        worker_tasks=args.worker_tasks,
        batch_size=args.batch_size,
        explain_only=args.explain_only,
        verbose=args.verbose,
        profile_dir=args.profile,
        idle=args.idle,
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
