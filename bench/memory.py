"""Benchmark: the API process's memory under a long accepting load (issue 22's memory target).

Starts the DVCQG simulator and ``lgsp serve --no-workers`` (1 or 2 processes, PostgreSQL by
default, SQLite with ``--backend sqlite``), drives accepted dossier packets with the raw-socket
keep-alive load generator of :mod:`bench.throughput`, and samples each API process's resident
memory (``VmRSS`` and its peak ``VmHWM``, from /proc/<pid>/status) every ``--every`` accepted
requests. Prints the curve (requests, RSS per process) and the slope per 100,000 requests over
the last half of the run (a plateau is a slope near 0).

``--trace SECONDS``: the server processes are started through :func:`traced_main`, which
starts tracemalloc and writes, every SECONDS, the top allocation sites that grew since the
first dump and the object counts that grew (``gc.get_objects``) to ``<workdir>/trace-<pid>.txt``
(kept, its path printed). Nothing of this is in the gateway's code: the bench wraps the
command line.

``--env NAME=VALUE`` (repeatable) adds an environment variable to the server processes, e.g.
``--env MALLOC_ARENA_MAX=4`` to compare allocator settings.

Usage: .venv/bin/python bench/memory.py [--quick] [--requests 500000] [--every 25000]
       [--server-processes 1] [--concurrency 50] [--backend postgresql|sqlite]
``--quick``: 40,000 requests sampled every 5,000 (about a minute).
Prints its figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import (  # noqa: E402
    BODY,
    LGSP,
    accept_load,
    api_pids,
    cpu_seconds,
    free_port,
    pg_create,
    pg_drop,
    process,
    run_fast,
    serve_args,
    wait_http,
)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of ``pid`` in KiB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[name] = int(value.split()[0])
    return out


async def counted_load(
    port: int, key: str, every: int, total: int, concurrency: int, sample: Any
) -> tuple[int, int]:
    """``concurrency`` keep-alive connections posting dossiers until ``total`` were sent,
    pausing at each multiple of ``every`` (all connections idle) to call ``sample(sent)``.
    Returns (sent, non-202)."""
    head = (
        "POST /v1/dvcqg/dossiers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        "Content-Length: {}\r\n\r\n"
    )
    length = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
    sent = 0
    bad = 0
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]

    async def connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, end: int
    ) -> None:
        nonlocal sent, bad
        while sent < end:
            sent += 1
            n = sent % 2000 + 1
            body = (BODY % (n, n, sent)).encode()
            writer.write(head.format(len(body)).encode() + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            found = length.search(answer)
            if found:
                await reader.readexactly(int(found.group(1)))
            if answer[9:12] != b"202":
                bad += 1

    try:
        sample(0)
        while sent < total:
            end = min(total, sent + every)
            await asyncio.gather(*(connection(r, w, end) for r, w in streams))
            sample(sent)
    finally:
        for _, w in streams:
            w.close()
    return sent, bad


def slope_per_100k(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (requests, MiB) over the last half of the points, per 100k."""
    half = [p for p in points if p[0] >= points[-1][0] / 2]
    if len(half) < 2:
        return float("nan")
    mx = sum(x for x, _ in half) / len(half)
    my = sum(y for _, y in half) / len(half)
    den = sum((x - mx) ** 2 for x, _ in half)
    return sum((x - mx) * (y - my) for x, y in half) / den * 100_000 if den else float("nan")


TRACED = (
    "import sys; sys.path.insert(0, {root!r}); from bench.memory import traced_main; "
    "traced_main({seconds!r}, {out!r})"
)


def traced_main(seconds: float, out_dir: str) -> None:
    """Run ``lgsp`` (argv) with tracemalloc on, dumping growth every ``seconds`` from a
    daemon thread (bench only: the gateway's code knows nothing of it)."""
    import collections
    import gc
    import threading
    import tracemalloc

    tracemalloc.start(8)

    def dump() -> None:
        first: tracemalloc.Snapshot | None = None
        counts: collections.Counter[str] | None = None
        path = Path(out_dir) / f"trace-{os.getpid()}.txt"
        while True:
            time.sleep(seconds)
            gc.collect()
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            now = collections.Counter(type(o).__name__ for o in gc.get_objects())
            with path.open("a") as f:
                current, peak = tracemalloc.get_traced_memory()
                f.write(f"\n=== {time.strftime('%H:%M:%S')} traced {current >> 10} KiB ")
                f.write(f"(peak {peak >> 10} KiB), gc objects {sum(now.values())}\n")
                if first is None or counts is None:
                    first, counts = snap, now
                    continue
                for stat in snap.compare_to(first, "traceback")[:12]:
                    f.write(f"{stat}\n")
                    for line in stat.traceback.format()[-6:]:
                        f.write(f"    {line}\n")
                f.write(f"objects grown: {(now - counts).most_common(15)}\n")

    threading.Thread(target=dump, daemon=True).start()
    from gateway.cli import main

    main()


