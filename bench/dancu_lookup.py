"""Benchmark: citizen look-ups through the gateway versus calling the simulator directly.

Runs the population-database simulator (``lgsp sandbox``), the gateway (``lgsp serve
--no-workers``) and a bare forwarder as real processes on loopback, registers one officer, then
drives three paths with the same citizens at 1, 10 and 50 concurrent callers:

  direct   SOAP TraCuuThongTinCongDan envelopes posted to the simulator,
  floor    the same envelopes through ``bench/forwarder.py``: a FastAPI route on uvicorn that
           forwards the body with httpx and does nothing else; the floor of the gateway's
           stack on this machine, before the gateway does any of its work,
  gateway  POST /v1/dancu/citizens/lookup (API key, officer check, purpose, governance count,
           circuit breaker, zeep, the exchange log's inbound entry and its attempt).

Prints requests per second, p50 and p99 latency for each, the p50 overhead of the floor and of
the gateway in milliseconds and their throughput as a share of the direct path, and the CPU time
each server spent per request (Linux: read from /proc for the server and its children). The CPU
figures hold still when the machine's other load makes rates and latencies wander. The load
generator is wrk when installed (it rotates through the citizens with a Lua script), httpx
otherwise. On a two-core machine the generator, the gateway and the simulator share the cores:
the direct path has the gateway's share of the CPU free, so the ratio is a conservative one.

Usage: .venv/bin/python bench/dancu_lookup.py [--seconds 10] [--citizens 200]
       [--concurrency 1,10,50] [--database sqlite|postgresql]
Prints its figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import (  # noqa: E402
    LGSP,
    free_port,
    parse_wrk,
    pg_create,
    pg_drop,
    process,
    wait_http,
)
from connectors.dancu.mapping import normalise_name  # noqa: E402

OFFICER = {"login": "bench.officer", "code": "CB0001", "user": "canbo0001"}
OFFICER_PASSWORD = "sandbox-canbo0001"
PROCEDURE = "1.001776"
DOSSIER = "000.00.01.H22-240105-0007"
LOOKUP_PATH = "/v1/dancu/citizens/lookup"

# wrk: one request per citizen in turn; the bodies are the lines of a file, the headers fixed
WRK_SCRIPT = """
local bodies = {}
local i = 0
function init(args)
  for line in io.lines(os.getenv("LGSP_BENCH_BODIES")) do
    table.insert(bodies, line)
  end
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", PATH, HEADERS, bodies[i])
end
"""


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
    base: str,
    path: str,
    requests: list[tuple[dict[str, str], bytes]],
    seconds: int,
    concurrency: int,
    workdir: Path,
) -> dict[str, float]:
    """Drive ``base + path`` with wrk when installed, else with the httpx load generator."""
    if not shutil.which("wrk"):
        return asyncio.run(httpx_load(base + path, requests, seconds, concurrency))
    headers = requests[0][0]
    table = ", ".join(f'["{k}"] = {json.dumps(v)}' for k, v in headers.items())
    script = workdir / "rotate.lua"
    script.write_text(f'PATH = "{path}"\nHEADERS = {{{table}}}\n' + WRK_SCRIPT, encoding="utf-8")
    bodies = workdir / "bodies.txt"
    bodies.write_bytes(b"\n".join(body for _h, body in requests) + b"\n")
    threads = 1 if concurrency == 1 else 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            base,
        ],
        env={**os.environ, "LGSP_BENCH_BODIES": str(bodies)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(out)


async def httpx_load(
    url: str, requests: list[tuple[dict[str, str], bytes]], seconds: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    bad = 0
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal bad
            i = offset
            while time.monotonic() < end:
                headers, body = requests[i % len(requests)]
                i += concurrency
                t0 = time.perf_counter()
                r = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                bad += r.status_code >= 300

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


def measured(run: Callable[[], dict[str, float]], pid: int) -> dict[str, float]:
    """``run``'s figures and the CPU milliseconds the server ``pid`` spent per request."""
    before = cpu_seconds(pid)
    figures = run()
    spent = cpu_seconds(pid) - before
    figures["cpu_ms"] = spent * 1000 / figures["requests"] if figures["requests"] else 0.0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--processes", type=int, default=1, help="gateway server processes (PostgreSQL)"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    with tempfile.TemporaryDirectory(prefix="lgsp-bench-dancu-") as tmp:
        workdir = Path(tmp)
        url = (
            pg_create()
            if args.database == "postgresql"
            else f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        )
        try:
            results = run(url, args, levels, workdir)
        finally:
            if args.database == "postgresql":
                pg_drop(url)
    print(
        f"\ncitizen look-ups ({args.database}, {args.processes} gateway process(es), "
        f"{args.seconds} s per run, {os.cpu_count()} cores)"
    )
    print(
        f"{'callers':>8} {'path':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>11} {'p50 overhead':>13} {'share of direct':>16}"
    )
    for c, paths in results.items():
        direct = paths["direct"]
        for name, figures in paths.items():
            line = (
                f"{c:>8} {name:>8} {figures['rate']:>8.0f} {figures['p50']:>8.2f} "
                f"{figures['p99']:>8.2f} {figures['cpu_ms']:>11.2f}"
            )
            if name != "direct":
                line += (
                    f" {figures['p50'] - direct['p50']:>10.2f} ms"
                    f" {figures['rate'] / direct['rate']:>16.0%}"
                )
            print(line)
            if figures["non2xx"]:
                print(f"{'':>8} {name:>8} refused: {figures['non2xx']:.0f}")


