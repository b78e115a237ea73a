"""Hostile input to the EMC routes (adversarial review, issue 23): every refusal is problem+json
naming the field, recorded in the exchange log, and changes nothing; never a 500; the owner's
ID number never in an answer or a log line unmasked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.emc.tables import EmcDossier
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem
from tests.conftest import bearer
from tests.connectors.emc.support import event

EVENTS = "/v1/emc/events"
OWNER = "001090000001"


async def counts(gateway: Gateway) -> tuple[int, int, int]:
    async with gateway.db.reading() as session:
        items = await session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.connector == "emc")
        )
        dossiers = await session.scalar(select(func.count()).select_from(EmcDossier))
        refusals = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.kind == "refusal")
        )
    return int(items or 0), int(dossiers or 0), int(refusals or 0)


def problem(r: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert OWNER not in r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ngay_tiep_nhan": "0001-01-01T00:00:00+14:00"}, "ngay_tiep_nhan"),
        ({"ngay_hen_tra": "9999-12-31T23:59:59-12:00"}, "ngay_hen_tra"),
        ({"ngay_ket_thuc": "0001-01-01T05:00:00+06:00"}, "ngay_ket_thuc"),
        ({"ngay_tiep_nhan": "2024-01-05T08:30:00"}, "ngay_tiep_nhan"),
        ({"ten_tthc": "x" * 2001}, "ten_tthc"),
        ({"ten_tthc": ""}, "ten_tthc"),
        ({"du_lieu": "x" * 4001}, "du_lieu"),
        ({"ten_tthc": 12}, "ten_tthc"),
        ({"tu_dvcqg": "maybe"}, "tu_dvcqg"),
        ({"so_giay_to_chu_ho_so": 1090000001}, "so_giay_to_chu_ho_so"),
        ({"so_giay_to_chu_ho_so": OWNER + "\u0660"}, "so_giay_to_chu_ho_so"),
        ({"ma_ho_so": "000.00.01.H22-240105-0007\n"}, "ma_ho_so"),
        ({"ma_tthc": "1.001776/../x"}, "ma_tthc"),
        ({"trang_thai_emc": "9"}, "trang_thai_emc"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_bad_events_are_refused_naming_the_field(
    gateway: Gateway, api: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    headers = await bearer(gateway, "emc:submit")
    before = await counts(gateway)
    r = await api.post(EVENTS, json=event(**overrides), headers=headers)
    body = problem(r)
    assert any(e["loc"].removeprefix("body.").startswith(field) for e in body["errors"]), body
    assert await counts(gateway) == (before[0], before[1], before[2] + 1)


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b'{"ma_ho_so": ', "application/json"),
        (b"ma_ho_so=x", "application/x-www-form-urlencoded"),
        (b"\xff\xfe{}", "application/json"),
    ],
)
async def test_empty_or_foreign_bodies_are_422(
    gateway: Gateway, api: httpx.AsyncClient, content: bytes, ctype: str
) -> None:
    headers = {**await bearer(gateway, "emc:submit"), "Content-Type": ctype}
    before = await counts(gateway)
    problem(await api.post(EVENTS, content=content, headers=headers))
    assert (await counts(gateway))[:2] == before[:2]


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "0000-01", "9999-12", "2026-1", "2026-01x", "%2E%2E%2Fx"]
)
async def test_odd_months_are_refused(gateway: Gateway, api: httpx.AsyncClient, month: str) -> None:
    headers = await bearer(gateway, "emc:read", "emc:submit")
    before = await counts(gateway)
    r = await api.get(f"/v1/emc/reports/{month}", headers=headers)
    assert r.status_code in (404, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await api.post(f"/v1/emc/reports/{month}/submit", headers=headers)
    assert r.status_code in (404, 422, 503), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await counts(gateway))[:2] == before[:2]


async def test_a_month_that_has_not_begun_is_not_submitted(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await bearer(gateway, "emc:read", "emc:submit")
    before = await counts(gateway)
    r = await api.post("/v1/emc/reports/2099-12/submit", headers=headers)
    body = problem(r)
    assert [e["loc"] for e in body["errors"]] == ["month"]
    assert (await counts(gateway))[:2] == before[:2]
    r = await api.get("/v1/emc/reports/2099-12", headers=headers)  # reading it is harmless
    assert r.status_code == 200, r.text
