"""Benchmark: acceptance, end-to-end delivery and chain verification, on SQLite and PostgreSQL.

Measures on this machine, with real processes on loopback:
  (a) dossier packets accepted per second with durable commit (API only, no workers running),
  (b) packets delivered end to end per second to the DVCQG simulator (workers draining),
  (c) p50 / p99 latency of the accepting call at N concurrent clients,
  (d) hash-chain verification speed (entries per second),
  (e) the CPU each API process spends per accepted packet (utime+stime from /proc, stable when
      rates wander on a shared machine), the load generator's own CPU (to subtract it), and a
      raw-insert reference measured in the same run: asyncpg inserting the same two rows (log
      entry + outbox item) one transaction each, and 50 packets per transaction; the gateway's
      share of the batched raw rate per core is printed (PostgreSQL).

Usage: .venv/bin/python bench/throughput.py [--quick] [--server-processes 2] [--concurrency 50]
       [--backends sqlite,postgresql] [--workers 1] [--seconds 10]
``--quick``: 5 s of load, no paced run, a 20,000-entry chain: under two minutes.
Prints its figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.core.crypto import BodyCipher, CheckpointSigner  # noqa: E402
from gateway.core.log.audit import seal_pending, verify_database  # noqa: E402
from gateway.core.log.exchange_log import Crossing, ExchangeLog  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.core.store.db import Database, ExchangeEntry, OutboxItem  # noqa: E402
from tests.factories import dossier  # noqa: E402

LGSP = [sys.executable, "-c", "from gateway.cli import main; main()"]
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: the dossier the load sends (the same as the wrk script's): ma_ho_so rotates over 2,000, so
#: delivery can run in parallel; the note carries the request counter
BODY = (
    '{"ma_ho_so":"000.00.01.H22-240105-%04d","ma_tthc":"1.001776",'
    '"ten_tthc":"Đăng ký khai sinh","ma_linh_vuc":"G03-HT01","ten_linh_vuc":"Hộ tịch",'
    '"kenh_thuc_hien":"truc_tiep","chu_ho_so":"Nguyễn Thị Lan","so_giay_to_chu_ho_so":"001190%06d",'
    '"loai_doi_tuong":"cong_dan","so_dien_thoai":"0912345678",'
    '"trich_yeu":"Đăng ký khai sinh cho con","ngay_tiep_nhan":"2024-01-05T08:00:00+07:00",'
    '"ngay_hen_tra":"2024-01-08T17:00:00+07:00","trang_thai":"da_tiep_nhan",'
    '"don_vi_xu_ly":"UBND xã Tân Lập","ghi_chu":"bench %d"}'
)


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def api_pids(parent: int, processes: int) -> list[int]:
    """The processes serving the API: ``lgsp serve`` itself, or its uvicorn workers."""
    if processes == 1:
        return [parent]
    children = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and b"resource_tracker" not in cmdline:
            children.append(int(d.name))
    return sorted(children)


def run_fast(main: Any) -> Any:
    """Run a coroutine on uvloop when present (a cheaper load generator)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def socket_load(port: int, key: str, seconds: float, concurrency: int) -> dict[str, float]:
    """A minimal HTTP/1.1 keep-alive load generator on raw sockets (wrk is not always
    installed, and an HTTP client library costs the gateway's machine more CPU than the
    gateway's own work): ``concurrency`` connections posting dossiers back to back."""
    head = (
        "POST /v1/dvcqg/dossiers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        "Content-Length: {}\r\n\r\n"
    )
    length = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
    latencies: list[float] = []
    counter = 0
    bad = 0
    end = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal counter, bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < end:
                counter += 1
                n = counter % 2000 + 1
                body = (BODY % (n, n, counter)).encode()
                t0 = time.perf_counter()
                writer.write(head.format(len(body)).encode() + body)
                answer = await reader.readuntil(b"\r\n\r\n")
                found = length.search(answer)
                if found:
                    await reader.readexactly(int(found.group(1)))
                latencies.append(time.perf_counter() - t0)
                if answer[9:12] != b"202":
                    bad += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "requests": float(len(latencies)),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "non2xx": float(bad),
        "socket_errors": 0.0,
    }


