"""Reconciliation of a day: a platform's statement against our records, as findings.

The shapes every reconciliation shares (a platform's statement of a day against the records
kept here): the kinds of finding, a finding, each side's totals, the report, the day's bounds
in Việt Nam, the report as CSV and as text. Each connector matches its own records
(``connectors.<slug>``) and names the columns for its references (``columns``).

Amounts are integer VND. ``report.ok`` only when there is no finding.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from gateway.core.local_time import TZ

__all__ = [
    "CSV_COLUMNS",
    "KINDS",
    "Finding",
    "FindingCounts",
    "Kind",
    "ReconciliationReport",
    "Side",
    "SideTotals",
    "Totals",
    "aware",
    "day_bounds",
    "report_csv",
    "summary",
]

Kind = Literal[
    "missing_at_platform", "missing_here", "amount_differs", "status_differs", "duplicate"
]
KINDS: tuple[Kind, ...] = (
    "missing_at_platform",
    "missing_here",
    "amount_differs",
    "status_differs",
    "duplicate",
)
#: the columns of a finding, in the order of its fields; a connector renames them for its own
#: references (the same number, the same order)
CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "ma_tham_chieu",
    "ma_giao_dich",
    "record_id",
    "our_amount",
    "their_amount",
    "our_status",
    "their_status",
    "detail",
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    ma_tham_chieu: str
    ma_giao_dich: str
    record_id: str | None = None  # the record kept here
    our_amount: int | None = None
    their_amount: int | None = None
    our_status: str | None = None
    their_status: str | None = None
    detail: str = ""

    def values(self) -> tuple[Any, ...]:
        return (
            self.kind,
            self.ma_tham_chieu,
            self.ma_giao_dich,
            self.record_id,
            self.our_amount,
            self.their_amount,
            self.our_status,
            self.their_status,
            self.detail,
        )

    def as_dict(self, columns: Sequence[str] = CSV_COLUMNS) -> dict[str, Any]:
        return dict(zip(columns, self.values(), strict=True))


@dataclass(slots=True)
class Side:
    """Totals of one side: transactions, their amount, and what of it was paid."""

    count: int = 0
    amount: int = 0
    paid_count: int = 0
    paid_amount: int = 0

    def add(self, amount: int, status: str) -> None:
        self.count += 1
        self.amount += amount
        if status == "paid":
            self.paid_count += 1
            self.paid_amount += amount

    def as_dict(self) -> dict[str, int]:
        return {
            "count": self.count,
            "amount": self.amount,
            "paid_count": self.paid_count,
            "paid_amount": self.paid_amount,
        }


@dataclass(slots=True)
class ReconciliationReport:
    day: date
    #: the names of a finding's fields in the JSON answer (see :data:`CSV_COLUMNS`)
    columns: tuple[str, ...] = CSV_COLUMNS
    ours: Side = field(default_factory=Side)
    theirs: Side = field(default_factory=Side)
    findings: list[Finding] = field(default_factory=list)
    matched: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for f in self.findings if f.kind == kind) for kind in KINDS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "ok": self.ok,
            "matched": self.matched,
            "totals": {"ours": self.ours.as_dict(), "theirs": self.theirs.as_dict()},
            "counts": self.counts(),
            "findings": [f.as_dict(self.columns) for f in self.findings],
        }


# --- the report's shapes in the API's document (the connectors' answers) ---------------------


class SideTotals(BaseModel):
    """One side's totals (VND), as :meth:`Side.as_dict` gives them."""

    count: int
    amount: int
    paid_count: int = Field(description="the paid (or, cash on delivery, collected) ones")
    paid_amount: int


class Totals(BaseModel):
    ours: SideTotals = Field(description="what the gateway holds")
    theirs: SideTotals = Field(description="what the platform's statement says")


class FindingCounts(BaseModel):
    """Findings per kind (:data:`KINDS`), as :meth:`ReconciliationReport.counts` gives them."""

    missing_at_platform: int
    missing_here: int
    amount_differs: int
    status_differs: int
    duplicate: int


def report_example(*, our_status: str) -> dict[str, Any]:
    """The contract's example of a day's report: one item of ours missing at the platform,
    ``our_status`` being how the connector names it (paid, delivered)."""
    side = {"count": 12, "amount": 600000, "paid_count": 12, "paid_amount": 600000}
    return {
        "date": "2024-01-05",
        "ok": False,
        "matched": 11,
        "totals": {
            "ours": side,
            "theirs": {"count": 11, "amount": 550000, "paid_count": 11, "paid_amount": 550000},
        },
        "counts": {kind: int(kind == "missing_at_platform") for kind in FindingCounts.model_fields},
        "findings": [
            {
                "kind": "missing_at_platform",
                "ma_tham_chieu": "3f0b6d2e8a514c8e9d7a0c6a1f2b9e41",
                "ma_giao_dich": "",
                "payment_id": "3f0b6d2e-8a51-4c8e-9d7a-0c6a1f2b9e41",
                "our_amount": 50000,
                "their_amount": None,
                "our_status": our_status,
                "their_status": None,
                "detail": "",
            }
        ],
    }


def aware(at: datetime) -> datetime:
    """``at``, naive ones read as UTC (SQLite gives back naive datetimes)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``day`` in Việt Nam as a half-open UTC interval."""
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def report_csv(report: ReconciliationReport, *, header: Sequence[str] | None = None) -> str:
    """One row per finding (a header only when all matches), columns ``header`` (default: the
    report's own :attr:`ReconciliationReport.columns`; same number, same order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header if header is not None else report.columns)
    for f in report.findings:
        writer.writerow([_cell(v) for v in f.values()])
    return out.getvalue()


def summary(
    report: ReconciliationReport, *, title: str = "Reconciliation", currency: str = "VND"
) -> str:
    """A readable account: totals per side, counts per kind, and each finding."""
    o, t = report.ours, report.theirs
    verdict = "everything matches" if report.ok else f"{len(report.findings)} difference(s)"
    lines = [
        f"{title}, {report.day.isoformat()} ({TZ}): {verdict}",
        f"  here:         {o.count} transaction(s), {o.amount} {currency}"
        f" (paid {o.paid_count}, {o.paid_amount} {currency})",
        f"  platform:     {t.count} transaction(s), {t.amount} {currency}"
        f" (paid {t.paid_count}, {t.paid_amount} {currency})",
        f"  matched:      {report.matched}",
    ]
    for kind, n in report.counts().items():
        if n:
            lines.append(f"  {kind + ':':<22}{n}")
    for f in report.findings:
        lines.append(f"  - {f.kind} {f.ma_tham_chieu} {f.ma_giao_dich}: {f.detail}")
    return "\n".join(lines)
