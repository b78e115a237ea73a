"""``lgsp dlq``: dead letters, listed, replayed or skipped with a reason."""

from __future__ import annotations

import json

import click

from gateway.core.commands import actor, run
from gateway.core.delivery import outbox
from gateway.core.logging import mask_text


@click.group()
def dlq() -> None:
    """Dead letters: deliveries that failed for good."""


@dlq.command("list")
@click.option("--connector", default=None)
@click.option("--json", "as_json", is_flag=True, help="the fields of GET /v1/dlq, as JSON")
def dlq_list(connector: str | None, as_json: bool) -> None:
    """The dead letters (at most 1000), oldest first."""
    items = run(lambda gw: outbox.list_dead(gw.db, connector=connector, limit=1000))
    if as_json:
        views = [i.as_dict() for i in items]
        for v in views:  # a platform's refusal may quote what it was sent
            v["last_error"] = mask_text(v["last_error"]) if v["last_error"] else v["last_error"]
        click.echo(json.dumps({"items": views}, ensure_ascii=False))
        return
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
@click.option("--reason", default=None, help="why it is tried again (recorded)")
def dlq_replay(
    ref: str | None, replay_all: bool, connector: str | None, reason: str | None
) -> None:
    """Queue a dead letter (by id or exchange id), or all of them, for delivery again; each
    decision is recorded in the exchange log with who made it."""
    if replay_all == (ref is not None):
        raise click.UsageError("give either an ID or --all")
    who = actor()
    if replay_all:
        count = run(
            lambda gw: outbox.replay_all(
                gw.db, connector=connector, log=gw.log, actor=who, reason=reason
            )
        )
        click.echo(f"{count} dead letters queued again")
    else:
        assert ref is not None
        view = run(lambda gw: outbox.replay(gw.db, ref, log=gw.log, actor=who, reason=reason))
        click.echo(f"{view.exchange_id} queued again")


@dlq.command("skip")
@click.argument("ref")
@click.option("--reason", required=True, help="why this delivery is given up (recorded)")
def dlq_skip(ref: str, reason: str) -> None:
    """Give up a dead letter so the dossier's later updates can go (recorded in the exchange
    log with who decided it)."""
    who = actor()
    view = run(lambda gw: outbox.skip(gw.db, ref, reason=reason, log=gw.log, actor=who))
    click.echo(f"{view.exchange_id} skipped")
