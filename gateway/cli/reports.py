"""``lgsp report``: the reports the regulations ask for; the core's (availability) and the
connectors' (``report dancu``, added by ``SPEC.cli_commands``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.core.availability import Availability, availability, availability_csv
from gateway.core.commands import run
from gateway.core.local_time import TZ, local_day
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow


@click.group("report")
def report() -> None:
    """Usage and availability reports."""


@report.command("availability")
@click.option("--month", default=None, help="YYYY-MM, local time; default this month")
@click.option("--connector", default=None, help="only this platform (its slug)")
@click.option("--csv", "csv_path", default=None, help="write CSV to this file ('-': stdout)")
@click.option("--json", "as_json", is_flag=True)
def report_availability(
    month: str | None, connector: str | None, csv_path: str | None, as_json: bool
) -> None:
    """Availability evidence for the 24/7 connection (seed 003, Điều 4.2): per platform, the
    share of the month it answered, its outages with start, end and cause, and its maintenance
    windows apart, counted from the exchange log."""
    period = month or local_day(utcnow()).strftime("%Y-%m")

    async def body(gw: Gateway) -> list[Availability]:
        if connector is not None and connector not in {**gw.specs, **gw.off_specs}:
            raise click.BadParameter(f"no connector {connector!r}", param_hint="--connector")
        slugs = [connector] if connector else list(gw.specs)
        return await availability(gw.db, month=period, connectors=slugs)

    reports = run(body)
    if csv_path == "-":
        click.echo(availability_csv(reports), nl=False)
        return
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], ensure_ascii=False))
    else:
        click.echo(availability_table(period, reports))
    if csv_path is not None:
        Path(csv_path).write_text(availability_csv(reports), encoding="utf-8")
        click.echo(f"CSV written to {csv_path}", err=True)


def availability_table(month: str, reports: list[Availability]) -> str:
    lines = [f"Availability of the national platforms, {month} ({TZ}, from the exchange log)"]
    for r in reports:
        lines.append(
            f"{r.connector:<10} {r.ratio * 100:8.3f} %  outages {len(r.outages):>3} "
            f"({_hours(r.outage_seconds)})  maintenance {len(r.maintenance):>2} "
            f"({_hours(r.maintenance_seconds)})  attempts {r.attempts} "
            f"(failed {r.failed_attempts})"
        )
        for o in r.outages:
            lines.append(
                f"    outage {o.start.astimezone(TZ):%Y-%m-%d %H:%M:%S} to "
                f"{o.end.astimezone(TZ):%Y-%m-%d %H:%M:%S} ({_hours(o.counted_seconds)}), "
                f"{o.cause}, {o.attempts} failed attempts" + (", ongoing" if o.ongoing else "")
            )
        for a, b, reason in r.maintenance:
            lines.append(
                f"    maintenance {a.astimezone(TZ):%Y-%m-%d %H:%M} to "
                f"{b.astimezone(TZ):%Y-%m-%d %H:%M}: {reason}"
            )
    return "\n".join(lines)


def _hours(seconds: float) -> str:
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
