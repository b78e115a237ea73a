"""``lgsp audit reads``: who read which body, when and why, from the exchange log."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from gateway.core.runtime import Gateway
from tests.audit.test_tamper_cli import lgsp
from tests.conftest import bearer
from tests.factories import dossier


async def test_the_reads_are_listed_with_the_person_and_the_reason(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    sender = await bearer(gateway, "dvcqg:sync")
    exchange_id = (await api.post("/v1/dvcqg/dossiers", json=dossier(1), headers=sender)).json()[
        "exchange_id"
    ]
    auditor = await bearer(gateway, "audit:read", name="kiem-toan")
    url = f"/v1/audit/entries/{exchange_id}/body"
    reason = quote("Kiểm toán nhà nước, đợt 2")
    person = quote("Phạm Thu Hà")
    await api.get(url, headers={**auditor, "X-Audit-Person": person})  # refused: no reason
    granted = await api.get(
        url, headers={**auditor, "X-Audit-Reason": reason, "X-Audit-Person": person}
    )
    assert granted.status_code == 200

    listed = await lgsp(gateway, "audit", "reads", "--json")
    assert listed.exit_code == 0, listed.output
    reads = json.loads(listed.stdout)["reads"]
    assert [(r["outcome"], r["person"], r["reason"]) for r in reads] == [
        ("granted", "Phạm Thu Hà", "Kiểm toán nhà nước, đợt 2"),
        ("refused", "Phạm Thu Hà", None),
    ]
    text = await lgsp(gateway, "audit", "reads")
    assert "kiem-toan / Phạm Thu Hà" in text.output
    assert "refused: X-Audit-Reason" in text.output
    bad = await lgsp(gateway, "audit", "reads", "--from", "9999-12-31")
    assert bad.exit_code == 2
