"""The simulator's own face: strict intake answered in the SDK's shape, de-duplication by
DocumentId, the controls (advance, duplicates, config, certificate, faults, reset)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.edxml import build_edoc
from connectors.qlvb.mapping import VanBanGui, to_wire
from connectors.qlvb.sandbox import QlvbSimulator, create_app, get_simulator
from tests.connectors.qlvb.support import DOCUMENT_ID, document

CREDENTIALS = {"systemid": "lgsp.sandbox.01", "secret": "sandbox-qlvb-secret"}
HEADER = json.dumps({"from": "000.00.00.H22", "servicetype": "eDoc", "messagetype": "edoc"})


@pytest.fixture
def app() -> Any:
    return create_app()


@pytest.fixture
def sim(app: Any) -> QlvbSimulator:
    return get_simulator(app)


@pytest.fixture
async def axis(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://axis"
    ) as client:
        yield client


def package() -> bytes:
    doc = VanBanGui.model_validate(document())
    return build_edoc(to_wire(doc, QlvbConfig(), now=datetime.now(UTC)))


async def send(axis: httpx.AsyncClient, data: bytes, header: str = HEADER) -> dict[str, Any]:
    r = await axis.post("/sendEdoc", content=data, headers={**CREDENTIALS, "header": header})
    assert r.status_code == 200
    answer: dict[str, Any] = r.json()
    return answer


async def test_intake_is_strict_and_deduplicates(
    axis: httpx.AsyncClient, sim: QlvbSimulator
) -> None:
    first = await send(axis, package())
    assert first["status"] == "OK"
    again = await send(axis, package())
    assert again == {
        "status": "OK",
        "ErrorCode": "DUPLICATE",
        "ErrorDesc": f"{DOCUMENT_ID} đã tồn tại",
        "DocID": first["DocID"],
    }
    wrong_from = HEADER.replace("000.00.00.H22", "000.00.00.H23")
    assert (await send(axis, package(), wrong_from))["ErrorCode"] == "INVALID_PACKAGE"
    assert (await send(axis, package(), "not json"))["ErrorCode"] == "INVALID_PACKAGE"
    r = await axis.post("/sendEdoc", content=package(), headers={"header": HEADER})
    assert r.json()["ErrorCode"] == "UNAUTHORIZED"
    assert sim.stats.documents == 1
    assert sim.stats.duplicates == 1
    listed = (await axis.get("/_sandbox/documents")).json()
    assert [d["document_id"] for d in listed] == [DOCUMENT_ID]
    assert listed[0]["duplicates"] == 1


async def test_the_controls(axis: httpx.AsyncClient, sim: QlvbSimulator) -> None:
    await send(axis, package())
    advance = "/_sandbox/documents/advance"
    assert (await axis.post(advance, json={"document_id": "nope"})).status_code == 404
    for code in ("01", "03", "04", "05", "06"):
        [item] = (await axis.post(advance, json={"document_id": DOCUMENT_ID})).json()
        assert item["code"] == code
    assert (await axis.post(advance, json={"document_id": DOCUMENT_ID})).status_code == 409
    status_id = sim.statuses[0].id
    copy = (await axis.post(f"/_sandbox/statuses/{status_id}/duplicate")).json()
    assert copy["body"] == sim.statuses[0].body.decode()
    assert len((await axis.get("/_sandbox/statuses")).json()) == 6
    pem = (await axis.get("/_sandbox/certificate")).text
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    config = (await axis.get("/_sandbox/config")).json()
    config["sign_statuses"] = True
    assert (await axis.put("/_sandbox/config", json=config)).json()["sign_statuses"] is True
    r = await axis.put("/_sandbox/faults", json={"error_rate": 1.0})
    assert r.status_code == 200
    r = await axis.post("/getReceivedEdocList", json={}, headers=CREDENTIALS)
    assert r.status_code == 503
    assert (await axis.get("/_sandbox/stats")).json()["faults_injected"] == 1
    assert (await axis.post("/_sandbox/reset")).status_code == 200
    assert sim.documents == {}
    assert sim.faults.error_rate == 0


async def test_unknown_packages_and_acknowledgements_are_refused(axis: httpx.AsyncClient) -> None:
    r = await axis.post("/getEdoc", json={"docId": "st-999"}, headers=CREDENTIALS)
    assert r.json()["ErrorCode"] == "NOT_FOUND"
    r = await axis.post(
        "/updateStatus", json={"docid": "st-999", "status": "maybe"}, headers=CREDENTIALS
    )
    assert r.json()["ErrorCode"] == "INVALID_PACKAGE"
    r = await axis.post("/getReceivedEdocList", json={"servicetype": "status"}, headers=CREDENTIALS)
    assert r.json() == {"status": "OK", "ErrorDesc": "", "data": []}
