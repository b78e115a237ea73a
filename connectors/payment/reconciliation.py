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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.payment.status import CALLBACK_STATUS, CURRENCY
from connectors.payment.tables import Payment, PaymentTransition
from gateway.core.reconcile import (
    KINDS,
    Finding,
    ReconciliationReport,
    Side,
    aware,
    day_bounds,
    report_csv,
)
from gateway.core.reconcile import summary as _summary
from gateway.core.store.db import Database
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

#: a finding's columns, in the JSON answer and the CSV: the platform's reference, its
#: transaction and our payment
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
        at = aware(at)
        if not start <= at < end:
            continue
        records.append(Record(p.payment_id, p.ma_tham_chieu, txn, p.amount, p.currency, status, at))
    records.sort(key=lambda r: (r.settled_at, r.ma_tham_chieu))
    return records


def compare(
    day: date, records: Sequence[Record], entries: Sequence[StatementEntry]
) -> ReconciliationReport:
    """The findings of our ``records`` against the statement's ``entries`` (pure)."""
    report = ReconciliationReport(day, columns=CSV_COLUMNS)
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


def summary(report: ReconciliationReport) -> str:
    """A readable account of a payment reconciliation (see :func:`gateway.core.reconcile.
    summary`)."""
    return _summary(report, title="Payment reconciliation", currency=CURRENCY)
