"""Events over HTTP: subscriptions (``events:admin``), the pull inbox and its acknowledgement
(``events:read``), the secret shown once and recorded nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.core import events
from gateway.core.runtime import Gateway
from gateway.core.store.db import EventSubscription, ExchangeEntry
from tests.conftest import bearer


@pytest.fixture
async def admin(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "events:admin", name="quan-tri-su-kien")


@pytest.fixture
async def reader(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "events:read", name="motcua")


def subscription(name: str = "motcua", **extra: Any) -> dict[str, Any]:
    return {"name": name, "endpoint": f"https://case.example/hooks/{name}", **extra}


async def test_subscriptions_crud_with_the_secret_shown_once(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    body = subscription(event_types=["payment.settled"])
    assert (await api.post("/v1/events/subscriptions", json=body)).status_code == 401
    refused = await api.post("/v1/events/subscriptions", json=body, headers=reader)
    assert refused.status_code == 403
    assert "events:admin" in refused.json()["detail"]

    created = await api.post("/v1/events/subscriptions", json=body, headers=admin)
    assert created.status_code == 201, created.text
    out = created.json()
    secret = out.pop("secret")
    assert len(secret) >= 40
    assert out["name"] == "motcua"
    assert out["endpoint"] == "https://case.example/hooks/motcua"
    assert out["event_types"] == ["payment.settled"]
    assert out["active"] is True
    async with gateway.db.sessions() as session:
        row = await session.scalar(select(EventSubscription))
    assert row is not None
    assert events.open_secret(gateway.cipher, row) == secret

    again = await api.post("/v1/events/subscriptions", json=body, headers=admin)
    assert again.status_code == 409

    own = subscription("own-secret", secret="a-secret-the-case-system-chose-0123")
    chosen = await api.post("/v1/events/subscriptions", json=own, headers=admin)
    assert chosen.status_code == 201
    assert "secret" not in chosen.json()  # the caller knows it; never echoed

    listed = await api.get("/v1/events/subscriptions", headers=admin)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()["items"]] == ["motcua", "own-secret"]
    assert secret not in listed.text
    assert all("secret" not in s for s in listed.json()["items"])
    assert (await api.get("/v1/events/subscriptions", headers=reader)).status_code == 403

    gone = await api.delete("/v1/events/subscriptions/motcua", headers=admin)
    assert gone.status_code == 200
    assert gone.json()["active"] is False
    assert (await api.delete("/v1/events/subscriptions/motcua", headers=admin)).status_code == 404
    active = (await api.get("/v1/events/subscriptions", headers=admin)).json()["items"]
    assert [s["name"] for s in active] == ["own-secret"]
    every = await api.get("/v1/events/subscriptions?include_inactive=true", headers=admin)
    assert [s["active"] for s in every.json()["items"]] == [False, True]

    # a deactivated name can be subscribed again, with a new secret
    renewed = await api.post("/v1/events/subscriptions", json=body, headers=admin)
    assert renewed.status_code == 201
    assert renewed.json()["secret"] != secret


async def test_invalid_subscriptions_are_refused_without_recording_the_secret(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    chosen = "a-secret-the-case-system-chose-0123"
    cases = [
        subscription(endpoint="ftp://case.example/x", secret=chosen),
        subscription(name="Bad Name", secret=chosen),
        subscription(event_types=["Not A Type"], secret=chosen),
        subscription(secret="short"),
        subscription(secret=chosen, unexpected=True),
    ]
    for body in cases:
        refused = await api.post("/v1/events/subscriptions", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
        assert chosen not in refused.text
    async with gateway.db.sessions() as session:
        refusals = (
            await session.scalars(select(ExchangeEntry).where(ExchangeEntry.kind == "refusal"))
        ).all()
    assert len(refusals) == len(cases)
    for entry in refusals:
        recorded = gateway.log.open_body(entry, "request") or b""
        assert chosen.encode() not in recorded
        assert b"short" not in recorded
        assert chosen not in (entry.detail or "")


async def test_the_inbox_pages_filters_and_acknowledges(
    gateway: Gateway, api: httpx.AsyncClient, reader: dict[str, str], admin: dict[str, str]
) -> None:
    ids = []
    for n in range(5):
        kind = "payment.settled" if n % 2 == 0 else "postal.delivered"
        ids.append(
            await events.publish_now(
                gateway, type=kind, source="payment", payload={"n": n}, subject=f"HS-{n}"
            )
        )
    assert (await api.get("/v1/events")).status_code == 401
    assert (await api.get("/v1/events", headers=admin)).status_code == 403

    page = await api.get("/v1/events?limit=2", headers=reader)
    assert page.status_code == 200, page.text
    first = page.json()
    assert [e["id"] for e in first["events"]] == ids[:2]
    assert first["events"][0]["data"] == {"n": 0}
    assert first["events"][0]["type"] == "payment.settled"
    assert first["events"][0]["source"] == "payment"
    assert first["events"][0]["subject"] == "HS-0"
    assert first["next"] == first["events"][-1]["cursor"]

    rest = (await api.get(f"/v1/events?after={first['next']}", headers=reader)).json()
    assert [e["id"] for e in rest["events"]] == ids[2:]
    end = (await api.get(f"/v1/events?after={rest['next']}", headers=reader)).json()
    assert end == {"events": [], "next": rest["next"]}

    typed = await api.get("/v1/events?after=0&types=postal.delivered,other", headers=reader)
    assert [e["id"] for e in typed.json()["events"]] == [ids[1], ids[3]]

    # without ``after`` the inbox starts from the acknowledged cursor, which never moves back
    acked = await api.post("/v1/events/ack", json={"cursor": first["next"]}, headers=reader)
    assert acked.status_code == 200
    assert acked.json() == {"cursor": first["next"]}
    resumed = (await api.get("/v1/events", headers=reader)).json()
    assert [e["id"] for e in resumed["events"]] == ids[2:]
    back = await api.post("/v1/events/ack", json={"cursor": 1}, headers=reader)
    assert back.json() == {"cursor": first["next"]}
    past = await api.post("/v1/events/ack", json={"cursor": rest["next"] + 1}, headers=reader)
    assert past.status_code == 422
    assert (
        await api.post("/v1/events/ack", json={"cursor": -1}, headers=reader)
    ).status_code == 422

    # each client has its own cursor
    other = await bearer(gateway, "events:read", name="buu-dien")
    fresh = (await api.get("/v1/events", headers=other)).json()
    assert [e["id"] for e in fresh["events"]] == ids


async def test_rotating_a_secret_shows_the_new_one_once(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str], reader: dict[str, str]
) -> None:
    legacy = "a-secret-the-case-system-chose-0123"
    made = await api.post(
        "/v1/events/subscriptions", json=subscription(secret=legacy), headers=admin
    )
    assert made.status_code == 201
    assert made.json()["secret_format"] == "legacy"
    assert made.json()["previous_secret_expires_at"] is None

    url = "/v1/events/subscriptions/motcua/rotate-secret"
    assert (await api.post(url)).status_code == 401
    assert (await api.post(url, headers=reader)).status_code == 403
    rotated = await api.post(url, headers=admin)  # no body: the default grace
    assert rotated.status_code == 200, rotated.text
    out = rotated.json()
    secret = out.pop("secret")
    assert secret.startswith("whsec_")
    assert out["secret_format"] == "standard"
    until = datetime.fromisoformat(out["previous_secret_expires_at"])
    assert abs(until - datetime.now(UTC) - timedelta(hours=24)) < timedelta(minutes=1)
    async with gateway.db.sessions() as session:
        row = await session.scalar(select(EventSubscription))
    assert row is not None
    assert events.open_secret(gateway.cipher, row) == secret

    listed = await api.get("/v1/events/subscriptions", headers=admin)
    [item] = listed.json()["items"]
    assert item["secret_format"] == "standard"
    assert item["previous_secret_expires_at"] == out["previous_secret_expires_at"]
    assert secret not in listed.text
    assert legacy not in listed.text

    at_once = await api.post(url, json={"grace_hours": 0}, headers=admin)
    assert at_once.status_code == 200
    assert at_once.json()["previous_secret_expires_at"] is None
    assert at_once.json()["secret"] not in (secret, legacy)
    for body in ({"grace_hours": 721}, {"grace_hours": -1}, {"grace": 1}):
        assert (await api.post(url, json=body, headers=admin)).status_code == 422
    missing = await api.post("/v1/events/subscriptions/nobody/rotate-secret", headers=admin)
    assert missing.status_code == 404
