"""Daily reconciliation of fee payments against the payment platform's statement.

Our side: the payments settled on ``day`` (Asia/Ho_Chi_Minh) that carry a platform
transaction: paid (also refund_requested and refunded, which were paid), failed and
cancelled; the settling instant is ``paid_at``, else the time of the last transition to the
payment's status. An expired payment counts only when it has a transaction id (the platform
lists no transaction for an expiry). The platform side: the statement's entries.

Entries are matched by transaction id (``MaGiaoDich``). Findings:

* ``duplicate``: a MaGiaoDich listed more than once (the first copy is compared);
* ``missing_at_platform``: we have it, the statement does not;
* ``missing_here``: the statement has it, we have no such payment or transaction that day;
* ``amount_differs``: SoTien (or MaTienTe) differs;
* ``status_differs``: MaLoi (00 paid, 02 failed, 03 cancelled, 04 expired) differs.

Amounts are integer VND. ``report.ok`` only when there is no finding.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.db import Database, Payment, PaymentTransition
from gateway.core.payments_status import CALLBACK_STATUS, CURRENCY
from gateway.core.usage import TZ
from schemas.payment import Statement, StatementEntry

__all__ = [
    "CSV_COLUMNS",
    "KINDS",
    "Finding",
    "ReconciliationReport",
    "Record",
    "Side",
    "compare",
    "day_bounds",
    "reconcile",
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
#: our status -> the status the platform reports for it (a refund does not change the payment)
AS_PLATFORM: dict[str, str] = {
    "paid": "paid",
    "refund_requested": "paid",
    "refunded": "paid",
    "failed": "failed",
    "cancelled": "cancelled",
    "expired": "expired",
}
SETTLED: tuple[str, ...] = tuple(AS_PLATFORM)
CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "ma_tham_chieu",
    "ma_giao_dich",
    "payment_id",
    "our_amount",
    "their_amount",
    "our_status",
    "their_status",
    "detail",
)


def _status_of(ma_loi: str) -> str:
    return CALLBACK_STATUS.get(ma_loi, "pending" if ma_loi == "01" else f"MaLoi {ma_loi}")


@dataclass(frozen=True, slots=True)
class Record:
    """One of our settled payments, as the platform should list it."""

    payment_id: str
    ma_tham_chieu: str
    ma_giao_dich: str
    amount: int
    currency: str
    status: str  # as the platform reports it (paid, failed, cancelled, expired)
    settled_at: datetime


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    ma_tham_chieu: str
    ma_giao_dich: str
    payment_id: str | None = None
    our_amount: int | None = None
    their_amount: int | None = None
    our_status: str | None = None
    their_status: str | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CSV_COLUMNS}


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
            "findings": [f.as_dict() for f in self.findings],
        }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``day`` in Việt Nam as a half-open UTC interval."""
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


async def _records(session: AsyncSession, day: date) -> list[Record]:
    start, end = day_bounds(day)
    # a payment settled on the day was last updated then or later
    found = (
        await session.scalars(
            select(Payment).where(Payment.status.in_(SETTLED), Payment.updated_at >= start)
        )
    ).all()
    if not found:
        return []
    transitions = (
        await session.scalars(
            select(PaymentTransition)
            .where(PaymentTransition.payment_id.in_([p.id for p in found]))
            .order_by(PaymentTransition.id)
        )
    ).all()
    by_payment: dict[int, list[PaymentTransition]] = {}
    for t in transitions:
        by_payment.setdefault(t.payment_id, []).append(t)
    records: list[Record] = []
    for p in found:
        status = AS_PLATFORM[p.status]
        last = next((t for t in reversed(by_payment.get(p.id, [])) if t.to_status == status), None)
        at = p.paid_at if status == "paid" and p.paid_at is not None else None
        if at is None and last is not None:
            at = last.at
        txn = p.ma_giao_dich or (last.ma_giao_dich if last is not None else None)
        if at is None or not txn:
            continue
        at = _aware(at)
        if not start <= at < end:
            continue
        records.append(Record(p.payment_id, p.ma_tham_chieu, txn, p.amount, p.currency, status, at))
    records.sort(key=lambda r: (r.settled_at, r.ma_tham_chieu))
    return records


