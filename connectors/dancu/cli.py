"""``lgsp officers ...`` and ``lgsp report dancu`` (contributed by ``SPEC.cli_commands``): the
officer registry and the review of population-database use (seed 004, Điều 8), over the same
service functions as the API.

No output carries an officer's ID number in clear (only its masked copy) nor any part of their
platform credential; the platform password is read from a hidden prompt or from
``LGSP_OFFICER_PLATFORM_PASSWORD``, never from an argument. Changes are recorded with the actor
``cli:<the operating-system user>``.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from connectors.dancu import governance, officers
from connectors.dancu.usage import UNREGISTERED, UsageReport
from gateway.core.commands import actor, run
from gateway.core.errors import InvalidInput
from gateway.core.local_time import TZ, local_day, parse_day
from gateway.core.store.db import utcnow

T = TypeVar("T")
PASSWORD_ENV = "LGSP_OFFICER_PLATFORM_PASSWORD"  # noqa: S105 - the variable's name


def _password(prompt: str) -> str:
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True))


def _width(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: int = 0) -> str:
    """Aligned columns; the last ``numeric`` columns right-aligned."""
    cells = [[str(c) for c in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    first_numeric = len(headers) - numeric

    def line(row: list[str]) -> str:
        out = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            out.append(pad + cell if i >= first_numeric else cell + pad)
        return "  ".join(out).rstrip()

    return "\n".join(line(r) for r in cells)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _local(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if at else "-"


def _show(view: officers.OfficerView) -> None:
    for label, value in (
        ("login", view.tai_khoan),
        ("officer code", view.ma_can_bo),
        ("name", view.ho_ten),
        ("ID number", view.so_dinh_danh),
        ("unit", view.don_vi),
        ("purpose", view.muc_dich),
        ("status", view.status + (f" ({view.status_reason})" if view.status_reason else "")),
        ("registered", _local(view.registered_at)),
    ):
        click.echo(f"{label:13} {value}")
    if view.history:
        click.echo("history:")
        for e in view.history:
            changes = f" [{', '.join(e.changes)}]" if e.changes else ""
            why = f": {e.reason}" if e.reason else ""
            click.echo(f"  {_local(e.at)}  {e.kind}{changes} by {e.actor}{why}")


@click.group("officers")
def officers_group() -> None:
    """Officers allowed to query the population database (seed 004, Điều 8)."""


@officers_group.command("register")
@click.option("--login", required=True, help="gateway login (the X-Officer-Id of look-ups)")
@click.option("--code", required=True, help="officer code on the platform (MaCanBo)")
@click.option("--name", required=True, help="full name")
@click.option("--id-number", required=True, help="12-digit ID number (stored encrypted)")
@click.option("--unit", required=True, help="the officer's unit")
@click.option("--purpose", required=True, help="why the officer needs to query")
@click.option("--platform-user", required=True, help="user name on the platform")
@click.option("--reason", default=None, help="e.g. the assignment decision")
def officers_register(
    login: str,
    code: str,
    name: str,
    id_number: str,
    unit: str,
    purpose: str,
    platform_user: str,
    reason: str | None,
) -> None:
    """Register an officer. The platform password is read from a hidden prompt, or from
    LGSP_OFFICER_PLATFORM_PASSWORD; never give it as an argument."""
    password = _password("platform password")

    async def body(gw: Any) -> officers.OfficerView:
        return await officers.register(
            db=gw.db,
            cipher=gw.cipher,
            tai_khoan=login,
            ma_can_bo=code,
            ho_ten=name,
            so_dinh_danh=id_number,
            don_vi=unit,
            muc_dich=purpose,
            platform_username=platform_user,
            platform_password=password,
            actor=actor(),
            reason=reason,
        )

    view = run(body)
    click.echo(f"officer {view.tai_khoan} registered ({view.so_dinh_danh}, {view.don_vi})")


@officers_group.command("update")
@click.argument("login")
@click.option("--code", default=None)
@click.option("--name", default=None)
@click.option("--id-number", default=None)
@click.option("--unit", default=None)
@click.option("--purpose", default=None)
@click.option("--reason", required=True, help="why (recorded in the history)")
def officers_update(
    login: str,
    code: str | None,
    name: str | None,
    id_number: str | None,
    unit: str | None,
    purpose: str | None,
    reason: str,
) -> None:
    """Change an officer's details (the options given)."""
    view = run(
        lambda gw: officers.update(
            db=gw.db,
            cipher=gw.cipher,
            tai_khoan=login,
            actor=actor(),
            reason=reason,
            ma_can_bo=code,
            ho_ten=name,
            so_dinh_danh=id_number,
            don_vi=unit,
            muc_dich=purpose,
        )
    )
    click.echo(f"officer {view.tai_khoan} updated: {', '.join(view.history[-1].changes)}")


