"""Signing while the timestamp authority is down (issue 18): ``POST /v1/esign/sign`` accepts
the work into the outbox (202, the exchange id, ``Location``) instead of answering 503, and
the workers sign it when the authority returns, announced by ``esign.signed`` (a result for
the citizen's data store: ``tests/connectors/dvcqg/test_routes_citizens.py``). Time is a
controllable clock: the retries come due without waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.esign.documents import sample_pdf
from connectors.esign.sandbox import FaultConfig
from gateway.core.delivery import outbox, workers
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from tests.conftest import bearer
from tests.connectors.esign.test_routes import b64, esign_simulator


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(outbox, "utcnow", clock)
    monkeypatch.setattr(workers, "utcnow", clock)
    return clock


async def rounds(gateway: Gateway, clock: Clock, count: int = 3) -> None:
    service = DeliveryService(gateway)
    for _ in range(count):
        clock.now += timedelta(minutes=5)
        while await service.run_once():
            pass


async def test_a_signature_asked_while_the_tsa_is_down_completes_when_it_returns(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any, clock: Clock
) -> None:
    headers = await bearer(gateway, "esign:sign", "esign:verify", "events:read")
    sim = esign_simulator(sandbox_app)
    sim.set_faults(FaultConfig(tsa_down=True))
    accepted = await api.post(
        "/v1/esign/sign",
        json={"document": b64(sample_pdf()), "ma_ho_so": "000.00.01.H22-240105-0007"},
        headers=headers,
    )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["status"], accepted.headers["Location"]) == (
        "pending",
        f"/v1/esign/signatures/{body['id']}",
    )
    assert "timestamp authority" in body["detail"]
    exchange = await api.get(f"/v1/exchanges/{body['exchange_id']}", headers=headers)
    assert exchange.status_code == 200

    await rounds(gateway, clock)  # still down: retried, not given up
    pending = await api.get(accepted.headers["Location"], headers=headers)
    assert pending.json()["status"] == "pending"

    sim.set_faults(FaultConfig())
    await rounds(gateway, clock)
    done = (await api.get(accepted.headers["Location"], headers=headers)).json()
    assert (done["status"], done["format"]) == ("signed", "pades")
    report = await api.post(
        "/v1/esign/verify", json={"document": done["signed_document"]}, headers=headers
    )
    (signature,) = report.json()["signatures"]
    assert report.json()["verdict"] == "valid"
    assert signature["timestamp"]["valid"] is True  # the timestamp it was asked for
    inbox = (await api.get("/v1/events", headers=headers)).json()["events"]
    assert [e["type"] for e in inbox if e["type"].startswith("esign.")] == ["esign.signed"]


async def test_respond_async_queues_even_when_everything_is_up(
    gateway: Gateway, api: httpx.AsyncClient, clock: Clock
) -> None:
    headers = await bearer(gateway, "esign:sign")
    accepted = await api.post(
        "/v1/esign/sign",
        json={"document": b64(b"a plain file")},
        headers={**headers, "Prefer": "respond-async"},
    )
    assert accepted.status_code == 202, accepted.text
    await rounds(gateway, clock, 1)
    done = (await api.get(accepted.headers["Location"], headers=headers)).json()
    assert (done["status"], done["format"]) == ("signed", "cms")
    assert done["signature"]
    # another client cannot read it
    other = await bearer(gateway, "esign:sign", name="other-client")
    assert (await api.get(accepted.headers["Location"], headers=other)).status_code == 404
