"""The DVCQG routes end to end against the simulator (in process)."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.factories import dossier, step


async def test_dossier_reaches_portal_and_exchange_shows_delivery(
    gateway: Gateway, api: httpx.AsyncClient, simulator: Any
) -> None:
    headers = await bearer(gateway, "dvcqg:sync", "dvcqg:read")
    r = await api.post("/v1/dvcqg/dossiers", json=dossier(1), headers=headers)
    assert r.status_code == 202, r.text
    exchange = r.json()["exchange_id"]
    r = await api.post(
        f"/v1/dvcqg/dossiers/{dossier(1)['ma_ho_so']}/steps",
        json={"steps": [step(i) for i in range(1, 13)]},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    service = DeliveryService(gateway)
    while await service.run_once():
        pass
    record = simulator.dossiers[dossier(1)["ma_ho_so"]]
    assert record.history == [2]
    assert len(record.steps) == 12
    state = (await api.get(f"/v1/exchanges/{exchange}", headers=headers)).json()
    assert state["state"] == "delivered"
    assert state["attempts"]
    assert state["attempts"][0]["status_code"] == 200
    portal = await api.get(f"/v1/dvcqg/dossiers/{dossier(1)['ma_ho_so']}", headers=headers)
    assert portal.status_code == 200
    assert portal.json()["dossier"]["trang_thai"] == "da_tiep_nhan"
    assert len(portal.json()["steps"]) == 12


async def test_unknown_procedure_refused_before_leaving(
    gateway: Gateway, api: httpx.AsyncClient, simulator: Any
) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    r = await api.post("/v1/dvcqg/dossiers", json=dossier(2, ma_tthc="1.999999"), headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == "ma_tthc"
    assert r.json()["exchange_id"]
    assert simulator.stats.received == 0 or "DongBoHoSoMC" not in simulator.stats.by_service