@officers_group.command("set-credential")
@click.argument("login")
@click.option("--platform-user", required=True, help="user name on the platform")
@click.option("--reason", default=None)
def officers_set_credential(login: str, platform_user: str, reason: str | None) -> None:
    """Replace an officer's platform credential (password as for `register`)."""
    password = _password("new platform password")
    view = run(
        lambda gw: officers.update_credential(
            db=gw.db,
            cipher=gw.cipher,
            tai_khoan=login,
            platform_username=platform_user,
            platform_password=password,
            actor=actor(),
            reason=reason,
        )
    )
    click.echo(f"officer {view.tai_khoan}: platform credential replaced")


@officers_group.command("lock")
@click.argument("login")
@click.option("--reason", required=True, help="why access is withdrawn (recorded)")
def officers_lock(login: str, reason: str) -> None:
    """Withdraw an officer's access: their look-ups are refused from now on."""
    who = actor()
    view = run(
        lambda gw: officers.lock(
            db=gw.db, tai_khoan=login, reason=reason, actor=who, cipher=gw.cipher
        )
    )
    click.echo(f"officer {view.tai_khoan} locked: {view.status_reason}")


@officers_group.command("unlock")
@click.argument("login")
@click.option("--reason", required=True, help="why access is given back (recorded)")
def officers_unlock(login: str, reason: str) -> None:
    """Give an officer's access back."""
    who = actor()
    view = run(
        lambda gw: officers.unlock(
            db=gw.db, tai_khoan=login, reason=reason, actor=who, cipher=gw.cipher
        )
    )
    click.echo(f"officer {view.tai_khoan} unlocked")


@officers_group.command("list")
@click.option("--status", type=click.Choice(officers.STATUSES), default=None)
@click.option("--unit", default=None, help="only this unit (exact name)")
@click.option("--json", "as_json", is_flag=True)
def officers_list(status: str | None, unit: str | None, as_json: bool) -> None:
    """Registered officers, by unit then login."""
    views = run(lambda gw: officers.list_officers(db=gw.db, status=status, unit=unit))
    if as_json:
        _echo_json([v.as_dict() for v in views])
        return
    if not views:
        click.echo("no officers")
        return
    click.echo(
        _table(
            ("LOGIN", "CODE", "NAME", "ID NUMBER", "UNIT", "STATUS"),
            [
                (v.tai_khoan, v.ma_can_bo, v.ho_ten, v.so_dinh_danh, v.don_vi, v.status)
                for v in views
            ],
        )
    )


@officers_group.command("show")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
def officers_show(login: str, as_json: bool) -> None:
    """One officer with their history."""
    view = run(lambda gw: officers.get(db=gw.db, tai_khoan=login))
    if as_json:
        _echo_json(view.as_dict(history=True))
    else:
        _show(view)


@officers_group.command("idle")
@click.option("--days", type=click.IntRange(1, 3660), default=None, help="default: configured")
@click.option("--apply", is_flag=True, help="lock them (seed 004, Điều 8)")
@click.option("--json", "as_json", is_flag=True)
def officers_idle(days: int | None, apply: bool, as_json: bool) -> None:
    """Active officers with no look-up for a year (or --days); --apply locks them."""

    async def body(gw: Any) -> list[governance.IdleOfficer]:
        idle_days = days or gw.settings.governance.idle_days
        if apply:
            return await governance.lock_idle(
                gw.db, now=utcnow(), idle_days=idle_days, actor=actor(), cipher=gw.cipher
            )
        return await governance.idle_officers(gw.db, now=utcnow(), idle_days=idle_days)

    found = run(body)
    if as_json:
        _echo_json([i.as_dict() for i in found])
        return
    if not found:
        click.echo("no idle officers")
        return
    click.echo(
        _table(
            ("LOGIN", "NAME", "UNIT", "LAST LOOK-UP", "IDLE SINCE", "DAYS"),
            [
                (
                    i.tai_khoan,
                    i.ho_ten,
                    i.don_vi,
                    _local(i.last_lookup_at),
                    _local(i.idle_since),
                    i.idle_days,
                )
                for i in found
            ],
            numeric=1,
        )
    )
    verb = "locked" if apply else "idle (lock them with --apply)"
    click.echo(f"{len(found)} officers {verb}", err=True)


def _print_alerts(alerts: Sequence[governance.AlertView]) -> None:
    click.echo(
        _table(
            ("ID", "DAY", "OFFICER", "RULE", "COUNT", "LOCKED", "ACKNOWLEDGED", "DETAIL"),
            [
                (
                    a.id,
                    a.day,
                    a.officer,
                    a.rule,
                    a.count,
                    "yes" if a.locked else "no",
                    a.acknowledged_by or "-",
                    a.detail,
                )
                for a in alerts
            ],
        )
    )


