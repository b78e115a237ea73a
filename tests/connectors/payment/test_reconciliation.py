"""Reconciliation of fee payments against the simulator's daily statement, through the API
route (``GET /v1/payments/reconciliation``) and :func:`connectors.payment.reconciliation.reconcile`.

Payments are created, paid, failed or cancelled at the simulator and their signed callbacks
posted to the gateway, as in ``tests/connectors/payment/test_routes.py``; each discrepancy planted
in the statement (``PUT /payment/_sandbox/faults``) is found, and nothing else."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import httpx
import pytest

from connectors.payment import PaymentConnector, reconciliation
from connectors.payment.routes import PaymentReconciliation
from gateway.core.local_time import local_day
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from tests.conftest import bearer
from tests.connectors.payment.test_routes import (
    CALLBACK,
    act,
    create,
    declared,
    headers,
    platform,
    reference,
    sim,
)

__all__ = ["headers", "platform", "sim"]  # fixtures, imported for their use here

RECONCILE = "/v1/payments/reconciliation"
FAULTS = "/payment/_sandbox/faults"


def today() -> date:
    return local_day(utcnow())


async def settle(
    api: httpx.AsyncClient, headers: dict[str, str], platform: Any, n: int, action: str
) -> dict[str, Any]:
    """A payment of dossier ``n`` settled by ``action`` at the platform and its callback."""
    r = await create(
        api,
        headers,
        ma_ho_so=f"000.00.01.H22-240105-{n:04d}",
        fee_lines=[{"noi_dung": "Lệ phí", "so_tien": 10_000 * n}],
    )
    pid = r.json()["payment_id"]
    ref = await reference(api, headers, pid)
    callback = await act(platform, ref, action)
    answer = await api.post(CALLBACK, content=callback)
    assert answer.status_code == 200, answer.text
    view = (await api.get(f"/v1/payments/{pid}", headers=headers)).json()
    return {"payment_id": pid, "ref": ref, "amount": 10_000 * n, "view": view}


@pytest.fixture
async def day_of_payments(
    api: httpx.AsyncClient, headers: dict[str, str], platform: Any
) -> list[dict[str, Any]]:
    """Five settled payments (three paid, one failed, one cancelled) and one still pending."""
    settled = [
        await settle(api, headers, platform, 1, "pay"),
        await settle(api, headers, platform, 2, "pay"),
        await settle(api, headers, platform, 3, "fail"),
        await settle(api, headers, platform, 4, "cancel"),
        await settle(api, headers, platform, 5, "pay"),
    ]
    await create(api, headers, ma_ho_so="000.00.01.H22-240105-0099")  # pending: not listed
    return settled


async def plant(platform: httpx.AsyncClient, **statement: Any) -> None:
    r = await platform.put(FAULTS, json={"statement": statement})
    assert r.status_code == 200, r.text


async def run(api: httpx.AsyncClient, headers: dict[str, str], **params: str) -> httpx.Response:
    r = await api.get(RECONCILE, params={"date": today().isoformat(), **params}, headers=headers)
    assert r.status_code == 200, r.text
    if params.get("format", "json") == "json":
        declared(PaymentReconciliation, r)
    return r


async def test_a_clean_day_finds_nothing(
    api: httpx.AsyncClient, headers: dict[str, str], day_of_payments: list[dict[str, Any]]
) -> None:
    report = (await run(api, headers)).json()
    assert report["ok"] is True
    assert report["findings"] == []
    assert report["matched"] == 5
    paid = 10_000 + 20_000 + 50_000
    expected = {"count": 5, "amount": 150_000, "paid_count": 3, "paid_amount": paid}
    assert report["totals"] == {"ours": expected, "theirs": expected}
    assert all(isinstance(v, int) for v in report["totals"]["ours"].values())
    text = (await run(api, headers, format="csv")).text
    assert text == ",".join(reconciliation.CSV_COLUMNS) + "\n"


async def test_an_empty_day_is_clean(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    report = (await run(api, headers)).json()
    assert report["ok"] is True
    assert report["totals"]["ours"]["count"] == report["totals"]["theirs"]["count"] == 0


@pytest.mark.parametrize(
    ("planted", "kind", "index", "ours", "theirs"),
    [
        ("omit", "missing_at_platform", 1, (20_000, "paid"), (None, None)),
        ("extra", "missing_here", None, (None, None), (10_000, "paid")),
        ("amount_delta", "amount_differs", 0, (10_000, "paid"), (9_000, "paid")),
        ("duplicate", "duplicate", 4, (50_000, "paid"), (50_000, "paid")),
        ("status", "status_differs", 2, (30_000, "failed"), (30_000, "paid")),
        ("status_cancelled", "status_differs", 0, (10_000, "paid"), (10_000, "cancelled")),
    ],
)
async def test_each_planted_discrepancy_is_found_and_nothing_else(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    platform: Any,
    day_of_payments: list[dict[str, Any]],
    planted: str,
    kind: str,
    index: int | None,
    ours: tuple[int | None, str | None],
    theirs: tuple[int | None, str | None],
) -> None:
    ref = day_of_payments[index]["ref"] if index is not None else None
    statement: dict[str, Any] = {
        "omit": {"omit": [ref]},
        "extra": {"extra": 1},
        "amount_delta": {"amount_delta": {ref: -1_000}},
        "duplicate": {"duplicate": [ref]},
        "status": {"status": {ref: "00"}},
        "status_cancelled": {"status": {ref: "03"}},
    }[planted]
    await plant(platform, **statement)
    report = (await run(api, headers)).json()
    assert report["ok"] is False
    assert [f["kind"] for f in report["findings"]] == [kind]
    finding = report["findings"][0]
    if ref is not None:
        assert finding["ma_tham_chieu"] == ref
        assert finding["payment_id"] == day_of_payments[index]["payment_id"]
        assert finding["ma_giao_dich"] == day_of_payments[index]["view"]["ma_giao_dich"] or (
            finding["our_status"] != "paid"
        )
    else:
        assert finding["ma_tham_chieu"].startswith("SBX-EXTRA-")
        assert finding["payment_id"] is None
    assert (finding["our_amount"], finding["our_status"]) == ours
    assert (finding["their_amount"], finding["their_status"]) == theirs
    assert report["counts"][kind] == 1
    assert sum(report["counts"].values()) == 1

    rows = list(csv.reader(io.StringIO((await run(api, headers, format="csv")).text)))
    assert rows[0] == list(reconciliation.CSV_COLUMNS)
    assert len(rows) == 2
    assert rows[1][0] == kind


async def test_all_discrepancies_at_once_and_the_core_function(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    platform: Any,
    day_of_payments: list[dict[str, Any]],
) -> None:
    refs = [p["ref"] for p in day_of_payments]
    await plant(
        platform,
        omit=[refs[1]],
        extra=2,
        amount_delta={refs[0]: 500},
        duplicate=[refs[4]],
        status={refs[3]: "00"},
    )
    connector = gateway.connector("payment")
    assert isinstance(connector, PaymentConnector)
    statement = await connector.client.statement(today())
    report = await reconciliation.reconcile(gateway.db, statement, day=today())
    assert not report.ok
    assert report.counts() == {
        "missing_at_platform": 1,
        "missing_here": 2,
        "amount_differs": 1,
        "status_differs": 1,
        "duplicate": 1,
    }
    assert report.ours.amount == 150_000
    # theirs: 1 + 3 + 4 + 5 + 5 (duplicate) + 1 + 2 (extra), +500 on the first
    assert report.theirs.amount == 10_500 + 30_000 + 40_000 + 100_000 + 30_000
    text = reconciliation.summary(report)
    assert "6 difference(s)" in text
    assert refs[1] in text
    # another day, nothing planted: nothing settled here, and the statement is empty
    await plant(platform)
    other = await connector.client.statement(date(2020, 1, 1))
    assert (await reconciliation.reconcile(gateway.db, other, day=date(2020, 1, 1))).ok


async def test_the_route_needs_payment_read_and_a_date(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    creator = await bearer(gateway, "payment:create")
    params = {"date": today().isoformat()}
    assert (await api.get(RECONCILE, params=params)).status_code == 401
    assert (await api.get(RECONCILE, params=params, headers=creator)).status_code == 403
    reader = await bearer(gateway, "payment:read")
    assert (await api.get(RECONCILE, headers=reader)).status_code == 422
    bad = await api.get(RECONCILE, params={"date": "2024-13-01"}, headers=reader)
    assert bad.status_code == 422
    fmt = await api.get(RECONCILE, params={**params, "format": "xml"}, headers=reader)
    assert fmt.status_code == 422