def run(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    sandbox_port, api_port = free_port(), free_port()
    env.update(
        LGSP_DATABASE_URL=url,
        LGSP_LOG_LEVEL="WARNING",
        LGSP_RATE_LIMIT="100000/second",
        LGSP_CONNECTORS__DVCQG__BASE_URL=f"http://127.0.0.1:{sandbox_port}/dvcqg",
    )
    for pair in args.env:
        name, _, value = pair.partition("=")
        env[name] = value
    subprocess.run([*LGSP, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [*LGSP, "clients", "create", "bench", "--scope", "dvcqg:sync"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    serve = LGSP
    if args.trace:
        serve = [
            sys.executable,
            "-c",
            TRACED.format(root=str(ROOT), seconds=args.trace, out=str(workdir)),
        ]
    base = f"http://127.0.0.1:{api_port}"
    curve: list[tuple[int, dict[int, dict[str, int]], float]] = []
    with (
        process([*LGSP, "sandbox", "--port", str(sandbox_port)], env, workdir / "sb.log"),
        process(
            serve_args(api_port, args.server_processes, lgsp=serve),
            env,
            workdir / "api.log",
        ) as api,
    ):
        wait_http(f"http://127.0.0.1:{sandbox_port}/")
        wait_http(f"{base}/healthz")
        time.sleep(1)
        pids = api_pids(api.pid, args.server_processes)
        started = {pid: memory_kib(pid) for pid in pids}
        ready_by = time.monotonic() + 120
        while True:  # the catalogue is loaded from the simulator after start: 503 until then
            try:
                asyncio.run(accept_load(base, key, 200, 20))
                break
            except RuntimeError as exc:
                if "503" not in str(exc) or time.monotonic() > ready_by:
                    raise
                time.sleep(1)
        cpu0 = {pid: cpu_seconds(pid) for pid in pids}
        t0 = time.perf_counter()

        def sample(sent: int) -> None:
            curve.append((sent, {pid: memory_kib(pid) for pid in pids}, time.perf_counter() - t0))
            rss = "  ".join(f"{curve[-1][1][pid]['VmRSS'] / 1024:7.1f}" for pid in pids)
            print(f"  {sent:>9,} requests  {curve[-1][2]:7.0f} s  RSS MiB: {rss}", flush=True)

        sent, bad = run_fast(
            counted_load(api_port, key, args.every, args.requests, args.concurrency, sample)
        )
        cpu = sum(cpu_seconds(pid) - cpu0[pid] for pid in pids)
    return {
        "pids": pids,
        "started": started,
        "curve": curve,
        "sent": sent,
        "bad": bad,
        "seconds": curve[-1][2],
        "cpu_ms": cpu / max(1, sent) * 1000,
    }


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    pids = r["pids"]
    print(
        f"\nLGSP Gateway memory: {r['sent']:,} requests ({r['bad']} non-202) to "
        f"`lgsp serve --no-workers --processes {args.server_processes}` on {args.backend}, "
        f"{args.concurrency} connections, {r['sent'] / r['seconds']:.0f}/s, "
        f"API CPU {r['cpu_ms']:.3f} ms/request"
        + (f", env {' '.join(args.env)}" if args.env else "")
    )
    print(
        f"{'requests':>10}"
        + "".join(f"{f'RSS {i} MiB':>12}{f'HWM {i} MiB':>12}" for i in range(len(pids)))
    )
    start = "".join(
        f"{r['started'][pid]['VmRSS'] / 1024:>12.1f}{r['started'][pid]['VmHWM'] / 1024:>12.1f}"
        for pid in pids
    )
    print(f"{'started':>10}{start}")
    for sent, mem, _ in r["curve"]:
        print(
            f"{sent:>10,}"
            + "".join(
                f"{mem[pid]['VmRSS'] / 1024:>12.1f}{mem[pid]['VmHWM'] / 1024:>12.1f}"
                for pid in pids
            )
        )
    for i, pid in enumerate(pids):
        points = [(sent, mem[pid]["VmRSS"] / 1024) for sent, mem, _ in r["curve"] if sent]
        last = r["curve"][-1][1][pid]
        print(
            f"process {i}: RSS {last['VmRSS'] / 1024:.1f} MiB (anon {last['RssAnon'] / 1024:.1f}, "
            f"file {last['RssFile'] / 1024:.1f}), peak {last['VmHWM'] / 1024:.1f} MiB; slope over "
            f"the last half: {slope_per_100k(points):+.2f} MiB per 100k requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40,000 requests, sampled every 5,000")
    parser.add_argument("--requests", type=int, default=500_000)
    parser.add_argument("--every", type=int, default=25_000, help="sample every N requests")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--server-processes", type=int, default=1)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--trace", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.every = 40_000, 5_000
    workdir = Path(tempfile.mkdtemp(prefix="lgsp-memory-"))
    url = pg_create() if args.backend == "postgresql" else f"sqlite+aiosqlite:///{workdir}/bench.db"
    try:
        report(args, run(args, url, workdir))
    finally:
        if args.backend == "postgresql":
            pg_drop(url)
        if args.trace:
            print(f"tracemalloc dumps: {workdir}/trace-*.txt")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
