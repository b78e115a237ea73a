"""Benchmark: citizen look-ups through the gateway versus calling the simulator directly.

Runs the population-database simulator (``lgsp sandbox``), the gateway (``lgsp serve
--no-workers``) and a bare forwarder as real processes on loopback, one gateway and one
forwarder per outbound transport compared (``--transports aiohttp,httpx``: the same code with
``LGSP_HTTP_TRANSPORT`` set to each), registers one officer, then drives each path with the
same citizens at 1, 10 and 50 concurrent callers, the variants alternated within each level:

  direct   SOAP TraCuuThongTinCongDan envelopes posted to the simulator,
  floor    the same envelopes through ``bench/forwarder.py``: a FastAPI route on uvicorn that
           forwards the body with the gateway's HTTP client (httpx over the named transport)
           and does nothing else; the floor of the gateway's stack on this machine,
  gateway  POST /v1/dancu/citizens/lookup (API key, officer check, purpose, governance count,
           circuit breaker, zeep, the exchange log's inbound entry and its attempt).

Prints, for each path, transport and caller count, requests per second, p50 and p99 latency,
the p50 overhead over direct and the share of direct's rate, and the CPU time each server
process spent per request (Linux: utime+stime read from /proc for the server and its
children): the path's own server and the simulator behind it. Then the floor's and the
gateway's CPU per look-up side by side. The CPU figures hold still when the machine's other
load makes rates and latencies wander. The load generator is aiohttp in this process (its
CPU is not counted); on a two-core machine it shares the cores with the servers.

Usage: .venv/bin/python bench/dancu_lookup.py [--seconds 10] [--citizens 200]
       [--concurrency 1,10,50] [--database sqlite|postgresql] [--processes N]
       [--transports aiohttp,httpx] [--profile DIR]
Prints its figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import (  # noqa: E402
    LGSP,
    free_port,
    pg_admin,
    pg_drop,
    process,
    serve_args,
    wait_http,
)
from connectors.dancu.mapping import normalise_name  # noqa: E402
from gateway.core.http.transports import TRANSPORTS  # noqa: E402

OFFICER = {"login": "bench.officer", "code": "CB0001", "user": "canbo0001"}
OFFICER_PASSWORD = "sandbox-canbo0001"
PROCEDURE = "1.001776"
DOSSIER = "000.00.01.H22-240105-0007"
LOOKUP_PATH = "/v1/dancu/citizens/lookup"


def soap_envelope(citizen: dict[str, Any], n: int) -> str:
    birth = citizen["ngay_sinh"].replace("-", "")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Header><dan:AuthHash xmlns:dan="http://dancuquocgia.bca">'
        "Y2FuYm8wMDAxOnNhbmRib3gtY2FuYm8wMDAx</dan:AuthHash></soap-env:Header>"
        '<soap-env:Body><dan:TraCuuThongTinCongDan xmlns:dan="http://dancuquocgia.bca">'
        f"<dan:MaYeuCau>bench-{n}</dan:MaYeuCau><dan:MaDVC>{PROCEDURE}</dan:MaDVC>"
        "<dan:MaTichHop>LGSP-SANDBOX</dan:MaTichHop>"
        f"<dan:MaCanBo>{OFFICER['code']}</dan:MaCanBo>"
        f"<dan:SoDinhDanh>{citizen['so_dinh_danh']}</dan:SoDinhDanh>"
        f"<dan:HoVaTen>{normalise_name(citizen['ho_va_ten'])}</dan:HoVaTen>"
        f"<dan:NgayThangNamSinh><dan:NgayThangNam>{birth}</dan:NgayThangNam>"
        "</dan:NgayThangNamSinh></dan:TraCuuThongTinCongDan></soap-env:Body></soap-env:Envelope>"
    )


def lookup_body(citizen: dict[str, Any]) -> str:
    return json.dumps(
        {
            "so_dinh_danh": citizen["so_dinh_danh"],
            "ho_va_ten": citizen["ho_va_ten"],
            "ngay_sinh": citizen["ngay_sinh"],
            "ma_tthc": PROCEDURE,
            "ma_ho_so": DOSSIER,
        },
        ensure_ascii=False,
    )


def load(
    url: str, requests: list[tuple[dict[str, str], bytes]], seconds: float, concurrency: int
) -> dict[str, float]:
    return asyncio.run(aiohttp_load(url, requests, seconds, concurrency))


async def aiohttp_load(
    url: str, requests: list[tuple[dict[str, str], bytes]], seconds: float, concurrency: int
) -> dict[str, float]:
    """``concurrency`` callers posting back to back for ``seconds`` (aiohttp: the cheapest
    client at hand, so that the generator takes as little of the shared cores as it can)."""
    latencies: list[float] = []
    bad = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.monotonic() + seconds

        async def worker(offset: int) -> None:
            nonlocal bad
            i = offset
            while time.monotonic() < end:
                headers, body = requests[i % len(requests)]
                i += concurrency
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t0)
                bad += r.status >= 300

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": float(len(latencies)),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "non2xx": float(bad),
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and its descendants (Linux; 0 where /proc is not)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        # after the command: state, ppid, ..., utime (14th field of the line), stime (15th)
        stats[int(entry.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, total = {pid}, 0.0
    for _ in range(4):  # uvicorn's supervisor, its workers, their multiprocessing helpers
        tree |= {p for p, (parent, _cpu) in stats.items() if parent in tree}
    for p in tree:
        total += stats.get(p, (0, 0.0))[1]
    return total


def measured(run: Callable[[], dict[str, float]], pids: dict[str, int]) -> dict[str, float]:
    """``run``'s figures and the CPU milliseconds each server in ``pids`` spent per request
    (``cpu:<name>``)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    figures = run()
    figures["wall"] = time.monotonic() - started
    n = figures["requests"] or 1.0
    for name, pid in pids.items():
        figures[f"cpu:{name}"] = (cpu_seconds(pid) - before[name]) * 1000 / n
    return figures


