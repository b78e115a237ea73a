"""``lgsp db``: the database schema."""

from __future__ import annotations

import sys

import click
from sqlalchemy import inspect

from gateway.core.commands import run
from gateway.core.log.audit import VerifyReport, verify_database
from gateway.core.runtime import Gateway
from gateway.core.store import migrate


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option(
    "--force", is_flag=True, help="upgrade even when the chain is already broken (it is reported)"
)
def db_upgrade(force: bool) -> None:
    """Apply every migration (idempotent). The exchange log's chain is verified before and
    after (seed 003, Điều 17.9.d): exit 1 when the upgrade broke it; a chain already broken
    stops the upgrade unless --force."""

    async def body(gw: Gateway) -> tuple[VerifyReport | None, VerifyReport | None]:
        before = await _verify_existing(gw)
        if before is not None and not before.ok and not force:
            return before, None
        await migrate.upgrade(gw.db.engine)
        after = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
        return before, after

    before, after = run(body, check_schema=False)
    if before is not None:
        _say("before the upgrade", before)
    if after is None:
        click.echo(
            "upgrade not applied: the chain was broken before it (--force to go on)", err=True
        )
        sys.exit(1)
    _say("after the upgrade", after)
    if not after.ok:
        if before is None or before.ok:
            click.echo("the upgrade broke the exchange log's chain", err=True)
        sys.exit(1)
    click.echo("database is at the latest schema")


async def _verify_existing(gw: Gateway) -> VerifyReport | None:
    """The chain verified as the database holds it now; None before the first migration."""
    async with gw.db.engine.connect() as connection:
        present = await connection.run_sync(
            lambda sync: inspect(sync).has_table("exchange_entries")
        )
    if not present:
        return None
    # no MAC check here: a schema older than the entries' MACs has no column for them
    return await verify_database(gw.db, gw.public_key)


def _say(when: str, report: VerifyReport) -> None:
    if report.ok:
        click.echo(f"chain intact {when}: {report.entries} entries, head seq {report.head_seq}")
    else:
        problem = report.problem
        assert problem is not None
        click.echo(f"CHAIN BROKEN {when} [{problem.kind}]: {problem.message}", err=True)