def measured_load(
    api_port: int, key: str, seconds: float, concurrency: int, pids: list[int]
) -> dict[str, Any]:
    """The saturated load, with the CPU every API process and the load generator spent."""
    before = {pid: cpu_seconds(pid) for pid in pids}
    generator = time.process_time()
    load = run_fast(socket_load(api_port, key, seconds, concurrency))
    generator = time.process_time() - generator
    spent = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    accepted = max(1.0, load["requests"] - load["non2xx"])
    return {
        **load,
        "accepted": accepted,
        "api_cpu_ms": sum(spent.values()) / accepted * 1000,
        "per_process": [(pid, spent[pid], spent[pid] / seconds) for pid in pids],
        "generator_cpu_ms": generator / accepted * 1000,
        "seconds": seconds,
    }


async def raw_reference(url: str, settings: Settings, packets: int) -> dict[str, float]:
    """asyncpg inserting the same two rows the accept path writes (the log entry and the
    outbox item, built by the gateway's own code beforehand), into copies of the two tables
    with the same indexes: one transaction per packet (50 concurrent), then 50 packets per
    transaction. Rows/s and the client's CPU per packet."""
    import asyncpg  # type: ignore[import-untyped]

    from gateway.core.delivery import outbox

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    cipher = BodyCipher(settings.data_key_id, settings.data_key_bytes())
    log = ExchangeLog(cipher)
    entry_cols = [c.name for c in ExchangeEntry.__table__.columns if c.name != "id"]
    item_cols = [c.name for c in OutboxItem.__table__.columns if c.name != "id"]
    packets_rows = []
    for n in range(packets):
        body = (BODY % (n % 2000 + 1, n, n)).encode()
        entry = log.build(
            Crossing(
                kind="inbound",
                connector="dvcqg",
                operation="sync_dossier",
                outcome="accepted",
                client="bench",
                status_code=202,
                request=body,
            )
        )
        item = outbox.build(
            cipher,
            exchange_id=entry.entry_id,
            connector="dvcqg",
            operation="sync_dossier",
            ordering_key=f"dvcqg:{n % 2000}",
            payload=json.loads(body),
        )
        packets_rows.append(
            (
                tuple(getattr(entry, c) for c in entry_cols),
                tuple(getattr(item, c) for c in item_cols),
            )
        )

    def insert_sql(table: str, cols: list[str]) -> str:
        marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"

    entry_sql = insert_sql("bench_raw_entries", entry_cols)
    item_sql = insert_sql("bench_raw_outbox", item_cols)
    admin = await asyncpg.connect(dsn)
    await admin.execute(
        "CREATE TABLE bench_raw_entries (LIKE exchange_entries INCLUDING ALL);"
        "CREATE TABLE bench_raw_outbox (LIKE outbox INCLUDING ALL)"
    )
    pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
    out: dict[str, float] = {}
    try:
        for variant in ("single", "batched"):
            await admin.execute("TRUNCATE bench_raw_entries, bench_raw_outbox")
            work = iter(packets_rows)
            cpu, t0 = time.process_time(), time.perf_counter()
            if variant == "single":

                async def one_each(work: Iterator[Any] = work) -> None:
                    for entry_row, item_row in work:
                        async with pool.acquire() as c, c.transaction():
                            await c.execute(entry_sql, *entry_row)
                            await c.execute(item_sql, *item_row)

                await asyncio.gather(*(one_each() for _ in range(50)))
            else:

                async def fifty_each(work: Iterator[Any] = work) -> None:
                    while batch := list(itertools.islice(work, 50)):
                        async with pool.acquire() as c, c.transaction():
                            await c.executemany(entry_sql, [e for e, _ in batch])
                            await c.executemany(item_sql, [i for _, i in batch])

                await asyncio.gather(*(fifty_each() for _ in range(4)))
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu
            out[f"{variant}_per_s"] = packets / elapsed
            out[f"{variant}_cpu_ms"] = cpu / packets * 1000
    finally:
        await pool.close()
        await admin.execute("DROP TABLE bench_raw_entries; DROP TABLE bench_raw_outbox")
        await admin.close()
    return out