def compare(
    day: date, records: Sequence[Record], entries: Sequence[StatementEntry]
) -> ReconciliationReport:
    """The findings of our ``records`` against the statement's ``entries`` (pure)."""
    report = ReconciliationReport(day)
    ours: dict[str, Record] = {}
    for r in records:
        report.ours.add(r.amount, r.status)
        ours[r.ma_giao_dich] = r
    theirs: dict[str, StatementEntry] = {}
    copies: dict[str, int] = {}
    for e in entries:
        report.theirs.add(e.SoTien, _status_of(e.MaLoi))
        copies[e.MaGiaoDich] = copies.get(e.MaGiaoDich, 0) + 1
        theirs.setdefault(e.MaGiaoDich, e)
    findings = report.findings
    for txn, e in theirs.items():
        mine = ours.get(txn)
        their_status = _status_of(e.MaLoi)
        if copies[txn] > 1:
            findings.append(
                Finding(
                    "duplicate",
                    e.MaThamChieu,
                    txn,
                    mine.payment_id if mine else None,
                    mine.amount if mine else None,
                    e.SoTien,
                    mine.status if mine else None,
                    their_status,
                    f"listed {copies[txn]} times",
                )
            )
        if mine is None:
            findings.append(
                Finding(
                    "missing_here",
                    e.MaThamChieu,
                    txn,
                    their_amount=e.SoTien,
                    their_status=their_status,
                    detail="no payment with this transaction was settled here that day",
                )
            )
            continue
        mismatched_ref = mine.ma_tham_chieu != e.MaThamChieu
        if mine.amount != e.SoTien or e.MaTienTe != mine.currency or mismatched_ref:
            detail = f"{mine.amount} {mine.currency} here, {e.SoTien} {e.MaTienTe} at the platform"
            if mismatched_ref:
                detail += f"; MaThamChieu here {mine.ma_tham_chieu}"
            findings.append(
                Finding(
                    "amount_differs",
                    e.MaThamChieu,
                    txn,
                    mine.payment_id,
                    mine.amount,
                    e.SoTien,
                    mine.status,
                    their_status,
                    detail,
                )
            )
        if mine.status != their_status:
            findings.append(
                Finding(
                    "status_differs",
                    e.MaThamChieu,
                    txn,
                    mine.payment_id,
                    mine.amount,
                    e.SoTien,
                    mine.status,
                    their_status,
                    f"{mine.status} here, MaLoi {e.MaLoi} at the platform",
                )
            )
        report.matched += 1
    for txn, mine in ours.items():
        if txn not in theirs:
            findings.append(
                Finding(
                    "missing_at_platform",
                    mine.ma_tham_chieu,
                    txn,
                    mine.payment_id,
                    our_amount=mine.amount,
                    our_status=mine.status,
                    detail="settled here, not in the platform's statement",
                )
            )
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.ma_tham_chieu, f.ma_giao_dich))
    return report


async def reconcile(db: Database, statement: Statement, *, day: date) -> ReconciliationReport:
    """Our payments settled on ``day`` against the platform's ``statement`` of that day."""
    async with db.reading() as session:
        records = await _records(session, day)
    return compare(day, records, statement.GiaoDich)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def report_csv(report: ReconciliationReport, *, header: Sequence[str] = CSV_COLUMNS) -> str:
    """One row per finding, columns :data:`CSV_COLUMNS` (a header only when all matches).
    ``header`` renames the columns for another platform's references (same order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for f in report.findings:
        writer.writerow([_cell(v) for v in f.as_dict().values()])
    return out.getvalue()


def summary(report: ReconciliationReport, *, title: str = "Payment reconciliation") -> str:
    """A readable account: totals per side, counts per kind, and each finding."""
    o, t = report.ours, report.theirs
    verdict = "everything matches" if report.ok else f"{len(report.findings)} difference(s)"
    lines = [
        f"{title}, {report.day.isoformat()} ({TZ}): {verdict}",
        f"  here:         {o.count} transaction(s), {o.amount} {CURRENCY}"
        f" (paid {o.paid_count}, {o.paid_amount} {CURRENCY})",
        f"  platform:     {t.count} transaction(s), {t.amount} {CURRENCY}"
        f" (paid {t.paid_count}, {t.paid_amount} {CURRENCY})",
        f"  matched:      {report.matched}",
    ]
    for kind, n in report.counts().items():
        if n:
            lines.append(f"  {kind + ':':<22}{n}")
    for f in report.findings:
        lines.append(f"  - {f.kind} {f.ma_tham_chieu} {f.ma_giao_dich}: {f.detail}")
    return "\n".join(lines)
