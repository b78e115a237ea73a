"""``lgsp reconcile payments --date YYYY-MM-DD [--csv PATH|-]``: the payment platform's
statement of a day against the payments settled here (:mod:`connectors.payment.reconciliation`).

Exit codes: 0 everything matches; 1 something differs; 2 a usage or configuration error (a bad
date, no payment connector, the platform or the database unreachable).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from connectors.payment import reconciliation
from connectors.payment.reconciliation import ReconciliationReport
from gateway.core.commands import day_option, run
from gateway.core.errors import NotFound
from schemas.payment import Statement

SLUG = "payment"


async def platform_statement(gw: Any, day: date) -> Statement:
    """The platform's statement of ``day``, through the payment connector."""
    connector = gw.connector(SLUG)
    client = getattr(connector, "client", None)
    if client is None or not hasattr(client, "statement"):
        raise NotFound(f"the connector {SLUG!r} cannot fetch statements")
    statement: Statement = await client.statement(day)
    return statement


#: how the command fetches the statement (tests replace it)
FETCH: Callable[[Any, date], Awaitable[Statement]] = platform_statement


@click.command("payments")
@click.option("--date", "day", required=True, callback=day_option, help="YYYY-MM-DD, Việt Nam time")
@click.option("--csv", "csv_path", default=None, help="also write CSV to this file ('-': stdout)")
@click.option(
    "--json", "as_json", is_flag=True, help="the report as JSON (the API's answer) on stdout"
)
def reconcile_payments(day: date, csv_path: str | None, as_json: bool) -> None:
    """The platform's statement of a day against the payments settled here that day: missing
    on either side, amount or status differences, duplicates. Exit 1 when anything differs."""
    if as_json and csv_path == "-":
        raise click.UsageError("give --json or --csv -, not both (both write to stdout)")

    async def body(gw: Any) -> ReconciliationReport:
        statement = await FETCH(gw, day)
        return await reconciliation.reconcile(gw.db, statement, day=day)

    report = run(body)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        if csv_path is not None:
            Path(csv_path).write_text(reconciliation.report_csv(report), encoding="utf-8")
            click.echo(f"CSV written to {csv_path}", err=True)
    elif csv_path == "-":
        click.echo(reconciliation.report_csv(report), nl=False)
        click.echo(reconciliation.summary(report), err=True)
    else:
        click.echo(reconciliation.summary(report))
        if csv_path is not None:
            Path(csv_path).write_text(reconciliation.report_csv(report), encoding="utf-8")
            click.echo(f"CSV written to {csv_path}", err=True)
    sys.exit(0 if report.ok else 1)
