"""``lgsp report emc`` (contributed by ``SPEC.cli_commands``): the month's EMC figures per
procedure and level of service, computed locally (:mod:`connectors.emc.report`), so that a
province can check them; ``--submit`` queues them for the aggregate endpoint (our profile)."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.emc import report as monthly
from connectors.emc import submission
from connectors.emc.connector import EmcConnector
from connectors.emc.errors import EmcNotConfigured
from gateway.core.commands import actor, run
from gateway.core.local_time import local_day
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

__all__ = ["report_emc", "report_table"]


@click.command("emc")
@click.option("--month", default=None, help="YYYY-MM, local time; default this month")
@click.option("--csv", "csv_path", default=None, help="also write CSV to this file ('-': stdout)")
@click.option(
    "--json", "as_json", is_flag=True, help="the report as JSON (GET /v1/emc/reports/{month})"
)
@click.option(
    "--submit",
    is_flag=True,
    help="queue the report for the aggregate endpoint (our profile; replaces the month's "
    "previous submission)",
)
def report_emc(month: str | None, csv_path: str | None, as_json: bool, submit: bool) -> None:
    """EMC's monthly figures per procedure and level: received, resolved on time and late,
    in progress, online submissions, online payments, ratings; from the gateway's records."""
    if as_json and csv_path == "-":
        raise click.UsageError("give --json or --csv -, not both (both write to stdout)")
    period = month or local_day(utcnow()).strftime("%Y-%m")

    async def body(gw: Gateway) -> tuple[monthly.MonthlyReport, str | None]:
        connector = gw.connector("emc")
        assert isinstance(connector, EmcConnector)
        report = await monthly.compute(gw, month=period, ma_don_vi=connector.config.ma_don_vi)
        if not submit:
            return report, None
        connector.site_id()
        if connector.config.aggregate_url is None:
            raise EmcNotConfigured("no aggregate_url is configured (our profile, off)")
        exchange_id = await submission.queue_submission(gw, report, client=actor())
        return report, exchange_id

    report, exchange_id = run(body)
    if csv_path == "-":
        click.echo(monthly.csv_text(report), nl=False)
    elif as_json:
        click.echo(report.model_dump_json())
    else:
        click.echo(report_table(report))
    if csv_path is not None and csv_path != "-":
        Path(csv_path).write_text(monthly.csv_text(report), encoding="utf-8")
        click.echo(f"CSV written to {csv_path}", err=True)
    if exchange_id is not None:
        click.echo(f"submission queued: exchange {exchange_id}", err=True)


def report_table(report: monthly.MonthlyReport) -> str:
    head = (
        f"EMC monthly report {report.month}, agency {report.ma_don_vi} ({report.timezone}, "
        "from the gateway's records)"
    )
    cols = f"{'procedure':<24} {'level':<22} {'recv':>5} {'ontime':>6} {'late':>5} "
    cols += (
        f"{'open':>5} {'online':>6} {'paid':>5} {'amount VND':>12} {'r1':>4} {'r2':>4} {'r3':>4}"
    )
    lines = [head, cols]
    for r in [*report.rows, report.totals]:
        level = "" if r.ma_tthc == "*" else r.muc_do.value
        lines.append(
            f"{r.ma_tthc:<24} {level:<22} {r.tiep_nhan:>5} {r.dung_han:>6} {r.qua_han:>5} "
            f"{r.dang_giai_quyet:>5} {r.nop_truc_tuyen:>6} {r.thanh_toan_truc_tuyen:>5} "
            f"{r.so_tien_truc_tuyen:>12,} {r.danh_gia['1']:>4} {r.danh_gia['2']:>4} "
            f"{r.danh_gia['3']:>4}"
        )
    u = report.unattributed
    if u.thanh_toan_truc_tuyen or any(u.danh_gia.values()):
        lines.append(
            f"not attributed to a tracked dossier: {u.thanh_toan_truc_tuyen} payments "
            f"({u.so_tien_truc_tuyen:,} VND), ratings {u.danh_gia}"
        )
    return "\n".join(lines)