@officers_group.command("spikes")
@click.option("--date", "day", default=None, help="YYYY-MM-DD, local; default today")
@click.option("--json", "as_json", is_flag=True, help="that day's alerts as JSON (a list)")
def officers_spikes(day: str | None, as_json: bool) -> None:
    """Scan one day of the exchange log for look-up spikes; list that day's alerts."""
    try:
        when = parse_day(day) if day else local_day(utcnow())
    except InvalidInput as exc:
        raise click.BadParameter(exc.errors[0].msg, param_hint="--date") from None
    alerts = run(
        lambda gw: governance.scan_spikes(
            gw.db, day=when, settings=gw.settings.governance, cipher=gw.cipher
        )
    )
    if as_json:
        _echo_json([a.as_dict() for a in alerts])
        return
    if not alerts:
        click.echo(f"no spike on {when}")
        return
    _print_alerts(alerts)


@officers_group.command("alerts")
@click.option("--open", "open_only", is_flag=True, help="only those not acknowledged")
@click.option("--json", "as_json", is_flag=True)
def officers_alerts(open_only: bool, as_json: bool) -> None:
    """Spike alerts, newest first."""
    alerts = run(lambda gw: governance.list_alerts(gw.db, open_only=open_only))
    if as_json:
        _echo_json([a.as_dict() for a in alerts])
    elif not alerts:
        click.echo("no alerts")
    else:
        _print_alerts(alerts)


@officers_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--note", default=None, help="what the review found")
def officers_ack(alert_id: int, note: str | None) -> None:
    """Mark an alert as reviewed."""
    view = run(
        lambda gw: governance.acknowledge_alert(gw.db, alert_id=alert_id, actor=actor(), note=note)
    )
    click.echo(f"alert {view.id} acknowledged by {view.acknowledged_by}")


# --- reports ----------------------------------------------------------------------------------


def usage_table(report: UsageReport) -> str:
    """The report as an aligned table: officers by unit, a subtotal per unit, the total."""
    rows: list[tuple[object, ...]] = []
    for unit in report.units:
        for r in report.rows:
            if r.don_vi == unit.don_vi:
                rows.append(
                    (
                        r.don_vi,
                        r.tai_khoan,
                        r.ma_can_bo,
                        r.ho_ten,
                        r.answered,
                        r.failed,
                        r.refused,
                        r.total,
                    )
                )
        rows.append(
            (
                "",
                f"subtotal ({unit.officers})",
                "",
                "",
                unit.answered,
                unit.failed,
                unit.refused,
                unit.total,
            )
        )
    t = report.totals
    rows.append(
        ("TOTAL", f"{t.officers} officers", "", "", t.answered, t.failed, t.refused, t.total)
    )
    headers = ("UNIT", "OFFICER", "CODE", "NAME", "ANSWERED", "FAILED", "REFUSED", "TOTAL")
    title = f"Population-database look-ups, {report.month} ({TZ}, from the exchange log)"
    note = ""
    if any(r.don_vi == UNREGISTERED for r in report.rows):
        note = f"\n{UNREGISTERED}: logins in the log with no registered officer (masked)"
    return f"{title}\n{_table(headers, rows, numeric=4)}{note}"


@click.command("dancu")
@click.option("--month", default=None, help="YYYY-MM, local time; default this month")
@click.option(
    "--quarter",
    default=None,
    help="YYYY-Qn, local time: the quarterly report (seed 004, Điều 29.8.b), e.g. 2026-Q4",
)
@click.option("--csv", "csv_path", default=None, help="also write CSV to this file ('-': stdout)")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="the report as JSON (the answer of GET /v1/governance/usage) on stdout",
)
def report_dancu(
    month: str | None, quarter: str | None, csv_path: str | None, as_json: bool
) -> None:
    """Population-database look-ups of a month or a quarter per unit and officer (answered,
    failed, refused), with unit subtotals and the total, counted from the exchange log."""
    if month and quarter:
        raise click.UsageError("give --month or --quarter, not both")
    if as_json and csv_path == "-":
        raise click.UsageError("give --json or --csv -, not both (both write to stdout)")
    period = quarter or month or local_day(utcnow()).strftime("%Y-%m")
    report = run(lambda gw: governance.usage(gw.db, month=period))
    if csv_path == "-":
        click.echo(governance.usage_csv(report), nl=False)
        return
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False) if as_json else usage_table(report))
    if csv_path is not None:
        Path(csv_path).write_text(governance.usage_csv(report), encoding="utf-8")
        click.echo(f"CSV written to {csv_path}", err=True)
