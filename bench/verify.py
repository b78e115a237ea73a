"""Benchmark: audit chain verification at disk speed (issue 22, item 5).

Builds (or tops up) a chain of N genuine entries on PostgreSQL (the gateway's own code writes
them: encrypted bodies, MACs; the gateway's sealer seals them and signs the checkpoints), then
prints, in one run:
  - read only: the rows streamed from PostgreSQL (the verifier's own reader, nothing hashed),
  - hash only: the same rows hashed (content + SHA-256 + MAC), held in memory,
  - verify in process: ``verify_database`` (read and hash overlapped),
  - ``lgsp audit verify`` end to end by the CLI (a new process), with its peak RSS (VmHWM),
  - the ratio of in-process verification to read + hash alone.

Usage: .venv/bin/python bench/verify.py [--entries 1000000] [--keep] [--rounds 2]
The database (``lgsp_bench_verify_<N>``) is kept between runs with ``--keep`` (building 1M
entries takes minutes); ``--drop`` drops it and exits. Prints its figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: the gateway code measured (default: this checkout; LGSP_BENCH_CODE=/other/checkout measures
#: another one, e.g. the code before a change, with the same bench)
CODE = Path(os.environ.get("LGSP_BENCH_CODE") or ROOT)
sys.path.insert(0, str(CODE))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402

from gateway.core.crypto import BodyCipher, CheckpointSigner  # noqa: E402
from gateway.core.log import audit  # noqa: E402
from gateway.core.log.exchange_log import Crossing, ExchangeLog  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.core.store.db import Database, ExchangeEntry  # noqa: E402

LGSP = [sys.executable, "-c", "from gateway.cli import main; main()"]
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    env.update(LGSP_DATABASE_URL=url, LGSP_LOG_LEVEL="WARNING", PYTHONPATH=str(CODE))
    return env


async def pg_admin(sql: str) -> Any:
    conn = await asyncpg.connect(ADMIN)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def pg_admin_on(database: str, sql: str) -> Any:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def _crossing(n: int, request: bytes, at: datetime) -> Crossing:
    """Mostly delivery attempts like the accept bench's, with the other kinds mixed in
    (Vietnamese text, officers, refusals without bodies) so every column type is exercised."""
    if n % 10 == 0:
        return Crossing(
            kind="inbound",
            operation="tra_cuu_cong_dan",
            outcome="granted",
            connector="dancu",
            client="bench",
            officer_id=f"canbo{n % 97}",
            purpose=f"Xác minh hồ sơ số {n} — “đăng ký thường trú”",
            ma_ho_so=f"000.00.01.H22-240105-{n % 9999:04d}",
            started_at=at,
            finished_at=at + timedelta(microseconds=1234),
            status_code=200,
            request=b'{"so_dinh_danh":"001******345"}',
            response=b'{"ho_ten":"Nguy\xe1\xbb\x85n V\xc4\x83n A"}',
        )
    if n % 10 == 5:
        return Crossing(
            kind="refusal",
            operation="sync_dossier",
            outcome="refused",
            client="bench",
            started_at=at,
            finished_at=at,
            detail='body\tnot "JSON"\nline 2 \\ end',
        )
    return Crossing(
        kind="attempt",
        operation="sync_dossier:DongBoHoSoMC",
        outcome="answered",
        connector="dvcqg",
        status_code=200,
        parent_id=f"00000000-0000-4000-8000-{n:012d}",
        started_at=at,
        finished_at=at + timedelta(milliseconds=42),
        request=request,
        response=b'{"error_code":"0","message":"OK"}',
        detail="POST http://127.0.0.1/dvcqg/api",
    )


async def build(url: str, settings: Settings, entries: int) -> None:
    """Top the log up to ``entries`` genuine entries (COPY), then seal them all."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM exchange_entries"))
        columns = [c.name for c in ExchangeEntry.__table__.columns if c.name != "id"]
        log = ExchangeLog(BodyCipher(settings.data_key_id, settings.data_key_bytes()))
        request = b'{"service":"DongBoHoSoMC","data":[' + b"x" * 1500 + b"]}"
        base = datetime(2026, 12, 1, tzinfo=UTC)
        t0 = time.perf_counter()
        while have < entries:
            rows = []
            for n in range(have, min(have + 20_000, entries)):
                at = base + timedelta(microseconds=n * 1_000_003)
                entry = log.build(_crossing(n, request, at))
                rows.append(tuple(getattr(entry, c) for c in columns))
            await conn.copy_records_to_table("exchange_entries", records=rows, columns=columns)
            have += len(rows)
            print(f"  built {have} entries ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        await conn.close()
    db = Database(url)
    signer = CheckpointSigner.from_seed(settings.signing_key_id, settings.signing_key_bytes())
    authenticator = BodyCipher(settings.data_key_id, settings.data_key_bytes()).entries
    sealed = 0
    t0 = time.perf_counter()
    while n := await audit.seal_pending(db, signer, batch=50_000, authenticator=authenticator):
        sealed += n
        print(f"  sealed {sealed} entries ({time.perf_counter() - t0:.0f} s)", flush=True)
    await db.dispose()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE exchange_entries")  # as autovacuum would, later
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="each figure: best of N")
    parser.add_argument("--keep", action="store_true", help="keep the database for next time")
    parser.add_argument("--drop", action="store_true", help="drop the database and exit")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--hash-sample", type=int, default=100_000, help="rows held in memory to time hashing"
    )
    args = parser.parse_args(argv)
    name = f"lgsp_bench_verify_{args.entries}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    if args.drop:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    exists = asyncio.run(pg_admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
    if not exists:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        schema = asyncio.run(pg_admin_on(name, "SELECT to_regclass('exchange_entries')"))
        if schema[0][0] is None:  # `db upgrade` verifies the chain: only on a new database
            subprocess.run(
                [*LGSP, "db", "upgrade"], env=env_for(url), check=True, capture_output=True
            )
        settings = Settings(database_url=url)
        asyncio.run(build(url, settings, args.entries))
        if args.build_only:
            return
        measure(url, settings, args)
    finally:
        if not args.keep and not args.build_only:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_COLUMNS = ", ".join(
    (
        "seq",
        "prev_hash",
        "entry_hash",
        *(_TIME.format(f) if f.endswith("_at") else f for f in audit.HASHED_FIELDS),
        "entry_mac",
    )
)


