"""``lgsp clients``: the case system's clients and their keys."""

from __future__ import annotations

import click

from gateway.core.commands import run


@click.group()
def clients() -> None:
    """Case-system clients and their keys."""


@clients.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="repeat for each scope")
def clients_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a client; its key is printed once and never stored in clear."""
    from gateway.core.clients import create_client

    _principal, key = run(lambda gw: create_client(gw.db, name=name, scopes=list(scopes)))
    click.echo(f"client {name} created with scopes {', '.join(sorted(scopes))}", err=True)
    click.echo("its key (shown once, store it now):", err=True)
    click.echo(key)
