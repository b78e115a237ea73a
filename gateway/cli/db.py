"""``lgsp db``: the database schema."""

from __future__ import annotations

import click

from gateway.core.commands import run


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (idempotent)."""
    run(lambda gw: _noop(), migrate=True)
    click.echo("database is at the latest schema")


async def _noop() -> None:
    return None
