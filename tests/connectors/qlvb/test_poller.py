"""The poller against the misbehaving simulator: 5xx then recovery, system errors, malformed
and wrongly signed status packages, packages about unknown documents, duplicates (a status
both pushed and pulled is one report), and a failed acknowledgement taken again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.core.runtime import Gateway
from tests.conftest import bearer
from tests.connectors.qlvb.support import (
    DOCUMENT_ID,
    DOCUMENTS,
    DOSSIER,
    Axis,
    document,
    event_types,
    poll,
)


@pytest.fixture
async def sent(api: httpx.AsyncClient, app: Any, gateway: Gateway, axis: Axis) -> dict[str, str]:
    headers = await bearer(gateway, "qlvb:send", "qlvb:read")
    assert (await api.post(DOCUMENTS, json=document(), headers=headers)).status_code == 202
    while await app.state.delivery.run_once():
        pass
    assert DOCUMENT_ID in axis.sim.documents
    return headers


async def history(api: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    r = await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)
    return [h["status_code"] for h in r.json()["documents"][0]["recipients"][0]["history"]]


def faults(axis: Axis, **update: Any) -> None:
    axis.sim.set_faults(axis.sim.faults.model_copy(update=update))


async def test_5xx_then_recovery(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    await axis.advance()
    faults(axis, error_rate=1.0)
    assert await poll(gateway) == 0
    assert axis.sim.stats.acknowledged == {}
    faults(axis, error_rate=0.0)
    assert await poll(gateway) == 1
    assert await history(api, sent) == ["01"]


async def test_system_errors_are_retried_within_the_round(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    await axis.advance()
    await axis.advance()
    faults(axis, system_error_rate=0.5, seed=1)  # the first call of the round fails
    rounds = 0
    while axis.sim.stats.acknowledged.get("done", 0) < 2 and rounds < 10:
        await poll(gateway)
        rounds += 1
    assert await history(api, sent) == ["01", "03"]
    assert axis.sim.stats.faults_injected > 0


async def test_malformed_and_wrongly_signed_packages_are_refused_and_failed(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    faults(axis, malformed_status_rate=1.0)
    await axis.advance()  # 01 cut short
    faults(axis, malformed_status_rate=0.0, bad_signature_rate=1.0)
    await axis.advance()  # 03 signed then altered: refused even without a requirement
    faults(axis, bad_signature_rate=0.0)
    await axis.advance()  # 04 fine
    assert await poll(gateway) == 3
    assert axis.sim.stats.acknowledged == {"fail": 2, "done": 1}
    assert await history(api, sent) == ["04"]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.processing"]


async def test_a_status_pushed_and_pulled_is_one_report(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    axis.push_into(app)
    await axis.advance()
    assert axis.sim.statuses[-1].pushed == 200
    dup = await axis.platform.post(f"/qlvb/_sandbox/statuses/{axis.sim.statuses[-1].id}/duplicate")
    assert dup.status_code == 200
    await axis.pusher.drain()
    assert await poll(gateway) == 2  # the original and its copy: both acknowledged "done"
    assert axis.sim.stats.acknowledged == {"done": 2}
    assert await history(api, sent) == ["01"]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received"]


async def test_a_lost_acknowledgement_is_taken_again_as_a_duplicate(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, sent: dict[str, str], monkeypatch: Any
) -> None:
    await axis.advance()
    original = axis.sim.acknowledge
    calls = {"n": 0}

    def flaky(body: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            return {"status": "FAIL", "ErrorCode": "SYSTEM_ERROR", "ErrorDesc": "down"}
        return original(body)

    monkeypatch.setattr(axis.sim, "acknowledge", flaky)
    assert await poll(gateway) == 1  # the client's in-call retry acknowledges it
    assert await history(api, sent) == ["01"]
    assert calls["n"] == 2


async def test_a_status_about_an_unknown_document_is_failed(
    gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    [item] = axis.sim.advance(DOCUMENT_ID)
    item.body = item.body.replace(b"125/TTHCC-MC", b"999/TTHCC-MC")
    assert await poll(gateway) == 1
    assert axis.sim.stats.acknowledged == {"fail": 1}


async def test_a_push_refused_for_its_hmac_is_made_up_for_by_the_poller(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, axis: Axis, sent: dict[str, str]
) -> None:
    axis.push_into(app)
    axis.sim.config = axis.sim.config.model_copy(update={"callback_secret": "not-ours"})
    await axis.advance()
    assert axis.sim.statuses[-1].pushed == 401
    assert await history(api, sent) == []
    assert await poll(gateway) == 1
    assert await history(api, sent) == ["01"]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received"]
