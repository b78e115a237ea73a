"""What the EMC tests share: the EMC simulator inside the sandbox app, DVCQG syncs delivered
through the API, and delivering everything queued."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.emc.sandbox import EmcSimulator, get_simulator
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.factories import dossier

SCOPES = ("emc:submit", "emc:read", "dvcqg:sync")


def emc_simulator(sandbox_app: Any) -> EmcSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/emc":
            return get_simulator(route.app)
    raise LookupError("emc simulator not mounted")


async def deliver_all(gateway: Gateway) -> None:
    service = DeliveryService(gateway)
    while await service.run_once():
        pass


async def sync(
    api: httpx.AsyncClient, headers: dict[str, str], n: int, trang_thai: str, **overrides: Any
) -> str:
    """Accept one DVCQG dossier sync (at a status) through the API; its exchange id."""
    r = await api.post(
        "/v1/dvcqg/dossiers", json=dossier(n, trang_thai=trang_thai, **overrides), headers=headers
    )
    assert r.status_code == 202, r.text
    exchange: str = r.json()["exchange_id"]
    return exchange


async def headers_for(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, *SCOPES)


def event(n: int = 7, **overrides: Any) -> dict[str, Any]:
    """A canonical EMC event (``POST /v1/emc/events``)."""
    body: dict[str, Any] = {
        "ma_ho_so": f"000.00.01.H22-240105-{n:04d}",
        "ma_tthc": "1.001776",
        "ten_tthc": "Đăng ký khai sinh",
        "trang_thai": "da_tiep_nhan",
        "kenh_thuc_hien": "truc_tuyen",
        "so_giay_to_chu_ho_so": "001090000001",
        "ngay_tiep_nhan": "2024-01-05T08:30:00+07:00",
        "ngay_hen_tra": "2024-01-12T17:00:00+07:00",
    }
    body.update(overrides)
    return body
