"""``lgsp example ping`` and ``lgsp report example``."""

from __future__ import annotations

import click

from gateway.core.commands import run


@click.group("example")
def example() -> None:
    """The example platform (tests only)."""


@example.command("ping")
def ping() -> None:
    """Say whether the example platform answers."""
    result = run(lambda gw: gw.connector("example").check(), migrate=False)
    click.echo(f"example: {'ok' if result.ok else 'FAILED'}")


@click.command("example")
def notes_report() -> None:
    """Notes sent to the example platform."""
    click.echo("no notes report yet")
