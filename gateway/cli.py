"""The ``lgsp`` command: a thin layer over the same service functions the API uses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn
from sqlalchemy.exc import DBAPIError

from gateway.api.server import server_options, uvicorn_config
from gateway.cli_events import events_group
from gateway.cli_officers import officers_group, report_group
from gateway.cli_postal import reconcile_postal
from gateway.cli_reconcile import reconcile_group
from gateway.core import outbox
from gateway.core.audit import export_chain, verify_database, verify_export
from gateway.core.errors import GatewayError
from gateway.core.health import wire_profile
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return settings


def _run(factory: Callable[[Gateway], Awaitable[T]], *, migrate: bool = True) -> T:
    """Build the runtime, run ``factory`` with it, close it; GatewayErrors exit 2 clearly."""

    async def main() -> T:
        gw = Gateway(_settings())
        try:
            if migrate and gw.settings.auto_migrate:
                from gateway.core import migrate as m

                await m.upgrade(gw.db.engine)
            return await factory(gw)
        finally:
            await gw.aclose()

    try:
        return asyncio.run(main())
    except GatewayError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        for e in exc.errors:
            click.echo(f"  {e.loc}: {e.msg}", err=True)
        sys.exit(2)
    except DBAPIError as exc:
        # exit 2, not 1: "the database could not be read" is not "the chain is broken"
        click.echo(
            "error: the database could not be used (is it reachable, and at the latest "
            f"schema? `lgsp db upgrade`): {type(exc.orig).__name__}",
            err=True,
        )
        sys.exit(2)


@click.group()
@click.version_option("0.1.0", prog_name="lgsp")
def main() -> None:
    """LGSP Gateway: the case system's one API to the national platforms."""


# --- servers --------------------------------------------------------------------------------


@main.command()
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

    settings = _settings()
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

    from gateway.api.asgi import RUN_WORKERS_ENV
    from gateway.core import migrate

    async def upgrade_once() -> None:
        gw = Gateway(settings)
        try:
            await migrate.upgrade(gw.db.engine)
        finally:
            await gw.aclose()

    if settings.auto_migrate:
        asyncio.run(upgrade_once())  # here, not in N processes at once
    os.environ["LGSP_AUTO_MIGRATE"] = "false"
    os.environ[RUN_WORKERS_ENV] = "true" if run_workers else "false"
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


@main.command()
@click.option("--sandbox", "sandbox_base", default=None, help="simulator base URL to deliver to")
def worker(sandbox_base: str | None) -> None:
    """Run delivery workers only (scale out beside API replicas)."""
    from gateway.core.delivery import DeliveryService

    async def run() -> None:
        gw = Gateway(_settings(), sandbox_base=sandbox_base)
        await gw.start()
        service = DeliveryService(gw)
        service.start()
        gc.collect()
        gc.freeze()  # long-lived start-up objects: out of the collector's scans
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"worker {service.owner} running; Ctrl-C to stop", err=True)
        await stop.wait()
        await service.stop()
        await gw.aclose()

    _run_server(run())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True, type=int)
def sandbox(host: str, port: int) -> None:
    """Run every platform simulator, one path prefix per platform."""
    from gateway.sandbox import create_sandbox_app, quiet_simulated_drops

    _settings()
    quiet_simulated_drops()
    _run_server(_server(create_sandbox_app(), host, port).serve())


@main.command()
@click.option("--dossiers", default=12, show_default=True, type=click.IntRange(1, 500))
@click.option("--seed", default=2024, show_default=True, type=int)
@click.option("--keep", type=click.Path(path_type=Path), help="keep the demo database here")
def demo(dossiers: int, seed: int, keep: Path | None) -> None:
    """The main job end to end on the embedded default; exit 0 only if every check held."""
    from gateway.demo import run_demo

    sys.exit(run_demo(dossiers=dossiers, seed=seed, keep=keep))


# --- administration -------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (idempotent)."""
    _run(lambda gw: _noop(), migrate=True)
    click.echo("database is at the latest schema")


async def _noop() -> None:
    return None


@main.group()
def clients() -> None:
    """Case-system clients and their keys."""