async def read_only(dsn: str, hold: int = 0) -> tuple[int, float, float, list[Any]]:
    """Stream every sealed row with asyncpg (server-side cursor, 5000 a fetch), nothing
    hashed: (rows, wall seconds, client CPU seconds, the first ``hold`` rows)."""
    conn = await asyncpg.connect(dsn)
    held: list[Any] = []
    rows = 0
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(
                f"SELECT {_COLUMNS} FROM exchange_entries WHERE seq > 0 ORDER BY seq"
            )
            while chunk := await cursor.fetch(5000):
                rows += len(chunk)
                if len(held) < hold:
                    held.extend(chunk[: hold - len(held)])
        return rows, time.perf_counter() - w0, time.process_time() - c0, held
    finally:
        await conn.close()


def hash_only(records: list[Any], authenticator: Any) -> float:
    """CPU seconds to hash ``records`` as verification does (content, SHA-256, MAC)."""
    width = 3 + len(audit.HASHED_FIELDS)
    content_of, sha, prefix = audit.entry_content, hashlib.sha256, audit.MAC_PREFIX
    c0 = time.process_time()
    for r in records:
        content = content_of(r[3:width])
        if sha((r[1] + content).encode()).hexdigest() != r[2]:
            raise RuntimeError(f"entry {r[0]} does not match its hash")
        if not authenticator.check(prefix + content.encode(), r[width]):
            raise RuntimeError(f"entry {r[0]} fails its MAC")
    return time.process_time() - c0


async def in_process(url: str, settings: Settings) -> tuple[int, float, float]:
    db = Database(url)
    signer = CheckpointSigner.from_seed(settings.signing_key_id, settings.signing_key_bytes())
    authenticator = BodyCipher(settings.data_key_id, settings.data_key_bytes()).entries
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        report = await audit.verify_database(
            db, signer.public_key_b64(), authenticator=authenticator
        )
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if not report.ok:
            raise RuntimeError(f"chain broken: {report.problem}")
        return report.entries, wall, cpu
    finally:
        await db.dispose()


def by_cli(url: str) -> tuple[float, float, int, str]:
    """``lgsp audit verify`` in a new process (run from the measured checkout, under
    ``/usr/bin/time``: a forked child's own ``ru_maxrss`` counts the parent's pages it shared
    before exec): (wall seconds, its CPU seconds, its peak RSS in KiB, its last line)."""
    w0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *LGSP, "audit", "verify"],
        env=env_for(url),
        cwd=CODE,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - w0
    if done.returncode:
        raise RuntimeError(f"lgsp audit verify exited {done.returncode}: {done.stdout}")
    rss, user, system = done.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(rss), done.stdout.strip().splitlines()[-1]


def measure(url: str, settings: Settings, args: argparse.Namespace) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    authenticator = BodyCipher(settings.data_key_id, settings.data_key_bytes()).entries
    best: dict[str, tuple[float, ...]] = {}

    def keep(name: str, *figures: float) -> None:
        if name not in best or figures[0] < best[name][0]:
            best[name] = figures

    entries = 0
    for _ in range(args.rounds):  # the variants alternate within each round
        rows, wall, cpu, held = asyncio.run(read_only(dsn, hold=args.hash_sample))
        keep("read", wall, cpu)
        keep("hash", hash_only(held, authenticator) * rows / max(len(held), 1))
        del held
        entries, wall, cpu = asyncio.run(in_process(url, settings))
        keep("verify", wall, cpu)
        wall, cpu, rss, _ = by_cli(url)
        keep("cli", wall, cpu, rss)
    read, hashed = best["read"][0], best["hash"][0]
    print(f"\nverification of {entries} entries, PostgreSQL (code: {CODE}; best of {args.rounds})")
    print(f"{'step':<36}{'entries/s':>12}{'wall s':>9}{'CPU s':>8}")
    print(
        f"{'read only (asyncpg cursor)':<36}{entries / read:>12,.0f}{read:>9.1f}"
        f"{best['read'][1]:>8.1f}"
    )
    print(
        f"{'hash only (content+SHA-256+MAC)':<36}{entries / hashed:>12,.0f}{hashed:>9.1f}"
        f"{hashed:>8.1f}"
    )
    print(
        f"{'read + hash, one after the other':<36}{entries / (read + hashed):>12,.0f}"
        f"{read + hashed:>9.1f}"
    )
    v = best["verify"]
    print(f"{'verify_database in process':<36}{entries / v[0]:>12,.0f}{v[0]:>9.1f}{v[1]:>8.1f}")
    c = best["cli"]
    print(
        f"{'lgsp audit verify (CLI, end to end)':<36}{entries / c[0]:>12,.0f}{c[0]:>9.1f}"
        f"{c[1]:>8.1f}"
    )
    print(
        f"in-process verify / (read + hash): {v[0] / (read + hashed):.2f}x "
        f"(target <= 1.5x); in-process rate target >= 200,000/s"
    )
    print(f"CLI peak RSS (VmHWM): {c[2] / 1024:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
