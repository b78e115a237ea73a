"""Population-database look-ups per unit and officer, counted from the exchange log.

The province reviews query counts (seed 004, Điều 8). The exchange log is the system of record,
so every count here is a count of its rows (connector ``dancu``):

- answered: ``inbound`` look-ups (``lookup_citizen``, ``verify_citizen``) with outcome
  ``answered``;
- failed: the same look-ups with any other outcome (not found, platform refused or down);
- refused: ``refusal`` entries naming the officer (not registered, locked, no purpose, ...).

Days and months are local (Asia/Ho_Chi_Minh); the log keeps UTC. Officers are shown with their
current unit. Logins found in the log that are not registered are listed under
:data:`UNREGISTERED`, masked like any log text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from connectors.dancu.tables import Officer
from gateway.core.local_time import TZ, period_bounds
from gateway.core.logging import mask_text
from gateway.core.store.db import Database, ExchangeEntry

CONNECTOR = "dancu"
LOOKUP_OPERATIONS = ("lookup_citizen", "verify_citizen")
ANSWERED = "answered"
UNREGISTERED = "(unregistered)"


def lookups_filter() -> Any:
    """The exchange-log rows that are officers' look-ups."""
    return (
        (ExchangeEntry.connector == CONNECTOR)
        & (ExchangeEntry.kind == "inbound")
        & ExchangeEntry.operation.in_(LOOKUP_OPERATIONS)
    )


@dataclass(slots=True)
class UsageRow:
    don_vi: str
    tai_khoan: str
    ma_can_bo: str
    ho_ten: str
    status: str
    answered: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.answered + self.failed + self.refused

    def as_dict(self) -> dict[str, Any]:
        return {
            "don_vi": self.don_vi,
            "tai_khoan": self.tai_khoan,
            "ma_can_bo": self.ma_can_bo,
            "ho_ten": self.ho_ten,
            "status": self.status,
            "answered": self.answered,
            "failed": self.failed,
            "refused": self.refused,
            "total": self.total,
        }


@dataclass(slots=True)
class UnitUsage:
    don_vi: str
    officers: int = 0
    answered: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.answered + self.failed + self.refused

    def as_dict(self) -> dict[str, Any]:
        return {
            "don_vi": self.don_vi,
            "officers": self.officers,
            "answered": self.answered,
            "failed": self.failed,
            "refused": self.refused,
            "total": self.total,
        }


@dataclass(slots=True)
class UsageReport:
    #: ``YYYY-MM`` or ``YYYY-Qn`` (the quarterly report of seed 004, Điều 29.8.b)
    month: str
    start: datetime
    end: datetime
    rows: list[UsageRow] = field(default_factory=list)  # by unit, then login
    units: list[UnitUsage] = field(default_factory=list)
    totals: UnitUsage = field(default_factory=lambda: UnitUsage("(total)"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "month" if "Q" not in self.month else "quarter": self.month,
            "timezone": str(TZ),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "units": [
                {**u.as_dict(), "rows": [r.as_dict() for r in self.rows if r.don_vi == u.don_vi]}
                for u in self.units
            ],
            "totals": {k: v for k, v in self.totals.as_dict().items() if k != "don_vi"},
        }


async def usage(db: Database, *, month: str) -> UsageReport:
    """The look-ups of a month (``YYYY-MM``) or a quarter (``YYYY-Qn``) per unit and officer,
    with unit subtotals and a grand total.

    Every officer registered before the period ended is listed, with zeros when idle."""
    start, end = period_bounds(month)
    stmt = (
        select(
            ExchangeEntry.officer_id,
            ExchangeEntry.kind,
            ExchangeEntry.outcome,
            func.count().label("n"),
        )
        .where(
            ExchangeEntry.connector == CONNECTOR,
            ExchangeEntry.officer_id.is_not(None),
            ExchangeEntry.started_at >= start,
            ExchangeEntry.started_at < end,
            or_(lookups_filter(), ExchangeEntry.kind == "refusal"),
        )
        .group_by(ExchangeEntry.officer_id, ExchangeEntry.kind, ExchangeEntry.outcome)
    )
    async with db.reading() as session:
        counted = (await session.execute(stmt)).all()
        officers = (await session.scalars(select(Officer).where(Officer.registered_at < end))).all()
        known = {
            o.tai_khoan: o
            for o in (
                await session.scalars(
                    select(Officer).where(Officer.tai_khoan.in_({c[0] for c in counted}))
                )
            ).all()
        }
    rows: dict[str, UsageRow] = {
        o.tai_khoan: UsageRow(o.don_vi, o.tai_khoan, o.ma_can_bo, o.ho_ten, o.status)
        for o in [*officers, *known.values()]
    }
    for login, kind, outcome, n in counted:
        row = rows.get(login)
        if row is None:
            row = rows[login] = UsageRow(UNREGISTERED, mask_text(login), "", "", "")
        if kind == "refusal":
            row.refused += n
        elif outcome == ANSWERED:
            row.answered += n
        else:
            row.failed += n
    report = UsageReport(month=month, start=start, end=end)
    report.rows = sorted(
        rows.values(), key=lambda r: (r.don_vi == UNREGISTERED, r.don_vi, r.tai_khoan)
    )
    units: dict[str, UnitUsage] = {}
    for row in report.rows:
        unit = units.setdefault(row.don_vi, UnitUsage(row.don_vi))
        for target in (unit, report.totals):
            target.officers += 1
            target.answered += row.answered
            target.failed += row.failed
            target.refused += row.refused
    report.units = list(units.values())
    return report


_CSV_COLUMNS = ("row", "don_vi", "tai_khoan", "ma_can_bo", "ho_ten", "status", "officers")
_COUNTS = ("answered", "failed", "refused", "total")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not read as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def usage_csv(report: UsageReport) -> str:
    """The report as CSV: one ``officer`` row each, a ``unit`` subtotal after each unit's
    officers, and a ``total`` row last."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV_COLUMNS, *_COUNTS])

    def line(kind: str, who: tuple[str, ...], officers: int, c: UsageRow | UnitUsage) -> None:
        values = (kind, *who, officers, c.answered, c.failed, c.refused, c.total)
        writer.writerow([_cell(v) for v in values])

    for unit in report.units:
        for r in report.rows:
            if r.don_vi == unit.don_vi:
                line("officer", (r.don_vi, r.tai_khoan, r.ma_can_bo, r.ho_ten, r.status), 1, r)
        line("unit", (unit.don_vi, "", "", "", ""), unit.officers, unit)
    line("total", ("", "", "", "", ""), report.totals.officers, report.totals)
    return out.getvalue()
