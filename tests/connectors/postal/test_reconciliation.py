"""Cash-on-delivery reconciliation: shipments delivered here with fees to collect against the
simulator's statement, with each kind of discrepancy planted (found, and nothing else), and
the comparison itself on hand-made data."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from connectors.postal import PostalConnector
from connectors.postal import reconciliation as postal_reconciliation
from gateway.core.runtime import Gateway
from schemas.postal import StatementItem
from tests.connectors.postal.support import SHIPMENTS, Postal, shipment
from tests.connectors.postal.test_routes import deliver_all, headers, platform, postal

__all__ = ["headers", "platform", "postal"]  # fixtures used here

#: four results delivered with fees, one without, one dossier picked up
DOSSIERS = {
    "000.00.01.H22-240105-0001": 58_000,
    "000.00.01.H22-240105-0002": 30_000,
    "000.00.01.H22-240105-0003": 12_000,
    "000.00.01.H22-240105-0004": 45_000,
    "000.00.01.H22-240105-0005": 0,
}


async def deliver_day(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], postal: Postal
) -> date:
    """Every shipment of :data:`DOSSIERS` (plus a pick-up) delivered; the day it happened."""
    for ma_ho_so, fee in DOSSIERS.items():
        body = shipment(ma_ho_so=ma_ho_so, tien_thu_ho=fee)
        assert (await api.post(SHIPMENTS, json=body, headers=headers)).status_code == 202
    pickup = shipment("pickup", ma_ho_so="000.00.01.H22-240105-0001")
    assert (await api.post(SHIPMENTS, json=pickup, headers=headers)).status_code == 202
    await deliver_all(app, postal)
    last: dict[str, Any] = {}
    for number in list(postal.sim.orders):
        for _ in range(4):
            last = await postal.advance(number)
    stamp = last["Tracking"][-1]["time"]
    return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))


async def report_of(gateway: Gateway, day: date) -> Any:
    connector = gateway.connector("postal")
    assert isinstance(connector, PostalConnector)
    statement = await connector.client.statement(day)
    return await postal_reconciliation.reconcile(gateway.db, statement, day=day)


async def test_a_clean_day(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    day = await deliver_day(api, app, headers, postal)
    report = await report_of(gateway, day)
    assert report.ok, report.as_dict()
    assert report.matched == 4
    assert report.ours.amount == report.theirs.amount == sum(DOSSIERS.values())
    text = postal_reconciliation.summary_postal(report)
    assert text.startswith("Cash-on-delivery reconciliation (postal)")
    assert "everything matches" in text


async def test_each_planted_discrepancy_is_found_and_nothing_else(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], postal: Postal
) -> None:
    day = await deliver_day(api, app, headers, postal)
    one, two, three, four = (f"{d}-delivery" for d in list(DOSSIERS)[:4])
    planted = {"omit": [one], "amount_delta": {two: -2_000}, "duplicate": [three], "extra": 1}
    r = await postal.platform.put("/postal/_sandbox/faults", json={"statement": planted})
    assert r.status_code == 200
    report = await report_of(gateway, day)
    found = sorted((f.kind, f.ma_tham_chieu) for f in report.findings)
    extra = f"SBX-EXTRA-{day.strftime('%Y%m%d')}-1"
    assert found == sorted(
        [
            ("missing_at_platform", one),
            ("amount_differs", two),
            ("duplicate", three),
            ("missing_here", extra),
        ]
    )
    assert report.counts()["status_differs"] == 0
    differs = next(f for f in report.findings if f.kind == "amount_differs")
    assert (differs.our_amount, differs.their_amount) == (30_000, 28_000)
    assert report.matched == 3  # two, three (its first copy) and four
    csv = postal_reconciliation.report_csv_postal(report).splitlines()
    assert csv[0].startswith("kind,order_number,item_code,shipment_id")
    assert len(csv) == 5
    assert four not in "\n".join(csv)


@pytest.mark.parametrize(
    ("items", "kinds"),
    [
        ([], ["missing_at_platform"]),
        ([("A", 10_000)], []),
        ([("A", 10_000), ("A", 10_000)], ["duplicate"]),
        ([("A", 9_999)], ["amount_differs"]),
        ([("A", 10_000), ("B", 5)], ["missing_here"]),
    ],
)
def test_compare(items: list[tuple[str, int]], kinds: list[str]) -> None:
    owed = [postal_reconciliation.Owed("s-1", "A", "EH1", 10_000)]
    statement = [
        StatementItem(OrderNumber=n, ItemCode="EH", CODAmount=a, CollectedAt="20261123100000")
        for n, a in items
    ]
    report = postal_reconciliation.compare(date(2026, 11, 23), owed, statement)
    assert [f.kind for f in report.findings] == kinds
    assert report.ok is (kinds == [])
