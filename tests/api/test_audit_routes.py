"""Auditors read decrypted bodies only with the scope and a reason, and every read is logged."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.conftest import bearer
from tests.factories import dossier


async def test_auditor_reads_a_body_with_a_reason_and_the_read_is_logged(
    gateway: Gateway, api: httpx.AsyncClient, simulator: Any
) -> None:
    sender = await bearer(gateway, "dvcqg:sync")
    raw = json.dumps(dossier(1), ensure_ascii=False).encode()
    r = await api.post(
        "/v1/dvcqg/dossiers", content=raw, headers={**sender, "Content-Type": "application/json"}
    )
    exchange_id = r.json()["exchange_id"]
    auditor = await bearer(gateway, "audit:read")
    url = f"/v1/audit/entries/{exchange_id}/body"

    refused = await api.get(url, headers=sender)  # no audit scope
    assert refused.status_code == 403
    # raw UTF-8 in the header, as most clients send it
    no_reason = await api.get(url, headers={**auditor, "X-Audit-Person": "Trần Thị B".encode()})
    assert no_reason.status_code == 422
    assert [e["loc"] for e in no_reason.json()["errors"]] == ["X-Audit-Reason"]

    ok = await api.get(
        url,
        headers={**auditor, "X-Audit-Reason": "thanh tra ho so 0001", "X-Audit-Person": "Le Van C"},
    )
    assert ok.status_code == 200
    assert base64.b64decode(ok.json()["body_base64"]) == raw
    async with gateway.db.sessions() as session:
        access = (
            await session.scalars(
                select(ExchangeEntry)
                .where(ExchangeEntry.kind == "audit_access")
                .order_by(ExchangeEntry.id)
            )
        ).all()
    # the refused read is in the log too, with who asked
    assert [(a.outcome, a.parent_id) for a in access] == [
        ("refused", exchange_id),
        ("granted", exchange_id),
    ]
    assert (
        access[0].detail
        == "auditor: Trần Thị B; refused: X-Audit-Reason: say why (5-255 characters)"
    )
    assert access[1].purpose == "thanh tra ho so 0001"
    assert access[1].detail == "auditor: Le Van C"

    missing = await api.get(
        "/v1/audit/entries/nope/body",
        headers={**auditor, "X-Audit-Reason": "kiem tra ho so", "X-Audit-Person": "Le Van C"},
    )
    assert missing.status_code == 404


async def test_auditor_verifies_the_chain_through_the_api(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    sender = await bearer(gateway, "dvcqg:sync")
    assert (
        await api.post("/v1/dvcqg/dossiers", json=dossier(2), headers=sender)
    ).status_code == 202
    await DeliveryService(gateway).seal_once()
    report = (await api.get("/v1/audit/verify", headers=await bearer(gateway, "audit:read"))).json()
    assert report["ok"] is True
    assert report["entries"] >= 1
    assert (await api.get("/v1/audit/verify", headers=sender)).status_code == 403


REASON = "Thanh tra hồ sơ theo Quyết định số 12/QĐ-TTr"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Audit-Reason": REASON.encode()}, id="raw UTF-8"),
        pytest.param({"X-Audit-Reason": quote(REASON)}, id="percent-encoded"),
        pytest.param({"X-Audit-Reason*": "UTF-8''" + quote(REASON)}, id="RFC 8187"),
    ],
)
async def test_reasons_in_vietnamese_are_kept_as_written(
    gateway: Gateway, api: httpx.AsyncClient, headers: dict[str, str | bytes]
) -> None:
    sender = await bearer(gateway, "dvcqg:sync")
    r = await api.post("/v1/dvcqg/dossiers", json=dossier(3), headers=sender)
    auditor = await bearer(gateway, "audit:read", name="thanh-tra-so")
    person = {"X-Audit-Person*": "UTF-8''" + quote("Nguyễn Văn Thanh")}
    url = f"/v1/audit/entries/{r.json()['exchange_id']}/body"
    assert (await api.get(url, headers={**auditor, **headers, **person})).status_code == 200

    listing = await api.get("/v1/audit/reads", headers=auditor)
    assert listing.status_code == 200
    (read,) = listing.json()["reads"]
    assert read["reason"] == REASON
    assert read["person"] == "Nguyễn Văn Thanh"
    assert read["client"] == "thanh-tra-so"
    assert (read["outcome"], read["which"], read["entry_id"]) == (
        "granted",
        "request",
        r.json()["exchange_id"],
    )


async def test_a_malformed_extended_header_is_refused_naming_it(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    auditor = await bearer(gateway, "audit:read")
    answer = await api.get(
        "/v1/audit/entries/x/body",
        headers={**auditor, "X-Audit-Reason*": "latin-1''abc", "X-Audit-Person": "Le Van C"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == "X-Audit-Reason*"