def serve_args(port: int, processes: int, *, lgsp: list[str] = LGSP) -> list[str]:
    """`lgsp serve` on ``port`` with ``processes`` API processes and no delivery workers."""
    return [*lgsp, "serve", "--port", str(port), "--no-workers", "--processes", str(processes)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline: float = 120.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def pg_admin(sql: str) -> None:
    async def run() -> None:
        engine = create_async_engine(
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run())


def pg_create() -> str:
    name = f"lgsp_bench_{uuid.uuid4().hex[:8]}"
    pg_admin(f'CREATE DATABASE "{name}"')
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def pg_drop(url: str) -> None:
    pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def accept_load(
    base: str, key: str, packets: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(1, packets + 1):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=60
    ) as client:

        async def worker() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                body = dossier(n % 9999 + 1, ma_ho_so=f"000.00.01.H22-240105-{n % 9999 + 1:04d}")
                body["ghi_chu"] = f"bench packet {n}"
                t0 = time.perf_counter()
                r = await client.post("/v1/dvcqg/dossiers", json=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 202:
                    raise RuntimeError(f"refused: {r.status_code} {r.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


async def drained(base: str, key: str, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            health = (await c.get("/v1/connectors")).json()["connectors"][0]
            if sum(health["outbox"].values()) == 0:
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("delivery did not drain in time")


async def top_up(db: Database, settings: Settings, entries: int) -> None:
    """Add synthetic attempt entries (bodies encrypted like real ones) until the log holds
    ``entries``, so verification is measured on a chain of realistic length."""
    log = ExchangeLog(BodyCipher(settings.data_key_id, settings.data_key_bytes()))
    async with db.sessions() as session:
        have = int(await session.scalar(text("SELECT count(*) FROM exchange_entries")) or 0)
    columns = [c.name for c in ExchangeEntry.__table__.columns if c.name != "id"]
    request = b'{"service":"DongBoHoSoMC","data":[' + b"x" * 1500 + b"]}"
    while have < entries:
        rows = []
        for _ in range(min(10_000, entries - have)):
            entry = log.build(
                Crossing(
                    kind="attempt",
                    operation="sync_dossier:DongBoHoSoMC",
                    outcome="answered",
                    connector="dvcqg",
                    status_code=200,
                    request=request,
                    response=b'{"error_code":"0","message":"OK"}',
                    detail="POST http://127.0.0.1/dvcqg/api",
                )
            )
            rows.append({c: getattr(entry, c) for c in columns})
        async with db.transaction() as session:
            await session.execute(insert(ExchangeEntry), rows)
        have += len(rows)


async def verify_speed(url: str, settings: Settings, entries: int) -> tuple[int, float]:
    db = Database(url)
    signer = CheckpointSigner.from_seed(settings.signing_key_id, settings.signing_key_bytes())
    await top_up(db, settings, entries)
    while await seal_pending(db, signer, batch=20000):
        pass
    best = float("inf")
    entries = 0
    for _ in range(3):
        t0 = time.perf_counter()
        report = await verify_database(db, signer.public_key_b64())
        best = min(best, time.perf_counter() - t0)
        if not report.ok:
            raise RuntimeError(f"chain broken: {report.problem}")
        entries = report.entries
    await db.dispose()
    return entries, best


WRK_SCRIPT = r"""
-- each request a different dossier of 2,000, so delivery can run in parallel
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LGSP_BENCH_KEY")
request = function()
  counter = counter + 1
  local n = (counter % 2000) + 1
  local body = string.format([[{"ma_ho_so":"000.00.01.H22-240105-%04d","ma_tthc":"1.001776",
"ten_tthc":"Đăng ký khai sinh","ma_linh_vuc":"G03-HT01","ten_linh_vuc":"Hộ tịch",
"kenh_thuc_hien":"truc_tiep","chu_ho_so":"Nguyễn Thị Lan","so_giay_to_chu_ho_so":"001190%06d",
"loai_doi_tuong":"cong_dan","so_dien_thoai":"0912345678","trich_yeu":"Đăng ký khai sinh cho con",
"ngay_tiep_nhan":"2024-01-05T08:00:00+07:00","ngay_hen_tra":"2024-01-08T17:00:00+07:00",
"trang_thai":"da_tiep_nhan","don_vi_xu_ly":"UBND xã Tân Lập","ghi_chu":"bench %d"}]], n, n, counter)
  return wrk.format(nil, "/v1/dvcqg/dossiers", nil, body)
end
-- paced runs: each client waits THINK ms (0-2x, uniform) before its next request
local think = tonumber(os.getenv("LGSP_BENCH_THINK_MS") or "0")
if think > 0 then
  delay = function() return math.random(0, 2 * think) end
end
"""


def wrk_load(
    base: str, key: str, seconds: int, concurrency: int, workdir: Path, think_ms: int = 0
) -> dict[str, float]:
    """Drive the accepting call with wrk (C, so the load generator does not eat the CPU the
    gateway needs); returns requests/s, p50 and p99 in ms, and the count of non-2xx."""
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        env={**os.environ, "LGSP_BENCH_KEY": key, "LGSP_BENCH_THINK_MS": str(think_ms)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """requests/s, p50 and p99 in ms, and the count of non-2xx, from ``wrk --latency``."""

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            raise RuntimeError(f"no {label} in wrk output:\n{out}")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"^\s*(\d+) requests in", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rate": float(rate.group(1)) if rate else 0.0,
        "requests": float(done.group(1)) if done else 0.0,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


async def count_outbox(url: str) -> int:
    db = Database(url)
    async with db.sessions() as session:
        n = await session.scalar(text("SELECT count(*) FROM outbox"))
    await db.dispose()
    return int(n or 0)


def run_backend(name: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    sandbox_port, api_port = free_port(), free_port()
    env.update(
        LGSP_DATABASE_URL=url,
        LGSP_LOG_LEVEL="WARNING",
        LGSP_RATE_LIMIT="100000/second",
        LGSP_CONNECTORS__DVCQG__BASE_URL=f"http://127.0.0.1:{sandbox_port}/dvcqg",
    )
    subprocess.run([*LGSP, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [*LGSP, "clients", "create", "bench", "--scope", "dvcqg:sync", "--scope", "ops:read"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    base = f"http://127.0.0.1:{api_port}"
    with (
        process([*LGSP, "sandbox", "--port", str(sandbox_port)], env, workdir / f"{name}-sb.log"),
        process(
            serve_args(api_port, args.server_processes),
            env,
            workdir / f"{name}-api.log",
        ) as api,
    ):
        wait_http(f"http://127.0.0.1:{sandbox_port}/")
        wait_http(f"{base}/healthz")
        # warm up connections and the catalogue cache (loaded from the simulator after start:
        # 503 until then, which a loaded machine can make last several seconds)
        ready_by = time.monotonic() + 120
        while True:
            try:
                asyncio.run(accept_load(base, key, 200, 20))
                break
            except RuntimeError as exc:
                if "503" not in str(exc) or time.monotonic() > ready_by:
                    raise
                time.sleep(1)
        pids = api_pids(api.pid, args.server_processes)
        paced = None
        if shutil.which("wrk") and args.think_ms:
            paced = wrk_load(base, key, args.seconds, args.concurrency, workdir, args.think_ms)
        if args.profile:
            profiles = [
                subprocess.Popen(
                    [
                        args.profile,
                        "record",
                        "-p",
                        str(pid),
                        "--format",
                        "raw",
                        "-o",
                        str(Path(args.profile_dir) / f"{name}-{pid}.txt"),
                        "-d",
                        str(max(1, args.seconds - 1)),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in pids
            ]
        load = measured_load(api_port, key, args.seconds, args.concurrency, pids)
        if args.profile:
            for p in profiles:
                p.wait()
        raw = (
            asyncio.run(raw_reference(url, Settings(database_url=url), args.raw_packets))
            if name == "postgresql"
            else None
        )
        accepted_total = asyncio.run(count_outbox(url))
        workers = [
            process([*LGSP, "worker"], env, workdir / f"{name}-worker{i}.log")
            for i in range(args.workers)
        ]
        t0 = time.perf_counter()
        with contextlib.ExitStack() as stack:
            for w in workers:
                stack.enter_context(w)
            asyncio.run(drained(base, key, 600))
            delivered_seconds = time.perf_counter() - t0
    entries, verify_seconds = asyncio.run(
        verify_speed(url, Settings(database_url=url), args.verify_entries)
    )
    return {
        "backend": name,
        "generator": "sockets",
        "load": load,
        "raw": raw,
        "accepted": accepted_total,
        "refused": load["non2xx"],
        "accepted_per_s": load["accepted"] / load["seconds"],
        "delivered_per_s": accepted_total / delivered_seconds,
        "p50_ms": load["p50"],
        "p99_ms": load["p99"],
        "entries": entries,
        "verify_per_s": entries / verify_seconds,
        "paced": paced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="5 s of load, no paced run, a 20,000-entry chain"
    )
    parser.add_argument("--seconds", type=int, default=10, help="load duration")
    parser.add_argument(
        "--verify-entries",
        type=int,
        default=300_000,
        help="synthetic entries added to the log before verification is timed",
    )
    parser.add_argument(
        "--think-ms",
        type=int,
        default=100,
        help="also a paced run with wrk (when installed): each client waits about this long "
        "between requests (0: off)",
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="`lgsp worker` processes")
    parser.add_argument(
        "--server-processes", type=int, default=1, help="`lgsp serve --processes N`"
    )
    parser.add_argument(
        "--raw-packets", type=int, default=5000, help="packets of the raw-insert reference"
    )
    parser.add_argument(
        "--profile",
        metavar="PY_SPY",
        help="py-spy executable: record each API process during the load (root only)",
    )
    parser.add_argument("--profile-dir", default=".", help="where the py-spy raw files go")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--backlog-sizes",
        default="100,1000,10000,100000",
        help="the delivery cost against the backlog (bench/backlog.py) at these queue sizes, "
        "on PostgreSQL ('' skips it)",
    )
    parser.add_argument("--backlog-drain", type=int, default=2000, help="timed deliveries per size")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.think_ms = 5, 0
        args.verify_entries = min(args.verify_entries, 20_000)
        args.raw_packets = min(args.raw_packets, 2000)
        args.backlog_drain = min(args.backlog_drain, 1000)
    workdir = Path(tempfile.mkdtemp(prefix="lgsp-bench-"))
    results = []
    try:
        for name in args.backends.split(","):
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir}/bench.db"
                results.append(run_backend(name, url, args, workdir))
            elif name == "postgresql":
                url = pg_create()
                try:
                    results.append(run_backend(name, url, args, workdir))
                finally:
                    pg_drop(url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cores = os.cpu_count() or 1
    print(
        f"\nLGSP Gateway benchmark: {args.concurrency} concurrent clients for {args.seconds} s, "
        f"{args.server_processes} API process(es), {args.workers} worker process(es), "
        f"{cores} cores shared by the load generator, the API, the database and the simulator"
    )
    print(
        f"{'backend':<12}{'accepted/s':>12}{'delivered/s':>13}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'chain entries':>15}{'verified/s':>12}{'accepted':>10}{'non-2xx':>9}"
    )
    for r in results:
        print(
            f"{r['backend']:<12}{r['accepted_per_s']:>12.0f}{r['delivered_per_s']:>13.0f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['entries']:>15}{r['verify_per_s']:>12.0f}"
            f"{r['accepted']:>10}{r['refused']:>9.0f}"
        )
    print("\nCPU per accepted packet (utime+stime from /proc during the saturated load)")
    print(
        f"{'backend':<12}{'API ms/pkt':>11}{'generator ms/pkt':>18}"
        f"{'API pkt/s per core':>20}{'with a core per API process':>29}  per process (cpu s, cores)"
    )
    for r in results:
        load = r["load"]
        per_core = 1000 / load["api_cpu_ms"]
        shares = ", ".join(
            f"{pid}: {cpu:.1f} s, {used:.2f}" for pid, cpu, used in load["per_process"]
        )
        print(
            f"{r['backend']:<12}{load['api_cpu_ms']:>11.3f}{load['generator_cpu_ms']:>18.3f}"
            f"{per_core:>20.0f}{per_core * args.server_processes:>29.0f}  {shares}"
        )
    for r in results:
        raw = r["raw"]
        if raw is None:
            continue
        load = r["load"]
        print(
            f"\nraw-insert reference ({r['backend']}, asyncpg, the same two rows per packet, "
            f"{args.raw_packets} packets, same run):"
        )
        for variant, label in (
            ("single", "one transaction each"),
            ("batched", "50 per transaction"),
        ):
            print(
                f"  {label:<22}{raw[f'{variant}_per_s']:>9.0f} packets/s  "
                f"{raw[f'{variant}_cpu_ms']:.3f} ms client CPU per packet;  gateway per core: "
                f"{raw[f'{variant}_cpu_ms'] / load['api_cpu_ms']:.0%} of it, gateway accepted/s: "
                f"{r['accepted_per_s'] / raw[f'{variant}_per_s']:.0%} of its rate"
            )
    for r in results:
        if r["paced"]:
            p = r["paced"]
            print(
                f"{r['backend']:<12} paced ({args.concurrency} clients, ~{args.think_ms} ms "
                f"think time): {p['rate']:.0f} requests/s, p50 {p['p50']:.1f} ms, "
                f"p99 {p['p99']:.1f} ms, {p['non2xx']:.0f} non-2xx"
            )

    sizes = [int(n) for n in args.backlog_sizes.split(",") if n.strip()]
    if sizes and "postgresql" in args.backends.split(","):
        # the backlog curve: worker CPU per delivered packet and the claim's plan from 100 to
        # 100,000 queued items (prints its own table)
        from bench.backlog import run_curve

        run_curve(sizes, drain=args.backlog_drain, warmup=min(300, args.backlog_drain // 4))


if __name__ == "__main__":
    main()
