"""``lgsp maintenance``: the platforms' maintenance windows and the gateway's own notices."""

from __future__ import annotations

import json
from datetime import datetime

import click

from gateway.core.commands import actor, run
from gateway.core.maintenance import (
    NOTICE_WORKING_DAYS,
    Proposal,
    Window,
    cancel_window,
    schedule_window,
)
from gateway.core.runtime import Gateway
from gateway.core.workdays import VN


def _when(value: str, param: str) -> datetime:
    """ISO-8601; without an offset, Việt Nam time."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "ISO-8601, e.g. 2026-12-12T22:00 (Việt Nam time) or 2026-12-12T15:00Z",
            param_hint=param,
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=VN)


def _line(w: Window) -> str:
    flags = " urgent" if w.urgent else ""
    return (
        f"#{w.id} {w.scope} {w.kind}{flags}: {w.starts_at.astimezone(VN):%Y-%m-%d %H:%M} to "
        f"{w.ends_at.astimezone(VN):%Y-%m-%d %H:%M} (Việt Nam time), {w.reason} "
        f"[{w.source}, {w.created_by}]"
    )


@click.group()
def maintenance() -> None:
    """Maintenance windows: a platform's (its deliveries held, look-ups answered 503) and the
    gateway's own (a notice: 2 working days ahead, 5 for an upgrade)."""


@maintenance.command("add")
@click.argument("scope")
@click.option(
    "--from",
    "starts",
    required=True,
    help="start (ISO-8601; Việt Nam time unless an offset is given)",
)
@click.option("--to", "ends", required=True, help="end (same form)")
@click.option("--reason", required=True, help="why (recorded, shown to the case systems)")
@click.option(
    "--upgrade",
    is_flag=True,
    help=f"the gateway's upgrade ({NOTICE_WORKING_DAYS['upgrade']} working days' notice)",
)
@click.option(
    "--urgent",
    is_flag=True,
    help="the gateway's own window with less notice than the regulations ask (the reason "
    "says why; recorded)",
)
@click.option("--json", "as_json", is_flag=True)
def maintenance_add(
    scope: str, starts: str, ends: str, reason: str, upgrade: bool, urgent: bool, as_json: bool
) -> None:
    """Schedule a window for SCOPE: a connector's slug (e.g. dvcqg) or 'gateway'."""
    starts_at, ends_at = _when(starts, "--from"), _when(ends, "--to")
    who = actor()

    async def body(gw: Gateway) -> Window:
        return await schedule_window(
            gw,
            Proposal(
                scope=scope,
                kind="upgrade" if upgrade else "maintenance",
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                urgent=urgent,
            ),
            actor=who,
            source="cli",
        )

    window = run(body)
    click.echo(json.dumps(window.as_dict(), ensure_ascii=False) if as_json else _line(window))


@maintenance.command("list")
@click.option("--json", "as_json", is_flag=True)
def maintenance_list(as_json: bool) -> None:
    """The windows in force now and to come."""

    async def body(gw: Gateway) -> tuple[list[Window], list[Window]]:
        board = gw.maintenance
        return list((await board.in_maintenance()).values()), await board.upcoming()

    active, upcoming = run(body)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "active": [w.as_dict() for w in active],
                    "upcoming": [w.as_dict() for w in upcoming],
                },
                ensure_ascii=False,
            )
        )
        return
    if not active and not upcoming:
        click.echo("no maintenance window now or to come")
    for w in active:
        click.echo("now:  " + _line(w))
    for w in upcoming:
        click.echo("next: " + _line(w))


@maintenance.command("cancel")
@click.argument("window_id", type=int)
@click.option("--reason", required=True, help="why (recorded)")
def maintenance_cancel(window_id: int, reason: str) -> None:
    """Cancel a window (announced to the case systems)."""
    who = actor()
    window = run(lambda gw: cancel_window(gw, window_id, actor=who, reason=reason))
    click.echo("cancelled: " + _line(window))
