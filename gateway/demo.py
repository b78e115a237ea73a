"""``lgsp demo``: the main job end to end on the embedded default.

Starts the simulators and the gateway (SQLite, in-process state store, workers in the server) on
loopback ports, then plays a case system: every registered connector's parts
(``SPEC.demo_parts``, see :mod:`gateway.core.demo`) in their order. With the connectors of this
repository: applicants are taken from the population database, which officers registered for it
query before each dossier is received (``connectors/dancu/demo.py``); applicants log in with
VNeID or DVCQG SSO (``connectors/vneid/demo.py``); the first dossier's fee is paid through the
payment platform, with a forged callback refused (``connectors/payment/demo.py``); a dossier
submitted on the national portal goes to the citizen's data store, with a rating and a
feedback round trip (``connectors/dvcqg/demo_portal.py``); a result is signed remotely, verified
and a tampered copy caught (``connectors/esign/demo.py``); a result is delivered by post with
its fees collected on delivery (``connectors/postal/demo.py``); then the batch of dossiers goes
through its whole life while the simulated portal misbehaves, and the portal is checked to hold
exactly the right state and history of each (``connectors/dvcqg/demo.py``). Finally the
operators' own ``lgsp audit verify`` checks the exchange log's hash chain. Exit status 0 only if
every check held.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.api.main import create_app
from gateway.core.clients import create_client
from gateway.core.connector import ConnectorSpec
from gateway.core.demo import DemoContext, DemoPart
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import AuditSettings, DeliverySettings, Settings
from gateway.sandbox import create_sandbox_app, quiet_simulated_drops

#: the core's own scopes the demo uses (the connectors' parts declare theirs)
CORE_DEMO_SCOPES = ("ops:read", "events:read")


def demo_parts(specs: Mapping[str, ConnectorSpec]) -> list[type[DemoPart]]:
    """Every registered connector's demo parts, in the order they play."""
    parts = [
        part
        for spec in specs.values()
        for part in (spec.demo_parts() if spec.demo_parts is not None else ())
    ]
    return sorted(parts, key=lambda part: part.order)


class Demo:
    """One run: plays the parts and keeps the failed checks."""

    def __init__(
        self,
        *,
        dossiers: int,
        seed: int,
        say: Callable[[str], None],
        parts: Sequence[type[DemoPart]],
    ) -> None:
        self.n = dossiers
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.say = say
        self.parts = parts
        self.failures: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        self.say(f"  {'✔' if ok else '✘'} {what}")
        if not ok:
            self.failures.append(what)
        return ok

    async def run(self, api: httpx.AsyncClient, sim: httpx.AsyncClient) -> None:
        ctx = DemoContext(
            api=api, sim=sim, check=self.check, say=self.say, size=self.n, rng=self.rng
        )
        for part in self.parts:
            await part(api, sim, self.check).play(ctx)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.02)
    return server, task


async def _sandbox_tsa(sandbox: str, workdir: Path) -> AuditSettings:
    async with httpx.AsyncClient(base_url=sandbox, timeout=30) as client:
        root = await client.get("/esign/pki/root.pem")
    root.raise_for_status()
    pem = workdir / "sandbox-tsa-root.pem"
    pem.write_bytes(root.content)
    return AuditSettings(tsa_url=f"{sandbox}/esign/tsa", tsa_certs=pem)


async def _main(dossiers: int, seed: int, workdir: Path) -> int:
    say = print
    db_path = workdir / "lgsp-demo.db"
    sandbox_port, gateway_port = _free_port(), _free_port()
    say(f"LGSP Gateway demo: {dossiers} dossiers, database {db_path}")
    sandbox, sandbox_task = await _serve(create_sandbox_app(), sandbox_port)
    say(f"▶ simulators on http://127.0.0.1:{sandbox_port}")
    # the exchange log is anchored by the sandbox's timestamp authority, trusted through the
    # sandbox's root certificate as an operator would configure a real one
    audit = await _sandbox_tsa(f"http://127.0.0.1:{sandbox_port}", workdir)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{db_path}",
        audit=audit,
        log_level="WARNING",
        connectors_off=[],  # the demo shows every connector, whatever LGSP_CONNECTORS_OFF says
        delivery=DeliverySettings(
            workers=4,
            backoff_base_seconds=0.1,
            backoff_max_seconds=2.0,
            max_attempts=40,
            breaker_failure_threshold=8,
            breaker_reset_seconds=1.0,
        ),
        # the portal is pulled every second, so the demo need not wait a minute
        connectors={"dvcqg": {"timeout_seconds": 1.0, "pull_interval_seconds": 1.0}},
    )
    gw = Gateway(settings, sandbox_base=f"http://127.0.0.1:{sandbox_port}")
    await gw.start()
    parts = demo_parts(gw.specs)
    scopes = sorted({*CORE_DEMO_SCOPES, *(s for part in parts for s in part.scopes)})
    _, key = await create_client(gw.db, name="case-system", scopes=scopes)
    server, task = await _serve(create_app(gw, start=False), gateway_port)
    say(f"▶ gateway on http://127.0.0.1:{gateway_port} (client 'case-system' created)")
    demo = Demo(dossiers=dossiers, seed=seed, say=say, parts=parts)
    try:
        async with (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{gateway_port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            ) as api,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{sandbox_port}", timeout=30) as sim,
        ):
            await demo.run(api, sim)
    except Exception as exc:
        demo.check(False, f"the run itself failed: {type(exc).__name__}: {exc}")
    finally:
        server.should_exit = True
        await task  # stops the workers and seals what is left of the log
        sandbox.should_exit = True
        await sandbox_task
    await gw.aclose()
    say("▶ lgsp audit verify")
    # the operators' command itself, in a process of its own, on the demo's database
    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from gateway.cli import main; main()", "audit", "verify"],
        env={
            **_clean_env(),
            "LGSP_DATABASE_URL": settings.database_url,
            "LGSP_LOG_LEVEL": "ERROR",
            "LGSP_AUDIT__TSA_URL": str(audit.tsa_url),
            "LGSP_AUDIT__TSA_CERTS": str(audit.tsa_certs),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for line in (verify.stdout + verify.stderr).strip().splitlines():
        say(f"  {line}")
    demo.check(
        verify.returncode == 0
        and "chain intact" in verify.stdout
        and "not yet sealed" not in verify.stdout,
        "lgsp audit verify: the exchange log's hash chain is intact and fully sealed",
    )
    demo.check(
        "anchored:" in verify.stdout and "waiting for a timestamp" not in verify.stdout,
        "lgsp audit verify: its checkpoints are timestamped by the authority (RFC 3161)",
    )
    if demo.failures:
        say(f"DEMO FAILED: {len(demo.failures)} check(s) did not hold")
        return 1
    say("DEMO PASSED: every check held")
    return 0


def run_demo(*, dossiers: int = 12, seed: int = 2024, keep: Path | None = None) -> int:
    configure_logging("WARNING", json_lines=False)
    quiet_simulated_drops()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_main(dossiers, seed, keep))
    with tempfile.TemporaryDirectory(prefix="lgsp-demo-") as tmp:
        return asyncio.run(_main(dossiers, seed, Path(tmp)))
