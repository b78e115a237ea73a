"""The API's refusals: authentication, scopes, problem+json, limits, and the ops endpoints."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.core.log.immutability import suspended
from gateway.core.runtime import Gateway
from gateway.core.store.db import Base, ExchangeEntry, OutboxItem
from gateway.core.store.state import MemoryStateStore
from tests.conftest import bearer, make_settings, serving
from tests.factories import dossier

URL = "/v1/dvcqg/dossiers"
PROBLEM = "application/problem+json"


@asynccontextmanager
async def custom_api(
    database_url: str, sandbox_app: Any, **overrides: Any
) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    """A gateway and API built with other settings (like the ``api`` fixture)."""
    gw = Gateway(
        make_settings(database_url, **overrides),
        sandbox_base="http://sandbox",
        transports={"dvcqg": httpx.ASGITransport(app=sandbox_app)},
        state=MemoryStateStore(),
    )
    await gw.start()
    async with gw.db.transaction() as session, suspended(session):
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(table.delete())
    try:
        async with serving(gw) as client:
            yield gw, client
    finally:
        await gw.aclose()


async def refusals(gateway: Gateway) -> list[ExchangeEntry]:
    async with gateway.db.sessions() as session:
        rows = await session.scalars(
            select(ExchangeEntry).where(ExchangeEntry.kind == "refusal").order_by(ExchangeEntry.id)
        )
        return list(rows.all())


def assert_problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:lgsp:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert "Traceback" not in r.text
    return body


# --- authentication and scopes ---------------------------------------------------------------


async def test_missing_credentials_401_with_challenge(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    r = await api.post(URL, json=dossier(1))
    body = assert_problem(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization" in body["detail"]
    [entry] = await refusals(gateway)
    assert entry.status_code == 401
    assert entry.outcome == "unauthenticated"
    assert entry.operation == f"POST {URL}"
    assert entry.client is None
    assert body["exchange_id"] == entry.entry_id


async def test_malformed_and_unknown_keys_401(gateway: Gateway, api: httpx.AsyncClient) -> None:
    real = (await bearer(gateway, "dvcqg:sync"))["Authorization"]
    for header in (
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer lgsp_abcdef12_" + "x" * 43,  # well formed, never issued
        real[:-2] + ("AA" if not real.endswith("AA") else "BB"),  # right prefix, wrong secret
    ):
        r = await api.post(URL, json=dossier(1), headers={"Authorization": header})
        assert_problem(r, 401, "unauthenticated")
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert [e.status_code for e in await refusals(gateway)] == [401] * 4


async def test_wrong_scope_403_names_the_scope(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:read", name="reader-only")
    r = await api.post(URL, json=dossier(1), headers=headers)
    body = assert_problem(r, 403, "forbidden")
    assert "dvcqg:sync" in body["detail"]
    [entry] = await refusals(gateway)
    assert entry.status_code == 403
    assert entry.outcome == "forbidden"
    assert entry.client == "reader-only"
    assert entry.connector == "dvcqg"
    assert entry.request_body is not None  # the refused body is kept, encrypted


# --- invalid input ---------------------------------------------------------------------------


async def test_invalid_body_lists_every_bad_field(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    bad = dossier(
        1,
        ma_ho_so="000.00.01.H22-xx",
        ngay_hen_tra="next tuesday",
        le_phi=[{"ten": "Lệ phí", "hinh_thuc_thu": 1, "gia": 50000.5, "loai": 1}],
    )
    r = await api.post(URL, json=bad, headers=headers)
    body = assert_problem(r, 422, "invalid-input")
    locs = {e["loc"] for e in body["errors"]}
    assert {"ma_ho_so", "ngay_hen_tra", "le_phi[0].gia"} <= locs
    assert all(e["msg"] for e in body["errors"])
    assert body["exchange_id"]
    [entry] = await refusals(gateway)
    assert entry.entry_id == body["exchange_id"]
    assert entry.outcome == "invalid-input"
    assert entry.detail is not None
    assert "le_phi[0].gia" in entry.detail


async def test_naive_datetime_is_refused(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    r = await api.post(URL, json=dossier(1, ngay_tiep_nhan="2024-01-05T08:00:00"), headers=headers)
    body = assert_problem(r, 422, "invalid-input")
    [error] = [e for e in body["errors"] if e["loc"] == "ngay_tiep_nhan"]
    assert "offset" in error["msg"]


async def test_body_that_is_not_json(gateway: Gateway, api: httpx.AsyncClient) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    r = await api.post(
        URL, content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert_problem(r, 422, "invalid-input")


async def test_body_over_the_limit_413(database_url: str, sandbox_app: Any, simulator: Any) -> None:
    async with custom_api(database_url, sandbox_app, max_body_bytes=2048) as (gw, client):
        headers = await bearer(gw, "dvcqg:sync")
        big = dossier(1, trich_yeu="x" * 4000)
        r = await client.post(URL, json=big, headers=headers)
        body = assert_problem(r, 413, "payload-too-large")
        assert "2048" in body["detail"]
        assert r.headers["x-request-id"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(5):
                yield b" " * 1000

        r = await client.post(
            URL, content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert_problem(r, 413, "payload-too-large")
        # both refusals are in the exchange log, and nothing was accepted
        async with gw.db.sessions() as session:
            refusals = (
                await session.scalars(
                    select(ExchangeEntry.outcome).where(ExchangeEntry.kind == "refusal")
                )
            ).all()
            assert refusals.count("payload-too-large") == 2
            assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        # a body within the limit still goes through
        ok = await client.post(URL, json=dossier(2), headers=headers)
        assert ok.status_code == 202, ok.text


async def test_rate_limit_429_with_retry_after(database_url: str, sandbox_app: Any) -> None:
    async with custom_api(database_url, sandbox_app, rate_limit="3/minute") as (gw, client):
        headers = await bearer(gw, "ops:read")
        other = await bearer(gw, "ops:read")
        for _ in range(3):
            assert (await client.get("/v1/connectors", headers=headers)).status_code == 200
        r = await client.get("/v1/connectors", headers=headers)
        assert_problem(r, 429, "rate-limited")
        assert int(r.headers["Retry-After"]) >= 1
        # the limit is per client
        assert (await client.get("/v1/connectors", headers=other)).status_code == 200


# --- request ids, ops endpoints, routing -----------------------------------------------------


async def test_request_id_is_echoed_or_generated(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz", headers={"X-Request-Id": "case-42.a_b"})
    assert r.headers["x-request-id"] == "case-42.a_b"
    r = await api.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    r = await api.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    # and problems name it
    r = await api.get("/v1/connectors", headers={"X-Request-Id": "trace-7"})
    assert r.json()["request_id"] == "trace-7"


async def test_health_readiness_and_metrics(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "alive"}
    r = await api.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "database": True, "state_store": True}
    r = await api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "lgsp_http_requests_total" in r.text
    assert re.search(r'lgsp_http_requests_total\{[^}]*route="/healthz"', r.text)


async def test_unknown_route_is_a_404_problem(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/nothing-here")
    assert_problem(r, 404, "not-found")


async def test_exchange_of_another_client_is_not_found(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    owner = await bearer(gateway, "dvcqg:sync")
    stranger = await bearer(gateway, "dvcqg:sync")
    auditor = await bearer(gateway, "exchanges:read")
    r = await api.post(URL, json=dossier(1), headers=owner)
    assert r.status_code == 202, r.text
    link = r.headers["Location"]
    assert link == f"/v1/exchanges/{r.json()['exchange_id']}"
    assert (await api.get(link, headers=owner)).status_code == 200
    hidden = await api.get(link, headers=stranger)
    assert_problem(hidden, 404, "not-found")
    absent = await api.get("/v1/exchanges/00000000-0000-0000-0000-000000000000", headers=owner)
    assert absent.json()["detail"].startswith("no exchange")
    assert hidden.json()["detail"].startswith("no exchange")  # absent and not-yours look alike
    seen = await api.get(link, headers=auditor)
    assert seen.status_code == 200
    assert seen.json()["state"] == "queued"
    assert seen.json()["exchange_id"] == r.json()["exchange_id"]
