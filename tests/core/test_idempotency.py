"""``Idempotency-Key`` on writes, through the API (POST /v1/dvcqg/dossiers)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from gateway.core.errors import Conflict
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.store.db import ExchangeEntry, IdempotencyRecord, OutboxItem, utcnow
from tests.conftest import bearer
from tests.factories import dossier

URL = "/v1/dvcqg/dossiers"


def raw(body: dict[str, Any]) -> bytes:
    """The exact bytes sent, so a test can reserve the key with the same body digest."""
    return json.dumps(body, ensure_ascii=False).encode()


async def post(
    api: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str], key: str
) -> httpx.Response:
    return await api.post(
        URL,
        content=raw(body),
        headers={**headers, "Idempotency-Key": key, "Content-Type": "application/json"},
    )


async def counts(gateway: Gateway) -> tuple[int, int]:
    """(outbox items, inbound exchange-log entries)."""
    async with gateway.db.sessions() as session:
        items = await session.scalar(select(func.count()).select_from(OutboxItem))
        inbound = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.kind == "inbound")
        )
    return int(items or 0), int(inbound or 0)


async def test_same_key_same_body_replays_the_first_answer(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    first = await post(api, dossier(1), headers, "key-1")
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    second = await post(api, dossier(1), headers, "key-1")
    assert second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["exchange_id"] == first.json()["exchange_id"]
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert await counts(gateway) == (1, 1)


async def test_same_key_other_body_is_refused_and_stores_nothing(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    assert (await post(api, dossier(1), headers, "key-2")).status_code == 202
    r = await post(api, dossier(1, trang_thai="dang_xu_ly"), headers, "key-2")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:lgsp:problem:idempotency-key-reused"
    assert [e["loc"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert await counts(gateway) == (1, 1)


async def test_key_in_flight_answers_409(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync", name="idem-inflight")
    body = dossier(3)
    # the first request with this key is still running (reserved, not yet answered)
    assert (
        await idempotency.reserve(
            gateway.db, gateway.cipher, client="idem-inflight", key="busy", request_body=raw(body)
        )
        is None
    )
    r = await post(api, body, headers, "busy")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:lgsp:problem:conflict"
    assert await counts(gateway) == (0, 0)
    record = await idempotency.lookup(gateway.db, client="idem-inflight", key="busy")
    assert record is not None
    assert record.state == "in_flight"  # the 409 did not release the first request's key


async def test_stale_reservation_is_taken_over(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync", name="idem-stale")
    body = dossier(4)
    await idempotency.reserve(
        gateway.db, gateway.cipher, client="idem-stale", key="dead", request_body=raw(body)
    )
    async with gateway.db.transaction() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.client == "idem-stale", IdempotencyRecord.key == "dead")
            .values(updated_at=utcnow() - timedelta(minutes=10))
        )
    r = await post(api, body, headers, "dead")
    assert r.status_code == 202, r.text
    record = await idempotency.lookup(gateway.db, client="idem-stale", key="dead")
    assert record is not None
    assert record.state == "done"
    assert record.response_status == 202
    # and it now replays like any answered key
    again = await post(api, body, headers, "dead")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["exchange_id"] == r.json()["exchange_id"]
    assert await counts(gateway) == (1, 1)


async def test_keys_are_per_client(gateway: Gateway, api: httpx.AsyncClient) -> None:
    alice = await bearer(gateway, "dvcqg:sync")
    bob = await bearer(gateway, "dvcqg:sync")
    a = await post(api, dossier(5), alice, "shared-key")
    b = await post(api, dossier(6), bob, "shared-key")
    assert a.status_code == 202, a.text
    assert b.status_code == 202, b.text
    assert "Idempotent-Replayed" not in b.headers
    assert a.json()["exchange_id"] != b.json()["exchange_id"]
    assert await counts(gateway) == (2, 2)


async def test_refused_request_leaves_the_key_usable(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    bad = dossier(7, ma_ho_so="not-a-code")
    r = await post(api, bad, headers, "fix-me")
    assert r.status_code == 422
    assert r.json()["type"] == "urn:lgsp:problem:invalid-input"
    # the route's own checks (the national catalogue) refuse too, and release the key
    unknown = await post(api, dossier(7, ma_tthc="1.999999"), headers, "fix-me")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == "ma_tthc"
    good = await post(api, dossier(7), headers, "fix-me")
    assert good.status_code == 202, good.text
    assert "Idempotent-Replayed" not in good.headers
    assert await counts(gateway) == (1, 1)


async def test_invalid_key_is_refused(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    r = await post(api, dossier(8), headers, "k" * 256)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == ["Idempotency-Key"]
    assert await counts(gateway) == (0, 0)


async def test_a_stale_reservation_is_taken_over_by_one_request_only(gateway: Gateway) -> None:
    body = raw(dossier(9))
    await idempotency.reserve(
        gateway.db, gateway.cipher, client="racer", key="stale", request_body=body
    )
    async with gateway.db.transaction() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.client == "racer", IdempotencyRecord.key == "stale")
            .values(updated_at=utcnow() - timedelta(minutes=10))
        )

    async def take_over() -> str:
        try:
            answer = await idempotency.reserve(
                gateway.db, gateway.cipher, client="racer", key="stale", request_body=body
            )
        except Conflict:
            return "conflict"
        return "took over" if answer is None else "replayed"

    outcomes = await asyncio.gather(*(take_over() for _ in range(5)))
    assert sorted(outcomes) == ["conflict"] * 4 + ["took over"]