def run(
    url: str, args: argparse.Namespace, levels: list[int], workdir: Path
) -> dict[int, dict[str, dict[str, float]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    sandbox_port, api_port, floor_port = free_port(), free_port(), free_port()
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
    base = f"http://127.0.0.1:{api_port}"
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    floor = f"http://127.0.0.1:{floor_port}"
    results: dict[int, dict[str, dict[str, float]]] = {}
    with (
        process([*LGSP, "sandbox", "--port", str(sandbox_port)], env, workdir / "sb.log") as sim,
        process(
            [
                *LGSP,
                "serve",
                "--port",
                str(api_port),
                "--no-workers",
                "--processes",
                str(args.processes),
            ],
            env,
            workdir / "api.log",
        ) as api,
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
                "PYTHONPATH": str(ROOT),
                "LGSP_BENCH_FORWARD_TO": f"{sandbox}/dancu/ws",
            },
            workdir / "floor.log",
        ) as forwarder,
    ):
        wait_http(f"{sandbox}/")
        wait_http(f"{base}/healthz")
        wait_http(f"{floor}/docs")
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
        # every request must succeed on both paths before anything is timed
        for (h, b), (gh, gb) in zip(direct_requests[:5], gateway_requests[:5], strict=True):
            direct = httpx.post(f"{sandbox}/dancu/ws", content=b, headers=h)
            assert "MaKetQua>000<" in direct.text, direct.text[:300]
            forwarded = httpx.post(f"{floor}/forward", content=b, headers=h)
            assert forwarded.status_code == 200, forwarded.text[:300]
            assert "MaKetQua>000<" in forwarded.text, forwarded.text[:300]
            through = httpx.post(f"{base}{LOOKUP_PATH}", content=gb, headers=gh)
            assert through.status_code == 200, through.text[:300]
        paths = {
            "direct": (sandbox, "/dancu/ws", direct_requests, sim.pid),
            "floor": (floor, "/forward", direct_requests, forwarder.pid),
            "gateway": (base, LOOKUP_PATH, gateway_requests, api.pid),
        }
        for c in levels:
            results[c] = {
                name: measured(partial(load, target, path, reqs, args.seconds, c, workdir), pid)
                for name, (target, path, reqs, pid) in paths.items()
            }
            print(
                f"  {c} callers: "
                + ", ".join(
                    f"{name} {figures['rate']:.0f}/s ({figures['cpu_ms']:.2f} ms CPU each)"
                    for name, figures in results[c].items()
                )
            )
    return results


if __name__ == "__main__":
    main()
