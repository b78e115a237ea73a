"""``lgsp events ...``: webhook subscriptions of the case system, over the same service
functions as the API (:mod:`gateway.core.events`).

A generated secret is printed once, on standard output alone (the messages around it go to
standard error), so it can be captured by a script; it is never shown again.
"""

from __future__ import annotations

import json
from datetime import timedelta
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
    """Subscribe ENDPOINT to events; the generated secret (whsec_...) is printed once."""

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
@click.option(
    "--json", "as_json", is_flag=True, help="the fields of GET /v1/events/subscriptions, as JSON"
)
def events_list(include_inactive: bool, as_json: bool) -> None:
    """The subscriptions (never their secrets): name, state, endpoint, types, the secret's
    format (standard, or legacy: to rotate) and until when the previous secret signs too."""
    views = run(lambda gw: events.list_subscriptions(gw.db, include_inactive=include_inactive))
    if as_json:
        click.echo(json.dumps({"items": [v.as_dict() for v in views]}, ensure_ascii=False))
        return
    if not views:
        click.echo("no subscriptions", err=True)
        return
    for v in views:
        kinds = ",".join(v.event_types) or "*"
        state = "active" if v.active else "inactive"
        until = v.previous_secret_expires_at
        previous = events.iso(until) if until is not None else "-"
        click.echo(f"{v.name}\t{state}\t{v.endpoint}\t{kinds}\t{v.secret_format}\t{previous}")


@events_group.command("rotate-secret")
@click.argument("name")
@click.option(
    "--grace-hours",
    type=click.IntRange(0, int(events.MAX_GRACE.total_seconds() // 3600)),
    default=int(events.DEFAULT_GRACE.total_seconds() // 3600),
    show_default=True,
    help="how long the previous secret keeps signing too (0: cut over at once)",
)
def events_rotate_secret(name: str, grace_hours: int) -> None:
    """Give NAME a new whsec_ secret, printed once; the previous one keeps signing for
    --grace-hours (both signatures on every delivery), then stops."""

    async def body(gw: Any) -> tuple[events.SubscriptionView, str]:
        return await events.rotate_secret(
            gw.db, gw.cipher, name, grace=timedelta(hours=grace_hours)
        )

    view, secret = run(body)
    until = view.previous_secret_expires_at
    if until is not None:
        click.echo(
            f"subscription {view.name}: the previous secret signs too until {events.iso(until)}",
            err=True,
        )
    else:
        click.echo(f"subscription {view.name}: the previous secret no longer signs", err=True)
    click.echo("its new signing secret (shown once, store it now):", err=True)
    click.echo(secret)


@events_group.command("unsubscribe")
@click.argument("name")
def events_unsubscribe(name: str) -> None:
    """Deactivate a subscription (its queued deliveries are dead-lettered)."""
    view = run(lambda gw: events.unsubscribe(gw.db, name))
    click.echo(f"subscription {view.name} deactivated")
