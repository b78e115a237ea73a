"""``POST /v1/emc/events`` and ``POST /v1/emc/tracking/scan``: an explicit event checked against
the wire packet before it is accepted (422 problem+json naming the field, recorded, nothing
queued), accepted with 202 and an exchange id, the same answer for a repeated Idempotency-Key,
delivered to the simulator; the scan over the API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.emc import EmcConnector
from connectors.emc.tables import EmcDossier
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem
from tests.conftest import bearer
from tests.connectors.emc.support import deliver_all, emc_simulator, event, headers_for, sync

EVENTS = "/v1/emc/events"


async def counts(gateway: Gateway) -> tuple[int, int]:
    async with gateway.db.reading() as session:
        items = await session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.connector == "emc")
        )
        dossiers = await session.scalar(select(func.count()).select_from(EmcDossier))
    return int(items or 0), int(dossiers or 0)


async def test_an_event_is_accepted_delivered_and_noted(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    headers = {**await bearer(gateway, "emc:submit"), "Idempotency-Key": "ev-1"}
    body = event(trang_thai_emc="4", hinh_thuc_thanh_toan="truc_tiep", du_lieu="ghi chú")
    r = await api.post(EVENTS, json=body, headers=headers)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["operation"] == "track_dossier"
    assert r.headers["location"] == f"/v1/exchanges/{accepted['exchange_id']}"
    again = await api.post(EVENTS, json=body, headers=headers)
    assert again.json() == accepted
    assert again.headers["idempotent-replayed"] == "true"
    assert await counts(gateway) == (1, 1)

    await deliver_all(gateway)
    (sent,) = emc_simulator(sandbox_app).events
    assert (sent["Status"], sent["FormsPayments"], sent["Data"]) == ("4", "2", "ghi chú")
    state = (await api.get(f"/v1/exchanges/{accepted['exchange_id']}", headers=headers)).json()
    assert state["state"] == "delivered"


async def test_a_bad_event_is_refused_naming_the_field_and_nothing_changes(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await bearer(gateway, "emc:submit")
    for field, bad in (
        ("trang_thai", "xong"),
        ("kenh_thuc_hien", "fax"),
        ("so_giay_to_chu_ho_so", "12"),
        ("muc_do", "muc_5"),
        ("ma_ho_so", "not a code"),
    ):
        r = await api.post(EVENTS, json=event(**{field: bad}), headers=headers)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert any(field in e["loc"] for e in problem["errors"]), problem
        assert problem["exchange_id"]
        assert "001090000001" not in r.text
    assert await counts(gateway) == (0, 0)
    async with gateway.db.reading() as session:
        refused = await session.scalar(
            select(func.count())
            .select_from(ExchangeEntry)
            .where(ExchangeEntry.outcome == "invalid-input")
        )
    assert refused == 5


async def test_scopes_are_enforced(gateway: Gateway, api: httpx.AsyncClient) -> None:
    r = await api.post(EVENTS, json=event(), headers=await bearer(gateway, "emc:read"))
    assert r.status_code == 403
    r = await api.post("/v1/emc/tracking/scan", headers=await bearer(gateway, "emc:read"))
    assert r.status_code == 403


async def test_the_scan_over_the_api(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    headers = await headers_for(gateway)
    await sync(api, headers, 3, "da_tiep_nhan")
    await deliver_all(gateway)
    r = await api.post("/v1/emc/tracking/scan", headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["seen"], r.json()["queued"]) == (1, 1)
    await deliver_all(gateway)
    (sent,) = emc_simulator(sandbox_app).events
    assert sent["MaHoSo"] == "000.00.01.H22-240105-0003"
    assert json.loads(sent["Data"])["exchange_id"] == r.json()["exchange_ids"][0]


async def test_tracking_off_is_503_and_nothing_is_queued(
    gateway: Gateway, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = gateway.connector("emc")
    assert isinstance(connector, EmcConnector)
    monkeypatch.setattr(connector, "config", connector.config.model_copy(update={"site_id": None}))
    headers = await bearer(gateway, "emc:submit")
    for path, body in ((EVENTS, event()), ("/v1/emc/tracking/scan", None)):
        r = await api.post(path, json=body, headers=headers)
        assert r.status_code == 503, r.text
        assert r.json()["type"].endswith("emc-not-configured")
    assert await counts(gateway) == (0, 0)
