"""The DVCQG wire profiles end to end: the case system's API, the outbox, the simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.dvcqg.profiles import PROFILES
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import bearer, dvcqg_simulator, serving, started_gateway
from tests.factories import dossier, step

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dvcqg"


@pytest.fixture(params=["opencps", "paseto"])
async def profiled(
    request: pytest.FixtureRequest, database_url: str, state_store: StateStore, sandbox_app: Any
) -> AsyncIterator[tuple[str, Gateway, httpx.AsyncClient]]:
    profile: str = request.param
    gw = await started_gateway(
        database_url, state_store, sandbox_app, connectors={"dvcqg": {"profile": profile}}
    )
    try:
        async with serving(gw) as api:
            yield profile, gw, api
    finally:
        await gw.aclose()


async def deliver_all(gw: Gateway) -> None:
    service = DeliveryService(gw)
    while await service.run_once():
        pass


async def test_each_profile_sends_its_fields_as_strings_and_reads_them_back(
    profiled: tuple[str, Gateway, httpx.AsyncClient], sandbox_app: Any
) -> None:
    profile, gw, api = profiled
    sim = dvcqg_simulator(sandbox_app)
    headers = await bearer(gw, "dvcqg:sync", "dvcqg:read")
    body = dossier(1)
    del body["ngay_hen_tra"]  # a dossier with no due date
    assert (await api.post("/v1/dvcqg/dossiers", json=body, headers=headers)).status_code == 202
    r = await api.post(
        f"/v1/dvcqg/dossiers/{body['ma_ho_so']}/steps",
        json={"steps": [step(1)]},
        headers=headers,
    )
    assert r.status_code == 202
    await deliver_all(gw)

    record = sim.dossiers[body["ma_ho_so"]]
    assert list(record.received) == list(PROFILES[profile].dossier_fields)
    assert record.received["NgayHenTra"] == ""
    assert all(isinstance(v, str) for v in record.received.values() if not isinstance(v, list))
    assert record.history == [2]
    assert record.raw_steps[0]["NgayBatDau"] == ""
    assert sim.stats.dstcodes  # every call carried the unit's code

    portal = (await api.get(f"/v1/dvcqg/dossiers/{body['ma_ho_so']}", headers=headers)).json()
    assert portal["dossier"]["trang_thai"] == "da_tiep_nhan"
    assert portal["dossier"]["ngay_hen_tra"] is None
    assert portal["dossier"]["kenh_thuc_hien"] == (
        "truc_tiep" if profile == "paseto" else None  # OpenCPS does not send KenhThucHien
    )
    assert portal["steps"][0]["trang_thai"] == "dang_xu_ly"


async def test_a_dossier_the_portal_got_from_opencps_is_shown(
    gateway: Gateway, api: httpx.AsyncClient, simulator: Any
) -> None:
    # another system (OpenCPS) synchronised these, with blanks: the look-up still answers
    opencps = json.loads((GOLDEN / "opencps/DongBoHoSoMC.request.json").read_text("utf-8"))
    session = simulator.authenticate("lgsp-sandbox", "sandbox-secret")
    assert simulator.handle({**opencps, "session": session})["error_code"] == "0"
    headers = await bearer(gateway, "dvcqg:read")

    r = await api.get("/v1/dvcqg/dossiers/000.00.01.H22-240105-0009", headers=headers)

    assert r.status_code == 200, r.text
    shown = r.json()["dossier"]
    assert (shown["trang_thai"], shown["ngay_hen_tra"], shown["email"]) == (None, None, None)
    assert shown["ngay_tiep_nhan"] == "2024-01-05T10:00:00+07:00"


async def test_the_procedure_is_shown_nested(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:read")
    r = await api.get("/v1/dvcqg/procedures/2.000477", headers=headers)
    assert r.status_code == 200, r.text
    procedure = r.json()["procedure"]
    assert procedure["linh_vuc"] == [{"ma": "G12-XD03", "ten": "Hoạt động xây dựng"}]
    assert procedure["trinh_tu"][0]["buoc"][0].startswith("Bước 1")
    assert [c["kenh"] for c in procedure["cach_thuc"]] == ["truc_tiep", "truc_tuyen", "buu_chinh"]
    assert procedure["cach_thuc"][0]["thoi_gian"][0]["phi_le_phi"][0]["so_tien"] == 75000
    assert len(procedure["thanh_phan_ho_so"][0]["giay_to"]) == 3
    assert procedure["ket_qua_thuc_hien"] == [{"ma": "KQ-2.000477", "ten": "Giấy phép xây dựng"}]
    missing = await api.get("/v1/dvcqg/procedures/3.999999", headers=headers)
    assert missing.status_code == 404