@clients.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="repeat for each scope")
def clients_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a client; its key is printed once and never stored in clear."""
    from gateway.core.clients import create_client

    _principal, key = _run(lambda gw: create_client(gw.db, name=name, scopes=list(scopes)))
    click.echo(f"client {name} created with scopes {', '.join(sorted(scopes))}", err=True)
    click.echo("its key (shown once, store it now):", err=True)
    click.echo(key)


@main.group()
def connectors() -> None:
    """Registered connectors."""


@connectors.command("list")
def connectors_list() -> None:
    async def body(gw: Gateway) -> None:
        for slug, spec in gw.specs.items():
            state = (await gw.breakers[slug].state()).value
            ops = ", ".join(sorted(gw.connectors[slug].operations)) or "none (synchronous only)"
            wire = " ".join(f"{k}={v}" for k, v in wire_profile(gw.configs[slug]).items())
            click.echo(f"{slug:8} {spec.title}  {wire}  circuit={state}  operations: {ops}")

    _run(body, migrate=False)


@connectors.command("check")
@click.argument("slug")
def connectors_check(slug: str) -> None:
    """Reach the platform and say whether it answers (exit 1 when it does not)."""

    # migrate like any writer: each call of the check is an exchange-log entry, and on a
    # database not yet upgraded those entries were lost (with a traceback on stderr)
    result = _run(lambda gw: gw.connector(slug).check())
    click.echo(
        f"{slug}: {'ok' if result.ok else 'FAILED'} ({result.latency_ms:.0f} ms) {result.detail}"
    )
    sys.exit(0 if result.ok else 1)


@main.group()
def dlq() -> None:
    """Dead letters: deliveries that failed for good."""


@dlq.command("list")
@click.option("--connector", default=None)
def dlq_list(connector: str | None) -> None:
    items = _run(lambda gw: outbox.list_dead(gw.db, connector=connector, limit=1000))
    if not items:
        click.echo("no dead letters")
    for i in items:
        click.echo(
            f"{i.id:>8} {i.exchange_id} {i.connector}/{i.operation} {i.ma_ho_so or '-'} "
            f"attempts={i.attempts}\n         reason: {i.last_error}"
        )


@dlq.command("replay")
@click.argument("ref", required=False)
@click.option("--all", "replay_all", is_flag=True, help="replay every dead letter")
@click.option("--connector", default=None, help="with --all: only this connector's")
def dlq_replay(ref: str | None, replay_all: bool, connector: str | None) -> None:
    """Queue a dead letter (by id or exchange id), or all of them, for delivery again."""
    if replay_all == (ref is not None):
        raise click.UsageError("give either an ID or --all")
    if replay_all:
        count = _run(lambda gw: outbox.replay_all(gw.db, connector=connector))
        click.echo(f"{count} dead letters queued again")
    else:
        assert ref is not None
        view = _run(lambda gw: outbox.replay(gw.db, ref))
        click.echo(f"{view.exchange_id} queued again")


@dlq.command("skip")
@click.argument("ref")
@click.option("--reason", required=True, help="why this delivery is given up (recorded)")
def dlq_skip(ref: str, reason: str) -> None:
    """Give up a dead letter so the dossier's later updates can go."""
    view = _run(lambda gw: outbox.skip(gw.db, ref, reason=reason))
    click.echo(f"{view.exchange_id} skipped")


# the officer registry and the review of population-database use (seed 004, Điều 8)
main.add_command(officers_group)
main.add_command(report_group)
main.add_command(events_group)
main.add_command(reconcile_group)
reconcile_group.add_command(reconcile_postal)


@main.group()
def audit() -> None:
    """The tamper-evident exchange log."""


def _print_report(report: Any) -> None:
    if report.ok:
        click.echo(
            f"chain intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"head seq {report.head_seq} {report.head_hash[:16]}…"
            + (f" ({report.unsealed} not yet sealed)" if report.unsealed else "")
        )
    else:
        p = report.problem
        click.echo(f"CHAIN BROKEN [{p.kind}] at seq {p.seq}: {p.message}", err=True)
        click.echo(f"({report.entries} entries verified before it)", err=True)


@audit.command("verify")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="also export the verified chain to this directory",
)
@click.option(
    "--from-export",
    "from_export",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="verify an exported directory offline instead of the database",
)
@click.option("--public-key", default=None, help="trusted checkpoint key (base64 Ed25519)")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(
    export_dir: Path | None, from_export: Path | None, public_key: str | None, as_json: bool
) -> None:
    """Recompute the hash chain; exit 0 only when it is intact."""
    if from_export is not None:
        report = verify_export(from_export, public_key)
    else:

        async def body(gw: Gateway) -> Any:
            result = await verify_database(gw.db, public_key or gw.public_key)
            if export_dir is not None and result.ok:
                await export_chain(gw.db, export_dir, gw.public_key)
            return result

        report = _run(body, migrate=False)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("export")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
def audit_export(out: Path) -> None:
    """Export the sealed chain, its checkpoints and the public key for offline verification."""

    async def body(gw: Gateway) -> int:
        return await export_chain(gw.db, out, gw.public_key)

    count = _run(body, migrate=False)
    click.echo(
        f"{count} entries exported to {out}; verify with: lgsp audit verify --from-export {out}"
    )


@audit.command("seal")
def audit_seal() -> None:
    """Seal pending entries now (the workers do this continuously)."""
    from gateway.core.delivery import DeliveryService

    count = _run(lambda gw: DeliveryService(gw).seal_once())
    click.echo(f"{count} entries sealed")


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        main()
