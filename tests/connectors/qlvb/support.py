"""What the qlvb tests share: a request, the simulator inside the sandbox app, driving a gateway
whose simulator pushes its status packages into the gateway's own API (in process)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from connectors.qlvb import QlvbConnector
from connectors.qlvb import poller as qlvb_poller
from connectors.qlvb.sandbox import QlvbSimulator, StatusPusher, get_pusher, get_simulator
from gateway.core import events
from gateway.core.demo import sample_pdf
from gateway.core.runtime import Gateway

DOSSIER = "000.00.01.H22-240105-0007"
AGENCY = "000.00.12.H22"
OTHER_AGENCY = "000.00.13.H22"
SENDER = "000.00.00.H22"  # the config's default sender
DOCUMENTS = "/v1/qlvb/documents"
CALLBACK = "/callbacks/qlvb/status"
SCOPES = ("qlvb:send", "qlvb:read")
DOCUMENT_ID = f"{SENDER},2024/01/05,125/TTHCC-MC"


def document(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ma_ho_so": DOSSIER,
        "ma_co_quan_nhan": [AGENCY],
        "so_van_ban": "125",
        "ky_hieu": "TTHCC-MC",
        "trich_yeu": f"V/v xin ý kiến về hồ sơ {DOSSIER}",
        "nguoi_ky": {
            "tham_quyen": "KT. Giám đốc",
            "chuc_vu": "Phó Giám đốc",
            "ho_ten": "Trần Văn Bình",
        },
        "noi_ban_hanh": "Phú Thọ",
        "ngay_ban_hanh": "2024-01-05",
        "ma_loai_van_ban": 1,
        "tep_dinh_kem": [
            {
                "ten_tep": "cong-van.pdf",
                "loai": "application/pdf",
                "noi_dung": base64.b64encode(sample_pdf("CONG VAN")).decode(),
            }
        ],
    }
    body.update(overrides)
    return body


def qlvb_app(sandbox_app: Any) -> FastAPI:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/qlvb":
            app: FastAPI = route.app
            return app
    raise LookupError("qlvb simulator not mounted")


@dataclass
class Axis:
    """The simulator, its pusher and its control face."""

    sim: QlvbSimulator
    pusher: StatusPusher
    platform: httpx.AsyncClient

    def push_into(self, gateway_app: Any) -> None:
        self.pusher.transport = httpx.ASGITransport(app=gateway_app)
        self.sim.config = self.sim.config.model_copy(
            update={"callback_url": f"http://gateway{CALLBACK}"}
        )

    async def advance(self, document_id: str = DOCUMENT_ID, **options: Any) -> list[dict[str, Any]]:
        r = await self.platform.post(
            "/qlvb/_sandbox/documents/advance", json={"document_id": document_id, **options}
        )
        assert r.status_code == 200, r.text
        await self.pusher.drain()
        result: list[dict[str, Any]] = r.json()
        return result


def axis_of(sandbox_app: Any, platform: httpx.AsyncClient) -> Axis:
    app = qlvb_app(sandbox_app)
    return Axis(get_simulator(app), get_pusher(app), platform)


def connector_of(gw: Gateway) -> QlvbConnector:
    connector = gw.connector("qlvb")
    assert isinstance(connector, QlvbConnector)
    return connector


async def poll(gw: Gateway) -> int:
    connector = connector_of(gw)
    return await qlvb_poller.poll_statuses(
        gw, client=connector.client, read_status=connector.read_status
    )


async def event_types(gw: Gateway) -> list[str]:
    page = await events.read_inbox(gw.db, gw.cipher, client="test", after=0)
    return [e["type"] for e in page.events]