def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU milliseconds per second each server in ``pids`` spends with no request at all (its
    periodic tasks: health polls, gauges, refreshes, timers)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {name: (cpu_seconds(pid) - before[name]) * 1000 / elapsed for name, pid in pids.items()}


def less_idle(figures: dict[str, float], name: str, idle: dict[str, float]) -> float:
    """``name``'s CPU ms per request with its idle cost over the run's wall time taken out."""
    n = figures["requests"] or 1.0
    return figures[f"cpu:{name}"] - idle.get(name, 0.0) * figures["wall"] / n


def pg_create() -> str:
    name = f"bench_lookup_{uuid.uuid4().hex[:8]}"
    pg_admin(f'CREATE DATABASE "{name}"')
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--processes", type=int, default=1, help="gateway server processes (PostgreSQL)"
    )
    parser.add_argument(
        "--transports",
        default=",".join(TRANSPORTS),
        help="outbound transports compared, one gateway and one floor each",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record py-spy raw profiles of the gateways into this directory (needs root)",
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds of no load to measure idle CPU"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    for t in transports:
        if t not in TRANSPORTS:
            parser.error(f"--transports: one of {', '.join(TRANSPORTS)}")

    with tempfile.TemporaryDirectory(prefix="lgsp-bench-dancu-") as tmp:
        workdir = Path(tmp)
        url = (
            pg_create()
            if args.database == "postgresql"
            else f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        )
        try:
            results, idle = run(url, args, levels, transports, workdir)
        finally:
            if args.database == "postgresql":
                pg_drop(url)
    report(results, idle, args)


def report(
    results: dict[int, dict[str, dict[str, float]]],
    idle: dict[str, float],
    args: argparse.Namespace,
) -> None:
    print(
        f"\ncitizen look-ups ({args.database}, {args.processes} gateway process(es), "
        f"{args.seconds:g} s per run, {os.cpu_count()} cores, load generator aiohttp)"
    )
    print(
        f"{'callers':>7} {'path':>16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'p50 over direct':>15} {'share':>6} {'server CPU ms/req':>17} {'simulator':>9}"
    )
    for c, paths in results.items():
        direct = paths["direct"]
        for name, figures in paths.items():
            server = name.split("/")[0] if name == "direct" else name
            server_cpu = figures[f"cpu:{'sim' if name == 'direct' else server}"]
            line = (
                f"{c:>7} {name:>16} {figures['rate']:>7.0f} {figures['p50']:>7.2f} "
                f"{figures['p99']:>7.2f} "
            )
            if name == "direct":
                line += f"{'':>15} {'':>6} {server_cpu:>17.2f} {server_cpu:>9.2f}"
            else:
                line += (
                    f"{figures['p50'] - direct['p50']:>12.2f} ms"
                    f" {figures['rate'] / direct['rate']:>6.0%}"
                    f" {server_cpu:>17.2f} {figures['cpu:sim']:>9.2f}"
                )
            print(line)
            if figures["non2xx"]:
                print(f"{'':>7} {name:>16} refused: {figures['non2xx']:.0f}")
    print(
        f"\nidle CPU (no request, {args.idle:g} s): "
        + ", ".join(f"{name} {ms:.2f} ms/s" for name, ms in idle.items())
    )
    print(
        "\nCPU per look-up, floor and gateway side by side (ms of their own process;"
        " 'less idle': the idle cost over the run's wall time taken out)"
    )
    transports = sorted({n.split("/")[1] for paths in results.values() for n in paths if "/" in n})
    print(
        f"{'callers':>7} "
        + " ".join(
            f"{'floor/' + t:>14} {'gateway/' + t:>16} {'less idle':>10} {'above floor':>12}"
            for t in transports
        )
    )
    for c, paths in results.items():
        cells = []
        for t in transports:
            floor = paths[f"floor/{t}"][f"cpu:floor/{t}"]
            gateway = paths[f"gateway/{t}"][f"cpu:gateway/{t}"]
            net = less_idle(paths[f"gateway/{t}"], f"gateway/{t}", idle)
            cells.append(f"{floor:>14.2f} {gateway:>16.2f} {net:>10.2f} {gateway - floor:>12.2f}")
        print(f"{c:>7} " + " ".join(cells))


@contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy recording ``pid`` and its children (raw folded stacks) while the block runs."""
    if out is None:
        yield
        return
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes what it has and leaves
        spy.wait(30)


def run(
    url: str, args: argparse.Namespace, levels: list[int], transports: list[str], workdir: Path
) -> tuple[dict[int, dict[str, dict[str, float]]], dict[str, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    sandbox_port = free_port()
    env.update(
        LGSP_DATABASE_URL=url,
        LGSP_LOG_LEVEL="WARNING",
        LGSP_RATE_LIMIT="1000000/second",
        # the baseline median is learnt from history; a benchmark is not a spike to alert on
        LGSP_GOVERNANCE__SPIKE_DAILY_CEILING="100000000",
        LGSP_CONNECTORS__DANCU__ENDPOINT_URL=f"http://127.0.0.1:{sandbox_port}/dancu/ws",
        LGSP_CONNECTORS__DVCQG__BASE_URL=f"http://127.0.0.1:{sandbox_port}/dvcqg",
    )
    subprocess.run([*LGSP, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [*LGSP, "clients", "create", "bench", "--scope", "dancu:lookup"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [
            *LGSP,
            "officers",
            "register",
            "--login",
            OFFICER["login"],
            "--code",
            OFFICER["code"],
            "--name",
            "Cán bộ Đo Tải",
            "--id-number",
            "025090000001",
            "--unit",
            "Bench",
            "--purpose",
            "benchmark",
            "--platform-user",
            OFFICER["user"],
        ],
        env={**env, "LGSP_OFFICER_PLATFORM_PASSWORD": OFFICER_PASSWORD},
        check=True,
        capture_output=True,
        text=True,
    )
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    results: dict[int, dict[str, dict[str, float]]] = {}
    with ExitStack() as stack:
        sim = stack.enter_context(
            process([*LGSP, "sandbox", "--port", str(sandbox_port)], env, workdir / "sb.log")
        )
        pids = {"sim": sim.pid}
        bases: dict[str, str] = {}
        for t in transports:
            api_port, floor_port = free_port(), free_port()
            api = stack.enter_context(
                process(
                    serve_args(api_port, args.processes),
                    {**env, "LGSP_HTTP_TRANSPORT": t},
                    workdir / f"api-{t}.log",
                )
            )
            floor = stack.enter_context(
                process(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "bench.forwarder:app",
                        "--port",
                        str(floor_port),
                        "--loop",
                        "uvloop",
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    {
                        **env,
                        "PYTHONPATH": os.pathsep.join(
                            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
                        ),
                        "LGSP_HTTP_TRANSPORT": t,
                        "LGSP_BENCH_FORWARD_TO": f"{sandbox}/dancu/ws",
                    },
                    workdir / f"floor-{t}.log",
                )
            )
            pids[f"gateway/{t}"], pids[f"floor/{t}"] = api.pid, floor.pid
            bases[f"gateway/{t}"] = f"http://127.0.0.1:{api_port}"
            bases[f"floor/{t}"] = f"http://127.0.0.1:{floor_port}"
        wait_http(f"{sandbox}/", deadline=120)
        for name, base in bases.items():
            wait_http(f"{base}/healthz" if name.startswith("gateway") else f"{base}/docs", 120)
        citizens = httpx.get(
            f"{sandbox}/dancu/_sandbox/citizens", params={"limit": args.citizens}
        ).json()["citizens"]
        soap_headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"http://dancuquocgia.bca/TraCuuThongTinCongDan"',
        }
        api_headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "X-Officer-Id": OFFICER["login"],
        }
        direct_requests = [
            (soap_headers, soap_envelope(c, n).encode()) for n, c in enumerate(citizens)
        ]
        gateway_requests = [(api_headers, lookup_body(c).encode()) for c in citizens]
        paths = {"direct": (f"{sandbox}/dancu/ws", direct_requests)}
        for t in transports:
            paths[f"floor/{t}"] = (f"{bases[f'floor/{t}']}/forward", direct_requests)
            paths[f"gateway/{t}"] = (f"{bases[f'gateway/{t}']}{LOOKUP_PATH}", gateway_requests)
        # every request must succeed on every path before anything is timed (and warms them)
        for name, (target, reqs) in paths.items():
            for h, b in reqs[:5]:
                answer = httpx.post(target, content=b, headers=h)
                assert answer.status_code == 200, (name, answer.text[:300])
                if name != "gateway" and not name.startswith("gateway/"):
                    assert "MaKetQua>000<" in answer.text, (name, answer.text[:300])
        idle = idle_cpu(pids, args.idle)
        print(
            "  idle: " + ", ".join(f"{name} {ms:.2f} ms/s" for name, ms in idle.items()),
            flush=True,
        )
        with ExitStack() as spies:
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                for t in transports:
                    out = args.profile / f"gateway-{t}.txt"
                    spies.enter_context(profiled(pids[f"gateway/{t}"], out))
            for c in levels:
                results[c] = {
                    name: measured(partial(load, target, reqs, args.seconds, c), pids)
                    for name, (target, reqs) in paths.items()
                }
                print(
                    f"  {c} callers: "
                    + ", ".join(
                        f"{name} {figures['rate']:.0f}/s" for name, figures in results[c].items()
                    ),
                    flush=True,
                )
    return results, idle


if __name__ == "__main__":
    main()
