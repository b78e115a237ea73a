"""``lgsp serve``, ``worker``, ``sandbox`` and ``demo``: the long-running processes and the main
job."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
import structlog
import uvicorn
from prometheus_client import start_http_server

from gateway.api.server import server_options, uvicorn_config
from gateway.core.commands import DatabaseUnreachable, require_database, require_schema
from gateway.core.commands import settings as load_settings
from gateway.core.errors import GatewayError, SchemaNotCurrent
from gateway.core.metrics import REGISTRY
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings

log = structlog.get_logger("gateway.cli")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--sandbox", is_flag=True, help="also start the simulators and use them")
@click.option("--sandbox-port", default=9000, show_default=True, type=int)
@click.option("--no-workers", is_flag=True, help="API only; run `lgsp worker` separately")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes sharing the port (use PostgreSQL and Redis beyond one)",
)
def serve(
    host: str, port: int, sandbox: bool, sandbox_port: int, no_workers: bool, processes: int
) -> None:
    """Run the API (and, by default, the delivery workers)."""
    from gateway.api.main import create_app
    from gateway.sandbox import create_sandbox_app

    settings = load_settings()
    if processes > 1:
        if sandbox:
            raise click.UsageError("--processes > 1: run `lgsp sandbox` as its own command")
        _serve_processes(settings, host, port, processes, run_workers=not no_workers)
        return

    async def run() -> None:
        servers = []
        base = None
        if sandbox:
            base = f"http://127.0.0.1:{sandbox_port}"
            servers.append(_server(create_sandbox_app(), host, sandbox_port))
        gw = Gateway(settings, sandbox_base=base)
        await _ready_to_start(gw)
        servers.append(_server(create_app(gw, run_workers=not no_workers), host, port))
        try:
            await asyncio.gather(*(s.serve() for s in servers))
        finally:
            await gw.aclose()

    _run_server(run())


def _serve_processes(
    settings: Settings, host: str, port: int, processes: int, *, run_workers: bool
) -> None:
    """Several uvicorn processes on one port, each its own API and delivery workers."""
    import os

    from gateway.api.asgi import RUN_WORKERS_ENV, SUPERVISOR_ENV
    from gateway.core.store import migrate

    async def upgrade_once() -> None:
        gw = Gateway(settings)
        await _ready_to_start(gw)
        try:
            if settings.migrates_at_start:
                await migrate.upgrade(gw.db.engine)
        finally:
            await gw.aclose()

    asyncio.run(upgrade_once())  # here, not in N processes at once
    os.environ["LGSP_AUTO_MIGRATE"] = "false"
    os.environ[RUN_WORKERS_ENV] = "true" if run_workers else "false"
    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # the server processes end with this one
    uvicorn.run(
        "gateway.api.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_config=None,
        access_log=False,
        **server_options(),
    )


async def _ready_to_start(gw: Gateway) -> None:
    """The database answers, and its schema is current unless this process migrates it (the
    embedded SQLite, or ``LGSP_AUTO_MIGRATE=true``): else one line, and exit 1."""
    try:
        await require_database(gw)
        if not gw.settings.migrates_at_start:
            await require_schema(gw)
    except (DatabaseUnreachable, SchemaNotCurrent) as exc:
        await gw.aclose()
        why = exc.detail if isinstance(exc, GatewayError) else str(exc)
        raise StartRefused(why) from None


class StartRefused(click.ClickException):
    """The process cannot start on this database (one line; exit 2, like every command whose
    configuration or database is unusable)."""

    exit_code = 2


def _run_server(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived server on uvloop, the event loop uvicorn itself picks when it owns the
    process (``--processes``): the same loop whichever way the gateway is started. Where
    uvloop does not exist (Windows), asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on the platforms the gateway is deployed on
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _server(app: Any, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn_config(app, host=host, port=port))


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped in-cluster
    """This process's metrics at ``http://host:port/metrics`` (a thread of prometheus_client's),
    for a worker, which serves no API."""
    start_http_server(port, addr=host, registry=REGISTRY)


@click.command()
@click.option("--sandbox", "sandbox_base", default=None, help="simulator base URL to deliver to")
def worker(sandbox_base: str | None) -> None:
    """Run delivery workers only (scale out beside API replicas)."""
    from gateway.core.delivery.workers import DeliveryService

    async def run() -> None:
        gw = Gateway(load_settings(), sandbox_base=sandbox_base)
        await _ready_to_start(gw)
        await gw.start()
        port = gw.settings.worker_metrics_port
        if port is not None:
            serve_metrics(port)
            log.info("worker.metrics", url=f"http://0.0.0.0:{port}/metrics")
        service = DeliveryService(gw)
        service.start()
        gc.collect()
        gc.freeze()  # long-lived start-up objects: out of the collector's scans
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker.running", owner=service.owner, stop="SIGTERM or Ctrl-C")
        await stop.wait()
        await service.stop()
        await gw.aclose()

    _run_server(run())


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True, type=int)
def sandbox(host: str, port: int) -> None:
    """Run every platform simulator, one path prefix per platform."""
    from gateway.sandbox import create_sandbox_app, quiet_simulated_drops

    load_settings()
    quiet_simulated_drops()
    _run_server(_server(create_sandbox_app(), host, port).serve())


@click.command()
@click.option("--dossiers", default=12, show_default=True, type=click.IntRange(1, 500))
@click.option("--seed", default=2024, show_default=True, type=int)
@click.option("--keep", type=click.Path(path_type=Path), help="keep the demo database here")
def demo(dossiers: int, seed: int, keep: Path | None) -> None:
    """The main job end to end on the embedded default; exit 0 only if every check held."""
    from gateway.demo import run_demo

    sys.exit(run_demo(dossiers=dossiers, seed=seed, keep=keep))
