"""``lgsp events ...``: webhook subscriptions of the case system, over the same service
functions as the API (:mod:`gateway.core.events`).

A generated secret is printed once, on standard output alone (the messages around it go to
standard error), so it can be captured by a script; it is never shown again.
"""

from __future__ import annotations

from typing import Any, TypeVar

import click

from gateway.core import events
from gateway.core.commands import run

T = TypeVar("T")


@click.group("events")
def events_group() -> None:
    """Events to the case system: webhook subscriptions (the pull inbox is API only)."""


@events_group.command("subscribe")
@click.argument("name")
@click.option("--endpoint", required=True, help="the case system's URL receiving the webhooks")
@click.option(
    "--type", "types", multiple=True, help="an event type to deliver (repeat); none: every type"
)
def events_subscribe(name: str, endpoint: str, types: tuple[str, ...]) -> None:
    """Subscribe ENDPOINT to events; the generated HMAC secret is printed once."""

    async def body(gw: Any) -> tuple[events.SubscriptionView, str | None]:
        return await events.subscribe(
            gw.db, gw.cipher, name=name, endpoint=endpoint, event_types=list(types)
        )

    view, secret = run(body)
    kinds = ", ".join(view.event_types) or "every type"
    click.echo(f"subscription {view.name} -> {view.endpoint} ({kinds})", err=True)
    click.echo("its signing secret (shown once, store it now):", err=True)
    click.echo(secret)


@events_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="also the deactivated ones")
def events_list(include_inactive: bool) -> None:
    """The subscriptions (never their secrets)."""
    views = run(lambda gw: events.list_subscriptions(gw.db, include_inactive=include_inactive))
    if not views:
        click.echo("no subscriptions", err=True)
        return
    for v in views:
        kinds = ",".join(v.event_types) or "*"
        state = "active" if v.active else "inactive"
        click.echo(f"{v.name}\t{state}\t{v.endpoint}\t{kinds}")


@events_group.command("unsubscribe")
@click.argument("name")
def events_unsubscribe(name: str) -> None:
    """Deactivate a subscription (its queued deliveries are dead-lettered)."""
    view = run(lambda gw: events.unsubscribe(gw.db, name))
    click.echo(f"subscription {view.name} deactivated")
