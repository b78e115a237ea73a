"""``lgsp reconcile postal --date YYYY-MM-DD [--csv PATH|-]``: the postal service's statement of
the amounts it collected on delivery that day against the fees owed on the shipments delivered
here that day (:mod:`connectors.postal.reconciliation`). The same output as ``lgsp reconcile
payments``.

Exit codes: 0 everything matches; 1 something differs; 2 a usage or configuration error (a bad
date, no postal connector, the platform or the database unreachable).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from connectors.postal import reconciliation as postal_reconciliation
from connectors.postal.connector import PostalConnector
from gateway.core.commands import day_option, run
from gateway.core.errors import NotFound
from gateway.core.reconcile import ReconciliationReport
from schemas.postal import Statement

SLUG = "postal"


async def platform_statement(gw: Any, day: date) -> Statement:
    """The postal service's statement of ``day``, through the postal connector."""
    connector = gw.connector(SLUG)
    if not isinstance(connector, PostalConnector):
        raise NotFound(f"the connector {SLUG!r} is not the postal connector")
    return await connector.client.statement(day)


#: how the command fetches the statement (tests replace it)
FETCH: Callable[[Any, date], Awaitable[Statement]] = platform_statement


@click.command("postal")
@click.option("--date", "day", required=True, callback=day_option, help="YYYY-MM-DD, Việt Nam time")
@click.option("--csv", "csv_path", default=None, help="also write CSV to this file ('-': stdout)")
@click.option(
    "--json", "as_json", is_flag=True, help="the report as JSON (the API's answer) on stdout"
)
def reconcile_postal(day: date, csv_path: str | None, as_json: bool) -> None:
    """The postal service's cash-on-delivery statement of a day against the fees owed on the
    shipments delivered that day: missing on either side, amount differences, duplicates.
    Exit 1 when anything differs."""
    if as_json and csv_path == "-":
        raise click.UsageError("give --json or --csv -, not both (both write to stdout)")

    async def body(gw: Any) -> ReconciliationReport:
        statement = await FETCH(gw, day)
        return await postal_reconciliation.reconcile(gw.db, statement, day=day)

    report = run(body)
    text = postal_reconciliation.summary_postal(report)
    table = postal_reconciliation.report_csv_postal(report)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        if csv_path is not None:
            Path(csv_path).write_text(table, encoding="utf-8")
            click.echo(f"CSV written to {csv_path}", err=True)
    elif csv_path == "-":
        click.echo(table, nl=False)
        click.echo(text, err=True)
    else:
        click.echo(text)
        if csv_path is not None:
            Path(csv_path).write_text(table, encoding="utf-8")
            click.echo(f"CSV written to {csv_path}", err=True)
    sys.exit(0 if report.ok else 1)
