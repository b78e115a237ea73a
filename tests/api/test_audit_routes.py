"""Auditors read decrypted bodies only with the scope and a reason, and every read is logged."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
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
    no_reason = await api.get(url, headers=auditor)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == "X-Audit-Reason"

    ok = await api.get(url, headers={**auditor, "X-Audit-Reason": "thanh tra ho so 0001"})
    assert ok.status_code == 200
    assert base64.b64decode(ok.json()["body_base64"]) == raw
    async with gateway.db.sessions() as session:
        access = (
            await session.scalars(select(ExchangeEntry).where(ExchangeEntry.kind == "audit_access"))
        ).all()
    assert len(access) == 1
    assert access[0].parent_id == exchange_id
    assert access[0].purpose == "thanh tra ho so 0001"

    missing = await api.get(
        "/v1/audit/entries/nope/body", headers={**auditor, "X-Audit-Reason": "kiem tra ho so"}
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
