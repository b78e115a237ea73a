"""Daily reconciliation of cash collected on delivery against the postal service's statement.

Our side: the shipments delivered on ``day`` (Asia/Ho_Chi_Minh, by the platform's delivery
time) that owe an amount collected on delivery (``tien_thu_ho`` > 0): the fees the postman had
to collect from the citizen. The platform's side: the statement's collections of that day.
Matched by order number. Findings (the report shape of :mod:`gateway.core.reconcile`; in the
JSON answer ``ma_tham_chieu`` holds the order number, ``ma_giao_dich`` the platform's ItemCode,
``payment_id`` the shipment id, as the payment report names them; the CSV names them for
shipments, :data:`CSV_HEADER`):

* ``duplicate``: an order listed more than once (the first copy is compared);
* ``missing_at_platform``: delivered here with an amount to collect, not in the statement;
* ``missing_here``: in the statement, but no shipment of ours was delivered with it that day;
* ``amount_differs``: the amount collected is not the amount owed.

Amounts are integer VND. ``report.ok`` only when there is no finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from connectors.postal.tables import Shipment
from gateway.core.reconcile import (
    KINDS,
    Finding,
    ReconciliationReport,
    day_bounds,
    report_csv,
    summary,
)
from gateway.core.store.db import Database
from schemas.postal import Statement, StatementItem

__all__ = ["CSV_HEADER", "Owed", "compare", "reconcile", "report_csv_postal", "summary_postal"]

#: the JSON answer's names of a finding's fields: the payment report's, kept for the clients
#: that read both reports alike
JSON_COLUMNS: tuple[str, ...] = (
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

#: the CSV's columns, named for shipments
CSV_HEADER: tuple[str, ...] = (
    "kind",
    "order_number",
    "item_code",
    "shipment_id",
    "our_amount",
    "their_amount",
    "our_status",
    "their_status",
    "detail",
)
#: the statuses as the report names them (Side counts "paid" amounts: here, collected ones)
OWED, COLLECTED = "delivered", "collected"


@dataclass(frozen=True, slots=True)
class Owed:
    """A shipment delivered that day with an amount to collect."""

    shipment_id: str
    order_number: str
    item_code: str
    amount: int


async def _owed(db: Database, day: date) -> list[Owed]:
    start, end = day_bounds(day)
    async with db.reading() as session:
        rows = (
            await session.scalars(
                select(Shipment)
                .where(
                    Shipment.status == "delivered",
                    Shipment.cod_amount > 0,
                    Shipment.delivered_at >= start,
                    Shipment.delivered_at < end,
                )
                .order_by(Shipment.delivered_at, Shipment.order_number)
            )
        ).all()
    return [
        Owed(r.shipment_id, r.order_number, r.platform_order_id or "", r.cod_amount) for r in rows
    ]


def compare(
    day: date, owed: Sequence[Owed], items: Sequence[StatementItem]
) -> ReconciliationReport:
    """The findings of what we are owed against what the platform collected (pure)."""
    report = ReconciliationReport(day, columns=JSON_COLUMNS)
    ours: dict[str, Owed] = {}
    for o in owed:
        report.ours.add(o.amount, "paid")
        ours[o.order_number] = o
    theirs: dict[str, StatementItem] = {}
    copies: dict[str, int] = {}
    for item in items:
        report.theirs.add(item.CODAmount, "paid")
        copies[item.OrderNumber] = copies.get(item.OrderNumber, 0) + 1
        theirs.setdefault(item.OrderNumber, item)
    findings = report.findings
    for number, item in theirs.items():
        mine = ours.get(number)
        if copies[number] > 1:
            findings.append(
                Finding(
                    "duplicate",
                    number,
                    item.ItemCode,
                    mine.shipment_id if mine else None,
                    mine.amount if mine else None,
                    item.CODAmount,
                    OWED if mine else None,
                    COLLECTED,
                    f"listed {copies[number]} times",
                )
            )
        if mine is None:
            findings.append(
                Finding(
                    "missing_here",
                    number,
                    item.ItemCode,
                    their_amount=item.CODAmount,
                    their_status=COLLECTED,
                    detail="no shipment of ours was delivered with this collection that day",
                )
            )
            continue
        if mine.amount != item.CODAmount:
            findings.append(
                Finding(
                    "amount_differs",
                    number,
                    item.ItemCode,
                    mine.shipment_id,
                    mine.amount,
                    item.CODAmount,
                    OWED,
                    COLLECTED,
                    f"{mine.amount} VND owed, {item.CODAmount} VND collected",
                )
            )
        report.matched += 1
    for number, mine in ours.items():
        if number not in theirs:
            findings.append(
                Finding(
                    "missing_at_platform",
                    number,
                    mine.item_code,
                    mine.shipment_id,
                    our_amount=mine.amount,
                    our_status=OWED,
                    detail="delivered here with an amount to collect, not in the statement",
                )
            )
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.ma_tham_chieu, f.ma_giao_dich))
    return report


async def reconcile(db: Database, statement: Statement, *, day: date) -> ReconciliationReport:
    """Our shipments delivered on ``day`` with fees to collect against the statement."""
    return compare(day, await _owed(db, day), statement.Items)


def report_csv_postal(report: ReconciliationReport) -> str:
    """One row per finding, columns :data:`CSV_HEADER`."""
    return report_csv(report, header=CSV_HEADER)


def summary_postal(report: ReconciliationReport) -> str:
    return summary(report, title="Cash-on-delivery reconciliation (postal)")
