"""The EMC simulator on its own: strict validation of TrackingMCDT (SiteId known, codes in
range, User a JSON string consistent with the ID), bounds, de-duplication, the inspection and
control endpoints over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.emc.sandbox import MAX_REQUEST_BYTES, create_app

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "emc"


def packet(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (GOLDEN / "paseto_tracking_received.json").read_text(encoding="utf-8")
    )
    body.update(overrides)
    return body


@pytest.fixture
async def emc() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app()), base_url="http://emc"
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"Status": "7"}, "Status"),
        ({"Level": 4}, "Level"),
        ({"FormsReception": "3"}, "FormsReception"),
        ({"IsDVCBC": "9"}, "IsDVCBC"),
        ({"SiteId": "3800"}, "SiteId"),
        ({"MaHoSo": ""}, "MaHoSo"),
        ({"Extra": "x"}, "Extra"),
    ],
)
async def test_out_of_range_codes_are_refused_naming_the_field(
    emc: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    r = await emc.post("/TrackingMCDT", json=packet(**overrides))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    "user",
    [
        "001090000001",  # not JSON
        {"ID_local": "001090000001"},  # an object, not a JSON string
        json.dumps(
            {"ID_local": "001090000001", "ID_QG": "001090000001", "TYPE": "1", "LOCATION": "38"}
        ),  # TYPE 1 is for a 10-character ID
        json.dumps(
            {"ID_local": "001090000001", "ID_QG": "001090000002", "TYPE": "2", "LOCATION": "38"}
        ),
    ],
)
async def test_user_must_be_a_consistent_json_string(emc: httpx.AsyncClient, user: Any) -> None:
    r = await emc.post("/TrackingMCDT", json=packet(User=user))
    assert r.status_code == 400, r.text


async def test_unknown_site_bounds_and_not_json(emc: httpx.AsyncClient) -> None:
    assert (await emc.post("/TrackingMCDT", json=packet(SiteId=42))).status_code == 403
    assert (await emc.post("/TrackingMCDT", content=b"{nope")).status_code == 400
    big = b"x" * (MAX_REQUEST_BYTES + 1)
    assert (await emc.post("/TrackingMCDT", content=big)).status_code == 413
    stats = (await emc.get("/_sandbox/stats")).json()
    assert stats["invalid"] == 1
    assert stats["received"]["TrackingMCDT"] == 3


async def test_kept_once_inspected_and_controlled(emc: httpx.AsyncClient) -> None:
    for _ in range(2):
        r = await emc.post("/TrackingMCDT", json=packet())
        assert r.status_code == 200
    assert r.json() == {"status": "duplicate"}
    received = (await emc.get("/_sandbox/received")).json()
    assert [e["MaHoSo"] for e in received["events"]] == ["000.00.01.H22-240105-0007"]
    assert (await emc.put("/_sandbox/faults", json={"error_rate": 1})).status_code == 200
    failed = await emc.post("/TrackingMCDT", json=packet(Status="2"))
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "1"
    assert (await emc.put("/_sandbox/faults", json={"malformed_rate": 1})).status_code == 200
    spoiled = await emc.post("/TrackingMCDT", json=packet(Status="2"))
    assert spoiled.headers["content-type"].startswith("text/html")
    assert (await emc.put("/_sandbox/faults", json={"bogus": 1})).status_code == 422
    assert (await emc.post("/_sandbox/reset")).status_code == 200
    assert (await emc.get("/_sandbox/received")).json() == {"events": [], "aggregates": []}
    assert (await emc.options("/TrackingMCDT")).status_code == 204
