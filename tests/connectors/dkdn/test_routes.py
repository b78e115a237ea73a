"""Enterprise look-ups through the gateway's API, end to end against the register simulator
(in process, faults injected through its control endpoint): governance refusals before the
register is called, found / not found / dissolved as 200 answers, retries, the circuit breaker,
malformed answers as 502 naming the field, and the exchange log holding one entry per look-up
with its attempts, the officer and the purpose. Runs on SQLite and, when reachable,
PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tenacity import wait_none

from connectors.dkdn.connector import DkdnConnector
from connectors.dkdn.sandbox import DkdnSimulator, Enterprise, get_simulator
from gateway.core.http.simulators import SimulatedConnectionDrop
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway

LOOKUP = "/v1/dkdn/enterprises/lookup"
DOSSIER = "000.00.01.H22-260105-0007"
OFFICER = "canbo.tiepnhan"


@pytest.fixture
def sim(sandbox_app: Any) -> DkdnSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/dkdn":
            return get_simulator(route.app)
    raise LookupError("dkdn simulator not mounted")


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    connector = gateway.connector("dkdn")
    assert isinstance(connector, DkdnConnector)
    connector.client._retry_wait = wait_none()  # retries without waiting (no clock races)
    return {**await bearer(gateway, "dkdn:lookup"), "X-Officer-Id": OFFICER}


def ask(code: str, **overrides: Any) -> dict[str, Any]:
    body = {"ma_so_doanh_nghiep": code, "ma_tthc": "1.001612", "ma_ho_so": DOSSIER, **overrides}
    return {k: v for k, v in body.items() if v is not None}


def first(sim: DkdnSimulator, status: str) -> Enterprise:
    return sim.register.with_status(status)[0]


async def entries(gateway: Gateway, exchange_id: str) -> tuple[ExchangeEntry, list[ExchangeEntry]]:
    async with gateway.db.transaction() as session:
        inbound = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == exchange_id)
        )
        attempts = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.parent_id == exchange_id)
            )
        ).all()
    assert inbound is not None
    return inbound, list(attempts)


async def set_faults(sim: DkdnSimulator, **faults: Any) -> None:
    from connectors.dkdn.sandbox import FaultConfig

    sim.set_faults(FaultConfig(**faults))


# --- answers ---------------------------------------------------------------------------------


async def test_an_active_enterprise_is_found_and_logged_with_officer_and_purpose(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    enterprise = first(sim, "ACT")
    r = await api.post(LOOKUP, json=ask(enterprise.code), headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["ket_qua"] == "found"
    firm = answer["doanh_nghiep"]
    assert firm["ma_so_doanh_nghiep"] == enterprise.code
    assert firm["ten"] == enterprise.name
    assert firm["tinh_trang"] == {
        "trang_thai": "active",
        "con_hoat_dong": True,
        "ma": "ACT",
        "ten": enterprise.status_name,
        "tam_ngung_tu": None,
        "tam_ngung_den": None,
        "ly_do": None,
    }
    assert firm["ngay_thanh_lap"] == enterprise.founded.isoformat()
    assert firm["tru_so_chinh"]["dia_chi_day_du"] == enterprise.address
    assert [p["ho_ten"] for p in firm["nguoi_dai_dien"]] == [
        p.full_name for p in enterprise.representatives
    ]
    assert [(n["ma"], n["chinh"]) for n in firm["nganh_nghe"]] == [
        (line.code, line.main) for line in enterprise.lines
    ]
    assert firm["von_dieu_le"] == enterprise.capital
    inbound, attempts = await entries(gateway, answer["exchange_id"])
    assert (inbound.kind, inbound.connector, inbound.operation) == (
        "inbound",
        "dkdn",
        "lookup_enterprise",
    )
    assert (inbound.officer_id, inbound.purpose, inbound.ma_ho_so) == (
        OFFICER,
        f"1.001612 {DOSSIER}",
        DOSSIER,
    )
    assert {a.officer_id for a in attempts} == {OFFICER}
    assert [a.operation for a in attempts if a.operation.endswith("lookup_enterprise")]


async def test_a_branch_is_found_by_its_code(
    api: httpx.AsyncClient, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    branch = next(iter(sim.register.branches))
    r = await api.post(LOOKUP, json=ask(branch), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["doanh_nghiep"]["ma_so_doanh_nghiep"] == branch


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("DIS", "dissolved"),
        ("SUS", "suspended"),
        ("DIP", "dissolving"),
        ("REV", "revoked"),
        ("BKR", "bankrupt"),
    ],
)
async def test_an_enterprise_no_longer_operating_is_a_200_answer(
    api: httpx.AsyncClient, sim: DkdnSimulator, headers: dict[str, str], status: str, ours: str
) -> None:
    r = await api.post(LOOKUP, json=ask(first(sim, status).code), headers=headers)
    assert r.status_code == 200, r.text
    state = r.json()["doanh_nghiep"]["tinh_trang"]
    assert (state["trang_thai"], state["con_hoat_dong"], state["ma"]) == (ours, False, status)


async def test_a_missing_enterprise_is_a_200_not_found(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str]
) -> None:
    r = await api.post(LOOKUP, json=ask("0999999999"), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["ket_qua"] == "not_found"
    assert r.json()["doanh_nghiep"] is None
    inbound, _ = await entries(gateway, r.json()["exchange_id"])
    assert (inbound.outcome, inbound.status_code) == ("answered", 200)


# --- refusals before the register is called ---------------------------------------------------


@pytest.mark.parametrize(
    "code", ["123", "28001000370", "2800100037-1", "2800100037_001", "A800100037", ""]
)
async def test_a_bad_code_is_422_naming_the_field(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str], code: str
) -> None:
    r = await api.post(LOOKUP, json=ask(code), headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in r.json()["errors"]] == ["ma_so_doanh_nghiep"]
    assert sim.stats.received == 0
    async with gateway.db.transaction() as session:
        refusal = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == r.json()["exchange_id"])
        )
    assert refusal is not None
    assert (refusal.kind, refusal.status_code) == ("refusal", 422)


@pytest.mark.parametrize(
    ("officer", "drop", "field"),
    [
        (None, (), "X-Officer-Id"),
        ("", (), "X-Officer-Id"),
        ("not a login!", (), "X-Officer-Id"),
        (OFFICER, ("ma_tthc",), "ma_tthc"),
        (OFFICER, ("ma_ho_so",), "ma_ho_so"),
    ],
)
async def test_no_officer_or_no_purpose_is_403(
    api: httpx.AsyncClient,
    gateway: Gateway,
    sim: DkdnSimulator,
    headers: dict[str, str],
    officer: str | None,
    drop: tuple[str, ...],
    field: str,
) -> None:
    asked = {k: v for k, v in headers.items() if k != "X-Officer-Id"}
    if officer is not None:
        asked["X-Officer-Id"] = officer
    body = {k: v for k, v in ask(first(sim, "ACT").code).items() if k not in drop}
    r = await api.post(LOOKUP, json=body, headers=asked)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["loc"] for e in r.json()["errors"]]
    assert sim.stats.received == 0
    async with gateway.db.transaction() as session:
        refusal = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == r.json()["exchange_id"])
        )
    assert refusal is not None
    assert (refusal.kind, refusal.connector, refusal.status_code) == ("refusal", "dkdn", 403)


async def test_the_scope_is_required(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator
) -> None:
    headers = {**await bearer(gateway, "dancu:lookup"), "X-Officer-Id": OFFICER}
    r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
    assert r.status_code == 403
    assert sim.stats.received == 0


# --- faults ----------------------------------------------------------------------------------


async def test_5xx_then_recovery_is_one_exchange_with_its_attempts(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    code = first(sim, "ACT").code
    await set_faults(sim, error_rate=0.5, seed=1)
    answered = 0
    for _ in range(6):
        r = await api.post(LOOKUP, json=ask(code), headers=headers)
        assert r.status_code in (200, 503), r.text
        answered += r.status_code == 200
    assert answered >= 4  # three attempts each: a look-up fails only when all three do
    assert sim.stats.faults_injected > 0
    # one exchange per look-up, its attempts under it (the 503s among them)
    await set_faults(sim, error_rate=1.0)
    r = await api.post(LOOKUP, json=ask(code), headers=headers)
    assert r.status_code == 503
    assert r.json()["exchange_id"]
    inbound, attempts = await entries(gateway, r.json()["exchange_id"])
    lookups = [a for a in attempts if a.operation.endswith("lookup_enterprise")]
    assert len(lookups) == 3
    assert {a.status_code for a in lookups} == {503}
    assert inbound.officer_id == OFFICER


async def test_a_retried_failure_recovers(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    code = first(sim, "ACT").code
    # a rate limit of one per minute: the second look-up is refused 429 on every attempt
    await set_faults(sim, rate_limit_per_minute=1)
    assert (await api.post(LOOKUP, json=ask(code), headers=headers)).status_code == 200
    r = await api.post(LOOKUP, json=ask(code), headers=headers)
    assert r.status_code == 503
    assert r.headers.get("Retry-After") == "1"
    await set_faults(sim)
    assert (await api.post(LOOKUP, json=ask(code), headers=headers)).status_code == 200


async def test_malformed_answers_are_502_naming_the_field_and_recorded(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    await set_faults(sim, malformed_rate=1.0, seed=4)
    seen: set[str] = set()
    # each counts as a failure of the register: as many as open the breaker, no more
    for _ in range(gateway.breakers["dkdn"].failure_threshold):
        r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
        assert r.status_code == 502, r.text
        problem = r.json()
        assert problem["type"].endswith("dkdn-malformed-answer")
        assert problem["errors"][0]["loc"]
        seen.add(problem["errors"][0]["loc"])
    assert len(seen) >= 2
    inbound, attempts = await entries(gateway, problem["exchange_id"])
    assert (inbound.outcome, inbound.status_code) == ("dkdn-malformed-answer", 502)
    assert len(attempts) >= 1


class _Network(httpx.AsyncBaseTransport):
    """The simulator behind a real socket, as far as the client can tell: a connection the
    simulator drops mid-answer reaches the client as ``RemoteProtocolError`` (as under
    uvicorn), not as the simulator's own exception (as under ``ASGITransport``)."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # the client's read timeout, enforced as a socket would (ASGITransport ignores it)
        read = (request.extensions.get("timeout") or {}).get("read")
        try:
            return await asyncio.wait_for(self._inner.handle_async_request(request), read)
        except SimulatedConnectionDrop:
            raise httpx.RemoteProtocolError("peer closed connection", request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("timed out", request=request) from None


async def test_dropped_connections_are_retried(
    database_url: str, state_store: StateStore, sandbox_app: Any, sim: DkdnSimulator
) -> None:
    gw = await started_gateway(
        database_url, state_store, sandbox_app, transports={"dkdn": _Network(sandbox_app)}
    )
    try:
        connector = gw.connector("dkdn")
        assert isinstance(connector, DkdnConnector)
        connector.client._retry_wait = wait_none()
        headers = {**await bearer(gw, "dkdn:lookup"), "X-Officer-Id": OFFICER}
        async with serving(gw) as api:
            await set_faults(sim, drop_rate=1.0)
            r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
            assert r.status_code == 503, r.text
            assert sim.stats.received == 3
            _, attempts = await entries(gw, r.json()["exchange_id"])
            lookups = [a for a in attempts if a.operation.endswith("lookup_enterprise")]
            assert [a.outcome for a in lookups] == ["error:RemoteProtocolError"] * 3
            await set_faults(sim, drop_rate=0.5, seed=2)
            r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
            assert r.status_code == 200, r.text
    finally:
        await gw.aclose()


async def test_timeouts_are_retried_then_recover(
    database_url: str, state_store: StateStore, sandbox_app: Any, sim: DkdnSimulator
) -> None:
    gw = await started_gateway(
        database_url, state_store, sandbox_app, transports={"dkdn": _Network(sandbox_app)}
    )
    try:
        connector = gw.connector("dkdn")
        assert isinstance(connector, DkdnConnector)
        connector.client._retry_wait = wait_none()
        connector.client._timeout = httpx.Timeout(0.05)
        headers = {**await bearer(gw, "dkdn:lookup"), "X-Officer-Id": OFFICER}
        async with serving(gw) as api:
            await api.post(LOOKUP, json=ask("0999999999"), headers=headers)  # token fetched
            await set_faults(sim, timeout_rate=1.0, timeout_seconds=1.0)
            r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
            assert r.status_code == 503, r.text
            _, attempts = await entries(gw, r.json()["exchange_id"])
            assert [a.outcome for a in attempts] == ["error:ReadTimeout"] * 3
            await set_faults(sim, timeout_rate=0.5, timeout_seconds=1.0, seed=3)
            r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
            assert r.status_code == 200, r.text
    finally:
        await gw.aclose()


async def test_the_circuit_breaker_opens_and_the_register_is_spared(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    await set_faults(sim, error_rate=1.0)
    breaker = gateway.breakers["dkdn"]
    for _ in range(breaker.failure_threshold):
        r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
        assert r.status_code == 503
    received = sim.stats.received
    r = await api.post(LOOKUP, json=ask(first(sim, "ACT").code), headers=headers)
    assert r.status_code == 503
    assert r.json()["type"].endswith("circuit-open")
    assert sim.stats.received == received
    inbound, attempts = await entries(gateway, r.json()["exchange_id"])
    assert (inbound.outcome, attempts) == ("circuit-open", [])


async def test_an_expired_token_is_renewed(
    api: httpx.AsyncClient, gateway: Gateway, sim: DkdnSimulator, headers: dict[str, str]
) -> None:
    code = first(sim, "ACT").code
    assert (await api.post(LOOKUP, json=ask(code), headers=headers)).status_code == 200
    issued = sim.stats.tokens_issued
    sim.tokens.clear()  # every token the register issued dies
    assert (await api.post(LOOKUP, json=ask(code), headers=headers)).status_code == 200
    assert sim.stats.tokens_issued == issued + 1


@pytest.mark.parametrize("profile", ["ngsp", "lgsp-entcert", "lgsp-hcm"])
async def test_every_profile_through_the_provincial_lgsp(
    database_url: str, state_store: StateStore, sandbox_app: Any, sim: DkdnSimulator, profile: str
) -> None:
    """``transport=lgsp``: the core's LGSP transport authenticates (no NGSP token of ours), the
    LGSP simulator relays to the register; the same answers in every wire profile."""
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"dkdn": {"transport": "lgsp", "profile": profile}},
    )
    try:
        headers = {**await bearer(gw, "dkdn:lookup"), "X-Officer-Id": OFFICER}
        dissolved = first(sim, "DIS")
        async with serving(gw) as api:
            r = await api.post(LOOKUP, json=ask(dissolved.code), headers=headers)
            assert r.status_code == 200, r.text
            firm = r.json()["doanh_nghiep"]
            assert (firm["ten"], firm["tinh_trang"]["trang_thai"]) == (dissolved.name, "dissolved")
            missing = await api.post(LOOKUP, json=ask("0999999999"), headers=headers)
            assert missing.json()["ket_qua"] == "not_found"
        assert sim.stats.tokens_issued == 0
        assert {(x["profile"], x["relayed"]) for x in sim.received} == {(profile, True)}
    finally:
        await gw.aclose()
