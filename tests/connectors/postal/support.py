"""What the postal tests share: requests, the simulator inside the sandbox app, and driving a
gateway whose simulator pushes its webhooks into the gateway's own API (in process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from connectors.postal.sandbox import PostalSimulator, WebhookPusher, get_pusher, get_simulator

DOSSIER = "000.00.01.H22-240105-0007"
AGENCY = "000.00.01.H22"
SHIPMENTS = "/v1/postal/shipments"
WEBHOOK = "/callbacks/postal/vnpost"
SCOPES = ("postal:ship", "postal:read")


def citizen(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ho_va_ten": "Nguyễn Văn An",
        "dia_chi": "12 Lê Lợi, phường Gia Cẩm",
        "ma_tinh": "25",
        "ma_huyen": "227",
        "so_dien_thoai": "0912345678",
        "email": "an.nguyen@example.vn",
    }
    body.update(overrides)
    return body


def shipment(flow: str = "delivery", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ma_ho_so": DOSSIER,
        "flow": flow,
        "ma_dvc": AGENCY,
        "cong_dan": citizen(),
        "noi_dung": "Kết quả giải quyết TTHC" if flow == "delivery" else "Hồ sơ TTHC",
        "tien_thu_ho": 58_000 if flow == "delivery" else 0,
    }
    body.update(overrides)
    return body


def postal_app(sandbox_app: Any) -> FastAPI:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/postal":
            app: FastAPI = route.app
            return app
    raise LookupError("postal simulator not mounted")


@dataclass
class Postal:
    """The postal simulator and its pusher, with its webhooks going to ``gateway_app``."""

    sim: PostalSimulator
    pusher: WebhookPusher
    platform: httpx.AsyncClient  # the simulator's HTTP face (its /_sandbox routes)

    def push_into(self, gateway_app: Any) -> None:
        self.pusher.transport = httpx.ASGITransport(app=gateway_app)
        self.sim.config = self.sim.config.model_copy(
            update={"webhook_url": f"http://gateway{WEBHOOK}"}
        )

    async def advance(self, number: str, **options: Any) -> dict[str, Any]:
        r = await self.platform.post(f"/postal/_sandbox/orders/{number}/advance", json=options)
        assert r.status_code == 200, r.text
        await self.pusher.drain()
        result: dict[str, Any] = r.json()
        return result


def postal_of(sandbox_app: Any, platform: httpx.AsyncClient) -> Postal:
    app = postal_app(sandbox_app)
    return Postal(get_simulator(app), get_pusher(app), platform)
